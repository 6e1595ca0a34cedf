package dev.hourglass.cache.lincheck;

import dev.hourglass.cache.CacheBuilder;
import java.time.Duration;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;

/**
 * A size bound and a time to live after write, on one stripe, with a clock that scenarios move:
 * entries expire between and during the other operations.
 */
public class ExpiringLincheckTest extends LincheckCacheTest {
  static final long TTL_NANOS = Duration.ofSeconds(2).toNanos();

  @Override
  protected CacheBuilder<Object, Object> configure(CacheBuilder<Object, Object> builder) {
    return builder.concurrencyLevel(1).maximumSize(16).expireAfterWrite(Duration.ofNanos(TTL_NANOS));
  }

  @Operation
  public void tick() {
    nanos.addAndGet(TTL_NANOS / 2);
  }
}
