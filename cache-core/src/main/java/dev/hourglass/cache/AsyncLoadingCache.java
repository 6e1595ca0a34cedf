package dev.hourglass.cache;

import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * An {@link AsyncCache} with a loader: {@link #get(Object)} stores the future of a value the
 * {@link AsyncCacheLoader} starts computing. Thread-safe. Built by
 * {@link CacheBuilder#buildAsync(AsyncCacheLoader)} or {@link CacheBuilder#buildAsync(CacheLoader)};
 * with {@link CacheBuilder#refreshAfterWrite}, a read of an entry whose value is older than the
 * interval starts a reload ({@link AsyncCacheLoader#asyncReload}) and keeps serving the old value
 * until the new one is ready, as {@link LoadingCache} does.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
public interface AsyncLoadingCache<K, V> extends AsyncCache<K, V> {

  /**
   * Returns the future held for {@code key}, or stores and returns the future that the loader's
   * {@code asyncLoad} starts. Concurrent callers for the key share one load. A loader that throws
   * or returns {@code null} fails the returned future and stores nothing.
   *
   * @param key the key
   * @return the future of the key's value
   * @throws NullPointerException if {@code key} is null
   */
  CompletableFuture<V> get(K key);

  /**
   * Returns the futures of the values of {@code keys} as one future of a map: present keys use
   * the futures held, absent ones are loaded together by the loader's {@code asyncLoadAll} if it
   * has one (its extra entries are stored too), else one {@code asyncLoad} each. Keys without a
   * value are left out of the result.
   *
   * @param keys the keys, duplicates ignored
   * @return a future of an unmodifiable map, in the order of {@code keys}
   * @throws NullPointerException if {@code keys} or a key is null
   */
  CompletableFuture<Map<K, V>> getAll(Iterable<? extends K> keys);

  /**
   * Returns a view of this cache as a synchronous {@link LoadingCache}: {@code get} waits for the
   * load, and {@code refresh}/{@code refreshAll} reload in the background.
   *
   * @return the synchronous view
   */
  @Override
  LoadingCache<K, V> synchronous();
}
