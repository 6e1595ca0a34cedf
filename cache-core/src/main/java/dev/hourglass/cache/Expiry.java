package dev.hourglass.cache;

import java.time.Duration;
import java.util.Objects;
import java.util.function.BiFunction;

/**
 * Decides, entry by entry, how long an entry lives: the per-entry time-to-live policy set with
 * {@link CacheBuilder#expireAfter(Expiry)}.
 *
 * <p>Each method returns a duration in nanoseconds measured from {@code currentTimeNanos}, the
 * cache's {@link Ticker} reading. A duration of zero or less expires the entry at once; a very long
 * one (up to {@link Long#MAX_VALUE}) is capped at about 146 years, which is "never". The methods
 * are called outside the cache's locks and, for {@link #expireAfterRead}, on the read path of every
 * hit: implementations must be thread-safe, fast and free of side effects. Durations are
 * {@code long} nanoseconds rather than {@link Duration} so that a hit allocates nothing.
 *
 * <p>Example: entries whose value says how long they may live.
 * <pre>{@code
 * Cache<String, Token> tokens = Hourglass.newBuilder()
 *     .expireAfter(Expiry.<String, Token>creating((key, token) -> token.lifetime()))
 *     .build();
 * }</pre>
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@FunctionalInterface
public interface Expiry<K, V> {

  /**
   * Returns how long a newly created entry lives.
   *
   * @param key the key, never {@code null}
   * @param value the value, never {@code null}
   * @param currentTimeNanos the ticker's reading now
   * @return the entry's lifetime in nanoseconds
   */
  long expireAfterCreate(K key, V value, long currentTimeNanos);

  /**
   * Returns how long an entry lives after its value is replaced. By default the remaining
   * lifetime is kept.
   *
   * @param key the key, never {@code null}
   * @param value the new value, never {@code null}
   * @param currentTimeNanos the ticker's reading now
   * @param currentDurationNanos the entry's remaining lifetime before this update
   * @return the entry's lifetime in nanoseconds from now
   */
  default long expireAfterUpdate(K key, V value, long currentTimeNanos, long currentDurationNanos) {
    return currentDurationNanos;
  }

  /**
   * Returns how long an entry lives after it is read. By default the remaining lifetime is kept.
   *
   * @param key the key, never {@code null}
   * @param value the value read, never {@code null}
   * @param currentTimeNanos the ticker's reading now
   * @param currentDurationNanos the entry's remaining lifetime before this read
   * @return the entry's lifetime in nanoseconds from now
   */
  default long expireAfterRead(K key, V value, long currentTimeNanos, long currentDurationNanos) {
    return currentDurationNanos;
  }

  /**
   * Returns an expiry that sets each entry's lifetime when it is created and keeps it through
   * updates and reads.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   * @param lifetime computes an entry's lifetime from its key and value
   * @return an expiry based on creation time
   * @throws NullPointerException if {@code lifetime} is null
   */
  static <K, V> Expiry<K, V> creating(BiFunction<? super K, ? super V, Duration> lifetime) {
    Objects.requireNonNull(lifetime, "lifetime");
    return (key, value, now) -> toNanosSaturated(lifetime.apply(key, value));
  }

  /**
   * Returns an expiry that sets each entry's lifetime when it is created or updated, and keeps it
   * through reads.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   * @param lifetime computes an entry's lifetime from its key and value
   * @return an expiry based on the time of the last write
   * @throws NullPointerException if {@code lifetime} is null
   */
  static <K, V> Expiry<K, V> writing(BiFunction<? super K, ? super V, Duration> lifetime) {
    Objects.requireNonNull(lifetime, "lifetime");
    return new Expiry<>() {
      @Override
      public long expireAfterCreate(K key, V value, long currentTimeNanos) {
        return toNanosSaturated(lifetime.apply(key, value));
      }

      @Override
      public long expireAfterUpdate(K key, V value, long currentTimeNanos, long currentDurationNanos) {
        return toNanosSaturated(lifetime.apply(key, value));
      }
    };
  }

  /**
   * Returns an expiry that restarts each entry's lifetime on every create, update and read.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   * @param lifetime computes an entry's idle lifetime from its key and value
   * @return an expiry based on the time of the last access
   * @throws NullPointerException if {@code lifetime} is null
   */
  static <K, V> Expiry<K, V> accessing(BiFunction<? super K, ? super V, Duration> lifetime) {
    Objects.requireNonNull(lifetime, "lifetime");
    return new Expiry<>() {
      @Override
      public long expireAfterCreate(K key, V value, long currentTimeNanos) {
        return toNanosSaturated(lifetime.apply(key, value));
      }

      @Override
      public long expireAfterUpdate(K key, V value, long currentTimeNanos, long currentDurationNanos) {
        return toNanosSaturated(lifetime.apply(key, value));
      }

      @Override
      public long expireAfterRead(K key, V value, long currentTimeNanos, long currentDurationNanos) {
        return toNanosSaturated(lifetime.apply(key, value));
      }
    };
  }

  /**
   * Converts a duration to nanoseconds, saturating at {@link Long#MAX_VALUE} and
   * {@link Long#MIN_VALUE} instead of overflowing.
   *
   * @param duration the duration to convert
   * @return the duration in nanoseconds, saturated
   * @throws NullPointerException if {@code duration} is null
   */
  static long toNanosSaturated(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    long seconds = duration.getSeconds();
    if (seconds >= Long.MAX_VALUE / 1_000_000_000L) {
      return Long.MAX_VALUE;
    } else if (seconds < Long.MIN_VALUE / 1_000_000_000L) {
      return Long.MIN_VALUE;
    }
    return seconds * 1_000_000_000L + duration.getNano();
  }
}
