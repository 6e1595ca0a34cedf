package dev.hourglass.cache.lincheck;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheBuilder;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.Scheduler;
import dev.hourglass.cache.Ticker;
import java.util.concurrent.atomic.AtomicLong;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.jetbrains.kotlinx.lincheck.strategy.stress.StressOptions;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of the cache's map operations, checked by Lincheck: it runs random concurrent
 * scenarios of the operations below, then searches for a sequential order of the same calls, on a
 * fresh cache, that gives every call the result it had. The stress mode runs them on real
 * threads; the model-checking mode instruments the cache and explores thread switches at its
 * shared-memory accesses, locks and parks, looking for one interleaving that breaks it.
 *
 * <p>Three keys, so operations collide; one stripe where the configuration allows, so they also
 * contend for one lock and one read buffer. Each subclass is one cache shape. The time-to-live
 * shape adds a {@code tick} operation that moves the cache's clock by half the TTL, so entries
 * expire in the middle of scenarios.
 *
 * <p>Eviction by size is not checked here: which entry an approximate LRU evicts depends on which
 * buffered reads were applied first, which is not a property of a sequential specification. The
 * bounded shape holds more than the three keys, so its bounded code paths (policy, read buffer,
 * weights) run without evicting; eviction under concurrency is checked by ConcurrencyTest and the
 * stress test.
 */
@Param(name = "key", gen = IntGen.class, conf = "1:3")
@Param(name = "value", gen = IntGen.class, conf = "1:4")
public abstract class LincheckCacheTest {
  /** The configurable clock of the time-to-live shape. */
  protected final AtomicLong nanos = new AtomicLong();
  protected final Ticker ticker = nanos::get;
  private final Cache<Integer, Integer> cache;

  protected LincheckCacheTest() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder()
        .ticker(ticker)
        .scheduler(Scheduler.disabledScheduler())
        .executor(Runnable::run);
    this.cache = build(configure(builder));
  }

  /** Shapes the cache of this configuration. */
  protected abstract CacheBuilder<Object, Object> configure(CacheBuilder<Object, Object> builder);

  /** Builds the cache under test from the configured builder: a synchronous cache by default. */
  protected Cache<Integer, Integer> build(CacheBuilder<Object, Object> builder) {
    return builder.build();
  }

  @Operation
  public Integer getIfPresent(@Param(name = "key") int key) {
    return cache.getIfPresent(key);
  }

  @Operation
  public Integer getWithLoader(@Param(name = "key") int key, @Param(name = "value") int value) {
    return cache.get(key, k -> value);
  }

  @Operation
  public Integer put(@Param(name = "key") int key, @Param(name = "value") int value) {
    return cache.asMap().put(key, value);
  }

  @Operation
  public Integer putIfAbsent(@Param(name = "key") int key, @Param(name = "value") int value) {
    return cache.asMap().putIfAbsent(key, value);
  }

  @Operation
  public Integer remove(@Param(name = "key") int key) {
    return cache.asMap().remove(key);
  }

  @Operation
  public boolean removeValue(@Param(name = "key") int key, @Param(name = "value") int value) {
    return cache.asMap().remove(key, value);
  }

  @Operation
  public Integer replace(@Param(name = "key") int key, @Param(name = "value") int value) {
    return cache.asMap().replace(key, value);
  }

  @Operation
  public Integer compute(@Param(name = "key") int key, @Param(name = "value") int value) {
    return cache.asMap().compute(key, (k, v) -> (v == null) ? value : (v + value) % 7);
  }

  @Operation
  public Integer merge(@Param(name = "key") int key, @Param(name = "value") int value) {
    return cache.asMap().merge(key, value, (a, b) -> (a + b) % 5 == 0 ? null : (a + b) % 5);
  }

  @Operation
  public void invalidate(@Param(name = "key") int key) {
    cache.invalidate(key);
  }

  @Operation
  public boolean containsKey(@Param(name = "key") int key) {
    return cache.asMap().containsKey(key);
  }

  @Test
  void stress() {
    LinChecker.check(getClass(), new StressOptions()
        .iterations(Integer.getInteger("hourglass.lincheck.iterations", 15))
        .invocationsPerIteration(Integer.getInteger("hourglass.lincheck.invocations", 2_000))
        .threads(3)
        .actorsPerThread(3)
        .actorsBefore(2)
        .actorsAfter(2));
  }

  @Test
  void modelChecking() {
    LinChecker.check(getClass(), new ModelCheckingOptions()
        .iterations(Integer.getInteger("hourglass.lincheck.iterations", 12))
        .invocationsPerIteration(Integer.getInteger("hourglass.lincheck.invocations", 500))
        .threads(2)
        .actorsPerThread(3)
        .actorsBefore(2)
        .actorsAfter(1));
  }
}
