package dev.hourglass.cache;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A {@link Cache} that computes absent values with the {@link CacheLoader} it was built with.
 *
 * <p>Implementations are thread-safe. Loads are single-flight per key: concurrent callers for the
 * same absent key run the loader once and share its value or exception; callers for other keys
 * never wait.
 *
 * <pre>{@code
 * LoadingCache<Long, Order> orders = Hourglass.newBuilder()
 *     .maximumSize(50_000)
 *     .build(orderRepository::find);
 * Order order = orders.get(42L);
 * }</pre>
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
public interface LoadingCache<K, V> extends Cache<K, V> {

  /**
   * Returns the value for {@code key}, loading it if absent.
   *
   * @param key the key
   * @return the present or loaded value, or {@code null} if the loader returned null (nothing is
   *     stored then, and the load counts as a failure)
   * @throws NullPointerException if {@code key} is null
   * @throws IllegalStateException if the loader recursively asks for the same key
   * @throws CompletionException wrapping a checked exception thrown by the loader
   * @throws RuntimeException or {@link Error} as thrown by the loader
   */
  V get(K key);

  /**
   * Returns the values for the given keys, loading the absent ones with
   * {@link CacheLoader#loadAll}, or one by one with {@link CacheLoader#load} when the loader has no
   * bulk form.
   *
   * @param keys the keys
   * @return an unmodifiable map of the requested keys that have values, in the order of
   *     {@code keys}
   * @throws NullPointerException if {@code keys} or any key is null
   * @throws CompletionException wrapping a checked exception thrown by the loader
   * @throws RuntimeException or {@link Error} as thrown by the loader
   */
  Map<K, V> getAll(Iterable<? extends K> keys);

  /**
   * Reloads the entry for {@code key} in the background, or loads it if absent, and returns a
   * future of the new value; never waits for it. A present entry keeps serving its old value
   * until the reload completes, and gets the new one only if it was not written, removed or
   * expired meanwhile (the write wins, and a removed entry is not brought back). A reload or load
   * already running for the key (a refresh, or another caller's {@code get}) is joined, not
   * repeated: the future is that one's.
   *
   * @param key the key
   * @return a future of the reloaded or loaded value: {@code null} if the loader returned null
   *     (a present entry then keeps its old value), exceptional if it failed (likewise)
   * @throws NullPointerException if {@code key} is null
   */
  CompletableFuture<V> refresh(K key);

  /**
   * Refreshes every given key as {@link #refresh} does; present entries with one call of
   * {@link CacheLoader#reloadAll} when the loader has a bulk form.
   *
   * @param keys the keys
   * @return a future of the keys' new values, in the order of {@code keys}, leaving out keys
   *     whose reload or load returned null; exceptional if any of them failed
   * @throws NullPointerException if {@code keys} or any key is null; nothing is refreshed then
   */
  CompletableFuture<Map<K, V>> refreshAll(Iterable<? extends K> keys);
}
