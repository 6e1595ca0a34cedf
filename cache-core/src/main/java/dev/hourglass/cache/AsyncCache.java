package dev.hourglass.cache;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * A cache whose values are {@link CompletableFuture}s: a miss stores the future of its value at
 * once and computes the value without holding any lock or blocking the caller, so a thread (a
 * virtual thread included) never waits on a load unless it joins the future. Thread-safe. Built by
 * {@link CacheBuilder#buildAsync()}.
 *
 * <h2>What a future in the cache means</h2>
 * <ul>
 *   <li><b>Single flight.</b> Concurrent callers of {@code get} for one absent key start one
 *       computation and share its future.
 *   <li><b>A failure caches nothing.</b> A future that completes exceptionally or with
 *       {@code null} is removed (no removal is reported for it); callers already holding it see
 *       the failure, and the next {@code get} starts again.
 *   <li><b>Bounds and expiry apply to values.</b> Until its future completes, an entry weighs
 *       nothing, is never evicted and never expires; on completion it is weighed and given its
 *       lifetime as a value written then ({@code Expiry.expireAfterCreate}).
 *   <li><b>Listeners see values.</b> The removal listener is called with the future's value; an
 *       entry removed while still loading is reported once its future completes with a value,
 *       and not at all if it fails.
 * </ul>
 *
 * <pre>{@code
 * AsyncCache<String, Quote> quotes = Hourglass.newBuilder()
 *     .maximumSize(10_000)
 *     .expireAfterWrite(Duration.ofSeconds(30))
 *     .buildAsync();
 *
 * CompletableFuture<Quote> quote = quotes.get("ACME", (symbol, executor) -> client.fetch(symbol));
 * quote.thenAccept(q -> render(q));
 * }</pre>
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
public interface AsyncCache<K, V> {

  /**
   * Returns the future held for {@code key}, complete or not, or {@code null} if there is none.
   * Counts a hit or a miss.
   *
   * @param key the key to look up
   * @return the future of the key's value, or {@code null}
   * @throws NullPointerException if {@code key} is null
   */
  CompletableFuture<V> getIfPresent(K key);

  /**
   * Returns the future held for {@code key}, or stores and returns a future of
   * {@code mappingFunction}'s value, computed on the cache's executor. Concurrent callers for the
   * key share one computation.
   *
   * @param key the key to look up
   * @param mappingFunction computes the value; returning {@code null} or throwing completes the
   *     future that way and stores nothing
   * @return the future of the key's value
   * @throws NullPointerException if {@code key} or {@code mappingFunction} is null
   */
  CompletableFuture<V> get(K key, Function<? super K, ? extends V> mappingFunction);

  /**
   * Returns the future held for {@code key}, or stores and returns the future that
   * {@code mappingFunction} starts. The function runs on the calling thread, without any lock
   * held, and should return at once; concurrent callers for the key wait for it to return and
   * share its future. A function that throws, or returns {@code null}, fails the returned future
   * and stores nothing.
   *
   * @param key the key to look up
   * @param mappingFunction starts the computation: given the key and the cache's executor, it
   *     returns the future of the value
   * @return the future of the key's value
   * @throws NullPointerException if {@code key} or {@code mappingFunction} is null
   */
  CompletableFuture<V> get(K key,
      BiFunction<? super K, ? super Executor, ? extends CompletableFuture<? extends V>> mappingFunction);

  /**
   * Returns the futures of the values of {@code keys} as one future of a map: present keys use
   * the futures held; the absent ones are computed together by one call of
   * {@code mappingFunction}, on the cache's executor, whose entries are stored (extra entries
   * too). Keys without a value are left out of the result.
   *
   * @param keys the keys, duplicates ignored
   * @param mappingFunction computes the values of the absent keys
   * @return a future of an unmodifiable map, in the order of {@code keys}
   * @throws NullPointerException if {@code keys}, a key or {@code mappingFunction} is null
   */
  CompletableFuture<Map<K, V>> getAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> mappingFunction);

  /**
   * As {@link #getAll(Iterable, Function)}, with a function that starts the computation of the
   * absent keys' values and returns its future at once.
   *
   * @param keys the keys, duplicates ignored
   * @param mappingFunction given the absent keys and the cache's executor, returns a future of
   *     their values
   * @return a future of an unmodifiable map, in the order of {@code keys}
   * @throws NullPointerException if {@code keys}, a key or {@code mappingFunction} is null
   */
  CompletableFuture<Map<K, V>> getAll(Iterable<? extends K> keys,
      BiFunction<? super Set<? extends K>, ? super Executor,
          ? extends CompletableFuture<? extends Map<? extends K, ? extends V>>> mappingFunction);

  /**
   * Stores {@code valueFuture} for {@code key}, replacing what was held. If it fails or completes
   * with {@code null}, the entry is removed then.
   *
   * @param key the key
   * @param valueFuture the future of the value
   * @throws NullPointerException if {@code key} or {@code valueFuture} is null
   */
  void put(K key, CompletableFuture<? extends V> valueFuture);

  /**
   * Returns a thread-safe view of the entries as a map of futures. Its writes follow this cache's
   * rules: a future it stores that fails or completes with {@code null} is removed. Its reads
   * record no statistics.
   *
   * @return the map view
   */
  ConcurrentMap<K, CompletableFuture<V>> asMap();

  /**
   * Returns a view of this cache as a synchronous {@link Cache}, whose reads wait for futures
   * still loading. Its statistics, size, invalidations, {@link Cache#policy() policy} and
   * {@code asMap()} (of values, not futures) are this cache's.
   *
   * @return the synchronous view
   */
  Cache<K, V> synchronous();
}
