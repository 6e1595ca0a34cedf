package dev.hourglass.cache;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Computes values, asynchronously, for an {@link AsyncLoadingCache}: each method returns a future
 * at once and completes it when the value is known, so no caller's thread waits on the source.
 *
 * <p>Implementations must be thread-safe. Every method is called without any cache lock held. A
 * {@link CacheLoader} is an {@code AsyncCacheLoader} too, whose methods run the synchronous ones
 * on the cache's executor.
 *
 * <pre>{@code
 * AsyncLoadingCache<String, User> users = Hourglass.newBuilder()
 *     .maximumSize(10_000)
 *     .buildAsync((id, executor) -> httpClient.sendAsync(requestFor(id), ofUser()));
 * }</pre>
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@FunctionalInterface
public interface AsyncCacheLoader<K, V> {

  /**
   * Starts computing the value for {@code key}.
   *
   * @param key the key to load, never {@code null}
   * @param executor the cache's executor, for work the loader starts
   * @return a future of the value; one that completes with {@code null} or exceptionally stores
   *     nothing. A {@code null} future fails the load with a {@link NullPointerException}
   * @throws Exception if the load cannot be started; the caller's future fails with it
   */
  CompletableFuture<? extends V> asyncLoad(K key, Executor executor) throws Exception;

  /**
   * Starts computing the values for several keys at once. The default throws
   * {@link UnsupportedOperationException}, which makes the cache call {@link #asyncLoad} once per
   * key.
   *
   * @param keys the absent keys to load, unmodifiable, never empty
   * @param executor the cache's executor
   * @return a future of the loaded values; keys left out of the map complete with no value, and
   *     extra entries are stored too
   * @throws Exception if the load cannot be started; every key's future fails with it
   */
  default CompletableFuture<? extends Map<? extends K, ? extends V>> asyncLoadAll(
      Set<? extends K> keys, Executor executor) throws Exception {
    throw new UnsupportedOperationException("asyncLoadAll");
  }

  /**
   * Starts computing a new value for {@code key}, whose entry holds {@code oldValue}, for a
   * refresh. The default calls {@link #asyncLoad}.
   *
   * @param key the key to reload, never {@code null}
   * @param oldValue the value the entry holds now, never {@code null}
   * @param executor the cache's executor
   * @return a future of the new value; {@code null} or a failure keeps the old value (counted as
   *     a failed load)
   * @throws Exception if the reload cannot be started; the entry keeps its old value
   */
  default CompletableFuture<? extends V> asyncReload(K key, V oldValue, Executor executor)
      throws Exception {
    return asyncLoad(key, executor);
  }
}
