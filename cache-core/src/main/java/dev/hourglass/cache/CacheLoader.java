package dev.hourglass.cache;

import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * Computes values for a {@link LoadingCache}.
 *
 * <p>Implementations must be thread-safe: different keys load concurrently. A loader runs without
 * any cache lock held, so a slow load delays only the callers of its own key.
 *
 * <p>A cache built with {@link CacheBuilder#refreshAfterWrite} also reloads entries in the
 * background: {@link #asyncReload}, which by default runs {@link #reload} on the cache's
 * executor, which by default calls {@link #load}. A loader may override any of them, for example
 * to ask its source whether the old value is still current.
 *
 * <p>A {@code CacheLoader} also serves an {@link AsyncLoadingCache}
 * ({@link CacheBuilder#buildAsync(CacheLoader)}): its asynchronous methods run {@link #load} and
 * {@link #loadAll} on the cache's executor.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@FunctionalInterface
public interface CacheLoader<K, V> extends AsyncCacheLoader<K, V> {

  /**
   * Computes the value for {@code key}.
   *
   * @param key the key to load, never {@code null}
   * @return the value, or {@code null} to store nothing
   * @throws Exception if the value cannot be computed; a checked exception reaches callers wrapped
   *     in a {@link java.util.concurrent.CompletionException}
   */
  V load(K key) throws Exception;

  /**
   * Computes the values for several keys at once. The default throws
   * {@link UnsupportedOperationException}, which makes the cache call {@link #load} once per key.
   *
   * @param keys the absent keys to load, unmodifiable, never empty
   * @return the loaded values; keys without a value may be left out, and extra entries are stored
   *     too
   * @throws Exception if the values cannot be computed
   */
  default Map<? extends K, ? extends V> loadAll(Set<? extends K> keys) throws Exception {
    throw new UnsupportedOperationException("loadAll");
  }

  /**
   * Computes a new value for {@code key}, whose entry holds {@code oldValue}, for a refresh. The
   * default calls {@link #load}.
   *
   * @param key the key to reload, never {@code null}
   * @param oldValue the value the entry holds now, never {@code null}
   * @return the new value; {@code null} keeps the old one (counted as a failed load)
   * @throws Exception if the value cannot be computed; the entry keeps its old value
   */
  default V reload(K key, V oldValue) throws Exception {
    return load(key);
  }

  /**
   * Runs {@link #load} on {@code executor}, for an asynchronous cache.
   *
   * @param key the key to load, never {@code null}
   * @param executor the cache's executor
   * @return a future of the value
   * @throws NullPointerException if an argument is null
   */
  @Override
  default CompletableFuture<? extends V> asyncLoad(K key, Executor executor) throws Exception {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(executor, "executor");
    return supplyOn(executor, () -> load(key));
  }

  /**
   * Runs {@link #loadAll} on {@code executor}, for an asynchronous cache; a loader without a
   * {@code loadAll} of its own is loaded key by key instead.
   *
   * @param keys the absent keys to load, unmodifiable, never empty
   * @param executor the cache's executor
   * @return a future of the loaded values
   * @throws NullPointerException if an argument is null
   */
  @Override
  default CompletableFuture<? extends Map<? extends K, ? extends V>> asyncLoadAll(
      Set<? extends K> keys, Executor executor) throws Exception {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(executor, "executor");
    return supplyOn(executor, () -> loadAll(keys));
  }

  /**
   * Starts a refresh of {@code key}: returns a future of its new value, without waiting for it.
   * The cache calls this on the thread of the read that found the entry due, so it should return
   * at once; the default runs {@link #reload} on {@code executor}.
   *
   * @param key the key to reload, never {@code null}
   * @param oldValue the value the entry holds now, never {@code null}
   * @param executor the cache's executor
   * @return a future of the new value; a future that completes with {@code null} or
   *     exceptionally keeps the old value
   * @throws NullPointerException if an argument is null
   * @throws Exception if the reload cannot be started (an executor that rejects it, say); the
   *     entry keeps its old value
   */
  @Override
  default CompletableFuture<? extends V> asyncReload(K key, V oldValue, Executor executor)
      throws Exception {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(oldValue, "oldValue");
    Objects.requireNonNull(executor, "executor");
    return supplyOn(executor, () -> reload(key, oldValue));
  }

  /**
   * A future of {@code work} run on {@code executor}; a checked exception completes it wrapped in
   * a {@link CompletionException}, an interrupt is kept on the thread.
   */
  private static <T> CompletableFuture<T> supplyOn(Executor executor, Callable<T> work) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return work.call();
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw new CompletionException(e);
      }
    }, executor);
  }

  /**
   * Computes new values for several present entries at once, for
   * {@link LoadingCache#refreshAll}. The default throws {@link UnsupportedOperationException},
   * which makes the cache reload them one by one with {@link #asyncReload}.
   *
   * @param oldValues the entries to reload, key to current value; unmodifiable, never empty
   * @return the new values; a key left out, or mapped to nothing, keeps its old value; entries
   *     for other keys are ignored
   * @throws Exception if the values cannot be computed; every entry keeps its old value
   */
  default Map<? extends K, ? extends V> reloadAll(Map<? extends K, ? extends V> oldValues)
      throws Exception {
    throw new UnsupportedOperationException("reloadAll");
  }
}
