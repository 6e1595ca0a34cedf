package dev.hourglass.cache.lincheck;

import dev.hourglass.cache.CacheBuilder;

/** A size bound on one stripe: policy order, read buffer and weights on every operation. */
public class SizeBoundedLincheckTest extends LincheckCacheTest {
  @Override
  protected CacheBuilder<Object, Object> configure(CacheBuilder<Object, Object> builder) {
    return builder.concurrencyLevel(1).maximumSize(16);
  }
}
