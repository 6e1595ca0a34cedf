package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.hourglass.cache.micrometer.HourglassCacheMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Third outside-in review, through the public API only: {@link CacheStats#putCount()} on every
 * write path, {@link CacheBuilder#initialCapacity(int)} with huge hints.
 */
class ThirdReviewTest {
  private final FakeTicker ticker = new FakeTicker();

  private CacheBuilder<Object, Object> recording() {
    return Hourglass.newBuilder().recordStats().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).ticker(ticker);
  }

  private static long puts(Cache<?, ?> cache) {
    return cache.stats().putCount();
  }

  /* ---------------- putCount: ConcurrentMap defaults ---------------- */

  @Test
  void replaceAll_countsEachReplacedValue() {
    Cache<String, String> cache = recording().build();
    cache.putAll(Map.of("a", "1", "b", "2", "c", "3"));
    long before = puts(cache);
    cache.asMap().replaceAll((k, v) -> v + "!");
    assertThat(cache.asMap()).containsEntry("a", "1!").containsEntry("c", "3!");
    assertThat(puts(cache) - before).isEqualTo(3);
  }

  @Test
  void computesThatStoreNothing_countNothing() {
    Cache<String, String> cache = recording().build();
    ConcurrentMap<String, String> map = cache.asMap();
    assertThat(map.computeIfAbsent("a", k -> null)).isNull();
    assertThat(map.compute("b", (k, v) -> null)).isNull();
    map.put("c", "1");
    assertThat(map.merge("c", "x", (o, n) -> null)).isNull(); // merge to null: a removal
    map.put("d", "1");
    assertThat(map.computeIfPresent("d", (k, v) -> null)).isNull();
    assertThat(cache.asMap()).isEmpty();
    assertThat(puts(cache)).as("the two puts only").isEqualTo(2);
  }

  @Test
  void mergeOfAbsentKey_countsOnce_andMergeOfPresentCountsOnce() {
    Cache<String, String> cache = recording().build();
    cache.asMap().merge("a", "1", String::concat);
    cache.asMap().merge("a", "2", String::concat);
    assertThat(cache.getIfPresent("a")).isEqualTo("12");
    assertThat(puts(cache)).isEqualTo(2);
    assertThat(cache.stats().loadSuccessCount()).as("a merge is no load").isZero();
  }

  @Test
  void putAll_withEqualKeysTwice_countsEachValueStored() {
    Cache<String, String> cache = recording().build();
    Map<String, String> twice = new IdentityHashMap<>();
    twice.put(new String("k"), "1");
    twice.put(new String("k"), "2");
    cache.putAll(twice);
    assertThat(cache.estimatedSize()).isEqualTo(1);
    assertThat(puts(cache)).as("two writes, each storing a value").isEqualTo(2);
  }

  /* ---------------- putCount: refresh is a load ---------------- */

  @Test
  void refresh_countsAsALoad_notAPut() {
    LoadingCache<String, String> cache = recording().build(k -> k + "@" + ticker.read());
    cache.get("a");
    cache.refresh("a").join();
    cache.refresh("absent").join();
    cache.refreshAll(List.of("a", "b")).join();
    assertThat(cache.getIfPresent("absent")).isNotNull();
    assertThat(puts(cache)).isZero();
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(5);
  }

  @Test
  void refreshAfterWrite_reloadCountsAsALoad_notAPut() {
    LoadingCache<String, String> cache = recording().refreshAfterWrite(Duration.ofMinutes(1))
        .build(k -> k + "@" + ticker.read());
    cache.put("a", "put");
    ticker.advance(Duration.ofMinutes(2));
    cache.get("a"); // serves the old value, reloads (executor runs inline)
    assertThat(cache.getIfPresent("a")).isNotEqualTo("put");
    assertThat(puts(cache)).as("the one put").isEqualTo(1);
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(1);
  }

  @Test
  void asyncLoadingCache_refresh_isNoPut() {
    AsyncLoadingCache<String, String> cache = recording().buildAsync(k -> k + "@" + ticker.read());
    cache.get("a").join();
    cache.synchronous().refresh("a").join();
    cache.synchronous().refresh("b").join();
    assertThat(cache.synchronous().stats().putCount()).isZero();
  }

  /* ---------------- putCount: expired entries ---------------- */

  @Test
  void writesToAnExpiredEntry_countWhenTheyStore() {
    Cache<String, String> cache = recording().expireAfterWrite(Duration.ofMinutes(1)).build();
    cache.put("a", "1");
    cache.put("b", "1");
    cache.put("c", "1");
    cache.put("d", "1");
    ticker.advance(Duration.ofMinutes(2));
    long before = puts(cache);
    assertThat(cache.asMap().replace("a", "2")).as("nothing live to replace").isNull();
    assertThat(puts(cache) - before).isZero();
    assertThat(cache.asMap().putIfAbsent("b", "2")).as("stores over the expired").isNull();
    assertThat(puts(cache) - before).isEqualTo(1);
    cache.put("c", "2");
    assertThat(puts(cache) - before).isEqualTo(2);
    assertThat(cache.asMap().computeIfPresent("d", (k, v) -> "2")).isNull();
    assertThat(puts(cache) - before).as("computeIfPresent finds nothing live").isEqualTo(2);
  }

  /* ---------------- putCount: failing writes ---------------- */

  @Test
  void writesThatTheWeigherFails_countNothing() {
    Cache<String, String> cache = recording().maximumWeight(100)
        .<String, String>weigher((k, v) -> {
          if (v.equals("boom")) {
            throw new IllegalStateException("weigher down");
          }
          return 1;
        }).build();
    cache.put("a", "1");
    long before = puts(cache);
    catchThrowable(() -> cache.put("a", "boom"));
    catchThrowable(() -> cache.put("b", "boom"));
    catchThrowable(() -> cache.asMap().replace("a", "boom"));
    catchThrowable(() -> cache.asMap().compute("a", (k, v) -> "boom"));
    catchThrowable(() -> cache.asMap().merge("a", "x", (o, n) -> "boom"));
    catchThrowable(() -> cache.asMap().putIfAbsent("c", "boom"));
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(puts(cache) - before).isZero();
    Map<String, String> mixed = new LinkedHashMap<>();
    mixed.put("x", "1");
    mixed.put("y", "boom");
    mixed.put("z", "1");
    catchThrowable(() -> cache.putAll(mixed));
    long stored = cache.asMap().keySet().stream().filter(k -> !k.equals("a")).count();
    assertThat(puts(cache) - before).as("putAll counts what it stored").isEqualTo(stored);
  }

  @Test
  void writesThatTheExpiryFails_countNothing() {
    Cache<String, String> cache = recording().<String, String>expireAfter(new Expiry<>() {
      @Override
      public long expireAfterCreate(String key, String value, long now) {
        if (value.equals("boom")) {
          throw new IllegalStateException("expiry down");
        }
        return Long.MAX_VALUE;
      }

      @Override
      public long expireAfterUpdate(String key, String value, long now, long current) {
        return expireAfterCreate(key, value, now);
      }
    }).build();
    cache.put("a", "1");
    catchThrowable(() -> cache.put("a", "boom"));
    catchThrowable(() -> cache.put("b", "boom"));
    catchThrowable(() -> cache.asMap().compute("a", (k, v) -> "boom"));
    catchThrowable(() -> cache.asMap().replace("a", "1", "boom"));
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(puts(cache)).isEqualTo(1);
  }

  @Test
  void computeThatThrows_countsNothing() {
    Cache<String, String> cache = recording().build();
    cache.put("a", "1");
    catchThrowable(() -> cache.asMap().compute("a", (k, v) -> {
      throw new IllegalStateException("down");
    }));
    assertThat(puts(cache)).isEqualTo(1);
  }

  @Test
  void putOfTheSameKey_insideItsCompute_countsOnlyWhatIsStored() {
    Cache<String, String> cache = recording().build();
    boolean[] innerStored = {false};
    Throwable thrown = assertTimeoutPreemptively(Duration.ofSeconds(10), () ->
        catchThrowable(() -> cache.asMap().compute("a", (k, v) -> {
          cache.put("a", "inner");
          innerStored[0] = true;
          return "outer";
        })));
    long expected = (innerStored[0] ? 1 : 0) + ((thrown == null) ? 1 : 0);
    assertThat(puts(cache)).as("thrown=%s", String.valueOf(thrown)).isEqualTo(expected);
    cache.put("b", "1");
    assertThat(cache.getIfPresent("b")).as("the cache is still usable").isEqualTo("1");
  }

  @Test
  void computeWhoseValueAnInvalidateAllDropped_countsNothing() {
    Cache<String, String> cache = recording().build();
    cache.put("a", "1");
    try (CapturedLog log = new CapturedLog()) {
      cache.asMap().compute("a", (k, v) -> {
        cache.invalidateAll();
        return "2";
      });
    }
    assertThat(cache.getIfPresent("a")).as("the invalidateAll wins").isNull();
    assertThat(puts(cache)).as("only the first put stored").isEqualTo(1);
  }

  @Test
  void retimingAnEntry_isNoPut() {
    Cache<String, String> cache = recording()
        .<String, String>expireAfter(Expiry.writing((k, v) -> Duration.ofMinutes(1))).build();
    cache.put("a", "1");
    assertThat(cache.policy().expireVariably().orElseThrow()
        .setExpiresAfter("a", Duration.ofMinutes(5))).isTrue();
    assertThat(puts(cache)).isEqualTo(1);
  }

  /* ---------------- putCount: bounded caches ---------------- */

  @Test
  void boundedCache_aValueEvictedAtOnceStillCountsAsAPut() {
    Cache<String, String> cache = recording().maximumSize(1).build();
    for (int i = 0; i < 5; i++) {
      cache.put("k" + i, "v");
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(1);
    assertThat(puts(cache)).isEqualTo(5);
    assertThat(cache.stats().evictionCount()).isEqualTo(4);
  }

  @Test
  void anEntryHeavierThanTheMaximum_countsAsAPut_andAnEviction() {
    Cache<String, String> cache = recording().maximumWeight(5)
        .<String, String>weigher((k, v) -> v.length()).build();
    cache.put("a", "0123456789");
    cache.cleanUp();
    assertThat(cache.getIfPresent("a")).isNull();
    assertThat(puts(cache)).isEqualTo(1);
    assertThat(cache.stats().evictionCount()).isEqualTo(1);
  }

  /* ---------------- putCount: bulk loads ---------------- */

  @Test
  void extraEntriesOfABulkLoad_countAsPuts_askedOnesAsLoads() {
    Cache<String, String> cache = recording().build();
    cache.getAll(List.of("a"), keys -> Map.of("a", "1", "x", "2", "y", "3"));
    assertThat(cache.getIfPresent("x")).isEqualTo("2");
    assertThat(puts(cache)).isEqualTo(2);

    LoadingCache<String, String> loading = recording().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return key;
      }

      @Override
      public Map<String, String> loadAll(Set<? extends String> keys) {
        Map<String, String> result = new LinkedHashMap<>();
        keys.forEach(k -> result.put(k, k));
        result.put("extra", "e");
        return result;
      }
    });
    loading.getAll(List.of("a", "b"));
    assertThat(loading.stats().putCount()).isEqualTo(1);
  }

  /* ---------------- putCount: asynchronous caches ---------------- */

  @Test
  void asyncCache_everyWritePath_ofTheFutureMapAndTheSynchronousView() {
    AsyncCache<String, String> cache = recording().buildAsync();
    Cache<String, String> sync = cache.synchronous();
    ConcurrentMap<String, CompletableFuture<String>> futures = cache.asMap();
    futures.put("a", CompletableFuture.completedFuture("1"));                // 1
    futures.putIfAbsent("a", CompletableFuture.completedFuture("x"));        // present: 0
    futures.putIfAbsent("b", CompletableFuture.completedFuture("1"));        // 2
    CompletableFuture<String> a = futures.get("a");
    futures.compute("a", (k, v) -> v);                                       // keeps: 0
    assertThat(futures.get("a")).isSameAs(a);
    futures.replace("a", CompletableFuture.completedFuture("2"));            // 3
    futures.merge("c", CompletableFuture.completedFuture("1"), (o, n) -> n); // 4
    assertThat(sync.stats().putCount()).as("through asMap() of futures").isEqualTo(4);

    sync.put("d", "1");                                                      // 5
    sync.putAll(Map.of("e", "1", "f", "1"));                                 // 7
    sync.asMap().compute("d", (k, v) -> v);                                  // keeps: 0
    sync.asMap().computeIfPresent("d", (k, v) -> v);                         // keeps: 0
    sync.asMap().merge("d", "2", String::concat);                            // 8
    sync.asMap().replace("d", "12", "3");                                    // 9
    sync.asMap().replace("absent", "3");                                     // none: 0
    sync.asMap().putIfAbsent("d", "x");                                      // present: 0
    sync.asMap().computeIfAbsent("g", k -> "1");                             // a load: 0
    assertThat(sync.getIfPresent("d")).isEqualTo("3");
    assertThat(sync.stats().putCount()).as("through synchronous()").isEqualTo(9);
  }

  @Test
  void asyncCache_aFutureThatFails_orCompletesNull_stillCountedOnce() {
    AsyncCache<String, String> cache = recording().buildAsync();
    CompletableFuture<String> failing = new CompletableFuture<>();
    CompletableFuture<String> empty = new CompletableFuture<>();
    cache.put("a", failing);
    cache.put("b", empty);
    try (CapturedLog log = new CapturedLog()) {
      failing.completeExceptionally(new IllegalStateException("down"));
      empty.complete(null);
    }
    assertThat(cache.synchronous().asMap()).isEmpty();
    assertThat(cache.synchronous().stats().putCount()).isEqualTo(2);
  }

  @Test
  void asyncBulkLoad_extraEntriesCountAsPuts() {
    AsyncCache<String, String> cache = recording().buildAsync();
    cache.getAll(List.of("a"), keys -> Map.of("a", "1", "x", "2")).join();
    assertThat(cache.synchronous().getIfPresent("x")).isEqualTo("2");
    assertThat(cache.synchronous().stats().putCount()).isEqualTo(1);
  }

  /* ---------------- putCount: snapshots and Micrometer ---------------- */

  @Test
  void minusOfTwoSnapshots_isThePutsBetween() {
    Cache<String, String> cache = recording().build();
    cache.put("a", "1");
    CacheStats first = cache.stats();
    cache.put("b", "1");
    cache.asMap().merge("b", "2", String::concat);
    CacheStats second = cache.stats();
    assertThat(second.minus(first).putCount()).isEqualTo(2);
    assertThat(first.plus(second.minus(first))).isEqualTo(second);
  }

  @Test
  void micrometerPuts_agreeWithPutCount() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        recording().<String, String>build(), "third");
    cache.put("a", "1");
    cache.putAll(Map.of("b", "1", "c", "1"));
    cache.asMap().putIfAbsent("a", "x");
    cache.asMap().merge("a", "2", String::concat);
    cache.get("z", k -> "loaded");
    double meter = registry.get("cache.puts").tags("cache", "third").functionCounter().count();
    assertThat(meter).isEqualTo(cache.stats().putCount()).isEqualTo(4.0);
  }

  /* ---------------- initialCapacity ---------------- */

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 16, 64, 4096, Integer.MAX_VALUE})
  void hugeInitialCapacity_buildsAndWorks_atEveryConcurrencyLevel(int concurrencyLevel) {
    for (int capacity : new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE - 1, 1 << 30,
        (1 << 24) + 1}) {
      Cache<Integer, Integer> cache = Hourglass.newBuilder().initialCapacity(capacity)
          .concurrencyLevel(concurrencyLevel).executor(Runnable::run)
          .scheduler(Scheduler.disabledScheduler()).build();
      for (int i = 0; i < 1000; i++) {
        cache.put(i, -i);
      }
      for (int i = 0; i < 1000; i++) {
        assertThat(cache.getIfPresent(i)).isEqualTo(-i);
      }
      assertThat(cache.estimatedSize()).isEqualTo(1000);
    }
  }

  @Test
  void hugeInitialCapacity_withABoundAndExpiry_andAsync() {
    Cache<Integer, Integer> bounded = Hourglass.newBuilder().initialCapacity(Integer.MAX_VALUE)
        .maximumSize(500).expireAfterWrite(Duration.ofMinutes(1)).ticker(ticker)
        .executor(Runnable::run).scheduler(Scheduler.disabledScheduler()).build();
    for (int i = 0; i < 1000; i++) {
      bounded.put(i, i);
    }
    bounded.cleanUp();
    assertThat(bounded.estimatedSize()).isEqualTo(500);
    AsyncCache<Integer, Integer> async = Hourglass.newBuilder().initialCapacity(Integer.MAX_VALUE)
        .concurrencyLevel(1).executor(Runnable::run).scheduler(Scheduler.disabledScheduler())
        .buildAsync();
    for (int i = 0; i < 1000; i++) {
      async.synchronous().put(i, i);
    }
    assertThat(async.synchronous().estimatedSize()).isEqualTo(1000);
  }

  @Test
  void initialCapacity_negativeIsRefused_andZeroWorks() {
    assertThatThrownBy(() -> Hourglass.newBuilder().initialCapacity(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
    Cache<Integer, Integer> cache = Hourglass.newBuilder().initialCapacity(0).build();
    for (int i = 0; i < 1000; i++) {
      cache.put(i, i);
    }
    assertThat(cache.estimatedSize()).isEqualTo(1000);
  }
}
