package dev.hourglass.cache.internal;

import dev.hourglass.cache.AsyncCache;
import dev.hourglass.cache.AsyncCacheLoader;
import dev.hourglass.cache.AsyncLoadingCache;
import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheLoader;
import dev.hourglass.cache.Expiry;
import dev.hourglass.cache.LoadingCache;
import dev.hourglass.cache.RemovalListener;
import dev.hourglass.cache.Scheduler;
import dev.hourglass.cache.Ticker;
import dev.hourglass.cache.Weigher;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The validated settings of a cache, handed from the builder to the engine, and the one public
 * type of this package: the builder's way in. Immutable.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 * @param initialCapacity expected entries, zero or more
 * @param concurrencyLevel expected concurrent writers, at least one
 * @param maximum the size or weight bound, or -1 when unbounded
 * @param weigher the weigher, or null to weigh each entry as one
 * @param expireAfterWriteNanos fixed time to live, or -1
 * @param expireAfterAccessNanos fixed idle time, or -1
 * @param expiry per-entry expiry, or null
 * @param ticker the time source
 * @param executor runs removal notifications
 * @param scheduler runs the periodic clean-up
 * @param removalListener the listener, or null
 * @param recordStats whether to count statistics
 * @param loader the loader of a loading cache, or null
 * @param refreshAfterWriteNanos how old an entry is when a read refreshes it, or -1; positive,
 *     and only with a loader
 */
public record CacheSpec<K, V>(
    int initialCapacity,
    int concurrencyLevel,
    long maximum,
    Weigher<? super K, ? super V> weigher,
    long expireAfterWriteNanos,
    long expireAfterAccessNanos,
    Expiry<? super K, ? super V> expiry,
    Ticker ticker,
    Executor executor,
    Scheduler scheduler,
    RemovalListener<? super K, ? super V> removalListener,
    boolean recordStats,
    CacheLoader<? super K, V> loader,
    long refreshAfterWriteNanos) {

  /** Validates what the builder cannot express wrongly but a direct caller could. */
  public CacheSpec {
    if (initialCapacity < 0) {
      throw new IllegalArgumentException("initialCapacity must not be negative: " + initialCapacity);
    }
    if (concurrencyLevel < 1) {
      throw new IllegalArgumentException("concurrencyLevel must be positive: " + concurrencyLevel);
    }
    Objects.requireNonNull(ticker, "ticker");
    Objects.requireNonNull(executor, "executor");
    Objects.requireNonNull(scheduler, "scheduler");
    if ((refreshAfterWriteNanos == 0) || (refreshAfterWriteNanos < -1)) {
      throw new IllegalArgumentException(
          "refreshAfterWriteNanos must be positive or -1: " + refreshAfterWriteNanos);
    }
    if ((refreshAfterWriteNanos > 0) && (loader == null)) {
      throw new IllegalStateException("refreshAfterWrite needs a loader");
    }
  }

  /**
   * A new cache without a loader; it is not a {@link LoadingCache}.
   *
   * @return the cache
   * @throws IllegalStateException if these settings have a loader
   */
  public Cache<K, V> newCache() {
    if (loader != null) {
      throw new IllegalStateException("settings with a loader build a loading cache");
    }
    return new StripedCache<>(this);
  }

  /**
   * A new loading cache.
   *
   * @return the cache
   * @throws IllegalStateException if these settings have no loader
   */
  public LoadingCache<K, V> newLoadingCache() {
    if (loader == null) {
      throw new IllegalStateException("a loading cache needs a loader");
    }
    return new StripedLoadingCache<>(this);
  }

  /**
   * A new asynchronous cache with these settings, over futures of values.
   *
   * @return the cache
   * @throws IllegalStateException if these settings have a loader or refresh
   */
  public AsyncCache<K, V> newAsyncCache() {
    if ((loader != null) || (refreshAfterWriteNanos > 0)) {
      throw new IllegalStateException("an asynchronous cache with a loader is built by "
          + "newAsyncLoadingCache");
    }
    return new StripedAsyncCache<>(
        new StripedCache<>(FutureValues.engineSpec(this, null, -1), true), weigher != null);
  }

  /**
   * A new asynchronous loading cache with these settings and {@code asyncLoader}.
   *
   * @param asyncLoader the loader
   * @param refreshAfterWriteNanos the refresh interval, or -1
   * @return the cache
   * @throws NullPointerException if {@code asyncLoader} is null
   * @throws IllegalStateException if these settings have a (synchronous) loader or refresh of
   *     their own
   */
  public AsyncLoadingCache<K, V> newAsyncLoadingCache(AsyncCacheLoader<? super K, V> asyncLoader,
      long refreshAfterWriteNanos) {
    Objects.requireNonNull(asyncLoader, "asyncLoader");
    if ((loader != null) || (this.refreshAfterWriteNanos > 0)) {
      throw new IllegalStateException("the loader and refresh of an asynchronous cache are "
          + "newAsyncLoadingCache's arguments");
    }
    FutureValues.FutureLoader<K, V> engineLoader =
        FutureValues.FutureLoader.of(asyncLoader, executor);
    StripedLoadingCache<K, CompletableFuture<V>> engine = new StripedLoadingCache<>(
        FutureValues.engineSpec(this, engineLoader, refreshAfterWriteNanos), true);
    return new StripedAsyncLoadingCache<>(engine, engineLoader, weigher != null);
  }
}
