package dev.hourglass.cache;

/**
 * Computes the weight of an entry, for a cache bounded by {@link CacheBuilder#maximumWeight(long)}.
 *
 * <p>Weights are {@code long}, so a cache can be bounded in bytes. A weight is computed when the
 * entry is written and is not recomputed afterwards. Implementations must be thread-safe, fast and
 * free of side effects; they are called outside the cache's locks.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@FunctionalInterface
public interface Weigher<K, V> {

  /**
   * Returns the weight of an entry. An entry of weight zero is never evicted for size.
   *
   * @param key the key, never {@code null}
   * @param value the value, never {@code null}
   * @return the entry's weight, zero or more; a negative weight fails the write with an
   *     {@link IllegalArgumentException} and leaves the cache unchanged
   */
  long weigh(K key, V value);

  /**
   * Returns a weigher that gives every entry a weight of one.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   * @return a weigher under which {@code maximumWeight} behaves like {@code maximumSize}
   */
  @SuppressWarnings("unchecked")
  static <K, V> Weigher<K, V> singletonWeigher() {
    return (Weigher<K, V>) SingletonWeigher.INSTANCE;
  }
}

/** Weighs every entry as one. */
enum SingletonWeigher implements Weigher<Object, Object> {
  INSTANCE;

  @Override
  public long weigh(Object key, Object value) {
    return 1;
  }
}
