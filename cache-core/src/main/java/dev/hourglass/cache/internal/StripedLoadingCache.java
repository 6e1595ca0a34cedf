package dev.hourglass.cache.internal;

import dev.hourglass.cache.CacheLoader;
import dev.hourglass.cache.LoadingCache;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/**
 * The cache that {@code build(loader)} returns: the engine of {@link StripedCache} with a
 * {@link CacheLoader} behind {@code get(key)} and {@code getAll(keys)}. A subclass rather than a
 * wrapper, so that a hit loads no extra object; a cache built without a loader is not an instance
 * of this class, nor of {@link LoadingCache}.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class StripedLoadingCache<K, V> extends StripedCache<K, V> implements LoadingCache<K, V> {
  private final CacheLoader<? super K, V> loader;
  /**
   * The loader as a function, made once: a method reference made in {@link #get} would be a new
   * object on every call, so a hit would allocate.
   */
  private final Function<K, V> loadOne = this::loadOne;
  /** Whether the loader has a bulk form of its own; otherwise getAll loads key by key. */
  private final boolean bulkLoader;

  StripedLoadingCache(CacheSpec<K, V> spec) {
    this(spec, false);
  }

  /** The engine of an asynchronous loading cache when {@code async}: see StripedCache#async. */
  StripedLoadingCache(CacheSpec<K, V> spec, boolean async) {
    super(spec, async);
    this.loader = Objects.requireNonNull(spec.loader(), "loader");
    this.bulkLoader = overridesLoadAll(loader);
  }

  private static boolean overridesLoadAll(CacheLoader<?, ?> loader) {
    try {
      return loader.getClass().getMethod("loadAll", Set.class).getDeclaringClass()
          != CacheLoader.class;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  @Override
  public V get(K key) {
    Objects.requireNonNull(key, "key");
    return flights.computeIfAbsent(key, loadOne, true);
  }

  private V loadOne(K key) {
    try {
      return loader.load(key);
    } catch (Exception e) {
      throw unchecked(e);
    }
  }

  /**
   * A loader's exception as the caller sees it: unchecked ones as they are, checked ones in a
   * {@link CompletionException}; an interrupt is kept on the thread.
   */
  private static RuntimeException unchecked(Exception e) {
    if (e instanceof RuntimeException) {
      return (RuntimeException) e;
    }
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    return new CompletionException(e);
  }

  @Override
  public CompletableFuture<V> refresh(K key) {
    return refresher.refresh(key);
  }

  @Override
  public CompletableFuture<Map<K, V>> refreshAll(Iterable<? extends K> keys) {
    return refresher.refreshAll(keys);
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    if (!bulkLoader) {
      return loadEach(keys);
    }
    return flights.loadAll(keys, this::bulkLoad, loadOne);
  }

  /** getAll of a loader without a bulk form: one single-flight load per absent key. */
  private Map<K, V> loadEach(Iterable<? extends K> keys) {
    Set<K> unique = uniqueKeys(keys);
    Map<K, V> result = new LinkedHashMap<>();
    for (K key : unique) {
      V value = get(key);
      if (value != null) {
        result.put(key, value);
      }
    }
    return Collections.unmodifiableMap(result);
  }

  @SuppressWarnings("unchecked") // the loader's keys are the requested K's, or K's it adds
  private Map<? extends K, ? extends V> bulkLoad(Set<? extends K> keys) {
    try {
      return (Map<? extends K, ? extends V>) (Map<?, ?>) loader.loadAll(keys);
    } catch (Exception e) {
      throw unchecked(e);
    }
  }
}
