package dev.hourglass.cache.internal;

/**
 * A stripe's nodes in order of their last write, oldest at the head, linked through
 * {@code timePrev}/{@code timeNext}. With a fixed time to live this is also deadline order, so
 * expiration pops expired nodes from the head in O(1) each.
 *
 * <p>Not thread-safe: guarded by the stripe lock.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class WriteOrderDeque<K, V> {
  TimedNode<K, V> head;
  TimedNode<K, V> tail;

  void addLast(TimedNode<K, V> node) {
    node.timePrev = tail;
    node.timeNext = null;
    if (tail == null) {
      head = node;
    } else {
      tail.timeNext = node;
    }
    tail = node;
    node.set(Node.IN_WRITE_QUEUE, true);
  }

  void moveToLast(TimedNode<K, V> node) {
    if (node != tail) {
      unlink(node);
      addLast(node);
    }
  }

  void unlink(TimedNode<K, V> node) {
    TimedNode<K, V> prev = node.timePrev;
    TimedNode<K, V> next = node.timeNext;
    if (prev == null) {
      head = next;
    } else {
      prev.timeNext = next;
    }
    if (next == null) {
      tail = prev;
    } else {
      next.timePrev = prev;
    }
    node.timePrev = null;
    node.timeNext = null;
    node.set(Node.IN_WRITE_QUEUE, false);
  }

  void clear() {
    head = null;
    tail = null;
  }
}
