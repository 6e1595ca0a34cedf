package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

final class CacheStatsTest {

  @Test
  void derivedValues() {
    CacheStats stats = new CacheStats(3, 1, 2, 2, 400, 5, 7);
    assertThat(stats.requestCount()).isEqualTo(4);
    assertThat(stats.hitRate()).isEqualTo(0.75);
    assertThat(stats.missRate()).isEqualTo(0.25);
    assertThat(stats.loadCount()).isEqualTo(4);
    assertThat(stats.loadFailureRate()).isEqualTo(0.5);
    assertThat(stats.averageLoadPenaltyNanos()).isEqualTo(100.0);
    assertThat(CacheStats.empty().hitRate()).isEqualTo(1.0);
    assertThat(CacheStats.empty().missRate()).isZero();
    assertThat(CacheStats.empty().averageLoadPenaltyNanos()).isZero();
  }

  @Test
  void plusAndMinus() {
    CacheStats a = new CacheStats(3, 1, 2, 2, 400, 5, 7);
    CacheStats b = new CacheStats(1, 1, 1, 1, 100, 1, 1);
    assertThat(a.minus(b)).isEqualTo(new CacheStats(2, 0, 1, 1, 300, 4, 6));
    assertThat(b.minus(a)).isEqualTo(CacheStats.empty());
    assertThat(a.plus(b)).isEqualTo(new CacheStats(4, 2, 3, 3, 500, 6, 8));
    CacheStats big = new CacheStats(Long.MAX_VALUE, Long.MAX_VALUE, 0, 0, 0, 0, 0);
    assertThat(big.plus(big).hitCount()).isEqualTo(Long.MAX_VALUE);
    assertThat(big.requestCount()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void negativeCount_rejectedNamingIt() {
    assertThatThrownBy(() -> new CacheStats(0, -1, 0, 0, 0, 0, 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("missCount must not be negative: -1");
  }
}
