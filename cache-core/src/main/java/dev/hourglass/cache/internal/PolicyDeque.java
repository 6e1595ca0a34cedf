package dev.hourglass.cache.internal;

/**
 * One of a policy's queues of a stripe's nodes, oldest at the head, linked through
 * {@code policyPrev}/{@code policyNext} with no sentinel objects; a node is in at most one. It
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
    node.policyPrev = tail;
    node.policyNext = null;
    if (tail == null) {
      head = node;
    } else {
      tail.policyNext = node;
    }
    tail = node;
    weight += node.weight;
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
    Node<K, V> prev = node.policyPrev;
    Node<K, V> next = node.policyNext;
    if (prev == null) {
      head = next;
    } else {
      prev.policyNext = next;
    }
    if (next == null) {
      tail = prev;
    } else {
      next.policyPrev = prev;
    }
    node.policyPrev = null;
    node.policyNext = null;
    weight -= node.weight;
    count--;
  }

  void clear() {
    head = null;
    tail = null;
    weight = 0;
    count = 0;
  }
}
