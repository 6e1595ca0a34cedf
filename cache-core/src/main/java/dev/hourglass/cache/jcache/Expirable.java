package dev.hourglass.cache.jcache;

/**
 * What a JCache keeps for a key in its Hourglass store: the value (a copy, for store-by-value)
 * and its JCache deadline in ticker nanoseconds. The store's {@code Expiry} reads the deadline
 * when an Expirable is written, so the store drops the entry when JCache says it expires; an
 * access that moves the deadline ({@code ExpiryPolicy.getExpiryForAccess}) sets it and writes the
 * same Expirable again, so that the store reads it anew.
 *
 * <p>The value is final; the deadline is volatile: a reader without the store's lock compares it
 * with the ticker, and an access writes it before it rewrites the entry.
 */
final class Expirable<V> {
  /** No deadline. */
  static final long ETERNAL = Long.MAX_VALUE;

  final V value;
  private volatile long expiresAtNanos;

  Expirable(V value, long expiresAtNanos) {
    this.value = value;
    this.expiresAtNanos = expiresAtNanos;
  }

  long expiresAtNanos() {
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

  @Override
  public String toString() {
    return "Expirable{" + value + ", expiresAtNanos=" + expiresAtNanos + "}";
  }
}
