package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.internal.Invariants;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * refreshAfterWrite, refresh(key) and refreshAll(keys): readers never wait, a write during a
 * reload wins, failures keep the old value. Driven by a fake ticker and an executor that runs
 * tasks only when told to, so every interleaving is chosen by the test.
 */
final class RefreshTest {
  private static final long WAIT_SECONDS = 30; // a hang guard, never a speed assertion
  private static final Duration REFRESH = Duration.ofMinutes(1);

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final QueueExecutor executor = new QueueExecutor();
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void shutdown() {
    pool.shutdownNow();
  }

  /** A loader that answers "key@n" for its n-th call of the key, counting reloads apart. */
  static class CountingLoader implements CacheLoader<String, String> {
    final AtomicInteger loads = new AtomicInteger();
    final AtomicInteger reloads = new AtomicInteger();
    final List<String> reloadedOld = new ArrayList<>();

    @Override
    public String load(String key) {
      return key + "@" + loads.incrementAndGet();
    }

    @Override
    public synchronized String reload(String key, String oldValue) throws Exception {
      reloadedOld.add(oldValue);
      return key + "#" + reloads.incrementAndGet();
    }
  }

  private CacheBuilder<Object, Object> builder() {
    return Hourglass.newBuilder().ticker(ticker).scheduler(scheduler).executor(executor)
        .refreshAfterWrite(REFRESH);
  }

  /** The shapes a refreshing cache comes in: its nodes carry every field whatever the shape. */
  static Stream<String> shapes() {
    return Stream.of("unbounded", "size", "weight", "expireAfterWrite", "expireAfterAccess",
        "expiry", "size+expireAfterWrite");
  }

  private LoadingCache<String, String> build(String shape, CacheLoader<String, String> loader) {
    CacheBuilder<Object, Object> b = builder();
    switch (shape) {
      case "size":
        b.maximumSize(100);
        break;
      case "weight":
        b.maximumWeight(1_000).weigher((Object k, Object v) -> v.toString().length());
        break;
      case "expireAfterWrite":
        b.expireAfterWrite(Duration.ofMinutes(10));
        break;
      case "expireAfterAccess":
        b.expireAfterAccess(Duration.ofMinutes(10));
        break;
      case "expiry":
        b.expireAfter(Expiry.<Object, Object>writing((k, v) -> Duration.ofMinutes(10)));
        break;
      case "size+expireAfterWrite":
        b.maximumSize(100).expireAfterWrite(Duration.ofMinutes(10));
        break;
      default:
        break;
    }
    return b.<String, String>build(loader);
  }

  /* ---------------- Builder ---------------- */

  @Test
  void refreshAfterWrite_badDurations() {
    assertThatThrownBy(() -> Hourglass.newBuilder().refreshAfterWrite(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refreshAfterWrite").hasMessageContaining("PT0S");
    assertThatThrownBy(() -> Hourglass.newBuilder().refreshAfterWrite(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refreshAfterWrite").hasMessageContaining("PT-1S");
    assertThatThrownBy(() -> Hourglass.newBuilder().refreshAfterWrite(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("duration");
  }

  @Test
  void refreshAfterWrite_setTwice() {
    assertThatThrownBy(() -> Hourglass.newBuilder().refreshAfterWrite(REFRESH)
        .refreshAfterWrite(REFRESH))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("refreshAfterWrite was already set to PT1M");
  }

  @Test
  void refreshAfterWrite_withoutLoader() {
    assertThatThrownBy(() -> Hourglass.newBuilder().refreshAfterWrite(REFRESH).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("refreshAfterWrite").hasMessageContaining("loader");
  }

  @Test
  void refreshAfterWrite_hugeDuration_neverRefreshes() {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(executor)
        .refreshAfterWrite(Duration.ofDays(365L * 1_000_000)).<String, String>build(loader);
    cache.put("k", "v");
    ticker.advance(Duration.ofDays(365L * 100)); // the interval is capped at about 146 years
    assertThat(cache.get("k")).isEqualTo("v");
    assertThat(executor.pending()).isZero();
    assertThat(builder().toString()).contains("refreshAfterWrite=PT1M");
  }

  /* ---------------- Automatic refresh ---------------- */

  @ParameterizedTest
  @MethodSource("shapes")
  void dueEntry_readReturnsOldValue_thenOneReloadReplacesIt(String shape) throws Exception {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = build(shape, loader);
    assertThat(cache.get("k")).isEqualTo("k@1");
    ticker.advance(REFRESH.minusNanos(1));
    assertThat(cache.get("k")).isEqualTo("k@1");
    assertThat(executor.pending()).as("not yet due").isZero();

    ticker.advanceNanos(1);
    for (int i = 0; i < 5; i++) {
      assertThat(cache.get("k")).as("readers never wait").isEqualTo("k@1");
      assertThat(cache.getIfPresent("k")).isEqualTo("k@1");
      assertThat(cache.asMap().get("k")).isEqualTo("k@1");
    }
    assertThat(executor.pending()).as("one reload, however many readers").isEqualTo(1);
    executor.drain();
    assertThat(loader.reloads.get()).isEqualTo(1);
    assertThat(loader.reloadedOld).containsExactly("k@1");
    assertThat(cache.get("k")).isEqualTo("k#1");
    assertThat(executor.pending()).as("the new value is fresh").isZero();
    Invariants.check(cache);

    ticker.advance(REFRESH);
    assertThat(cache.get("k")).isEqualTo("k#1");
    executor.drain();
    assertThat(cache.get("k")).as("refreshed again an interval later").isEqualTo("k#2");
    assertThat(loader.loads.get()).isEqualTo(1);
    Invariants.check(cache);
  }

  @Test
  void readerNeverWaits_forARunningReload() throws Exception {
    CountDownLatch reloading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CacheLoader<String, String> loader = new CacheLoader<>() {
      @Override
      public String load(String key) {
        return "old";
      }

      @Override
      public String reload(String key, String oldValue) throws Exception {
        reloading.countDown();
        release.await();
        return "new";
      }
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(pool)
        .refreshAfterWrite(REFRESH).<String, String>build(loader);
    cache.get("k");
    ticker.advance(REFRESH);
    assertThat(cache.get("k")).isEqualTo("old");
    assertThat(reloading.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    // The reload is parked: readers on other threads keep getting the old value meanwhile.
    Future<String> reader = pool.submit(() -> cache.get("k"));
    assertThat(reader.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("old");
    assertThat(cache.getIfPresent("k")).isEqualTo("old");
    CompletableFuture<String> explicit = cache.refresh("k");
    assertThat(explicit).as("joins the running reload").isNotDone();
    release.countDown();
    assertThat(explicit.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("new");
    assertThat(cache.getIfPresent("k")).isEqualTo("new");
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void writeDuringReload_wins(String shape) throws Exception {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = build(shape, loader);
    cache.put("k", "v1");
    ticker.advance(REFRESH);
    cache.get("k"); // starts the reload
    cache.put("k", "written");
    executor.drain();
    assertThat(loader.reloads.get()).isEqualTo(1);
    assertThat(cache.getIfPresent("k")).isEqualTo("written");
    Invariants.check(cache);
  }

  @Test
  void writeDuringReload_ofTheSameValueObject_stillWins() {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = builder().<String, String>build(loader);
    String value = "v1";
    cache.put("k", value);
    ticker.advance(REFRESH);
    cache.get("k");
    cache.put("k", value); // the same object: only the token tells this write apart
    executor.drain();
    assertThat(cache.getIfPresent("k")).isSameAs(value);
  }

  @Test
  void dropReload_whenTheEntryIsRemovedOrReplacedOrComputed() throws Exception {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = builder().<String, String>build(loader);
    for (String key : List.of("removed", "replaced", "computed", "merged")) {
      cache.put(key, "v");
    }
    ticker.advance(REFRESH);
    for (String key : List.of("removed", "replaced", "computed", "merged")) {
      cache.get(key);
    }
    cache.invalidate("removed");
    cache.asMap().replace("replaced", "r");
    cache.asMap().compute("computed", (k, v) -> v + "+c");
    cache.asMap().merge("merged", "m", (a, b) -> a + b);
    executor.drain();
    assertThat(loader.reloads.get()).isEqualTo(4);
    assertThat(cache.getIfPresent("removed")).as("not brought back").isNull();
    assertThat(cache.getIfPresent("replaced")).isEqualTo("r");
    assertThat(cache.getIfPresent("computed")).isEqualTo("v+c");
    assertThat(cache.getIfPresent("merged")).isEqualTo("vm");
    assertThat(cache.estimatedSize()).isEqualTo(3);
    Invariants.check(cache);
  }

  @Test
  void entryExpiringDuringReload_isNotBroughtBack() throws Exception {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = builder().expireAfterWrite(Duration.ofMinutes(5))
        .<String, String>build(loader);
    cache.put("k", "v");
    ticker.advance(REFRESH);
    assertThat(cache.get("k")).isEqualTo("v");
    ticker.advance(Duration.ofMinutes(5));
    executor.drain();
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.asMap()).isEmpty();
    Invariants.check(cache);
  }

  @Test
  void reloadDuringARunningLoadOfTheKey_isDropped_andNeverWaits() throws Exception {
    CountDownLatch computing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = builder().<String, String>build(loader);
    cache.put("k", "v");
    ticker.advance(REFRESH);
    cache.get("k");
    Future<String> compute = pool.submit(() -> cache.asMap().compute("k", (k, v) -> {
      computing.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
      return "computed";
    }));
    assertThat(computing.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    executor.drain(); // installs nothing, and returns although the compute still runs
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    release.countDown();
    assertThat(compute.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("computed");
    assertThat(cache.getIfPresent("k")).isEqualTo("computed");
  }

  @Test
  void refreshedValue_isReportedAsReplaced_andCountedAsALoad() {
    CountingLoader loader = new CountingLoader();
    RecordingListener<String, String> listener = new RecordingListener<>();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(executor)
        .refreshAfterWrite(REFRESH).recordStats().removalListener(listener)
        .<String, String>build(loader);
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    executor.drain();
    executor.drain(); // the notification
    assertThat(listener.list()).containsExactly(
        new RecordingListener.Removal<>("k", "k@1", RemovalCause.REPLACED));
    CacheStats stats = cache.stats();
    assertThat(stats.loadSuccessCount()).isEqualTo(2);
    assertThat(stats.loadFailureCount()).isZero();
    assertThat(stats.hitCount()).isEqualTo(1);
    assertThat(stats.missCount()).isEqualTo(1);
  }

  @Test
  void weigherSeesTheReloadedValue() throws Exception {
    CacheLoader<String, String> loader = new CacheLoader<>() {
      @Override
      public String load(String key) {
        return "x";
      }

      @Override
      public String reload(String key, String oldValue) {
        return "xxxxx";
      }
    };
    LoadingCache<String, String> cache = builder().maximumWeight(10)
        .weigher((Object k, Object v) -> v.toString().length()).<String, String>build(loader);
    cache.get("a");
    cache.get("b");
    ticker.advance(REFRESH);
    cache.get("a");
    cache.get("b");
    executor.drain();
    assertThat(Invariants.totalWeight(cache)).isEqualTo(10);
    Invariants.check(cache);
  }

  /* ---------------- Failures ---------------- */

  @Test
  void failingReload_keepsOldValue_logsOnce_andBacksOffForAnInterval() throws Exception {
    AtomicInteger reloads = new AtomicInteger();
    IOException down = new IOException("source down");
    CacheLoader<String, String> loader = new CacheLoader<>() {
      @Override
      public String load(String key) {
        return "good";
      }

      @Override
      public String reload(String key, String oldValue) throws Exception {
        reloads.incrementAndGet();
        throw down;
      }
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(executor)
        .refreshAfterWrite(REFRESH).recordStats().<String, String>build(loader);
    cache.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("k")).isEqualTo("good");
      executor.drain();
      assertThat(reloads.get()).isEqualTo(1);
      assertThat(log.logged(down)).isTrue();
      assertThat(log.records).hasSize(1);
      assertThat(log.records.get(0).getMessage()).contains("k").doesNotContain("good");
      for (int i = 0; i < 3; i++) {
        assertThat(cache.get("k")).as("serves the last good value").isEqualTo("good");
      }
      assertThat(executor.pending()).as("backs off after the failure").isZero();
      ticker.advance(REFRESH.minusNanos(1));
      cache.get("k");
      assertThat(executor.pending()).isZero();
      ticker.advanceNanos(1);
      cache.get("k");
      executor.drain();
      assertThat(reloads.get()).as("retried an interval after the failure").isEqualTo(2);
    }
    assertThat(cache.getIfPresent("k")).isEqualTo("good");
    assertThat(cache.stats().loadFailureCount()).isEqualTo(2);
    Invariants.check(cache);
  }

  @Test
  void nullReload_keepsOldValue_andCountsAFailure() {
    CacheLoader<String, String> loader = new CacheLoader<>() {
      @Override
      public String load(String key) {
        return "good";
      }

      @Override
      public String reload(String key, String oldValue) {
        return null;
      }
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(executor)
        .refreshAfterWrite(REFRESH).recordStats().<String, String>build(loader);
    cache.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      cache.get("k");
      executor.drain();
      assertThat(log.records).hasSize(1);
    }
    assertThat(cache.getIfPresent("k")).isEqualTo("good");
    assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
  }

  @Test
  void rejectingExecutor_orThrowingAsyncReload_keepsOldValue_andReaderIsUnaffected() {
    Executor rejecting = task -> {
      throw new RejectedExecutionException("full");
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(rejecting)
        .refreshAfterWrite(REFRESH).recordStats().<String, String>build(k -> "v");
    cache.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("k")).isEqualTo("v");
      assertThat(log.records).hasSize(1);
      assertThat(log.records.get(0).getThrown()).isInstanceOf(RejectedExecutionException.class);
    }
    assertThat(cache.stats().loadFailureCount()).isEqualTo(1);

    IllegalStateException boom = new IllegalStateException("boom");
    LoadingCache<String, String> throwing = Hourglass.newBuilder().ticker(ticker)
        .executor(executor).refreshAfterWrite(REFRESH).<String, String>build(
            new CacheLoader<String, String>() {
              @Override
              public String load(String key) {
                return "v";
              }

              @Override
              public CompletableFuture<String> asyncReload(String key, String old, Executor e) {
                throw boom;
              }
            });
    throwing.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      assertThat(throwing.get("k")).isEqualTo("v");
      assertThat(log.logged(boom)).isTrue();
      CompletableFuture<String> explicit = throwing.refresh("k");
      assertThat(explicit).isCompletedExceptionally();
    }
    assertThat(throwing.getIfPresent("k")).isEqualTo("v");
  }

  @Test
  void throwingWeigherOnTheReloadedValue_keepsOldValue() throws Exception {
    LoadingCache<String, String> cache = builder().maximumWeight(100)
        .weigher((Object k, Object v) -> {
          if (v.equals("bad")) {
            throw new IllegalStateException("weigher");
          }
          return 1;
        }).<String, String>build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "good";
          }

          @Override
          public String reload(String key, String oldValue) {
            return "bad";
          }
        });
    cache.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      cache.get("k");
      executor.drain();
      assertThat(log.records).hasSize(1);
    }
    assertThat(cache.getIfPresent("k")).isEqualTo("good");
    Invariants.check(cache);
  }

  @Test
  void asyncReload_override_isUsed_andMayCompleteLater() throws Exception {
    CompletableFuture<String> later = new CompletableFuture<>();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(executor)
        .refreshAfterWrite(REFRESH).<String, String>build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "v";
          }

          @Override
          public CompletableFuture<String> asyncReload(String key, String old, Executor e) {
            return later;
          }
        });
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    assertThat(cache.get("k")).isEqualTo("v");
    later.complete("async");
    assertThat(cache.get("k")).isEqualTo("async");
  }

  @Test
  void reloadThatCallsBackIntoTheCache() throws Exception {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    LoadingCache<String, String>[] self = new LoadingCache[1];
    self[0] = builder().<String, String>build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return "v";
      }

      @Override
      public String reload(String key, String oldValue) {
        self[0].put("other", "o");
        return oldValue + "/" + self[0].getIfPresent(key) + "/" + self[0].get("third");
      }
    });
    LoadingCache<String, String> cache = self[0];
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    executor.drain();
    assertThat(cache.getIfPresent("k")).isEqualTo("v/v/v");
    assertThat(cache.getIfPresent("other")).isEqualTo("o");
    Invariants.check(cache);
  }

  @Test
  void tickerGoingBackwards_refreshesNothingEarly_andNothingBreaks() throws Exception {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = builder().<String, String>build(loader);
    ticker.set(Duration.ofHours(1).toNanos());
    cache.get("k");
    ticker.set(0); // back by an hour
    assertThat(cache.get("k")).isEqualTo("k@1");
    assertThat(executor.pending()).isZero();
    ticker.set(Duration.ofHours(1).plus(REFRESH).toNanos());
    cache.get("k");
    executor.drain();
    assertThat(cache.get("k")).isEqualTo("k#1");
  }

  /* ---------------- refresh(key), refreshAll(keys) ---------------- */

  @Test
  void refresh_presentAndAbsentKeys() throws Exception {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = Hourglass.newBuilder().executor(executor)
        .<String, String>build(loader); // no refreshAfterWrite: explicit refreshes still work
    cache.put("present", "old");
    CompletableFuture<String> present = cache.refresh("present");
    CompletableFuture<String> absent = cache.refresh("absent");
    assertThat(cache.getIfPresent("present")).isEqualTo("old");
    executor.drain();
    assertThat(present.get()).isEqualTo("present#1");
    assertThat(absent.get()).isEqualTo("absent@1");
    assertThat(cache.getIfPresent("present")).isEqualTo("present#1");
    assertThat(cache.getIfPresent("absent")).isEqualTo("absent@1");
    assertThatThrownBy(() -> cache.refresh(null)).isInstanceOf(NullPointerException.class)
        .hasMessageContaining("key");
  }

  @Test
  void refresh_joinsTheRunningRefresh_onARefreshingCache() {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = builder().<String, String>build(loader);
    cache.put("k", "v");
    CompletableFuture<String> first = cache.refresh("k");
    CompletableFuture<String> second = cache.refresh("k");
    assertThat(second).isSameAs(first);
    executor.drain();
    assertThat(loader.reloads.get()).isEqualTo(1);
    assertThat(first.join()).isEqualTo("k#1");
  }

  @Test
  void refresh_failure_completesExceptionally_andKeepsTheValue() {
    IOException down = new IOException("down");
    LoadingCache<String, String> cache = builder().<String, String>build(
        new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "v";
          }

          @Override
          public String reload(String key, String oldValue) throws Exception {
            throw down;
          }
        });
    cache.get("k");
    CompletableFuture<String> future;
    try (CapturedLog log = new CapturedLog()) {
      future = cache.refresh("k");
      executor.drain();
      assertThat(log.records).as("the failed refresh, logged").isNotEmpty();
    }
    assertThatThrownBy(future::get).isInstanceOf(ExecutionException.class).hasCause(down);
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
  }

  @Test
  void refreshAll_usesReloadAll_forPresentKeys() throws Exception {
    List<Map<String, String>> bulkCalls = new ArrayList<>();
    CacheLoader<String, String> loader = new CacheLoader<>() {
      @Override
      public String load(String key) {
        return key + "@load";
      }

      @Override
      public Map<String, String> reloadAll(Map<? extends String, ? extends String> oldValues) {
        synchronized (bulkCalls) {
          bulkCalls.add(new LinkedHashMap<>(oldValues));
        }
        Map<String, String> result = new LinkedHashMap<>();
        oldValues.forEach((k, v) -> {
          if (!k.equals("b")) { // b is left out: it keeps its value
            result.put(k, v + "+");
          }
        });
        result.put("stranger", "ignored");
        return result;
      }
    };
    LoadingCache<String, String> cache = builder().<String, String>build(loader);
    cache.put("a", "1");
    cache.put("b", "2");
    CompletableFuture<Map<String, String>> all = cache.refreshAll(List.of("a", "b", "c", "a"));
    executor.drain();
    assertThat(bulkCalls).containsExactly(Map.of("a", "1", "b", "2"));
    assertThat(all.get()).containsExactly(Map.entry("a", "1+"), Map.entry("c", "c@load"));
    assertThat(cache.getIfPresent("a")).isEqualTo("1+");
    assertThat(cache.getIfPresent("b")).isEqualTo("2");
    assertThat(cache.getIfPresent("c")).isEqualTo("c@load");
    assertThat(cache.getIfPresent("stranger")).isNull();
    assertThatThrownBy(() -> cache.refreshAll(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> cache.refreshAll(java.util.Arrays.asList("a", null)))
        .isInstanceOf(NullPointerException.class);
    Invariants.check(cache);
  }

  @Test
  void refreshAll_withoutBulkReload_reloadsKeyByKey() throws Exception {
    CountingLoader loader = new CountingLoader();
    LoadingCache<String, String> cache = builder().<String, String>build(loader);
    cache.put("a", "1");
    CompletableFuture<Map<String, String>> all = cache.refreshAll(List.of("a", "b"));
    executor.drain();
    assertThat(all.get()).containsExactly(Map.entry("a", "a#1"), Map.entry("b", "b@1"));
  }
}
