package dev.hourglass.cache.internal;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheStats;
import dev.hourglass.cache.LoadingCache;
import dev.hourglass.cache.Policy;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Function;

/**
 * {@code synchronous()} of an asynchronous cache: the {@link Cache} API over the same entries.
 * Reads wait for a future still loading and answer its value, or nothing if it fails; a compute
 * runs its function on the caller's thread, through the asynchronous cache's single flight, and
 * rethrows what the function threw as the synchronous cache does. Writes store completed
 * futures. Size, statistics, invalidation and the policy are the engine's.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
class SyncView<K, V> implements Cache<K, V> {
  final StripedAsyncCache<K, V> async;
  private final StripedCache<K, CompletableFuture<V>> engine;
  private ValueMapView<K, V> mapView;
  private FuturePolicy<K, V> policy;

  SyncView(StripedAsyncCache<K, V> async) {
    this.async = async;
    this.engine = async.engine;
  }

  @Override
  public V getIfPresent(K key) {
    return FutureValues.awaitQuietly(async.getIfPresent(key));
  }

  @Override
  public V get(K key, Function<? super K, ? extends V> mappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return FutureValues.await(async.get(key, (k, executor) -> computeHere(k, mappingFunction)));
  }

  /** Runs the function on this thread: a future of its value, or of its failure. */
  private static <K, V> CompletableFuture<V> computeHere(K key,
      Function<? super K, ? extends V> function) {
    try {
      return CompletableFuture.completedFuture(function.apply(key));
    } catch (Throwable t) { // anything: rethrown to every caller by await
      return CompletableFuture.failedFuture(t);
    }
  }

  @Override
  public Map<K, V> getAllPresent(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    Set<K> unique = StripedCache.uniqueKeys(keys);
    Map<K, V> result = new LinkedHashMap<>();
    for (K key : unique) {
      V value = FutureValues.awaitQuietly(engine.read(key, true));
      if (value != null) {
        result.put(key, value);
      }
    }
    if (engine.stats != null) {
      engine.stats.recordHits(result.size());
      engine.stats.recordMisses(unique.size() - result.size());
    }
    return Collections.unmodifiableMap(result);
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> mappingFunction) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return FutureValues.await(async.getAll(keys, (absent, executor) -> {
      try {
        // As the synchronous cache: a null key or value fails every key, and nothing is stored.
        Map<? extends K, ? extends V> map = Objects.requireNonNull(
            mappingFunction.apply(absent), "the mapping function returned null");
        map.forEach((key, value) -> {
          Objects.requireNonNull(key, "the mapping function returned a null key");
          Objects.requireNonNull(value,
              () -> "the mapping function returned a null value for key " + key);
        });
        return CompletableFuture.completedFuture(map);
      } catch (Throwable t) { // anything: rethrown by await
        return CompletableFuture.failedFuture(t);
      }
    }));
  }

  @Override
  public void put(K key, V value) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    engine.put(key, CompletableFuture.completedFuture(value));
  }

  @Override
  public void put(K key, V value, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    engine.put(key, CompletableFuture.completedFuture(value), ttl);
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> map) {
    StripedCache.requireNoNulls(map);
    map.forEach(this::put);
  }

  @Override
  public void invalidate(K key) {
    engine.invalidate(key);
  }

  @Override
  public void invalidateAll(Iterable<? extends K> keys) {
    engine.invalidateAll(keys);
  }

  @Override
  public void invalidateAll() {
    engine.invalidateAll();
  }

  @Override
  public long estimatedSize() {
    return engine.estimatedSize();
  }

  @Override
  public CacheStats stats() {
    return engine.stats();
  }

  @Override
  public void cleanUp() {
    engine.cleanUp();
  }

  @Override
  public ConcurrentMap<K, V> asMap() {
    ValueMapView<K, V> view = mapView;
    if (view == null) {
      view = new ValueMapView<>(engine.asMap(), this); // racy: a duplicate view holds no state
      mapView = view;
    }
    return view;
  }

  @Override
  public Policy<K, V> policy() {
    FuturePolicy<K, V> view = policy;
    if (view == null) {
      view = new FuturePolicy<>(engine.policy(), async.weighted); // racy: holds no state
      policy = view;
    }
    return view;
  }

  @Override
  public String toString() {
    return "SyncView[" + engine + "]";
  }

  /** {@code synchronous()} of an asynchronous loading cache. */
  static final class Loading<K, V> extends SyncView<K, V> implements LoadingCache<K, V> {
    private final StripedAsyncLoadingCache<K, V> loading;

    Loading(StripedAsyncLoadingCache<K, V> loading) {
      super(loading);
      this.loading = loading;
    }

    @Override
    public V get(K key) {
      return FutureValues.await(loading.get(key));
    }

    @Override
    public Map<K, V> getAll(Iterable<? extends K> keys) {
      return FutureValues.await(loading.getAll(keys, true)); // strict, as the synchronous cache
    }

    @Override
    public CompletableFuture<V> refresh(K key) {
      return loading.refresh(key);
    }

    @Override
    public CompletableFuture<Map<K, V>> refreshAll(Iterable<? extends K> keys) {
      return loading.refreshAll(keys);
    }
  }
}
