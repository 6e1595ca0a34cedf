package dev.hourglass.cache.internal;

import dev.hourglass.cache.RemovalCause;
import dev.hourglass.cache.RemovalListener;
import java.util.ArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The removals of one operation, collected under the stripe lock and delivered after it is
 * released. Not thread-safe: owned by one operation, then handed to the executor (which orders the
 * hand-off).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
class Removals<K, V> {
  private static final Removals<?, ?> DISCARDING = new Removals<>() {
    @Override
    void add(Object key, Object value, RemovalCause cause) {}
  };

  private final ArrayList<Object> items = new ArrayList<>(0);
  /** Set by the first delivery, so an executor that runs a task and then throws delivers once. */
  private final AtomicBoolean delivered = new AtomicBoolean();

  @SuppressWarnings("unchecked")
  static <K, V> Removals<K, V> discarding() {
    return (Removals<K, V>) DISCARDING;
  }

  void add(K key, V value, RemovalCause cause) {
    items.add(key);
    items.add(value);
    items.add(cause);
  }

  boolean isEmpty() {
    return items.isEmpty();
  }

  @SuppressWarnings("unchecked")
  void deliverTo(RemovalListener<? super K, ? super V> listener) {
    if (!delivered.compareAndSet(false, true)) { // orders nothing; makes delivery happen once
      return;
    }
    for (int i = 0; i < items.size(); i += 3) {
      K key = (K) items.get(i);
      V value = (V) items.get(i + 1);
      RemovalCause cause = (RemovalCause) items.get(i + 2);
      try {
        listener.onRemoval(key, value, cause);
      } catch (Throwable t) { // a listener's failure must never reach the cache or other listeners
        StripedCache.LOGGER.log(System.Logger.Level.WARNING,
            "Removal listener threw for key " + key + " (" + cause + ")", t);
      }
    }
  }
}
