package dev.hourglass.cache;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Function;

/**
 * A concurrent, in-memory map from keys to values whose entries are removed automatically, by
 * expiration or to stay within a size bound. Build one with {@link Hourglass#newBuilder()}.
 *
 * <p>Implementations are thread-safe and meant to be shared by many threads. A hit takes no lock
 * (a miss that keeps colliding with a table resize looks up once under a stripe lock).
 * Writes lock one stripe of the table for a short time and never run user code (mapping functions,
 * loaders, listeners) while holding it. Keys and values are never {@code null}. Keys are compared
 * with {@link Object#equals(Object)}. An expired entry is never returned by any method or view.
 *
 * <pre>{@code
 * Cache<String, User> users = Hourglass.newBuilder()
 *     .maximumSize(10_000)
 *     .expireAfterWrite(Duration.ofMinutes(5))
 *     .build();
 * User user = users.get(id, this::fetchUser);
 * }</pre>
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
public interface Cache<K, V> {

  /**
   * Returns the value for {@code key}, or {@code null} if there is none. Never waits for a load.
   *
   * @param key the key to look up
   * @return the present, unexpired value, or {@code null}
   * @throws NullPointerException if {@code key} is null
   */
  V getIfPresent(K key);

  /**
   * Returns the value for {@code key}, computing and storing it with {@code mappingFunction} if it
   * is absent. The function runs at most once at a time per key: concurrent callers for the same
   * absent key wait for the one running call and share its value or exception; callers for other
   * keys never wait. The function runs without any cache lock held, and must not write to this
   * cache for the same key: a call that asks for its own key fails fast.
   *
   * @param key the key to look up
   * @param mappingFunction computes the value; returning {@code null} stores nothing
   * @return the present or newly computed value, or {@code null} if the function returned null
   * @throws NullPointerException if {@code key} or {@code mappingFunction} is null
   * @throws IllegalStateException if the function recursively asks for the same key
   * @throws RuntimeException or {@link Error} as thrown by the mapping function, to every caller
   *     waiting on it; nothing is stored
   */
  V get(K key, Function<? super K, ? extends V> mappingFunction);

  /**
   * Returns the present, unexpired values for the given keys. Never waits for a load.
   *
   * @param keys the keys to look up
   * @return an unmodifiable map of the keys found to their values, in the order of {@code keys}
   * @throws NullPointerException if {@code keys} or any key is null
   */
  Map<K, V> getAllPresent(Iterable<? extends K> keys);

  /**
   * Returns the values for the given keys, computing the absent ones with one call of
   * {@code mappingFunction}. Keys already being loaded by another caller are waited for instead of
   * loaded twice. Every entry the function returns is stored, requested or not.
   *
   * @param keys the keys to look up
   * @param mappingFunction computes values for the absent keys, given as an unmodifiable set
   * @return an unmodifiable map of the requested keys that have values, in the order of
   *     {@code keys}
   * @throws NullPointerException if {@code keys}, any key, or {@code mappingFunction} is null, or
   *     if the function returns a map with a null key or value
   * @throws RuntimeException or {@link Error} as thrown by the mapping function, in which case
   *     nothing it computed is stored; or as thrown while storing one of its entries (a weigher or
   *     expiry), in which case the other requested entries are stored and the extra ones are not
   */
  Map<K, V> getAll(
      Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> mappingFunction);

  /**
   * Stores {@code value} for {@code key}, replacing any previous value (whose removal is reported
   * as {@link RemovalCause#REPLACED}). The entry's lifetime follows the cache's expiration policy.
   *
   * @param key the key
   * @param value the value
   * @throws NullPointerException if {@code key} or {@code value} is null
   * @throws IllegalArgumentException if the weigher returns a negative weight; nothing changes
   */
  void put(K key, V value);

  /**
   * Stores {@code value} for {@code key} with its own time to live, overriding the cache's
   * expiration policy for this entry until its next write. Reads do not extend it. Works on any
   * cache, also one built without expiration. A duration too long for {@code long} nanoseconds is
   * capped at about 146 years.
   *
   * @param key the key
   * @param value the value
   * @param ttl how long the entry lives from now; zero expires it at once
   * @throws NullPointerException if {@code key}, {@code value} or {@code ttl} is null
   * @throws IllegalArgumentException if {@code ttl} is negative, or the weigher returns a negative
   *     weight; nothing changes
   */
  void put(K key, V value, Duration ttl);

  /**
   * Stores every mapping of {@code map}, as {@link #put(Object, Object)} would one by one.
   *
   * @param map the mappings to store
   * @throws NullPointerException if {@code map} or any of its keys or values is null; nothing is
   *     stored then
   */
  void putAll(Map<? extends K, ? extends V> map);

  /**
   * Removes the entry for {@code key}, if any, reporting it as {@link RemovalCause#EXPLICIT}.
   *
   * @param key the key
   * @throws NullPointerException if {@code key} is null
   */
  void invalidate(K key);

  /**
   * Removes the entries for the given keys.
   *
   * @param keys the keys
   * @throws NullPointerException if {@code keys} or any key is null; no key is removed then
   */
  void invalidateAll(Iterable<? extends K> keys);

  /**
   * Removes every entry, reporting each as {@link RemovalCause#EXPLICIT} (or
   * {@link RemovalCause#EXPIRED} if it had already expired). Does not wait for loads and computes
   * in progress: one that started before this call stores nothing when it finishes. Its callers
   * still receive the value, and the listener hears it as {@code EXPLICIT}, as if it had been
   * stored and then removed by this call; a compute that returns the very value this call removed
   * (and reported) is not reported again.
   */
  void invalidateAll();

  /**
   * Returns the approximate number of entries: it may count entries that have expired but are not
   * yet removed, and moves while other threads write. Costs one read per stripe.
   *
   * @return the estimated number of entries
   */
  long estimatedSize();

  /**
   * Returns a snapshot of the cache's statistics.
   *
   * @return the statistics, all zero unless built with {@link CacheBuilder#recordStats()}
   */
  CacheStats stats();

  /**
   * Performs pending maintenance now: applies buffered reads to the eviction order, removes expired
   * entries and evicts down to the size bound. Never needed for correctness.
   */
  void cleanUp();

  /**
   * Returns a live, thread-safe {@link ConcurrentMap} view of this cache. Writes through the view
   * change the cache; its iterators are weakly consistent and never show expired entries; its
   * atomic operations ({@code compute}, {@code merge} and friends) have the same per-key guarantees
   * as {@link #get(Object, Function)}.
   *
   * @return the map view
   */
  ConcurrentMap<K, V> asMap();

  /**
   * Returns the view of this cache's settings and per-entry state, for inspecting and retuning
   * it at run time: the size bound, the durations, entries' ages and deadlines, the hottest and
   * coldest entries, and a lookup that records nothing. See {@link Policy}.
   *
   * @return the policy view of this cache
   */
  Policy<K, V> policy();
}
