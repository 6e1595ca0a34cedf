package dev.hourglass.cache;

import dev.hourglass.cache.internal.CacheSpec;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;

/**
 * Configures and builds a {@link Cache} or {@link LoadingCache}. Obtain one with
 * {@link Hourglass#newBuilder()}.
 *
 * <p>Each property may be set once; setting it again throws {@link IllegalStateException}. Checks
 * that involve several properties run in {@link #build()}. A builder is not thread-safe, and may
 * build any number of independent caches.
 *
 * <pre>{@code
 * LoadingCache<String, byte[]> images = Hourglass.newBuilder()
 *     .maximumWeight(64L << 20)
 *     .weigher((String key, byte[] bytes) -> bytes.length)
 *     .expireAfterAccess(Duration.ofMinutes(10))
 *     .recordStats()
 *     .build(this::readImage);
 * }</pre>
 *
 * @param <K> the most general key type the built caches accept
 * @param <V> the most general value type the built caches accept
 */
public final class CacheBuilder<K, V> {

  static final long UNSET = -1;

  private int initialCapacity = -1;
  private int concurrencyLevel = -1;
  private long maximumSize = UNSET;
  private long maximumWeight = UNSET;
  private Weigher<? super K, ? super V> weigher;
  private long expireAfterWriteNanos = UNSET;
  private long expireAfterAccessNanos = UNSET;
  /** The durations as given, for messages: the nanoseconds above may be saturated. */
  private Duration expireAfterWrite;
  private Duration expireAfterAccess;
  private long refreshAfterWriteNanos = UNSET;
  private Duration refreshAfterWrite;
  private Expiry<? super K, ? super V> expiry;
  private Ticker ticker;
  private Executor executor;
  private Scheduler scheduler;
  private RemovalListener<? super K, ? super V> removalListener;
  private boolean recordStats;

  CacheBuilder() {}

  /**
   * Sets how many entries the cache is sized for at first, to avoid early table growth. A hint:
   * the tables are sized up front for at most 2<sup>24</sup> entries (about 16.8 million), and
   * grow past that as entries come, so a huge hint costs no memory before it is used.
   *
   * @param initialCapacity expected number of entries, zero or more
   * @return this builder
   * @throws IllegalArgumentException if {@code initialCapacity} is negative
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> initialCapacity(int initialCapacity) {
    requireUnset("initialCapacity", this.initialCapacity, -1);
    requireNonNegative("initialCapacity", initialCapacity);
    this.initialCapacity = initialCapacity;
    return this;
  }

  /**
   * Sets how many writers are expected to write at once. The table is split into the next power
   * of two of stripes, each with its own lock; a hit never locks. The default is four stripes per
   * available processor, at least 32 and at most 64. Larger values are accepted and capped at
   * 4,096 stripes: each stripe costs about a kilobyte even when empty, and stripes beyond the
   * number of threads that write at once buy nothing.
   *
   * @param concurrencyLevel expected concurrent writers, at least one
   * @return this builder
   * @throws IllegalArgumentException if {@code concurrencyLevel} is less than one
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> concurrencyLevel(int concurrencyLevel) {
    requireUnset("concurrencyLevel", this.concurrencyLevel, -1);
    if (concurrencyLevel < 1) {
      throw new IllegalArgumentException("concurrencyLevel must be positive: " + concurrencyLevel);
    }
    this.concurrencyLevel = concurrencyLevel;
    return this;
  }

  /**
   * Bounds the cache to {@code maximumSize} entries across the whole table (not per stripe). When
   * a write takes the cache over the bound, entries are evicted, reported as
   * {@link RemovalCause#SIZE}: the policy (S3-TinyLFU) keeps the entries it estimates most
   * frequently used, and a new entry that is no more popular than what it would displace may be
   * the one evicted. Zero keeps nothing.
   *
   * @param maximumSize the most entries the cache holds once writes have completed
   * @return this builder
   * @throws IllegalArgumentException if {@code maximumSize} is negative
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> maximumSize(long maximumSize) {
    requireUnset("maximumSize", this.maximumSize, UNSET);
    requireNonNegative("maximumSize", maximumSize);
    this.maximumSize = maximumSize;
    return this;
  }

  /**
   * Bounds the total weight of the entries, as computed by the {@link #weigher}. Requires a
   * weigher, and excludes {@link #maximumSize}.
   *
   * @param maximumWeight the largest total weight the cache holds once writes have completed
   * @return this builder
   * @throws IllegalArgumentException if {@code maximumWeight} is negative
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> maximumWeight(long maximumWeight) {
    requireUnset("maximumWeight", this.maximumWeight, UNSET);
    requireNonNegative("maximumWeight", maximumWeight);
    this.maximumWeight = maximumWeight;
    return this;
  }

  /**
   * Sets the function that weighs entries for {@link #maximumWeight}.
   *
   * @param <K1> the key type the weigher accepts
   * @param <V1> the value type the weigher accepts
   * @param weigher computes each entry's weight when it is written
   * @return this builder, narrowed to the weigher's types
   * @throws NullPointerException if {@code weigher} is null
   * @throws IllegalStateException if it was already set
   */
  public <K1 extends K, V1 extends V> CacheBuilder<K1, V1> weigher(
      Weigher<? super K1, ? super V1> weigher) {
    Objects.requireNonNull(weigher, "weigher");
    requireUnset("weigher", this.weigher);
    @SuppressWarnings("unchecked")
    CacheBuilder<K1, V1> self = (CacheBuilder<K1, V1>) this;
    self.weigher = weigher;
    return self;
  }

  /**
   * Expires each entry a fixed time after it was created or its value last replaced. With
   * {@link #expireAfterAccess} too, an entry expires at whichever of the two deadlines comes
   * first: reads extend its idle time, never past its time to live.
   *
   * @param duration the time to live; zero expires entries at once; durations beyond
   *     {@code long} nanoseconds are capped at about 146 years
   * @return this builder
   * @throws NullPointerException if {@code duration} is null
   * @throws IllegalArgumentException if {@code duration} is negative
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> expireAfterWrite(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    requireUnset("expireAfterWrite", expireAfterWrite);
    requireNonNegative("expireAfterWrite", duration);
    this.expireAfterWriteNanos = Expiry.toNanosSaturated(duration);
    this.expireAfterWrite = duration;
    return this;
  }

  /**
   * Expires each entry a fixed time after it was last created, replaced or read. With
   * {@link #expireAfterWrite} too, an entry expires at whichever of the two deadlines comes
   * first.
   *
   * @param duration the idle time allowed; zero expires entries at once
   * @return this builder
   * @throws NullPointerException if {@code duration} is null
   * @throws IllegalArgumentException if {@code duration} is negative
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> expireAfterAccess(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    requireUnset("expireAfterAccess", expireAfterAccess);
    requireNonNegative("expireAfterAccess", duration);
    this.expireAfterAccessNanos = Expiry.toNanosSaturated(duration);
    this.expireAfterAccess = duration;
    return this;
  }

  /**
   * Refreshes each entry a fixed time after it was created or its value last replaced: the first
   * read of an entry older than {@code duration} returns the current value at once and starts one
   * reload of it ({@link CacheLoader#asyncReload}) on the cache's executor; readers never wait for
   * a refresh. The reloaded value replaces the old one unless the entry was written, removed or
   * expired meanwhile (the write wins; a removed entry is not brought back). A reload that fails
   * or returns null keeps the old value, is counted as a load failure and logged, and is tried
   * again by a read one {@code duration} later: the cache serves the last good value while the
   * source is down, until the entry expires.
   *
   * <p>Usually set shorter than {@link #expireAfterWrite}: hot entries are then reloaded in the
   * background and never expire, while entries nobody reads expire. Needs a loader:
   * {@link #build(CacheLoader)}.
   *
   * @param duration how old an entry is when a read refreshes it, positive; durations beyond
   *     {@code long} nanoseconds are capped at about 146 years
   * @return this builder
   * @throws NullPointerException if {@code duration} is null
   * @throws IllegalArgumentException if {@code duration} is zero or negative
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> refreshAfterWrite(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    requireUnset("refreshAfterWrite", refreshAfterWrite);
    if (duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException("refreshAfterWrite must be positive: " + duration);
    }
    this.refreshAfterWriteNanos = Expiry.toNanosSaturated(duration);
    this.refreshAfterWrite = duration;
    return this;
  }

  /**
   * Expires each entry after a lifetime that {@code expiry} chooses per entry, on create, update
   * and read. Excludes {@link #expireAfterWrite} and {@link #expireAfterAccess}.
   *
   * @param <K1> the key type the expiry accepts
   * @param <V1> the value type the expiry accepts
   * @param expiry chooses each entry's lifetime
   * @return this builder, narrowed to the expiry's types
   * @throws NullPointerException if {@code expiry} is null
   * @throws IllegalStateException if it was already set
   */
  public <K1 extends K, V1 extends V> CacheBuilder<K1, V1> expireAfter(
      Expiry<? super K1, ? super V1> expiry) {
    Objects.requireNonNull(expiry, "expiry");
    requireUnset("expireAfter", this.expiry);
    @SuppressWarnings("unchecked")
    CacheBuilder<K1, V1> self = (CacheBuilder<K1, V1>) this;
    self.expiry = expiry;
    return self;
  }

  /**
   * Sets the time source for expiration and load timing. The default reads
   * {@link System#nanoTime()}; tests inject a fake one.
   *
   * @param ticker the time source
   * @return this builder
   * @throws NullPointerException if {@code ticker} is null
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> ticker(Ticker ticker) {
    Objects.requireNonNull(ticker, "ticker");
    requireUnset("ticker", this.ticker);
    this.ticker = ticker;
    return this;
  }

  /**
   * Sets the executor that delivers removal notifications and runs refreshes (the default
   * {@link CacheLoader#asyncReload} runs {@link CacheLoader#reload} on it). The default is
   * {@link ForkJoinPool#commonPool()}; {@code Runnable::run} delivers them on the thread that
   * caused the removal, after it released its locks and after any load or compute of its own
   * landed (so a listener may use the same key). If the executor rejects a task, or throws
   * anything else (logged as a warning), the notifications are delivered on the calling thread
   * instead: none is lost, none is delivered twice, and the operation that caused them completes
   * normally. The scheduled clean-up of the default scheduler runs on worker threads, so a slow
   * listener under {@code Runnable::run} delays no other cache.
   *
   * @param executor runs removal notifications and refreshes
   * @return this builder
   * @throws NullPointerException if {@code executor} is null
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> executor(Executor executor) {
    Objects.requireNonNull(executor, "executor");
    requireUnset("executor", this.executor);
    this.executor = executor;
    return this;
  }

  /**
   * Sets the scheduler of the periodic clean-up that removes expired entries from memory within
   * about a second of their deadline, even when no thread touches the cache. The default is
   * {@link Scheduler#systemScheduler()}; {@link Scheduler#disabledScheduler()} turns it off.
   *
   * @param scheduler runs the periodic clean-up
   * @return this builder
   * @throws NullPointerException if {@code scheduler} is null
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> scheduler(Scheduler scheduler) {
    Objects.requireNonNull(scheduler, "scheduler");
    requireUnset("scheduler", this.scheduler);
    this.scheduler = scheduler;
    return this;
  }

  /**
   * Sets the listener told of every removal, with its cause, exactly once.
   *
   * @param <K1> the key type the listener accepts
   * @param <V1> the value type the listener accepts
   * @param listener receives removal notifications through the {@link #executor}
   * @return this builder, narrowed to the listener's types
   * @throws NullPointerException if {@code listener} is null
   * @throws IllegalStateException if it was already set
   */
  public <K1 extends K, V1 extends V> CacheBuilder<K1, V1> removalListener(
      RemovalListener<? super K1, ? super V1> listener) {
    Objects.requireNonNull(listener, "listener");
    requireUnset("removalListener", this.removalListener);
    @SuppressWarnings("unchecked")
    CacheBuilder<K1, V1> self = (CacheBuilder<K1, V1>) this;
    self.removalListener = listener;
    return self;
  }

  /**
   * Turns on the counting behind {@link Cache#stats()}. Counting uses striped counters, so a hit
   * stays free of shared compare-and-set.
   *
   * @return this builder
   * @throws IllegalStateException if it was already set
   */
  public CacheBuilder<K, V> recordStats() {
    if (recordStats) {
      throw new IllegalStateException("recordStats was already set");
    }
    this.recordStats = true;
    return this;
  }

  /**
   * Builds a cache with these settings.
   *
   * @param <K1> the key type of the cache
   * @param <V1> the value type of the cache
   * @return a new, empty cache
   * @throws IllegalStateException if settings conflict: a weigher without maximumWeight (or the
   *     reverse), maximumSize with maximumWeight, or expireAfter with a fixed expiration; or if
   *     refreshAfterWrite is set, which needs a loader
   */
  public <K1 extends K, V1 extends V> Cache<K1, V1> build() {
    if (refreshAfterWrite != null) {
      throw new IllegalStateException("refreshAfterWrite (" + refreshAfterWrite
          + ") needs a loader: use build(CacheLoader)");
    }
    return this.<K1, V1>spec(null).newCache();
  }

  /**
   * Builds a loading cache with these settings.
   *
   * @param <K1> the key type of the cache
   * @param <V1> the value type of the cache
   * @param loader computes absent values
   * @return a new, empty loading cache
   * @throws NullPointerException if {@code loader} is null
   * @throws IllegalStateException if settings conflict, as for {@link #build()}
   */
  public <K1 extends K, V1 extends V> LoadingCache<K1, V1> build(
      CacheLoader<? super K1, V1> loader) {
    Objects.requireNonNull(loader, "loader");
    return spec(loader).newLoadingCache();
  }

  /**
   * Builds an asynchronous cache ({@link AsyncCache}), whose values are futures, with these
   * settings. The removal listener, weigher and {@code Expiry} see values, never futures: an
   * entry is weighed and timed when its future completes.
   *
   * <pre>{@code
   * AsyncCache<String, Quote> quotes = Hourglass.newBuilder().maximumSize(10_000).buildAsync();
   * }</pre>
   *
   * @param <K1> the type of keys
   * @param <V1> the type of values
   * @return the cache
   * @throws IllegalStateException if the settings conflict, or {@code refreshAfterWrite} is set
   *     (it needs a loader: {@link #buildAsync(AsyncCacheLoader)})
   */
  public <K1 extends K, V1 extends V> AsyncCache<K1, V1> buildAsync() {
    if (refreshAfterWrite != null) {
      throw new IllegalStateException("refreshAfterWrite (" + refreshAfterWrite
          + ") needs a loader: use buildAsync(AsyncCacheLoader)");
    }
    return this.<K1, V1>spec(null, UNSET).newAsyncCache();
  }

  /**
   * Builds an asynchronous loading cache ({@link AsyncLoadingCache}) with these settings, whose
   * misses start {@code loader}'s {@code asyncLoad}.
   *
   * <pre>{@code
   * AsyncLoadingCache<String, User> users = Hourglass.newBuilder()
   *     .expireAfterWrite(Duration.ofMinutes(5))
   *     .buildAsync((id, executor) -> userService.fetchAsync(id));
   * }</pre>
   *
   * @param <K1> the type of keys
   * @param <V1> the type of values
   * @param loader starts loads (and reloads, with {@code refreshAfterWrite})
   * @return the cache
   * @throws NullPointerException if {@code loader} is null
   * @throws IllegalStateException if the settings conflict
   */
  public <K1 extends K, V1 extends V> AsyncLoadingCache<K1, V1> buildAsync(
      AsyncCacheLoader<? super K1, V1> loader) {
    Objects.requireNonNull(loader, "loader");
    return this.<K1, V1>spec(null, UNSET).newAsyncLoadingCache(loader, refreshAfterWriteNanos);
  }

  /**
   * Builds an asynchronous loading cache whose misses run {@code loader} on the executor: the
   * same as {@link #buildAsync(AsyncCacheLoader)}, for a loader written as {@code key -> value}.
   *
   * @param <K1> the type of keys
   * @param <V1> the type of values
   * @param loader computes values, on the cache's executor
   * @return the cache
   * @throws NullPointerException if {@code loader} is null
   * @throws IllegalStateException if the settings conflict
   */
  public <K1 extends K, V1 extends V> AsyncLoadingCache<K1, V1> buildAsync(
      CacheLoader<? super K1, V1> loader) {
    return buildAsync((AsyncCacheLoader<? super K1, V1>) loader);
  }

  private <K1 extends K, V1 extends V> CacheSpec<K1, V1> spec(CacheLoader<? super K1, V1> loader) {
    return spec(loader, refreshAfterWriteNanos);
  }

  @SuppressWarnings("unchecked")
  private <K1 extends K, V1 extends V> CacheSpec<K1, V1> spec(CacheLoader<? super K1, V1> loader,
      long refreshNanos) {
    if ((weigher != null) && (maximumWeight == UNSET)) {
      throw new IllegalStateException("weigher requires maximumWeight");
    }
    if ((maximumWeight != UNSET) && (weigher == null)) {
      throw new IllegalStateException("maximumWeight requires a weigher");
    }
    if ((maximumSize != UNSET) && (maximumWeight != UNSET)) {
      throw new IllegalStateException(
          "maximumSize (" + maximumSize + ") cannot be combined with maximumWeight (" + maximumWeight + ")");
    }
    if ((expiry != null) && (expireAfterWriteNanos != UNSET)) {
      throw new IllegalStateException("expireAfter cannot be combined with expireAfterWrite");
    }
    if ((expiry != null) && (expireAfterAccessNanos != UNSET)) {
      throw new IllegalStateException("expireAfter cannot be combined with expireAfterAccess");
    }
    int level = (concurrencyLevel > 0)
        ? concurrencyLevel
        : Math.min(64, Math.max(32, 4 * Runtime.getRuntime().availableProcessors()));
    long maximum = (maximumSize != UNSET) ? maximumSize : maximumWeight;
    return new CacheSpec<>(
        Math.max(0, initialCapacity),
        level,
        maximum,
        (Weigher<? super K1, ? super V1>) weigher,
        expireAfterWriteNanos,
        expireAfterAccessNanos,
        (Expiry<? super K1, ? super V1>) expiry,
        (ticker == null) ? Ticker.systemTicker() : ticker,
        (executor == null) ? ForkJoinPool.commonPool() : executor,
        (scheduler == null) ? Scheduler.systemScheduler() : scheduler,
        (RemovalListener<? super K1, ? super V1>) removalListener,
        recordStats,
        loader,
        refreshNanos);
  }

  private static void requireUnset(String name, long current, long unset) {
    if (current != unset) {
      throw new IllegalStateException(name + " was already set to " + current);
    }
  }

  private static void requireUnset(String name, Object current) {
    if (current != null) {
      throw new IllegalStateException(name + " was already set to " + current);
    }
  }

  private static void requireNonNegative(String name, long value) {
    if (value < 0) {
      throw new IllegalArgumentException(name + " must not be negative: " + value);
    }
  }

  private static void requireNonNegative(String name, Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException(name + " must not be negative: " + duration);
    }
  }

  /**
   * Describes the settings made so far, for logs and error messages.
   *
   * @return a description of the set properties
   */
  @Override
  public String toString() {
    StringBuilder s = new StringBuilder("CacheBuilder{");
    if (initialCapacity >= 0) s.append("initialCapacity=").append(initialCapacity).append(", ");
    if (concurrencyLevel > 0) s.append("concurrencyLevel=").append(concurrencyLevel).append(", ");
    if (maximumSize != UNSET) s.append("maximumSize=").append(maximumSize).append(", ");
    if (maximumWeight != UNSET) s.append("maximumWeight=").append(maximumWeight).append(", ");
    if (expireAfterWrite != null) s.append("expireAfterWrite=").append(expireAfterWrite).append(", ");
    if (expireAfterAccess != null) s.append("expireAfterAccess=").append(expireAfterAccess).append(", ");
    if (refreshAfterWrite != null) s.append("refreshAfterWrite=").append(refreshAfterWrite).append(", ");
    if (expiry != null) s.append("expiry, ");
    if (recordStats) s.append("recordStats, ");
    if (s.charAt(s.length() - 1) == ' ') s.setLength(s.length() - 2);
    return s.append('}').toString();
  }
}
