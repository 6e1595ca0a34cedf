package dev.hourglass.cache.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class HitRateSimulatorTest {

  @Test
  void opt_matchesAHandComputedExample() {
    // Cache of 2; a b c a b c: MIN keeps a, bypasses... hits on a and b only: 2 of 6.
    Trace trace = new Trace("t", "test", new int[] {0, 1, 2, 0, 1, 2}, 3, new int[] {2});
    int[] next = HitRateSimulator.nextUses(trace.keys(), 3);
    assertThat(HitRateSimulator.opt(trace, 2, next)).isEqualTo(2.0 / 6);
    assertThat(HitRateSimulator.lru(trace, 2)).isZero();
  }

  @Test
  void opt_boundsEveryPolicy() {
    Trace trace = Trace.zipf(0.9, 5_000, 30_000, 9);
    for (HitRateSimulator.Row row : HitRateSimulator.simulate(
        new Trace(trace.name(), trace.source(), trace.keys(), trace.distinct(), new int[] {100, 1_000}))) {
      double opt = HitRateSimulator.opt(trace, row.size(),
          HitRateSimulator.nextUses(trace.keys(), trace.distinct()));
      assertThat(row.hitRate()).as(row.policy() + " at " + row.size()).isBetween(0.0, opt + 1e-9);
    }
  }

  @Test
  void loopLargerThanCache_defeatsLru() {
    Trace loop = Trace.loop(50_000);
    assertThat(HitRateSimulator.lru(loop, 10_000)).isZero();
    assertThat(HitRateSimulator.opt(loop, 10_000, HitRateSimulator.nextUses(loop.keys(), loop.distinct())))
        .isGreaterThan(0.5);
  }

  @Test
  void textTrace_oneKeyPerLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("keys.txt");
    Files.write(file, List.of("alpha", "beta", "", "alpha", "  beta  ", "gamma"));
    Trace trace = Trace.text(file, new int[] {2});
    assertThat(trace.keys()).containsExactly(0, 1, 0, 1, 2);
    assertThat(trace.distinct()).isEqualTo(3);
    assertThat(HitRateSimulator.lru(trace, 2)).isEqualTo(2.0 / 5);
  }

  @Test
  void cache2kTrace_readsBigEndianInts() throws Exception {
    Trace web = Trace.cache2k(Path.of("traces", "cache2k-web07.i32be.gz"));
    assertThat(web.keys()).hasSize(76_118);
    assertThat(web.sizes()).isNotEmpty();
  }
}
