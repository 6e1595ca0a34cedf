package dev.hourglass.cache.internal;

/**
 * One of a policy's queues of a stripe's nodes, oldest at the head, linked through
 * {@code policyPrev()}/{@code policyNext()} with no sentinel objects; a node is in at most one. It
 * keeps its nodes' count and total weight; a node's weight changes only through
 * {@link #addWeight} while it is queued.
 *
 * <p>Not thread-safe: guarded by the stripe lock. {@code head} and {@code weight} are read
 * without it by eviction's sampling, as hints.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class PolicyDeque<K, V> {
  /** The oldest; read without the lock by eviction as a hint only. */
  Node<K, V> head;
  Node<K, V> tail;
  /** The queued nodes' total weight. */
  long weight;
  int count;

  void addLast(Node<K, V> node) {
    node.setPolicyPrev(tail);
    node.setPolicyNext(null);
    if (tail == null) {
      head = node;
    } else {
      tail.setPolicyNext(node);
    }
    tail = node;
    weight += node.weight();
    count++;
  }

  /** A queued node's weight changed by {@code delta}. */
  void addWeight(long delta) {
    weight += delta;
  }

  void moveToLast(Node<K, V> node) {
    if (node != tail) {
      unlink(node);
      addLast(node);
    }
  }

  void unlink(Node<K, V> node) {
    Node<K, V> prev = node.policyPrev();
    Node<K, V> next = node.policyNext();
    if (prev == null) {
      head = next;
    } else {
      prev.setPolicyNext(next);
    }
    if (next == null) {
      tail = prev;
    } else {
      next.setPolicyPrev(prev);
    }
    node.setPolicyPrev(null);
    node.setPolicyNext(null);
    weight -= node.weight();
    count--;
  }

  /**
   * Puts {@code fresh} where {@code old} is, which leaves the queue; both weigh the same. The
   * count and weight stay.
   */
  void replace(Node<K, V> old, Node<K, V> fresh) {
    Node<K, V> prev = old.policyPrev();
    Node<K, V> next = old.policyNext();
    fresh.setPolicyPrev(prev);
    fresh.setPolicyNext(next);
    if (prev == null) {
      head = fresh;
    } else {
      prev.setPolicyNext(fresh);
    }
    if (next == null) {
      tail = fresh;
    } else {
      next.setPolicyPrev(fresh);
    }
    old.setPolicyPrev(null);
    old.setPolicyNext(null);
  }

  void clear() {
    head = null;
    tail = null;
    weight = 0;
    count = 0;
  }
}
