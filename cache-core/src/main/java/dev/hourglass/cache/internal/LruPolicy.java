package dev.hourglass.cache.internal;

/**
 * The eviction policy of one stripe: least recently used first. Kept apart from the table so that
 * a frequency-aware adaptive policy can replace it without touching the read and write paths.
 *
 * <h2>Eviction</h2>
 * Within a stripe the order is exact (up to reads dropped by the lossy read buffer). Across
 * stripes the size bound is global: {@link StripedCache} compares the {@link Node#stamp} of each
 * stripe's least recent node, a logical clock value taken when the node was last written or its
 * buffered read applied, and evicts from the stripe whose head is oldest. The result approximates
 * one global LRU without a global lock.
 *
 * <h2>Concurrency</h2>
 * Guarded by the stripe lock, except {@link #eldestHint()}, a racy read used only to choose a
 * stripe; the choice is re-checked under that stripe's lock.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class LruPolicy<K, V> {
  /** Access order, least recent at the head. (Idle expiration uses the timer wheel, not this.) */
  final AccessOrderDeque<K, V> order = new AccessOrderDeque<>();
  /**
   * The move count ({@code Stripe.Counters.moves}) as of the last multiple of 64, published for
   * readers: it changes once per 64 moves, so the line readers check is rarely invalidated, while
   * the exact count lives on the stripe's padded counter line. Written under the lock, read racily.
   */
  int epoch;
  /** The exact move count, published for readers of small stripes only (see worthRecording). */
  int smallTick;

  void onInsert(Node<K, V> node, int stamp, Stripe.Counters counters, int size) {
    node.stamp = stamp;
    node.accessTick = advance(counters, size);
    order.addLast(node);
  }

  void onAccess(Node<K, V> node, int stamp, Stripe.Counters counters, int size) {
    node.stamp = stamp;
    node.accessTick = advance(counters, size);
    order.moveToLast(node);
  }

  private int advance(Stripe.Counters counters, int size) {
    int m = (int) ++counters.moves;
    if ((m & 63) == 0) {
      epoch = m; // plain store, once per 64 moves; readers tolerate a stale value
    }
    if ((size >>> 3) < 64) {
      smallTick = m; // small stripes: readers need the exact count (see worthRecording)
    }
    return m;
  }

  /**
   * Whether a hit on {@code node} is worth buffering. A node moved to the most recent end within
   * the last eighth of the stripe's moves is still among its most recently used: moving it again
   * would change nothing that eviction can see soon, so readers skip the buffer. Hot keys then
   * cost no shared write at all, and the order stays LRU to within that eighth. Racy reads of
   * {@code epoch}, {@code smallTick} and {@code accessTick}: a stale answer only buffers one read
   * too many or too few.
   *
   * <p>The stripe's eldest node is always worth it, however recently it moved: eviction compares
   * the eldest nodes' stamps across stripes, and a stamp that skipped its reads would make a node
   * that is alone in its stripe look least recent forever (a small cache then evicted the entry
   * just read). {@code accessPrev} is null only at the head; it is a racy read of the node's own
   * field, which the reader has in its cache already.
   */
  boolean worthRecording(Node<K, V> node, int size) {
    if (node.accessPrev == null) {
      return true;
    }
    int window = size >>> 3;
    if (window < 64) {
      return (smallTick - node.accessTick) > window;
    }
    return (epoch - node.accessTick) > window; // epoch lags the exact count by less than 64
  }

  void onRemove(Node<K, V> node) {
    order.unlink(node);
  }

  /** The least recently used node that weighs something, or null; zero-weight nodes are never evicted. */
  Node<K, V> victim() {
    for (Node<K, V> node = order.head; node != null; node = node.accessNext) {
      if (node.weight > 0) {
        return node;
      }
    }
    return null;
  }

  /**
   * The least recently used node, read without the lock: eviction compares its {@code stamp}
   * across stripes to choose one, and re-checks under that stripe's lock before evicting.
   */
  Node<K, V> eldestHint() {
    return order.head; // racy read of a reference: never torn, at worst stale
  }

  void clear() {
    order.clear();
  }
}
