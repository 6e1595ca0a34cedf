package dev.hourglass.cache;

/**
 * The entry point: creates cache builders.
 *
 * <pre>{@code
 * Cache<K, V> cache = Hourglass.newBuilder()
 *     .maximumSize(10_000)
 *     .expireAfterWrite(Duration.ofMinutes(5))
 *     .build();
 * }</pre>
 *
 * <p>This class has only static methods and is thread-safe.
 */
public final class Hourglass {

  private Hourglass() {}

  /**
   * Returns a new builder with default settings: unbounded, no expiration, no statistics.
   *
   * @return a new builder; narrow its types with the first typed setting or with {@code build}
   */
  public static CacheBuilder<Object, Object> newBuilder() {
    return new CacheBuilder<>();
  }
}
