package dev.hourglass.cache;

import dev.hourglass.cache.internal.SpecString;

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

  /**
   * Returns a new builder configured by a specification string, the form frameworks use to
   * configure a cache without code (the JCache provider and Spring's
   * {@code application.properties} take it too):
   *
   * <pre>{@code
   * LoadingCache<String, User> users = Hourglass
   *     .from("maximumSize=10000, expireAfterWrite=5m, refreshAfterWrite=1m, recordStats")
   *     .build(this::loadUser);
   * }</pre>
   *
   * <p>Settings are comma-separated {@code name=value} pairs, or a bare name for a flag:
   * {@code initialCapacity} and {@code concurrencyLevel} (an {@code int});
   * {@code maximumSize} and {@code maximumWeight} (a {@code long}, underscores allowed);
   * {@code expireAfterWrite}, {@code expireAfterAccess} and {@code refreshAfterWrite} (a duration:
   * a whole number and its unit, one of {@code ns us ms s m h d}, or ISO-8601 such as
   * {@code PT1M30S}); and the flag {@code recordStats}. Blanks around a setting are ignored, and
   * an empty spec gives the defaults. Settings the spec cannot express (a weigher, an
   * {@link Expiry}, listeners, an executor) are set on the returned builder; each property may
   * still be set once only.
   *
   * @param spec the settings, comma-separated
   * @return a new builder with those settings
   * @throws NullPointerException if {@code spec} is null
   * @throws IllegalArgumentException if the spec is malformed: an unknown name, a missing,
   *     malformed or out-of-range value, a flag given a value, an empty setting, a name given
   *     twice, or {@code maximumSize} with {@code maximumWeight}; the message quotes the setting
   *     at fault
   */
  public static CacheBuilder<Object, Object> from(String spec) {
    if (spec == null) {
      throw new NullPointerException("spec");
    }
    return SpecString.apply(spec, newBuilder());
  }
}
