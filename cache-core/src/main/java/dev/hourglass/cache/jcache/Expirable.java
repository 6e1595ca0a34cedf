package dev.hourglass.cache.jcache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What a JCache keeps for a key in its Hourglass store: the value (a copy, for store-by-value),
 * its JCache deadline in ticker nanoseconds, and whether the store has let it go on its own.
 * Public only as the value type of the store that {@code unwrap(dev.hourglass.cache.Cache.class)}
 * hands out, for inspection: {@link #value()} and {@link #expiresAtNanos()}. Thread-safe.
 *
 * <p>The store's {@code Expiry} reads the deadline when an Expirable is written, so the store
 * drops the entry when JCache says it expires; an access that moves the deadline sets it and
 * writes the same Expirable again, so that the store reads it anew.
 *
 * <p>The value is final; the deadline is volatile: a reader without the store's lock compares it
 * with the ticker, and an access writes it before it rewrites the entry. The state moves once,
 * by CAS, from live to expired (whoever makes that move publishes the EXPIRED event: the store's
 * clean-up, or the operation that found the entry past its deadline) or to evicted, so that an
 * operation whose user code ran while the store let the entry go sees it gone.
 */
public final class Expirable<V> {
  /** No deadline. */
  static final long ETERNAL = Long.MAX_VALUE;

  private static final int LIVE = 0;
  private static final int EXPIRED = 1;
  private static final int EVICTED = 2;
  private static final VarHandle STATE;

  static {
    try {
      STATE = MethodHandles.lookup().findVarHandle(Expirable.class, "state", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  final V value;
  private volatile long expiresAtNanos;
  private volatile int state;

  Expirable(V value, long expiresAtNanos) {
    this.value = value;
    this.expiresAtNanos = expiresAtNanos;
  }

  /**
   * Returns the value the cache keeps (for store-by-value, the cache's own copy: do not change
   * it).
   *
   * @return the value
   */
  public V value() {
    return value;
  }

  /**
   * Returns the JCache deadline, in the store's ticker nanoseconds ({@link Long#MAX_VALUE}: none).
   *
   * @return the deadline
   */
  public long expiresAtNanos() {
    return expiresAtNanos;
  }

  void setExpiresAtNanos(long expiresAtNanos) {
    this.expiresAtNanos = expiresAtNanos; // volatile: seen by readers that check the deadline
  }

  boolean isExpired(long nowNanos) {
    long deadline = expiresAtNanos;
    return (deadline != ETERNAL) && (nowNanos - deadline >= 0);
  }

  /** Nanoseconds left at {@code nowNanos}, for the store's Expiry: zero once due. */
  long remainingNanos(long nowNanos) {
    long deadline = expiresAtNanos;
    return (deadline == ETERNAL) ? Long.MAX_VALUE : Math.max(0L, deadline - nowNanos);
  }

  /** Whether the store or an operation let the entry go: expired or evicted. */
  boolean isGone() {
    return state != LIVE;
  }

  /** Marks the entry expired; true for the one caller that does, which publishes the event. */
  boolean claimExpired() {
    return STATE.compareAndSet(this, LIVE, EXPIRED); // one EXPIRED event per entry
  }

  /** Marks the entry evicted for size (no event); true for the one caller that does. */
  boolean claimEvicted() {
    return STATE.compareAndSet(this, LIVE, EVICTED); // orders against an expiry's claim
  }

  /**
   * Describes the value and its deadline.
   *
   * @return a description
   */
  @Override
  public String toString() {
    return "Expirable{" + value + ", expiresAtNanos=" + expiresAtNanos + "}";
  }
}
