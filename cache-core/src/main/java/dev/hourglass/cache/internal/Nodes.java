package dev.hourglass.cache.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The node classes of the bounded shapes, and the factory that picks a node's class from its
 * cache's shape (see {@link Node}, "One class per shape").
 *
 * <p>The policy's fields are guarded by the stripe lock; {@code policyRank} is also read without
 * it by eviction's sampling, as a hint only. The bounded and bounded-timed classes declare the
 * same three fields because Java has one superclass: one extends {@link Node}, the other
 * {@link TimedNode}.
 */
final class Nodes {
  /** Shape bit: entries may expire (also set for one given its own time to live). */
  static final int TIMED = 1;
  /** Shape bit: the cache has a bound, so its nodes are in the policy's queues. */
  static final int BOUNDED = 2;
  /** Shape bit: the cache has a weigher, so each node stores its weight. Implies BOUNDED. */
  static final int WEIGHTED = 4;
  /**
   * Shape bit: each node records the time of its last write, for a cache that refreshes
   * ({@code refreshAfterWrite}) or expires after both a write and an access. Implies TIMED.
   * Every such node is a {@link Stamped}, whatever the other bits.
   */
  static final int WRITE_TIME = 8;

  private Nodes() {}

  /** A new, unpublished node of the class {@code shape} calls for. */
  static <K, V> Node<K, V> create(int shape, K key, int hash, V value) {
    if ((shape & WRITE_TIME) != 0) {
      return new Stamped<>(shape | TIMED, key, hash, value);
    }
    switch (shape) {
      case 0:
        return new Node<>(key, hash, value);
      case TIMED:
        return new TimedNode<>(key, hash, value);
      case BOUNDED:
        return new Bounded<>(key, hash, value);
      case BOUNDED | TIMED:
        return new BoundedTimed<>(key, hash, value);
      case WEIGHTED | BOUNDED:
        return new Weighted<>(key, hash, value);
      case WEIGHTED | BOUNDED | TIMED:
        return new WeightedTimed<>(key, hash, value);
      default:
        throw new IllegalArgumentException("no node class for shape " + shape);
    }
  }

  /** The node of a cache bounded by entry count, without expiry: 48 bytes. */
  static class Bounded<K, V> extends Node<K, V> {
    private Node<K, V> policyPrev;
    private Node<K, V> policyNext;
    private int policyRank;

    Bounded(K key, int hash, V value) {
      super(key, hash, value);
    }

    @Override
    int shape() {
      return BOUNDED;
    }

    @Override
    final Node<K, V> policyPrev() {
      return policyPrev;
    }

    @Override
    final void setPolicyPrev(Node<K, V> prev) {
      policyPrev = prev;
    }

    @Override
    final Node<K, V> policyNext() {
      return policyNext;
    }

    @Override
    final void setPolicyNext(Node<K, V> next) {
      policyNext = next;
    }

    @Override
    final int policyRank() {
      return policyRank; // racy when eviction samples it without the lock: a hint only
    }

    @Override
    final void setPolicyRank(int rank) {
      policyRank = rank;
    }
  }

  /** A bounded node with a weigher's weight: 56 bytes. */
  static final class Weighted<K, V> extends Bounded<K, V> {
    private long weight;

    Weighted(K key, int hash, V value) {
      super(key, hash, value);
    }

    @Override
    int shape() {
      return WEIGHTED | BOUNDED;
    }

    @Override
    long weight() {
      return weight;
    }

    @Override
    void setWeight(long weight) {
      this.weight = weight;
    }
  }

  /** The node of a bounded cache with expiry: 64 bytes. */
  static class BoundedTimed<K, V> extends TimedNode<K, V> {
    private Node<K, V> policyPrev;
    private Node<K, V> policyNext;
    private int policyRank;

    BoundedTimed(K key, int hash, V value) {
      super(key, hash, value);
    }

    @Override
    int shape() {
      return BOUNDED | TIMED;
    }

    @Override
    final Node<K, V> policyPrev() {
      return policyPrev;
    }

    @Override
    final void setPolicyPrev(Node<K, V> prev) {
      policyPrev = prev;
    }

    @Override
    final Node<K, V> policyNext() {
      return policyNext;
    }

    @Override
    final void setPolicyNext(Node<K, V> next) {
      policyNext = next;
    }

    @Override
    final int policyRank() {
      return policyRank; // racy when eviction samples it without the lock: a hint only
    }

    @Override
    final void setPolicyRank(int rank) {
      policyRank = rank;
    }
  }

  /** A bounded, timed node with a weigher's weight: 72 bytes. */
  static final class WeightedTimed<K, V> extends BoundedTimed<K, V> {
    private long weight;

    WeightedTimed(K key, int hash, V value) {
      super(key, hash, value);
    }

    @Override
    int shape() {
      return WEIGHTED | BOUNDED | TIMED;
    }

    @Override
    long weight() {
      return weight;
    }

    @Override
    void setWeight(long weight) {
      this.weight = weight;
    }
  }

  /**
   * The node of a cache that records write times (refresh, or expiry after both a write and an
   * access): every field of the other shapes (whichever of them the cache uses), the time of the
   * last write, and the refresh state (see {@link Refresh}). One class rather than four: such
   * caches are few, and the write time already costs as much as the fields a smaller class
   * would save.
   */
  static final class Stamped<K, V> extends TimedNode<K, V> {
    private static final VarHandle REFRESH_STATE;

    static {
      try {
        REFRESH_STATE = MethodHandles.lookup()
            .findVarHandle(Stamped.class, "refresh", Refresh.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    private final int shape;
    private Node<K, V> policyPrev;
    private Node<K, V> policyNext;
    private int policyRank;
    private long weight = 1;
    /** Written under the lock; read racily by readers, see Node#writtenAtNanos. */
    private volatile long writtenAtNanos;
    /** Null, or the refresh running or last failed; CAS by readers, cleared under the lock. */
    private volatile Refresh refresh;

    Stamped(int shape, K key, int hash, V value) {
      super(key, hash, value);
      this.shape = shape;
    }

    @Override
    int shape() {
      return shape;
    }

    @Override
    Node<K, V> policyPrev() {
      return policyPrev;
    }

    @Override
    void setPolicyPrev(Node<K, V> prev) {
      policyPrev = prev;
    }

    @Override
    Node<K, V> policyNext() {
      return policyNext;
    }

    @Override
    void setPolicyNext(Node<K, V> next) {
      policyNext = next;
    }

    @Override
    int policyRank() {
      return policyRank; // racy when eviction samples it without the lock: a hint only
    }

    @Override
    void setPolicyRank(int rank) {
      policyRank = rank;
    }

    @Override
    long weight() {
      return weight;
    }

    @Override
    void setWeight(long weight) {
      this.weight = weight;
    }

    @Override
    long writtenAtNanos() {
      return writtenAtNanos;
    }

    @Override
    void setWrittenAtNanos(long now) {
      writtenAtNanos = now; // volatile: a reader deciding on a refresh sees a whole long
    }

    @Override
    Refresh refreshAcquire() {
      return refresh; // volatile read: acquire
    }

    @Override
    boolean casRefresh(Refresh expected, Refresh next) {
      // One claimant per state: concurrent readers of a due entry start one refresh.
      return REFRESH_STATE.compareAndSet(this, expected, next);
    }

    @Override
    void clearRefresh() {
      if (refresh != null) {
        refresh = null; // volatile: a reader after this write's unlock claims anew
      }
    }
  }
}
