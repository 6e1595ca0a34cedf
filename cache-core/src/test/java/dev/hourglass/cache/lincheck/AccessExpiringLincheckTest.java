package dev.hourglass.cache.lincheck;

import dev.hourglass.cache.CacheBuilder;
import java.time.Duration;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;

/**
 * A time to live after access on one stripe: a read moves the deadline (a lock-free CAS), so
 * reads, writes and the clock race on it.
 */
public class AccessExpiringLincheckTest extends LincheckCacheTest {
  static final long TTL_NANOS = Duration.ofSeconds(2).toNanos();

  @Override
  protected CacheBuilder<Object, Object> configure(CacheBuilder<Object, Object> builder) {
    return builder.concurrencyLevel(1).expireAfterAccess(Duration.ofNanos(TTL_NANOS));
  }

  @Operation
  public void tick() {
    nanos.addAndGet(TTL_NANOS / 2);
  }
}
