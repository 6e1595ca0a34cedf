package dev.hourglass.cache;

/**
 * Receives a notification each time an entry leaves the cache.
 *
 * <p>Implementations must be thread-safe: notifications are delivered through the cache's
 * {@linkplain CacheBuilder#executor(java.util.concurrent.Executor) executor}, possibly from several
 * threads at once, and never while the cache holds one of its locks. Each removal is delivered
 * exactly once. An exception thrown by the listener is logged and otherwise ignored: it never
 * leaves the cache inconsistent.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@FunctionalInterface
public interface RemovalListener<K, V> {

  /**
   * Called once for each entry that left the cache.
   *
   * @param key the key of the removed entry, never {@code null}
   * @param value the value that the entry held, never {@code null}
   * @param cause why the entry was removed, never {@code null}
   */
  void onRemoval(K key, V value, RemovalCause cause);
}
