package dev.hourglass.cache.lincheck;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheBuilder;

/**
 * The operations of {@link LincheckCacheTest} through {@code synchronous()} of a size-bounded
 * asynchronous cache: its map view of values over the engine's futures (conditional writes that
 * compare values and retry on the very future compared), its compute and its single flight must
 * be linearizable as a map's.
 */
public class AsyncSynchronousViewLincheckTest extends LincheckCacheTest {
  @Override
  protected CacheBuilder<Object, Object> configure(CacheBuilder<Object, Object> builder) {
    return builder.concurrencyLevel(1).maximumSize(16);
  }

  @Override
  protected Cache<Integer, Integer> build(CacheBuilder<Object, Object> builder) {
    return builder.<Integer, Integer>buildAsync().synchronous();
  }
}
