package dev.hourglass.cache.lincheck;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.Scheduler;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.junit.jupiter.api.Test;

/**
 * The control for the Lincheck tests: a check-then-act composed of two correct cache calls is not
 * atomic, and Lincheck, run the same way as on the real operations, must say so. If this test
 * passes, the harness can see a race through our cache; if Lincheck stopped finding anything, it
 * fails.
 */
@Param(name = "key", gen = IntGen.class, conf = "1:2")
@Param(name = "value", gen = IntGen.class, conf = "1:3")
public class RacyCompositeLincheckTest {
  private final Cache<Integer, Integer> cache = Hourglass.newBuilder()
      .scheduler(Scheduler.disabledScheduler()).executor(Runnable::run).build();

  /** putIfAbsent built from getIfPresent and put: two threads can both see absence and write. */
  @Operation
  public Integer racyPutIfAbsent(@Param(name = "key") int key, @Param(name = "value") int value) {
    Integer present = cache.getIfPresent(key);
    if (present == null) {
      cache.put(key, value);
    }
    return present;
  }

  @Operation
  public Integer getIfPresent(@Param(name = "key") int key) {
    return cache.getIfPresent(key);
  }

  @Test
  void modelChecking_findsTheCheckThenActRace() {
    assertThatThrownBy(() -> LinChecker.check(getClass(), new ModelCheckingOptions()
        .iterations(30).invocationsPerIteration(500).threads(2).actorsPerThread(2)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("Invalid execution results");
  }
}
