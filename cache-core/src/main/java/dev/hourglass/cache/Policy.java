package dev.hourglass.cache;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A running cache's settings and per-entry state, for inspecting and retuning it: the size bound
 * (read and changed at run time, with snapshots of the entries as the eviction policy ranks them),
 * the configured durations and how old an entry is under each, the time left before an entry
 * expires (and changing it), and a lookup that records nothing. Get one from
 * {@link Cache#policy()}. Thread-safe: every method may be called from any thread while the cache
 * is in use.
 *
 * <p>A view is present only for what the cache was built with: {@link #eviction()} for a
 * {@code maximumSize} or {@code maximumWeight}, {@link #expireAfterWrite()} and
 * {@link #expireAfterAccess()} for those settings, {@link #refreshAfterWrite()} for a refreshing
 * cache. {@link #expireVariably()} is always present, as every Hourglass cache accepts a time to
 * live of an entry's own ({@link Cache#put(Object, Object, Duration)}).
 *
 * <p>Nothing here counts as a use of an entry: no method records a hit or a miss in the
 * statistics, moves an entry in the eviction order or extends an idle time. No method runs a
 * loader; only {@link Eviction#setMaximum} and {@link VarExpiration#setExpiresAfter} may remove
 * entries, and they notify the removal listener as any write does (after their locks are
 * released).
 *
 * <pre>{@code
 * cache.policy().eviction().ifPresent(eviction -> eviction.setMaximum(50_000));
 * Optional<Duration> age = cache.policy().expireAfterWrite()
 *     .flatMap(expiration -> expiration.ageOf(key));
 * Map<String, Report> top = cache.policy().eviction().orElseThrow().hottest(10);
 * }</pre>
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
public interface Policy<K, V> {

  /**
   * Returns whether the cache records statistics ({@link CacheBuilder#recordStats()}).
   *
   * @return true if {@link Cache#stats()} counts
   */
  boolean isRecordingStats();

  /**
   * Returns the value for {@code key} as {@link Cache#getIfPresent} would, but records and
   * changes nothing: no hit or miss in the statistics, no use for the eviction policy, no
   * extension of an idle time, no refresh started, no {@code Expiry} asked, and no expired entry
   * removed (the clean-up does that).
   *
   * @param key the key to look up
   * @return the present, unexpired value, or {@code null}
   * @throws NullPointerException if {@code key} is null
   */
  V getIfPresentQuietly(K key);

  /**
   * Returns the size bound's view, if the cache has one.
   *
   * @return the view, or empty for an unbounded cache
   */
  Optional<Eviction<K, V>> eviction();

  /**
   * Returns the fixed time to live's view, if the cache was built with
   * {@link CacheBuilder#expireAfterWrite}.
   *
   * @return the view, or empty
   */
  Optional<FixedExpiration<K, V>> expireAfterWrite();

  /**
   * Returns the fixed idle time's view, if the cache was built with
   * {@link CacheBuilder#expireAfterAccess}.
   *
   * @return the view, or empty
   */
  Optional<FixedExpiration<K, V>> expireAfterAccess();

  /**
   * Returns the view of each entry's own deadline. Always present (see the class comment).
   *
   * @return the view
   */
  Optional<VarExpiration<K, V>> expireVariably();

  /**
   * Returns the refresh interval's view, if the cache was built with
   * {@link CacheBuilder#refreshAfterWrite}.
   *
   * @return the view, or empty
   */
  Optional<FixedRefresh<K, V>> refreshAfterWrite();

  /**
   * The size bound of a cache built with {@code maximumSize} or {@code maximumWeight}.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   */
  interface Eviction<K, V> {

    /**
     * Returns whether the bound is on weights ({@code maximumWeight}) rather than a count.
     *
     * @return true for a weigher's bound
     */
    boolean isWeighted();

    /**
     * Returns the weight of the entry for {@code key}, as the weigher gave it when it was written.
     *
     * @param key the key
     * @return the weight, or empty if the cache is not weighted or holds no live entry for it
     * @throws NullPointerException if {@code key} is null
     */
    OptionalLong weightOf(K key);

    /**
     * Returns the sum of the weights of the entries held, expired ones not yet removed included.
     *
     * @return the total weight, or empty if the cache is not weighted
     */
    OptionalLong weightedSize();

    /**
     * Returns the current bound: the most entries, or the most total weight.
     *
     * @return the bound
     */
    long getMaximum();

    /**
     * Changes the bound. A smaller bound evicts before this method returns, by the policy's
     * choice and with {@link RemovalCause#SIZE}, until the cache fits; a larger one lets it grow.
     * Writes that race with the change are held to whichever bound they read.
     *
     * @param maximum the new bound
     * @throws IllegalArgumentException if {@code maximum} is negative
     */
    void setMaximum(long maximum);

    /**
     * Returns a snapshot of up to {@code limit} entries the policy rates most worth keeping,
     * the hottest first: highest estimated frequency of use first, and among equals, the entries
     * the policy protects (its main space) before those on probation, the most recently
     * admitted first. Takes each stripe's lock in turn, briefly; the snapshot is not one moment
     * of the whole cache.
     *
     * @param limit the most entries to return
     * @return an unmodifiable map in that order
     * @throws IllegalArgumentException if {@code limit} is negative
     */
    Map<K, V> hottest(int limit);

    /**
     * Returns a snapshot of up to {@code limit} entries the policy rates least worth keeping, the
     * coldest first: the exact reverse of {@link #hottest}'s order. The sample-based eviction
     * across stripes approximates this order; it does not follow it entry by entry.
     *
     * @param limit the most entries to return
     * @return an unmodifiable map in that order
     * @throws IllegalArgumentException if {@code limit} is negative
     */
    Map<K, V> coldest(int limit);
  }

  /**
   * A fixed duration after which entries expire: the time to live ({@code expireAfterWrite}) or
   * the idle time ({@code expireAfterAccess}).
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   */
  interface FixedExpiration<K, V> {

    /**
     * Returns the configured duration.
     *
     * @return the duration the cache was built with
     */
    Duration getExpiresAfter();

    /**
     * Returns how old the entry for {@code key} is under this duration: for a time to live, the
     * time since the value was written; for an idle time, the time since it was last read or
     * written, to within the idle time's read tolerance (a read that finds much of the idle time
     * left writes nothing, so the age shown may be up to min(1 ms, idle time / 64) short). In a
     * cache with both durations, once the write's deadline comes before the idle one, the idle
     * age shown is the one that deadline leaves ({@code idle time - time left}).
     *
     * @param key the key
     * @return the age, or empty if there is no live entry for {@code key} or its deadline is its
     *     own (set by {@link Cache#put(Object, Object, Duration)} or
     *     {@link VarExpiration#setExpiresAfter}), which this duration no longer governs
     * @throws NullPointerException if {@code key} is null
     */
    Optional<Duration> ageOf(K key);
  }

  /**
   * Each entry's own deadline, whatever set it: the configured durations, an {@link Expiry}, or
   * a time to live given with the entry.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   */
  interface VarExpiration<K, V> {

    /**
     * Returns the time left before the entry for {@code key} expires.
     *
     * @param key the key
     * @return the time left; {@code Duration.ofNanos(Long.MAX_VALUE)} for an entry that never
     *     expires; empty if there is no live entry
     * @throws NullPointerException if {@code key} is null
     */
    Optional<Duration> getExpiresAfter(K key);

    /**
     * Gives the live entry for {@code key} a new deadline, {@code duration} from now, without
     * changing its value: no removal is reported, and the entry's use, weight and refresh state
     * stay. The deadline is the entry's own from then on, as with
     * {@link Cache#put(Object, Object, Duration)}: reads do not extend it, and the {@code Expiry}
     * is not asked again until the next write. A zero duration expires the entry at once
     * ({@link RemovalCause#EXPIRED}). Nothing happens if there is no live entry. Waits, as a
     * write does, for a load or compute of the key that is running.
     *
     * @param key the key
     * @param duration the time from now the entry is to live; durations over about 146 years
     *     count as that
     * @return true if a live entry was given the deadline
     * @throws NullPointerException if {@code key} or {@code duration} is null
     * @throws IllegalArgumentException if {@code duration} is negative
     * @throws IllegalStateException if called, for the same key, from the function that is
     *     computing it
     */
    boolean setExpiresAfter(K key, Duration duration);
  }

  /**
   * The interval after which a read starts a refresh ({@code refreshAfterWrite}).
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   */
  interface FixedRefresh<K, V> {

    /**
     * Returns the configured interval.
     *
     * @return the interval the cache was built with
     */
    Duration getRefreshesAfter();

    /**
     * Returns the time since the value of the entry for {@code key} was written (or last
     * refreshed), which a read compares with the interval.
     *
     * @param key the key
     * @return the age, or empty if there is no live entry
     * @throws NullPointerException if {@code key} is null
     */
    Optional<Duration> ageOf(K key);
  }
}
