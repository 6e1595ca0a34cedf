package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * {@link CacheStats#putCount()}: every value a write stores counts once, whatever API stores it;
 * a write that stores nothing does not count, and neither does a load.
 */
class PutCountTest {

  private static CacheBuilder<Object, Object> recording() {
    return Hourglass.newBuilder().recordStats().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler());
  }

  @Test
  void eachStoredValue_countsOnce() {
    Cache<String, String> cache = recording().build();
    cache.put("a", "1");
    cache.put("a", "2");
    assertThat(cache.stats().putCount()).as("put, put again").isEqualTo(2);
    assertThat(cache.asMap().putIfAbsent("a", "3")).isEqualTo("2");
    assertThat(cache.stats().putCount()).as("putIfAbsent that finds a value").isEqualTo(2);
    cache.asMap().putIfAbsent("b", "1");
    assertThat(cache.stats().putCount()).as("putIfAbsent that stores").isEqualTo(3);
    cache.asMap().replace("absent", "x");
    cache.asMap().replace("a", "wrong", "x");
    assertThat(cache.stats().putCount()).as("replaces that find nothing to replace").isEqualTo(3);
    cache.asMap().replace("a", "3");
    cache.asMap().replace("a", "3", "4");
    assertThat(cache.stats().putCount()).as("two replaces").isEqualTo(5);
    cache.putAll(Map.of("c", "1", "d", "1", "e", "1"));
    assertThat(cache.stats().putCount()).as("putAll of three").isEqualTo(8);
    cache.put("ttl", "1", java.time.Duration.ofMinutes(1));
    assertThat(cache.stats().putCount()).as("a put with its own time to live").isEqualTo(9);
  }

  @Test
  void computeAndMerge_countWhenTheyStoreANewValue() {
    Cache<String, String> cache = recording().build();
    cache.asMap().compute("a", (k, v) -> "1");
    assertThat(cache.stats().putCount()).as("compute that stores").isEqualTo(1);
    String same = cache.getIfPresent("a");
    cache.asMap().compute("a", (k, v) -> v);
    assertThat(cache.getIfPresent("a")).isSameAs(same);
    assertThat(cache.stats().putCount()).as("compute that keeps the value").isEqualTo(1);
    cache.asMap().computeIfPresent("a", (k, v) -> v + "2");
    cache.asMap().merge("a", "3", String::concat);
    assertThat(cache.stats().putCount()).as("computeIfPresent and merge").isEqualTo(3);
    cache.asMap().compute("a", (k, v) -> null);
    cache.asMap().computeIfPresent("absent", (k, v) -> "x");
    assertThat(cache.stats().putCount()).as("a removal, and nothing to compute").isEqualTo(3);
    cache.asMap().computeIfAbsent("b", k -> "1");
    assertThat(cache.stats().putCount()).as("computeIfAbsent stores as a load").isEqualTo(3);
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(1);
  }

  @Test
  void loads_countAsLoads_notPuts() {
    LoadingCache<String, String> cache = recording().build(key -> key + "!");
    cache.get("a");
    cache.get("a", key -> "other");
    cache.getAll(List.of("b", "c"));
    Cache<String, String> manual = recording().build();
    manual.get("x", key -> "1");
    manual.getAll(List.of("y"), keys -> Map.of("y", "1"));
    assertThat(cache.stats().putCount()).isZero();
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(3);
    assertThat(manual.stats().putCount()).isZero();
    assertThat(manual.stats().loadSuccessCount()).isEqualTo(2);
  }

  @Test
  void asyncCache_countsTheFuturesItIsGiven_andNotTheirCompletion() {
    AsyncCache<String, String> cache = recording().buildAsync();
    CompletableFuture<String> future = new CompletableFuture<>();
    cache.put("a", future);
    future.complete("1");
    cache.get("b", key -> "2").join();
    cache.synchronous().put("c", "3");
    assertThat(cache.synchronous().stats().putCount()).isEqualTo(2);
  }

  @Test
  void withoutRecordStats_nothingIsCounted() {
    Cache<String, String> cache = Hourglass.newBuilder().build();
    cache.put("a", "1");
    assertThat(cache.stats().putCount()).isZero();
  }

  @Test
  void plusAndMinus_carryThePutCount_andTheOldConstructorCountsNone() {
    CacheStats a = new CacheStats(1, 2, 3, 4, 5, 6, 7, 8);
    CacheStats b = new CacheStats(1, 1, 1, 1, 1, 1, 1, 3);
    assertThat(a.plus(b).putCount()).isEqualTo(11);
    assertThat(a.minus(b).putCount()).isEqualTo(5);
    assertThat(b.minus(a).putCount()).as("floored at zero").isZero();
    assertThat(new CacheStats(1, 2, 3, 4, 5, 6, 7).putCount()).isZero();
    assertThat(new CacheStats(Long.MAX_VALUE, 0, 0, 0, 0, 0, 0, Long.MAX_VALUE)
        .plus(new CacheStats(1, 0, 0, 0, 0, 0, 0, 1)).putCount()).isEqualTo(Long.MAX_VALUE);
  }

  @Test
  void negativePutCount_isNamed() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> new CacheStats(0, 0, 0, 0, 0, 0, 0, -1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("putCount")
        .hasMessageContaining("-1");
  }
}
