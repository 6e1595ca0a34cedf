package dev.hourglass.cache.internal;

import dev.hourglass.cache.AsyncLoadingCache;
import dev.hourglass.cache.LoadingCache;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;

/**
 * The cache that {@code buildAsync(loader)} returns: an {@link StripedAsyncCache} whose misses
 * start the loader's {@code asyncLoad}, and whose engine is a {@link StripedLoadingCache} over the
 * loader adapted to futures ({@link FutureValues.FutureLoader}), so that refreshes, automatic and
 * explicit, are the engine's own ({@link Refresher}): a reload installs a completed future of the
 * new value, and a future still loading is never refreshed.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class StripedAsyncLoadingCache<K, V> extends StripedAsyncCache<K, V>
    implements AsyncLoadingCache<K, V> {
  private final FutureValues.FutureLoader<K, V> loader;
  /** Starts one key's load; held so that a miss allocates no function. */
  private final BiFunction<K, Executor, CompletableFuture<V>> loadOne;
  private final boolean bulkLoader;

  StripedAsyncLoadingCache(StripedLoadingCache<K, CompletableFuture<V>> engine,
      FutureValues.FutureLoader<K, V> loader, boolean weighted) {
    super(engine, weighted);
    this.loader = loader;
    this.loadOne = (key, executor) -> loader.start(key);
    this.bulkLoader = loader.hasBulkLoad();
  }

  @Override
  SyncView<K, V> newSynchronousView() {
    return new SyncView.Loading<>(this);
  }

  @Override
  public CompletableFuture<V> get(K key) {
    Objects.requireNonNull(key, "key");
    CompletableFuture<V> present = hit(key);
    return (present != null) ? present : load(key, loadOne);
  }

  @Override
  public CompletableFuture<Map<K, V>> getAll(Iterable<? extends K> keys) {
    return getAll(keys, false);
  }

  /**
   * getAll; {@code strict} for the synchronous view, whose {@code LoadingCache.getAll} follows the
   * synchronous cache: a bulk result with a null key or value fails every key, storing nothing.
   */
  CompletableFuture<Map<K, V>> getAll(Iterable<? extends K> keys, boolean strict) {
    Objects.requireNonNull(keys, "keys");
    Set<K> unique = StripedCache.uniqueKeys(keys);
    Map<K, CompletableFuture<V>> futures = new LinkedHashMap<>();
    if (!bulkLoader) {
      for (K key : unique) {
        futures.put(key, get(key));
      }
      return collect(futures);
    }
    Map<K, CompletableFuture<V>> mine = reserve(unique, futures);
    if (!mine.isEmpty()) {
      startAll(mine, (absent, executor) -> strict
          ? loadAll(absent, mine).thenApply(StripedAsyncLoadingCache::requireNoNulls)
          : loadAll(absent, mine));
    }
    return collect(futures);
  }

  /**
   * The loader's bulk load of the absent keys; one that turns out unsupported loads them one by
   * one into their reserved futures instead.
   */
  @SuppressWarnings("unchecked") // the absent keys are the reserved K's
  private CompletableFuture<Map<K, V>> loadAll(Set<? extends K> absent,
      Map<K, CompletableFuture<V>> mine) {
    try {
      return loader.startAll(absent);
    } catch (UnsupportedOperationException e) {
      Map<K, V> none = new LinkedHashMap<>();
      for (K key : (Set<K>) absent) {
        loader.start(key).whenComplete((value, failure) -> {
          CompletableFuture<V> reserved = mine.get(key);
          if (failure != null) {
            reserved.completeExceptionally(FutureValues.unwrap(failure));
          } else {
            reserved.complete(value);
          }
        });
      }
      // Each key completes its own future; the empty map completes nothing more.
      return awaitAll(mine).thenApply(done -> none);
    } catch (Exception e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private static <M extends Map<?, ?>> M requireNoNulls(M loaded) {
    Objects.requireNonNull(loaded, "CacheLoader.loadAll returned null");
    loaded.forEach((key, value) -> {
      Objects.requireNonNull(key, "CacheLoader.loadAll returned a null key");
      Objects.requireNonNull(value, () -> "CacheLoader.loadAll returned a null value for key " + key);
    });
    return loaded;
  }

  private static <V> CompletableFuture<Void> awaitAll(Map<?, CompletableFuture<V>> futures) {
    return CompletableFuture.allOf(futures.values().toArray(new CompletableFuture<?>[0]))
        .handle((done, failure) -> null);
  }

  /** {@code synchronous().refresh}: the engine's refresh, or the load of a key still loading. */
  CompletableFuture<V> refresh(K key) {
    Objects.requireNonNull(key, "key");
    CompletableFuture<V> present = engine.read(key, false); // records nothing
    if ((present == null) || !FutureValues.isReady(present)) {
      return get(key); // absent, or still loading: the load is the refresh
    }
    return flatten(engine.refresher.refresh(key));
  }

  /**
   * {@code synchronous().refreshAll}: {@link #refresh} of each key, so a key still loading joins
   * its load and an absent one is loaded (and counted) as by {@code get}. The loader adapted to
   * futures has no bulk reload, so the engine would reload key by key too.
   */
  CompletableFuture<Map<K, V>> refreshAll(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    Set<K> unique = StripedCache.uniqueKeys(keys); // every key checked before any refresh
    Set<K> ready = new LinkedHashSet<>();
    if (loader.reloadsInBulk()) { // entries with values: one reloadAll, through the engine
      for (K key : unique) {
        CompletableFuture<V> present = engine.read(key, false); // records nothing
        if ((present != null) && FutureValues.isReady(present)) {
          ready.add(key);
        }
      }
    }
    CompletableFuture<Map<K, CompletableFuture<V>>> bulk = ready.isEmpty()
        ? CompletableFuture.completedFuture(Map.of()) : engine.refresher.refreshAll(ready);
    Map<K, CompletableFuture<V>> others = new LinkedHashMap<>();
    for (K key : unique) {
      if (!ready.contains(key)) {
        others.put(key, refresh(key)); // key by key; a key still loading joins its load
      }
    }
    return bulk.thenCompose(reloaded -> {
      Map<K, CompletableFuture<V>> futures = new LinkedHashMap<>();
      for (K key : unique) {
        CompletableFuture<V> future = ready.contains(key) ? reloaded.get(key) : others.get(key);
        if (future != null) {
          futures.put(key, future);
        }
      }
      return collect(futures);
    });
  }

  private static <V> CompletableFuture<V> flatten(
      CompletableFuture<CompletableFuture<V>> nested) {
    return nested.thenCompose(inner -> (inner == null)
        ? CompletableFuture.<V>completedFuture(null) : inner);
  }

  @Override
  public LoadingCache<K, V> synchronous() {
    return (LoadingCache<K, V>) super.synchronous();
  }
}
