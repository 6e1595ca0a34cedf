package dev.hourglass.cache;

import java.util.Map;
import java.util.Set;

/**
 * Computes values for a {@link LoadingCache}.
 *
 * <p>Implementations must be thread-safe: different keys load concurrently. A loader runs without
 * any cache lock held, so a slow load delays only the callers of its own key.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@FunctionalInterface
public interface CacheLoader<K, V> {

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
}
