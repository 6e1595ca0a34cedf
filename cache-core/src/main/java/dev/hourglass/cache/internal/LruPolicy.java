package dev.hourglass.cache.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Least recently used first: the one {@link EvictionPolicy} for now.
 *
 * <h2>Order</h2>
 * Within a stripe the order is exact (up to reads dropped by the lossy read buffer): a deque of
 * the stripe's nodes through {@code Node.policyPrev}/{@code policyNext}, least recent at the head.
 * Across stripes the size bound is global: a node's rank ({@code Node.policyRank}) is a logical
 * clock value taken when it was last written or its buffered read applied, and {@link Eviction}
 * evicts from the stripe whose head has the oldest. That approximates one global LRU without a
 * global lock.
 *
 * <h2>Clock</h2>
 * Each stripe counts its own writes and applied batches of reads; the cache-wide clock
 * ({@link Shared}) is the highest count any stripe has published. A stripe that falls behind
 * catches up to just past it, and publishes its count whenever its low bits ({@code publishMask})
 * are zero, so ranks of different stripes stay comparable (to within the publication interval)
 * without a shared write on every operation of a large cache: the clock's cache line is mostly
 * read. A small cache publishes every rank, so its ranks are a global order. The publication is an
 * opaque store, not a CAS: losing a racing publication only delays the clock a little.
 *
 * <h2>Concurrency</h2>
 * Guarded by the stripe lock, except {@link #worthRecording} and {@link #candidateHint}, racy
 * reads (see {@link EvictionPolicy}).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class LruPolicy<K, V> implements EvictionPolicy<K, V> {
  /** Access order, least recent at the head. */
  final AccessOrderDeque<K, V> order = new AccessOrderDeque<>();
  /** The clock shared by the stripes of one cache. */
  private final Shared shared;
  /** Counters written on every write or drain, on a cache line readers do not load. */
  private final Counters counters = new Counters();
  /**
   * The move count ({@code Counters.moves}) as of the last multiple of 64, published for readers:
   * it changes once per 64 moves, so the line readers check is rarely invalidated, while the exact
   * count lives on the padded counter line. Written under the lock, read racily.
   */
  private int epoch;
  /** The exact move count, published for readers of small stripes only (see worthRecording). */
  private int smallTick;
  /** The rank of the current batch of applied reads, or 0 with {@code inBatch} false. */
  private int batchRank;
  private boolean inBatch;

  private LruPolicy(Shared shared) {
    this.shared = shared;
  }

  /**
   * The policies of one cache.
   *
   * @param maximum the cache's bound, which with the stripe count sets how often ranks publish
   */
  static <K, V> EvictionPolicy.Factory<K, V> factory(long maximum, int stripeCount) {
    Shared shared = new Shared(maximum, stripeCount);
    return () -> new LruPolicy<>(shared);
  }

  /** The cache-wide recency clock (see "Clock"). */
  static final class Shared {
    /** The highest rank a stripe has published. */
    final AtomicInteger clock = new AtomicInteger();
    /**
     * A stripe publishes its rank when these low bits are zero: every 64 ranks for a cache that
     * holds many entries per stripe, every rank for a small one, where ranks from stripes that
     * drifted apart would make the global order meaningless.
     */
    final int publishMask;

    Shared(long maximum, int stripeCount) {
      long perStripeBound = (maximum / stripeCount) >> 4;
      this.publishMask = (int) Math.min(63, Long.highestOneBit(Math.max(1, perStripeBound)) - 1);
    }
  }

  /**
   * The stripe's write-hot counters, padded on both sides. Readers load {@code epoch} and
   * {@code smallTick} on every hit; if these counters shared a cache line with them, every write
   * and every drain would evict that line from every reader's cache (this was measured: bounded
   * reads stopped scaling past a few cores). HotSpot lays out fields of one size in declaration
   * order, so the long padding surrounds the counters. Guarded by the stripe lock.
   */
  static final class Counters {
    long p0, p1, p2, p3, p4, p5, p6, p7;
    /** This stripe's recency clock. */
    long rankClock;
    /** Moves of the order. */
    long moves;
    long q0, q1, q2, q3, q4, q5, q6, q7;
  }

  @Override
  public void onInsert(Node<K, V> node, int size) {
    node.policyRank = nextRank();
    node.policyTick = advance(size);
    order.addLast(node);
  }

  @Override
  public void onUpdate(Node<K, V> node, int size) {
    node.policyRank = nextRank();
    node.policyTick = advance(size);
    order.moveToLast(node);
  }

  @Override
  public void onRead(Node<K, V> node, int size) {
    if (!inBatch) {
      batchRank = nextRank(); // one rank for the whole batch of buffered reads
      inBatch = true;
    }
    node.policyRank = batchRank;
    node.policyTick = advance(size);
    order.moveToLast(node);
  }

  @Override
  public void endReads() {
    inBatch = false;
  }

  /** The next rank for a node of this stripe (see "Clock"). */
  private int nextRank() {
    int global = shared.clock.getOpaque(); // a hint; no ordering needed
    int rank = (int) counters.rankClock + 1;
    if (rank - global <= 0) {
      rank = global + 1; // strictly after everything published, so never a tie with it
    }
    counters.rankClock = rank;
    if ((rank & shared.publishMask) == 0) {
      shared.clock.setOpaque(rank); // no ordering needed: readers only compare
    }
    return rank;
  }

  private int advance(int size) {
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
   * A node moved to the most recent end within the last eighth of the stripe's moves is still
   * among its most recently used: moving it again would change nothing that eviction can see
   * soon, so readers skip the buffer. Hot keys then cost no shared write at all, and the order
   * stays LRU to within that eighth. Racy reads of {@code epoch}, {@code smallTick} and
   * {@code policyTick}: a stale answer only buffers one read too many or too few.
   *
   * <p>The stripe's eldest node is always worth it, however recently it moved: eviction compares
   * the eldest nodes' ranks across stripes, and a rank that skipped its reads would make a node
   * that is alone in its stripe look least recent forever (a small cache then evicted the entry
   * just read). {@code policyPrev} is null only at the head; it is a racy read of the node's own
   * field, which the reader has in its cache already.
   */
  @Override
  public boolean worthRecording(Node<K, V> node, int size) {
    if (node.policyPrev == null) {
      return true;
    }
    int window = size >>> 3;
    if (window < 64) {
      return (smallTick - node.policyTick) > window;
    }
    return (epoch - node.policyTick) > window; // epoch lags the exact count by less than 64
  }

  @Override
  public void onRemove(Node<K, V> node) {
    order.unlink(node);
  }

  @Override
  public Node<K, V> victim() {
    for (Node<K, V> node = order.head; node != null; node = node.policyNext) {
      if (node.weight > 0) {
        return node;
      }
    }
    return null;
  }

  /** The least recently used node, read without the lock (a reference read never tears). */
  @Override
  public Node<K, V> candidateHint() {
    return order.head;
  }

  @Override
  public int rank(Node<K, V> node) {
    return node.policyRank; // racy read when called without the lock: a hint only
  }

  @Override
  public void clear() {
    order.clear();
  }
}
