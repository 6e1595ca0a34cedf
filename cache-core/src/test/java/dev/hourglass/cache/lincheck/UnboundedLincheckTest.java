package dev.hourglass.cache.lincheck;

import dev.hourglass.cache.CacheBuilder;

/** The unbounded striped map, with its default stripes. */
public class UnboundedLincheckTest extends LincheckCacheTest {
  @Override
  protected CacheBuilder<Object, Object> configure(CacheBuilder<Object, Object> builder) {
    return builder;
  }
}
