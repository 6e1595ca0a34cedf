package dev.hourglass.cache;

/**
 * An immutable snapshot of a cache's statistics, taken by {@link Cache#stats()}.
 *
 * <p>Instances are immutable and thread-safe. Counts are only kept when the cache was built with
 * {@link CacheBuilder#recordStats()}; otherwise every count is zero. Counts are maintained without
 * locks, so a snapshot taken while other threads use the cache may mix counts from slightly
 * different instants.
 *
 * @param hitCount lookups that found a present, unexpired value
 * @param missCount lookups that found no value (each one may have started a load)
 * @param loadSuccessCount loads that produced a value
 * @param loadFailureCount loads that threw or produced {@code null}
 * @param totalLoadTimeNanos time spent loading, successful or not, in nanoseconds
 * @param evictionCount entries removed by the cache itself, for size or expiration
 * @param evictionWeight total weight of the entries evicted
 * @param putCount values stored by writes (put, putAll, replace, compute, merge, and the same
 *     through {@code asMap()}), not counting loads: a write that stores nothing (a
 *     {@code putIfAbsent} that finds a value, a {@code replace} that finds none, a compute that
 *     keeps or removes the value) does not count
 */
public record CacheStats(
    long hitCount,
    long missCount,
    long loadSuccessCount,
    long loadFailureCount,
    long totalLoadTimeNanos,
    long evictionCount,
    long evictionWeight,
    long putCount) {

  private static final CacheStats EMPTY = new CacheStats(0, 0, 0, 0, 0, 0, 0, 0);

  /**
   * Validates the counts.
   *
   * @param hitCount lookups that found a present, unexpired value
   * @param missCount lookups that found no value
   * @param loadSuccessCount loads that produced a value
   * @param loadFailureCount loads that threw or produced {@code null}
   * @param totalLoadTimeNanos time spent loading, in nanoseconds
   * @param evictionCount entries removed by the cache itself, for size or expiration
   * @param evictionWeight total weight of the entries evicted
   * @param putCount values stored by writes, not counting loads
   * @throws IllegalArgumentException if any count is negative, naming it and its value
   */
  public CacheStats {
    requireNonNegative("hitCount", hitCount);
    requireNonNegative("missCount", missCount);
    requireNonNegative("loadSuccessCount", loadSuccessCount);
    requireNonNegative("loadFailureCount", loadFailureCount);
    requireNonNegative("totalLoadTimeNanos", totalLoadTimeNanos);
    requireNonNegative("evictionCount", evictionCount);
    requireNonNegative("evictionWeight", evictionWeight);
    requireNonNegative("putCount", putCount);
  }

  /**
   * Counts with no writes counted, as before the put count existed.
   *
   * @param hitCount lookups that found a present, unexpired value
   * @param missCount lookups that found no value
   * @param loadSuccessCount loads that produced a value
   * @param loadFailureCount loads that threw or produced {@code null}
   * @param totalLoadTimeNanos time spent loading, in nanoseconds
   * @param evictionCount entries removed by the cache itself, for size or expiration
   * @param evictionWeight total weight of the entries evicted
   * @throws IllegalArgumentException if any count is negative, naming it and its value
   */
  public CacheStats(long hitCount, long missCount, long loadSuccessCount, long loadFailureCount,
      long totalLoadTimeNanos, long evictionCount, long evictionWeight) {
    this(hitCount, missCount, loadSuccessCount, loadFailureCount, totalLoadTimeNanos,
        evictionCount, evictionWeight, 0);
  }

  /**
   * Returns statistics with every count zero.
   *
   * @return the empty snapshot
   */
  public static CacheStats empty() {
    return EMPTY;
  }

  /**
   * Returns the number of lookups, hits plus misses.
   *
   * @return {@code hitCount + missCount}, saturated at {@link Long#MAX_VALUE}
   */
  public long requestCount() {
    return saturatedAdd(hitCount, missCount);
  }

  /**
   * Returns the share of lookups that hit.
   *
   * @return hits divided by requests, or {@code 1.0} when there were no requests
   */
  public double hitRate() {
    long requests = requestCount();
    return (requests == 0) ? 1.0 : (double) hitCount / requests;
  }

  /**
   * Returns the share of lookups that missed.
   *
   * @return misses divided by requests, or {@code 0.0} when there were no requests
   */
  public double missRate() {
    long requests = requestCount();
    return (requests == 0) ? 0.0 : (double) missCount / requests;
  }

  /**
   * Returns the number of loads, successful or not.
   *
   * @return {@code loadSuccessCount + loadFailureCount}, saturated
   */
  public long loadCount() {
    return saturatedAdd(loadSuccessCount, loadFailureCount);
  }

  /**
   * Returns the share of loads that failed.
   *
   * @return failures divided by loads, or {@code 0.0} when there were no loads
   */
  public double loadFailureRate() {
    long loads = loadCount();
    return (loads == 0) ? 0.0 : (double) loadFailureCount / loads;
  }

  /**
   * Returns the mean time a load took.
   *
   * @return total load time divided by loads in nanoseconds, or {@code 0.0} when there were none
   */
  public double averageLoadPenaltyNanos() {
    long loads = loadCount();
    return (loads == 0) ? 0.0 : (double) totalLoadTimeNanos / loads;
  }

  /**
   * Returns the difference between this snapshot and an earlier one, each count floored at zero.
   *
   * @param other an earlier snapshot of the same cache
   * @return the activity between the two snapshots
   * @throws NullPointerException if {@code other} is null
   */
  public CacheStats minus(CacheStats other) {
    java.util.Objects.requireNonNull(other, "other");
    return new CacheStats(
        Math.max(0, hitCount - other.hitCount),
        Math.max(0, missCount - other.missCount),
        Math.max(0, loadSuccessCount - other.loadSuccessCount),
        Math.max(0, loadFailureCount - other.loadFailureCount),
        Math.max(0, totalLoadTimeNanos - other.totalLoadTimeNanos),
        Math.max(0, evictionCount - other.evictionCount),
        Math.max(0, evictionWeight - other.evictionWeight),
        Math.max(0, putCount - other.putCount));
  }

  /**
   * Returns the sum of this snapshot and another, each count saturated at {@link Long#MAX_VALUE}.
   *
   * @param other another snapshot
   * @return the combined counts
   * @throws NullPointerException if {@code other} is null
   */
  public CacheStats plus(CacheStats other) {
    java.util.Objects.requireNonNull(other, "other");
    return new CacheStats(
        saturatedAdd(hitCount, other.hitCount),
        saturatedAdd(missCount, other.missCount),
        saturatedAdd(loadSuccessCount, other.loadSuccessCount),
        saturatedAdd(loadFailureCount, other.loadFailureCount),
        saturatedAdd(totalLoadTimeNanos, other.totalLoadTimeNanos),
        saturatedAdd(evictionCount, other.evictionCount),
        saturatedAdd(evictionWeight, other.evictionWeight),
        saturatedAdd(putCount, other.putCount));
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return (sum < 0) ? Long.MAX_VALUE : sum;
  }

  private static void requireNonNegative(String name, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must not be negative: " + value);
    }
  }
}
