package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.RecordingListener.Removal;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Outside-in attacks on refresh-after-write of the synchronous LoadingCache, and on
 * expireAfterWrite combined with expireAfterAccess, through the public API only. Fake ticker,
 * executors that queue until drained, latches with bounded waits; nothing sleeps for time.
 */
final class OutsideInRefreshExpiryTest {
  private static final long WAIT = 30; // seconds; a hang guard, never a speed assertion
  private static final Duration REFRESH = Duration.ofMinutes(1);

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final QueueExecutor queue = new QueueExecutor();
  private final RecordingListener<String, String> listener = new RecordingListener<>();
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void shutdown() {
    pool.shutdownNow();
  }

  /** Answers "key@n" for the n-th load and "key#n" for the n-th reload. */
  static class Counting implements CacheLoader<String, String> {
    final AtomicInteger loads = new AtomicInteger();
    final AtomicInteger reloads = new AtomicInteger();

    @Override
    public String load(String key) throws Exception {
      return key + "@" + loads.incrementAndGet();
    }

    @Override
    public String reload(String key, String oldValue) throws Exception {
      return key + "#" + reloads.incrementAndGet();
    }
  }

  private CacheBuilder<String, String> refreshing() {
    return Hourglass.newBuilder().ticker(ticker).scheduler(scheduler).executor(queue)
        .removalListener(listener).refreshAfterWrite(REFRESH);
  }

  private static <T> T await(CompletableFuture<T> future) throws Exception {
    return future.get(WAIT, TimeUnit.SECONDS);
  }

  /* ======================= Explicit refresh(key) / refreshAll ======================= */

  @Test
  void refresh_twiceOnNonRefreshingCache_joinsTheRunningReload() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = Hourglass.newBuilder().executor(queue)
        .<String, String>build(loader);
    cache.put("k", "v");
    CompletableFuture<String> first = cache.refresh("k");
    CompletableFuture<String> second = cache.refresh("k");
    queue.drain();
    assertThat(loader.reloads.get()).as("a reload already running is joined, not repeated")
        .isEqualTo(1);
    assertThat(await(second)).isEqualTo(await(first));
  }

  @Test
  void refresh_sameValueObjectWrittenDuringReloadOnNonRefreshingCache_writeWins()
      throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = Hourglass.newBuilder().executor(queue)
        .<String, String>build(loader);
    String value = new String("v");
    cache.put("k", value);
    CompletableFuture<String> refresh = cache.refresh("k");
    cache.invalidate("k");
    cache.put("k", value); // a new write, after a removal: the reload must not overwrite it
    queue.drain();
    assertThat(await(refresh)).isEqualTo("k#1");
    assertThat(cache.getIfPresent("k")).as("the write wins").isSameAs(value);
  }

  @Test
  void refresh_sameValueObjectWrittenDuringReloadOnRefreshingCache_writeWins() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().build(loader);
    String value = new String("v");
    cache.put("k", value);
    CompletableFuture<String> refresh = cache.refresh("k");
    cache.invalidate("k");
    cache.put("k", value);
    queue.drain();
    assertThat(await(refresh)).isEqualTo("k#1");
    assertThat(cache.getIfPresent("k")).isSameAs(value);
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPLICIT));
  }

  @Test
  void refresh_absentKeyWhileAnotherCallerLoads_joinsTheLoad() throws Exception {
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(pool)
        .refreshAfterWrite(REFRESH).<String, String>build(key -> {
          loads.incrementAndGet();
          loading.countDown();
          assertThat(release.await(WAIT, TimeUnit.SECONDS)).isTrue();
          return "loaded";
        });
    Future<String> getter = pool.submit(() -> cache.get("k"));
    assertThat(loading.await(WAIT, TimeUnit.SECONDS)).isTrue();
    CompletableFuture<String> refresh = cache.refresh("k");
    assertThat(refresh).as("never waits").isNotDone();
    release.countDown();
    assertThat(getter.get(WAIT, TimeUnit.SECONDS)).isEqualTo("loaded");
    assertThat(await(refresh)).isEqualTo("loaded");
    assertThat(loads.get()).as("joined, not loaded twice").isEqualTo(1);
  }

  @Test
  void refresh_absentKeyLoadRunningAcrossInvalidateAll_storesNothing() throws Exception {
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(pool)
        .removalListener(listener).refreshAfterWrite(REFRESH).<String, String>build(key -> {
          loading.countDown();
          assertThat(release.await(WAIT, TimeUnit.SECONDS)).isTrue();
          return "loaded";
        });
    CompletableFuture<String> refresh = cache.refresh("k");
    assertThat(loading.await(WAIT, TimeUnit.SECONDS)).isTrue();
    cache.invalidateAll();
    release.countDown();
    assertThat(await(refresh)).isEqualTo("loaded");
    assertThat(cache.getIfPresent("k")).as("a load begun before invalidateAll stores nothing")
        .isNull();
    pool.shutdown();
    assertThat(pool.awaitTermination(WAIT, TimeUnit.SECONDS)).isTrue();
    assertThat(listener.list()).containsExactly(
        new Removal<>("k", "loaded", RemovalCause.EXPLICIT));
  }

  @Test
  void refresh_expiredButNotRemovedEntry_loadsInsteadOfReloading() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().expireAfterWrite(Duration.ofMinutes(5))
        .build(loader);
    cache.put("k", "old");
    ticker.advance(Duration.ofMinutes(5));
    CompletableFuture<String> refresh = cache.refresh("k");
    queue.drain();
    assertThat(await(refresh)).isEqualTo("k@1");
    assertThat(loader.reloads.get()).as("an expired value is never handed to reload").isZero();
    assertThat(cache.getIfPresent("k")).isEqualTo("k@1");
  }

  @Test
  void refresh_afterAFailedAutomaticRefresh_reloadsAtOnce() throws Exception {
    AtomicInteger reloads = new AtomicInteger();
    LoadingCache<String, String> cache = refreshing().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return "v";
      }

      @Override
      public String reload(String key, String oldValue) throws Exception {
        if (reloads.incrementAndGet() == 1) {
          throw new IOException("down");
        }
        return "fresh";
      }
    });
    cache.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      cache.get("k");
      queue.drain();
      assertThat(log.records).hasSize(1);
    }
    cache.get("k");
    assertThat(queue.pending()).as("reads back off after the failure").isZero();
    CompletableFuture<String> explicit = cache.refresh("k");
    queue.drain();
    assertThat(await(explicit)).isEqualTo("fresh");
    assertThat(cache.getIfPresent("k")).isEqualTo("fresh");
    assertThat(reloads.get()).isEqualTo(2);
  }

  @Test
  void refresh_rejectingExecutor_completesExceptionallyAndKeepsValue() {
    Executor rejecting = task -> {
      throw new RejectedExecutionException("full");
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(rejecting)
        .refreshAfterWrite(REFRESH).recordStats().<String, String>build(k -> "v");
    cache.put("k", "v");
    CompletableFuture<String> present;
    CompletableFuture<String> absent;
    try (CapturedLog log = new CapturedLog()) {
      present = cache.refresh("k");
      absent = cache.refresh("absent");
      assertThat(log.records).as("the failed refresh, logged").isNotEmpty();
    }
    assertThat(present).isCompletedExceptionally();
    assertThat(absent).isCompletedExceptionally();
    assertThatThrownBy(present::join).hasRootCauseInstanceOf(RejectedExecutionException.class);
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    assertThat(cache.getIfPresent("absent")).isNull();
    // The failed explicit refresh backs reads off too, and a later explicit one may try again.
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("k")).isEqualTo("v");
      assertThat(log.records).as("the read's own refresh is rejected and logged").hasSize(1);
    }
    assertThat(cache.stats().loadFailureCount()).as("the two rejected reloads").isEqualTo(2);
  }

  @Test
  void refreshAll_joinsARunningAutomaticRefresh_andBulkReloadsOnlyTheOthers() throws Exception {
    List<Map<String, String>> bulk = new ArrayList<>();
    AtomicInteger singles = new AtomicInteger();
    LoadingCache<String, String> cache = refreshing().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return key + "@load";
      }

      @Override
      public String reload(String key, String oldValue) {
        singles.incrementAndGet();
        return oldValue + "+single";
      }

      @Override
      public Map<String, String> reloadAll(Map<? extends String, ? extends String> oldValues) {
        synchronized (bulk) {
          bulk.add(new LinkedHashMap<>(oldValues));
        }
        Map<String, String> result = new HashMap<>();
        oldValues.forEach((k, v) -> result.put(k, v + "+bulk"));
        return result;
      }
    });
    cache.put("a", "1");
    cache.put("b", "2");
    ticker.advance(REFRESH);
    cache.get("a"); // automatic refresh of a, queued
    CompletableFuture<Map<String, String>> all = cache.refreshAll(List.of("a", "b"));
    queue.drain();
    assertThat(bulk).containsExactly(Map.of("b", "2"));
    assertThat(singles.get()).isEqualTo(1);
    assertThat(await(all)).containsOnly(Map.entry("a", "1+single"), Map.entry("b", "2+bulk"));
  }

  @Test
  void refreshAll_withBulkReloadAndAnAbsentKey_answersInTheOrderOfTheKeys() throws Exception {
    LoadingCache<String, String> cache = refreshing().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return key + "@load";
      }

      @Override
      public Map<String, String> reloadAll(Map<? extends String, ? extends String> oldValues) {
        Map<String, String> result = new HashMap<>();
        oldValues.forEach((k, v) -> result.put(k, v + "+bulk"));
        return result;
      }
    });
    cache.put("present", "1");
    CompletableFuture<Map<String, String>> all = cache.refreshAll(List.of("absent", "present"));
    queue.drain();
    assertThat(await(all)).as("in the order of keys").containsExactly(
        Map.entry("absent", "absent@load"), Map.entry("present", "1+bulk"));
  }

  @Test
  void reloadAll_returnsNull_everyKeyKeepsItsValueAndTheFutureFails() throws Exception {
    LoadingCache<String, String> cache = refreshing().recordStats()
        .build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "v";
          }

          @Override
          public Map<String, String> reloadAll(Map<? extends String, ? extends String> old) {
            return null;
          }
        });
    cache.put("a", "1");
    cache.put("b", "2");
    CompletableFuture<Map<String, String>> all;
    try (CapturedLog log = new CapturedLog()) {
      all = cache.refreshAll(List.of("a", "b"));
      queue.drain();
      assertThat(log.records).isNotEmpty();
    }
    assertThatThrownBy(() -> await(all)).isInstanceOf(ExecutionException.class)
        .hasRootCauseInstanceOf(NullPointerException.class);
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(cache.getIfPresent("b")).isEqualTo("2");
    assertThat(listener.list()).isEmpty();
    // After the failure the keys may be refreshed again.
    ticker.advance(REFRESH);
    cache.get("a");
    assertThat(queue.pending()).isEqualTo(1);
  }

  @Test
  void reloadAll_throws_everyKeyKeepsItsValue() throws Exception {
    IOException down = new IOException("down");
    LoadingCache<String, String> cache = refreshing().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return "v";
      }

      @Override
      public Map<String, String> reloadAll(Map<? extends String, ? extends String> old)
          throws Exception {
        throw down;
      }
    });
    cache.put("a", "1");
    cache.put("b", "2");
    CompletableFuture<Map<String, String>> all;
    try (CapturedLog log = new CapturedLog()) {
      all = cache.refreshAll(List.of("a", "b", "c"));
      queue.drain();
      assertThat(log.logged(down)).isTrue();
    }
    assertThatThrownBy(() -> await(all)).isInstanceOf(ExecutionException.class).hasCause(down);
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(cache.getIfPresent("b")).isEqualTo("2");
    assertThat(cache.getIfPresent("c")).as("the absent key was loaded on its own").isEqualTo("v");
  }

  @Test
  void reloadAll_partialWithNullValueAndExtras_leftOutKeysKeepTheirValues() throws Exception {
    LoadingCache<String, String> cache = refreshing().recordStats()
        .build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "v";
          }

          @Override
          public Map<String, String> reloadAll(Map<? extends String, ? extends String> old) {
            Map<String, String> result = new HashMap<>();
            result.put("a", "A");
            result.put("b", null); // mapped to nothing: keeps its value
            result.put("zzz", "extra"); // another key: ignored
            return result;
          }
        });
    cache.put("a", "1");
    cache.put("b", "2");
    cache.put("c", "3");
    CompletableFuture<Map<String, String>> all = cache.refreshAll(List.of("c", "b", "a"));
    queue.drain();
    queue.drain(); // notifications
    assertThat(await(all)).containsExactly(Map.entry("a", "A"));
    assertThat(cache.asMap()).containsOnly(Map.entry("a", "A"), Map.entry("b", "2"),
        Map.entry("c", "3"));
    assertThat(listener.list()).containsExactly(new Removal<>("a", "1", RemovalCause.REPLACED));
    assertThat(cache.stats().loadFailureCount()).as("a left-out key is no failure").isZero();
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(1);
  }

  @Test
  @SuppressWarnings("try") // the log is captured to keep the build output clean
  void reloadAll_delegatingOverrideThrowsUnsupported_fallsBackToKeyByKey() throws Exception {
    Counting inner = new Counting();
    CacheLoader<String, String> delegating = new CacheLoader<>() {
      @Override
      public String load(String key) throws Exception {
        return inner.load(key);
      }

      @Override
      public String reload(String key, String oldValue) throws Exception {
        return inner.reload(key, oldValue);
      }

      @Override
      public Map<? extends String, ? extends String> reloadAll(
          Map<? extends String, ? extends String> oldValues) throws Exception {
        return inner.reloadAll(oldValues); // the default: UnsupportedOperationException
      }
    };
    LoadingCache<String, String> cache = refreshing().build(delegating);
    cache.put("a", "1");
    cache.put("b", "2");
    CompletableFuture<Map<String, String>> all;
    try (CapturedLog log = new CapturedLog()) {
      all = cache.refreshAll(List.of("a", "b"));
      queue.drain();
      queue.drain();
    }
    assertThat(all).isDone();
    assertThat(all).as("the default reloadAll's exception means 'no bulk form'")
        .isNotCompletedExceptionally();
    assertThat(inner.reloads.get()).isEqualTo(2);
    assertThat(cache.getIfPresent("a")).startsWith("a#");
  }

  /* ======================= asyncReload shapes ======================= */

  private LoadingCache<String, String> withAsyncReload(
      java.util.function.Supplier<CompletableFuture<String>> reload) {
    return refreshing().recordStats().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return "good";
      }

      @Override
      public CompletableFuture<String> asyncReload(String key, String old, Executor executor) {
        return reload.get();
      }
    });
  }

  @Test
  void asyncReload_returnsNullFuture_keepsOldValueLogsOnceAndCountsAFailure() throws Exception {
    LoadingCache<String, String> cache = withAsyncReload(() -> null);
    cache.get("k");
    ticker.advance(REFRESH);
    CompletableFuture<String> explicit;
    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("k")).isEqualTo("good");
      assertThat(log.records).hasSize(1);
      assertThat(log.records.get(0).getThrown()).isInstanceOf(NullPointerException.class);
      assertThat(cache.get("k")).isEqualTo("good");
      assertThat(log.records).as("backs off: no second attempt").hasSize(1);
      explicit = cache.refresh("k");
    }
    assertThat(explicit).isCompletedExceptionally();
    assertThat(cache.getIfPresent("k")).isEqualTo("good");
    assertThat(cache.stats().loadFailureCount()).isEqualTo(2);
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(1);
  }

  @Test
  void asyncReload_alreadyFailedFuture_keepsOldValueAndBacksOffAnInterval() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    IOException down = new IOException("down");
    LoadingCache<String, String> cache = withAsyncReload(() -> {
      calls.incrementAndGet();
      return CompletableFuture.failedFuture(down);
    });
    cache.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("k")).isEqualTo("good");
      assertThat(cache.get("k")).isEqualTo("good");
      assertThat(calls.get()).isEqualTo(1);
      assertThat(log.records).hasSize(1);
      assertThat(log.logged(down)).isTrue();
      ticker.advance(REFRESH.minusNanos(1));
      cache.get("k");
      assertThat(calls.get()).isEqualTo(1);
      ticker.advanceNanos(1);
      cache.get("k");
      assertThat(calls.get()).isEqualTo(2);
      assertThat(log.records).hasSize(2);
    }
    assertThat(cache.stats().loadFailureCount()).isEqualTo(2);
    assertThat(listener.list()).isEmpty();
  }

  @Test
  void asyncReload_completedLaterOnAnotherThread_installsOnceAndNotifiesReplacedOnce()
      throws Exception {
    CompletableFuture<String> later = new CompletableFuture<>();
    LoadingCache<String, String> cache = withAsyncReload(() -> later);
    cache.get("k");
    ticker.advance(REFRESH);
    assertThat(cache.get("k")).isEqualTo("good");
    CompletableFuture<String> joined = cache.refresh("k");
    assertThat(joined).isNotDone();
    pool.submit(() -> later.complete("fresh")).get(WAIT, TimeUnit.SECONDS);
    assertThat(await(joined)).isEqualTo("fresh");
    assertThat(cache.getIfPresent("k")).isEqualTo("fresh");
    queue.drain();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "good", RemovalCause.REPLACED));
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(2);
  }

  @Test
  void reload_failingAfterTheTickerMoved_backsOffFromTheFailureNotTheStart() throws Exception {
    AtomicReference<CompletableFuture<String>> next = new AtomicReference<>();
    AtomicInteger calls = new AtomicInteger();
    LoadingCache<String, String> cache = withAsyncReload(() -> {
      calls.incrementAndGet();
      CompletableFuture<String> f = new CompletableFuture<>();
      next.set(f);
      return f;
    });
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k"); // starts at 1m
    ticker.advance(Duration.ofSeconds(40));
    try (CapturedLog log = new CapturedLog()) {
      next.get().completeExceptionally(new IOException("down")); // fails at 1m40s
      assertThat(log.records).hasSize(1);
    }
    ticker.advance(REFRESH.minusNanos(1)); // 2m40s - 1ns: an interval after the start, not the failure
    cache.get("k");
    assertThat(calls.get()).isEqualTo(1);
    ticker.advanceNanos(1);
    cache.get("k");
    assertThat(calls.get()).isEqualTo(2);
    next.get().complete("fresh");
    assertThat(cache.getIfPresent("k")).isEqualTo("fresh");
  }

  @Test
  void reload_returningTheOldValueObject_restartsTheAgeAndReportsNothing() throws Exception {
    LoadingCache<String, String> cache = refreshing().expireAfterWrite(Duration.ofMinutes(3))
        .recordStats().build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return new String("v");
          }

          @Override
          public String reload(String key, String oldValue) {
            return oldValue; // "unchanged at the source", as in the user guide
          }
        });
    String first = cache.get("k");
    for (int i = 0; i < 5; i++) { // 10 minutes of reads every 2: past the 3-minute time to live
      ticker.advance(Duration.ofMinutes(2));
      assertThat(cache.get("k")).isSameAs(first);
      queue.drain();
      assertThat(cache.policy().refreshAfterWrite().orElseThrow().ageOf("k"))
          .contains(Duration.ZERO);
    }
    queue.drain();
    assertThat(listener.list()).as("the value never left the cache").isEmpty();
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(6);
    ticker.advance(Duration.ofMinutes(3));
    assertThat(cache.getIfPresent("k")).isNull();
    queue.drain();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }

  /* ======================= Reloads that call back into the cache ======================= */

  @Test
  void reload_thatWritesItsOwnKey_writeWinsAndNothingIsLost() throws Exception {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    LoadingCache<String, String>[] self = new LoadingCache[1];
    self[0] = refreshing().recordStats().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return "v";
      }

      @Override
      public String reload(String key, String oldValue) {
        self[0].put(key, "written-by-reload");
        return "reloaded";
      }
    });
    LoadingCache<String, String> cache = self[0];
    cache.get("k");
    ticker.advance(REFRESH);
    CompletableFuture<String> joined;
    cache.get("k");
    joined = cache.refresh("k");
    queue.drain();
    queue.drain();
    assertThat(cache.getIfPresent("k")).isEqualTo("written-by-reload");
    assertThat(await(joined)).isEqualTo("reloaded");
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.REPLACED));
    assertThat(cache.get("k")).as("written just now: not due").isEqualTo("written-by-reload");
    assertThat(queue.pending()).isZero();
  }

  @Test
  void reload_thatInvalidatesItsOwnKey_isNotBroughtBack() throws Exception {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    LoadingCache<String, String>[] self = new LoadingCache[1];
    self[0] = refreshing().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return "v";
      }

      @Override
      public String reload(String key, String oldValue) {
        self[0].invalidate(key);
        return "reloaded";
      }
    });
    LoadingCache<String, String> cache = self[0];
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    queue.drain();
    queue.drain();
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPLICIT));
  }

  @Test
  void reload_thatRefreshesAndReadsItsOwnKey_joinsItselfAndStartsNoSecond() throws Exception {
    AtomicInteger reloads = new AtomicInteger();
    AtomicReference<CompletableFuture<String>> inner = new AtomicReference<>();
    AtomicReference<String> innerRead = new AtomicReference<>();
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    LoadingCache<String, String>[] self = new LoadingCache[1];
    self[0] = refreshing().build(new CacheLoader<String, String>() {
      @Override
      public String load(String key) {
        return "v";
      }

      @Override
      public String reload(String key, String oldValue) {
        reloads.incrementAndGet();
        inner.set(self[0].refresh(key)); // must not be joined here: it is this very reload
        innerRead.set(self[0].get(key));
        return "r" + reloads.get();
      }
    });
    LoadingCache<String, String> cache = self[0];
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    CompletableFuture<String> outer = cache.refresh("k");
    queue.drain();
    assertThat(reloads.get()).isEqualTo(1);
    assertThat(inner.get()).isSameAs(outer);
    assertThat(innerRead.get()).isEqualTo("v");
    assertThat(await(outer)).isEqualTo("r1");
    assertThat(cache.getIfPresent("k")).isEqualTo("r1");
  }

  @Test
  void reload_runOnTheReadingThreadThatCallsInvalidateAll_dropsItsResult() throws Exception {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    LoadingCache<String, String>[] self = new LoadingCache[1];
    self[0] = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .removalListener(listener).refreshAfterWrite(REFRESH)
        .<String, String>build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return key;
          }

          @Override
          public String reload(String key, String oldValue) {
            self[0].invalidateAll();
            self[0].get("other"); // loads another key from inside the reload
            return "reloaded";
          }
        });
    LoadingCache<String, String> cache = self[0];
    cache.get("k");
    ticker.advance(REFRESH);
    assertThat(cache.get("k")).isEqualTo("k");
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.getIfPresent("other")).isEqualTo("other");
    assertThat(listener.list()).containsExactly(new Removal<>("k", "k", RemovalCause.EXPLICIT));
  }

  /* ======================= Removals and invalidateAll during reloads ======================= */

  @Test
  void invalidateAll_duringQueuedReloads_nothingResurrectedEachRemovalOnce() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().build(loader);
    List<String> keys = List.of("a", "b", "c", "d");
    keys.forEach(cache::get);
    ticker.advance(REFRESH);
    keys.forEach(cache::get);
    CompletableFuture<Map<String, String>> all = cache.refreshAll(keys); // joins all four
    assertThat(queue.pending()).isEqualTo(4);
    cache.invalidateAll();
    queue.drain();
    queue.drain();
    assertThat(loader.reloads.get()).isEqualTo(4);
    assertThat(await(all)).hasSize(4);
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(listener.list()).extracting(Removal::cause).containsOnly(RemovalCause.EXPLICIT);
    assertThat(listener.list()).extracting(Removal::key)
        .containsExactlyInAnyOrderElementsOf(keys);
    // And the keys load afresh.
    assertThat(cache.get("a")).isEqualTo("a@5");
  }

  @Test
  void reload_whileTheEntryIdlesOut_isNotBroughtBack() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().expireAfterWrite(Duration.ofMinutes(10))
        .expireAfterAccess(Duration.ofMinutes(2)).recordStats().build(loader);
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k"); // reload queued; idle until 3m (+ the 1 ms read tolerance)
    ticker.advance(Duration.ofMinutes(2).plusMillis(1).plusNanos(1));
    queue.drain();
    queue.drain();
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.asMap()).isEmpty();
    cache.cleanUp();
    scheduler.runAll();
    queue.drain();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "k@1", RemovalCause.EXPIRED));
    assertThat(cache.stats().evictionCount()).isEqualTo(1);
  }

  /* ======================= Executors ======================= */

  @Test
  @SuppressWarnings("try") // the log is captured to keep the build output clean
  void executor_thatRunsTheTaskThenThrows_deliversEachNotificationOnce() throws Exception {
    CompletableFuture<String> later = new CompletableFuture<>();
    Executor runsThenThrows = task -> {
      task.run();
      throw new IllegalStateException("executor broke after running");
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker)
        .executor(runsThenThrows).removalListener(listener).refreshAfterWrite(REFRESH)
        .<String, String>build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "old";
          }

          @Override
          public CompletableFuture<String> asyncReload(String key, String old, Executor e) {
            return later; // does not use the executor
          }
        });
    cache.get("k");
    ticker.advance(REFRESH);
    try (CapturedLog log = new CapturedLog()) {
      cache.get("k");
      later.complete("new");
      cache.put("k", "put");
      cache.invalidate("k");
    }
    assertThat(listener.list()).containsExactly(
        new Removal<>("k", "old", RemovalCause.REPLACED),
        new Removal<>("k", "new", RemovalCause.REPLACED),
        new Removal<>("k", "put", RemovalCause.EXPLICIT));
  }

  @Test
  void executor_thatRunsEveryTaskTwice_reloadsOnceAndNotifiesOnce() throws Exception {
    AtomicInteger reloads = new AtomicInteger();
    Executor twice = task -> {
      task.run();
      task.run();
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(twice)
        .removalListener(listener).refreshAfterWrite(REFRESH).recordStats()
        .<String, String>build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "old";
          }

          @Override
          public String reload(String key, String oldValue) {
            return "new" + reloads.incrementAndGet();
          }
        });
    cache.get("k");
    ticker.advance(REFRESH);
    assertThat(cache.get("k")).isEqualTo("old");
    assertThat(reloads.get()).isEqualTo(1);
    assertThat(cache.getIfPresent("k")).isEqualTo("new1");
    CompletableFuture<String> absent = cache.refresh("absent");
    assertThat(absent.join()).isEqualTo("old");
    assertThat(listener.list()).containsExactly(new Removal<>("k", "old", RemovalCause.REPLACED));
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(3);
  }

  /* ======================= Tickers ======================= */

  @Test
  void ticker_throwingWhileTheReloadInstalls_keepsOldValueLogsOnceAndFailsTheFuture()
      throws Exception {
    AtomicBoolean broken = new AtomicBoolean();
    IllegalStateException clockDown = new IllegalStateException("clock down");
    Ticker flaky = () -> {
      if (broken.get()) {
        throw clockDown;
      }
      return ticker.read();
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(flaky)
        .scheduler(scheduler).executor(queue).refreshAfterWrite(REFRESH).recordStats()
        .<String, String>build(new Counting());
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    CompletableFuture<String> joined = cache.refresh("k");
    broken.set(true);
    try (CapturedLog log = new CapturedLog()) {
      queue.drain();
      assertThat(log.records).hasSize(1);
    }
    assertThat(joined).isCompletedExceptionally();
    broken.set(false);
    assertThat(cache.getIfPresent("k")).isEqualTo("k@1");
    assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
  }

  @Test
  @SuppressWarnings("try") // the log is captured to keep the build output clean
  void ticker_throwingDuringARead_reachesTheCallerAndStartsNoReload() throws Exception {
    AtomicBoolean broken = new AtomicBoolean();
    IllegalStateException clockDown = new IllegalStateException("clock down");
    Ticker flaky = () -> {
      if (broken.get()) {
        throw clockDown;
      }
      return ticker.read();
    };
    Counting loader = new Counting();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(flaky)
        .scheduler(scheduler).executor(queue).refreshAfterWrite(REFRESH)
        .<String, String>build(loader);
    cache.get("k");
    ticker.advance(REFRESH);
    broken.set(true);
    try (CapturedLog log = new CapturedLog()) {
      assertThatThrownBy(() -> cache.get("k")).isSameAs(clockDown);
    }
    broken.set(false);
    assertThat(queue.pending()).isZero();
    assertThat(cache.get("k")).isEqualTo("k@1");
    queue.drain();
    assertThat(cache.get("k")).isEqualTo("k#1");
  }

  @Test
  void ticker_jumpingForwardHalfOfLongMax_refreshesOnceAndExpiresNothingEarly() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing()
        .expireAfterWrite(Duration.ofDays(365L * 1_000)).build(loader);
    cache.get("k");
    ticker.advanceNanos(Long.MAX_VALUE / 2 - 1); // just under the ~146-year cap
    assertThat(cache.get("k")).isEqualTo("k@1");
    assertThat(cache.get("k")).isEqualTo("k@1");
    assertThat(queue.pending()).isEqualTo(1);
    queue.drain();
    assertThat(cache.get("k")).isEqualTo("k#1");
    assertThat(queue.pending()).isZero();
  }

  @Test
  void ticker_goingBackwardsWhileReloading_installsAndRefreshesAgainAnIntervalAfterTheInstall()
      throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().build(loader);
    ticker.set(Duration.ofHours(2).toNanos());
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    ticker.set(Duration.ofHours(1).toNanos()); // back an hour before the install
    queue.drain();
    assertThat(cache.get("k")).isEqualTo("k#1");
    ticker.advance(REFRESH.minusNanos(1));
    cache.get("k");
    assertThat(queue.pending()).isZero();
    ticker.advanceNanos(1);
    cache.get("k");
    assertThat(queue.pending()).isEqualTo(1);
  }

  /* ======================= Durations ======================= */

  @Test
  void refreshAfterWrite_oneNanosecond_oneReloadPerDueRead() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(queue)
        .refreshAfterWrite(Duration.ofNanos(1)).<String, String>build(loader);
    cache.get("k");
    assertThat(cache.get("k")).as("age zero: not due").isEqualTo("k@1");
    assertThat(queue.pending()).isZero();
    for (int i = 1; i <= 5; i++) {
      ticker.advanceNanos(1);
      cache.get("k");
      cache.get("k");
      assertThat(queue.pending()).isEqualTo(1);
      queue.drain();
      assertThat(cache.get("k")).isEqualTo("k#" + i);
    }
  }

  @Test
  void refreshLongerThanTimeToLive_neverReloads_theEntryIsLoadedAgain() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).executor(queue)
        .scheduler(scheduler).refreshAfterWrite(Duration.ofMinutes(10))
        .expireAfterWrite(Duration.ofMinutes(5)).recordStats().<String, String>build(loader);
    for (int i = 1; i <= 3; i++) {
      assertThat(cache.get("k")).isEqualTo("k@" + i);
      ticker.advance(Duration.ofMinutes(5));
    }
    queue.drain();
    assertThat(loader.reloads.get()).isZero();
    CacheStats stats = cache.stats();
    assertThat(stats.missCount()).isEqualTo(3);
    assertThat(stats.hitCount()).isZero();
    assertThat(stats.loadSuccessCount()).isEqualTo(3);
  }

  @Test
  void refreshShorterThanTimeToLive_aReadEntryOutlivesItAndAnUnreadOneExpires() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().expireAfterWrite(Duration.ofMinutes(3))
        .build(loader);
    cache.get("read");
    cache.get("unread");
    for (int i = 1; i <= 6; i++) { // every 2 minutes, 12 minutes in all
      ticker.advance(Duration.ofMinutes(2));
      assertThat(cache.get("read")).isEqualTo(i == 1 ? "read@1" : "read#" + (i - 1));
      queue.drain();
    }
    assertThat(cache.getIfPresent("read")).isEqualTo("read#6");
    assertThat(cache.getIfPresent("unread")).isNull();
    queue.drain();
    assertThat(listener.withCause(RemovalCause.EXPIRED)).containsExactly(
        new Removal<>("unread", "unread@2", RemovalCause.EXPIRED));
    assertThat(listener.withCause(RemovalCause.REPLACED)).hasSize(6);
  }

  @Test
  void refreshWithBothExpiries_aRefreshRestartsTheTimeToLiveAndTheIdleTime() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().expireAfterWrite(Duration.ofMinutes(4))
        .expireAfterAccess(Duration.ofMinutes(3)).build(loader);
    cache.get("k"); // written 0: live until 4, idle until 3
    ticker.advance(Duration.ofMinutes(2));
    cache.get("k"); // due: reload queued; idle until 5, capped at 4
    ticker.advance(Duration.ofMinutes(1)); // 3
    queue.drain(); // installed at 3: live until 7, idle until 6
    assertThat(cache.policy().expireAfterWrite().orElseThrow().ageOf("k"))
        .contains(Duration.ZERO);
    assertThat(cache.policy().expireVariably().orElseThrow().getExpiresAfter("k"))
        .contains(Duration.ofMinutes(3));
    ticker.advance(Duration.ofMinutes(3).minusNanos(1)); // 6 - 1ns
    assertThat(cache.policy().getIfPresentQuietly("k")).isEqualTo("k#1");
    ticker.advanceNanos(1);
    assertThat(cache.policy().getIfPresentQuietly("k")).as("idle since the refresh at 3")
        .isNull();
    assertThat(cache.getIfPresent("k")).isNull();
    queue.drain(); // the EXPIRED notification, and any reload (there must be none)
    assertThat(loader.reloads.get()).as("an expired entry starts no reload").isEqualTo(1);
    assertThat(listener.list()).containsExactly(
        new Removal<>("k", "k@1", RemovalCause.REPLACED),
        new Removal<>("k", "k#1", RemovalCause.EXPIRED));
  }

  @Test
  void refreshWithBothExpiries_readsBetweenRefreshesNeverPassTheNewTimeToLive() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().expireAfterWrite(Duration.ofMinutes(4))
        .expireAfterAccess(Duration.ofMinutes(3)).build(loader);
    cache.get("k");
    ticker.advance(REFRESH);
    cache.get("k");
    queue.drain(); // written at 1: live until 5
    // Further reloads are started but left queued, never run.
    for (int i = 0; i < 3; i++) { // reads at 2, 3, 4 keep it idle-alive; the due reload queues
      ticker.advance(REFRESH);
      assertThat(cache.get("k")).isEqualTo("k#1");
    }
    ticker.advance(REFRESH.minusNanos(1)); // 5 - 1ns
    assertThat(cache.getIfPresent("k")).isEqualTo("k#1");
    ticker.advanceNanos(1);
    assertThat(cache.getIfPresent("k")).as("written at 1, time to live 4").isNull();
    queue.drain();
    assertThat(cache.getIfPresent("k")).as("the late reload is not brought back").isNull();
  }

  /* ======================= Weights, stats, listener ======================= */

  @Test
  void reload_growingTheWeight_evictsWithinTheBoundAndReportsEachValueOnce() throws Exception {
    LoadingCache<String, String> cache = refreshing().maximumWeight(10)
        .weigher((String k, String v) -> v.length()).recordStats()
        .build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "xxx";
          }

          @Override
          public String reload(String key, String oldValue) {
            return "yyyyyyyy"; // 3 -> 8
          }
        });
    List<String> keys = List.of("a", "b", "c");
    keys.forEach(cache::get);
    ticker.advance(REFRESH);
    keys.forEach(cache::get);
    queue.drain();
    queue.drain();
    cache.cleanUp();
    queue.drain();
    long weight = cache.policy().eviction().orElseThrow().weightedSize().orElseThrow();
    assertThat(weight).isLessThanOrEqualTo(10);
    long present = cache.asMap().values().stream().mapToLong(String::length).sum();
    assertThat(present).isEqualTo(weight);
    List<Removal<String, String>> sized = listener.withCause(RemovalCause.SIZE);
    assertThat(cache.stats().evictionCount()).isEqualTo(sized.size());
    assertThat(cache.stats().evictionWeight())
        .isEqualTo(sized.stream().mapToLong(r -> r.value().length()).sum());
    // Every value that ever was in the cache and is not there now was reported exactly once.
    for (String key : keys) {
      String now = cache.asMap().get(key);
      List<Removal<String, String>> ofKey = listener.list().stream()
          .filter(r -> r.key().equals(key)).toList();
      if (now == null) {
        assertThat(ofKey).extracting(Removal::value).doesNotHaveDuplicates();
        assertThat(ofKey).isNotEmpty();
      } else {
        assertThat(ofKey).containsExactly(new Removal<>(key, "xxx", RemovalCause.REPLACED));
      }
    }
  }

  @Test
  void stats_exactAcrossAFullRefreshCycle() throws Exception {
    AtomicInteger reloads = new AtomicInteger();
    LoadingCache<String, String> cache = refreshing().expireAfterWrite(Duration.ofMinutes(5))
        .recordStats().build(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "v";
          }

          @Override
          public String reload(String key, String oldValue) throws Exception {
            if (reloads.incrementAndGet() == 2) {
              throw new IOException("down");
            }
            return "r" + reloads.get();
          }
        });
    cache.get("k"); // miss, load success
    ticker.advance(REFRESH);
    cache.get("k"); // hit, reload queued
    cache.getIfPresent("k"); // hit
    queue.drain(); // load success
    ticker.advance(REFRESH);
    cache.get("k"); // hit, reload queued
    try (CapturedLog log = new CapturedLog()) {
      queue.drain(); // load failure
      assertThat(log.records).as("the failed reload, logged once").hasSize(1);
    }
    cache.getIfPresent("missing"); // miss
    ticker.advance(Duration.ofMinutes(5)); // r1 written at 1: gone at 6
    assertThat(cache.getIfPresent("k")).isNull(); // miss
    cache.cleanUp();
    queue.drain();
    CacheStats stats = cache.stats();
    assertThat(stats.hitCount()).isEqualTo(3);
    assertThat(stats.missCount()).isEqualTo(3);
    assertThat(stats.loadSuccessCount()).isEqualTo(2);
    assertThat(stats.loadFailureCount()).isEqualTo(1);
    assertThat(stats.evictionCount()).isEqualTo(1);
    assertThat(listener.list()).containsExactly(
        new Removal<>("k", "v", RemovalCause.REPLACED),
        new Removal<>("k", "r1", RemovalCause.EXPIRED));
  }

  @Test
  void stats_reloadDroppedByAWrite_stillCountsAsALoadSuccess() throws Exception {
    LoadingCache<String, String> cache = refreshing().recordStats().build(new Counting());
    cache.put("k", "v");
    ticker.advance(REFRESH);
    cache.get("k");
    cache.put("k", "written");
    queue.drain();
    assertThat(cache.getIfPresent("k")).isEqualTo("written");
    // User guide, Statistics: a reload dropped because the key was written meanwhile still
    // counts as a successful load (the source answered), as in Caffeine.
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(1);
    assertThat(cache.stats().loadFailureCount()).isZero();
  }

  @Test
  void reads_getAllAndGetAllPresentStartRefreshes_quietLookupDoesNot() throws Exception {
    Counting loader = new Counting();
    LoadingCache<String, String> cache = refreshing().build(loader);
    cache.getAll(List.of("a", "b", "c"));
    ticker.advance(REFRESH);
    assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("a@1");
    assertThat(queue.pending()).as("a quiet lookup starts no refresh").isZero();
    assertThat(cache.getAll(List.of("a", "b"))).containsExactly(
        Map.entry("a", "a@1"), Map.entry("b", "b@2"));
    assertThat(cache.getAllPresent(List.of("b", "c"))).containsExactly(
        Map.entry("b", "b@2"), Map.entry("c", "c@3"));
    assertThat(queue.pending()).isEqualTo(3);
    queue.drain();
    assertThat(loader.reloads.get()).isEqualTo(3);
    assertThat(cache.getAllPresent(List.of("a", "b", "c"))).doesNotContainValue("a@1");
  }

  /* ======================= Concurrency ======================= */

  @Test
  void concurrentReaders_ofADueEntry_startExactlyOneReloadPerWindowNeverTwoAtOnce()
      throws Exception {
    AtomicInteger running = new AtomicInteger();
    AtomicBoolean overlapped = new AtomicBoolean();
    AtomicInteger reloads = new AtomicInteger();
    AtomicReference<CountDownLatch> release = new AtomicReference<>();
    ExecutorService reloaders = Executors.newFixedThreadPool(2);
    try {
      LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker)
          .scheduler(scheduler).executor(reloaders).removalListener(listener)
          .refreshAfterWrite(REFRESH).expireAfterWrite(Duration.ofMinutes(3))
          .expireAfterAccess(Duration.ofMinutes(2))
          .<String, String>build(new CacheLoader<String, String>() {
            @Override
            public String load(String key) {
              return "v0";
            }

            @Override
            public String reload(String key, String oldValue) throws Exception {
              if (running.incrementAndGet() > 1) {
                overlapped.set(true);
              }
              try {
                int n = reloads.incrementAndGet();
                if (!release.get().await(WAIT, TimeUnit.SECONDS)) {
                  throw new IllegalStateException("never released");
                }
                return "v" + n;
              } finally {
                running.decrementAndGet();
              }
            }
          });
      cache.get("k");
      int threads = 4;
      for (int window = 1; window <= 5; window++) {
        release.set(new CountDownLatch(1));
        ticker.advance(REFRESH);
        String expected = "v" + (window - 1);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Boolean>> readers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          readers.add(pool.submit(() -> {
            start.await();
            for (int i = 0; i < 200; i++) {
              if (!expected.equals(cache.get("k"))) {
                return false;
              }
            }
            return true;
          }));
        }
        start.countDown();
        for (Future<Boolean> reader : readers) {
          assertThat(reader.get(WAIT, TimeUnit.SECONDS)).as("readers never wait, see the old value")
              .isTrue();
        }
        CompletableFuture<String> running1 = cache.refresh("k"); // joins the one running reload
        release.get().countDown();
        assertThat(await(running1)).isEqualTo("v" + window);
        assertThat(reloads.get()).as("window %d", window).isEqualTo(window);
        assertThat(cache.get("k")).isEqualTo("v" + window);
      }
      assertThat(overlapped.get()).isFalse();
      reloaders.shutdown();
      assertThat(reloaders.awaitTermination(WAIT, TimeUnit.SECONDS)).isTrue();
      assertThat(listener.list()).extracting(Removal::value)
          .containsExactlyInAnyOrder("v0", "v1", "v2", "v3", "v4"); // delivered on the pool
      assertThat(listener.list()).extracting(Removal::cause).containsOnly(RemovalCause.REPLACED);
    } finally {
      reloaders.shutdownNow();
    }
  }

  @Test
  void concurrentRefreshAndPut_theLastWriteOrAReloadStartedAfterItWins() throws Exception {
    ExecutorService reloaders = Executors.newFixedThreadPool(2);
    try {
      Counting loader = new Counting();
      LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker)
          .executor(reloaders).refreshAfterWrite(REFRESH).<String, String>build(loader);
      for (int round = 0; round < 200; round++) {
        String written = "w" + round;
        cache.put("k", "seed");
        CountDownLatch start = new CountDownLatch(1);
        Future<CompletableFuture<String>> refresher = pool.submit(() -> {
          start.await();
          return cache.refresh("k");
        });
        Future<?> writer = pool.submit(() -> {
          start.await();
          cache.put("k", written);
          return null;
        });
        start.countDown();
        writer.get(WAIT, TimeUnit.SECONDS);
        String reloaded = await(refresher.get(WAIT, TimeUnit.SECONDS));
        String now = cache.getIfPresent("k");
        // Either the write came after the reload's claim (and wins), or the reload started
        // from the written value (its old value) and replaced it.
        assertThat(now).isIn(written, reloaded);
        assertThat(now).isNotEqualTo("seed");
      }
    } finally {
      reloaders.shutdownNow();
    }
  }

  /* ======================= Combined expiry ======================= */

  private Cache<String, String> combined(Duration write, Duration access) {
    return Hourglass.newBuilder().ticker(ticker).scheduler(scheduler).executor(Runnable::run)
        .removalListener(listener).recordStats().expireAfterWrite(write)
        .expireAfterAccess(access).build();
  }

  @Test
  void combined_zeroIdleTime_keepsNothingAndReportsEachValueOnce() {
    Cache<String, String> cache = combined(Duration.ofMinutes(10), Duration.ZERO);
    cache.put("k", "v");
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.get("c", k -> "computed")).isEqualTo("computed");
    assertThat(cache.getIfPresent("c")).isNull();
    cache.cleanUp();
    scheduler.runAll();
    assertThat(listener.list()).containsExactlyInAnyOrder(
        new Removal<>("k", "v", RemovalCause.EXPIRED),
        new Removal<>("c", "computed", RemovalCause.EXPIRED));
    assertThat(cache.stats().evictionCount()).isEqualTo(2);
  }

  @Test
  void combined_zeroTimeToLive_keepsNothingWhateverTheIdleTime() {
    Cache<String, String> cache = combined(Duration.ZERO, Duration.ofDays(365L * 1_000));
    cache.put("k", "v");
    cache.put("k", "v2");
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(listener.list()).containsExactly(
        new Removal<>("k", "v", RemovalCause.EXPIRED),
        new Removal<>("k", "v2", RemovalCause.EXPIRED));
  }

  @Test
  void combined_oneNanosecondEach_expiresAfterExactlyOneTick() {
    Cache<String, String> cache = combined(Duration.ofNanos(1), Duration.ofNanos(1));
    cache.put("k", "v");
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.advanceNanos(1);
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.asMap().containsKey("k")).isFalse();
  }

  @Test
  void combined_policyViews_ageAndTimeLeftFollowWhicheverDeadlineIsFirst() {
    Cache<String, String> cache = combined(Duration.ofMinutes(10), Duration.ofMinutes(3));
    Policy.FixedExpiration<String, String> write = cache.policy().expireAfterWrite().orElseThrow();
    Policy.FixedExpiration<String, String> access =
        cache.policy().expireAfterAccess().orElseThrow();
    Policy.VarExpiration<String, String> left = cache.policy().expireVariably().orElseThrow();
    assertThat(write.getExpiresAfter()).isEqualTo(Duration.ofMinutes(10));
    assertThat(access.getExpiresAfter()).isEqualTo(Duration.ofMinutes(3));
    cache.put("k", "v");
    ticker.advance(Duration.ofMinutes(2));
    assertThat(write.ageOf("k")).contains(Duration.ofMinutes(2));
    assertThat(access.ageOf("k")).contains(Duration.ofMinutes(2));
    assertThat(left.getExpiresAfter("k")).contains(Duration.ofMinutes(1));
    cache.getIfPresent("k"); // idle restarts: until 5 (+ tolerance)
    assertThat(write.ageOf("k")).contains(Duration.ofMinutes(2));
    assertThat(access.ageOf("k").orElseThrow()).isBetween(Duration.ofMillis(-1), Duration.ZERO);
    ticker.advance(Duration.ofMinutes(6)); // 8: reads kept it idle-alive; time to live ends at 10
    assertThat(cache.getIfPresent("k")).isNull(); // idle since 2: gone at 5
    cache.put("h", "hot");
    for (int m = 0; m < 9; m++) {
      ticker.advance(Duration.ofMinutes(1));
      assertThat(cache.getIfPresent("h")).isEqualTo("hot");
    }
    // At 17 (written at 8): the write's deadline, 18, comes before the idle one, 20.
    assertThat(left.getExpiresAfter("h")).contains(Duration.ofMinutes(1));
    assertThat(write.ageOf("h")).contains(Duration.ofMinutes(9));
    assertThat(access.ageOf("h")).contains(Duration.ofMinutes(2)); // idle time - time left
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.getIfPresent("h")).isNull();
    assertThat(write.ageOf("h")).isEmpty();
    assertThat(access.ageOf("h")).isEmpty();
  }

  @Test
  void combined_expiredEntryRacedByReadCleanUpAndScheduler_isReportedOnce() throws Exception {
    Cache<String, String> cache = combined(Duration.ofMinutes(10), Duration.ofMinutes(3));
    for (int i = 0; i < 50; i++) {
      cache.put("k" + i, "v" + i);
    }
    ticker.advance(Duration.ofMinutes(2));
    for (int i = 0; i < 25; i++) {
      cache.getIfPresent("k" + i); // these idle until 5; the others until 3
    }
    ticker.advance(Duration.ofMinutes(1)); // 3: the unread half expired
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> racers = new ArrayList<>();
    racers.add(pool.submit(() -> {
      start.await();
      scheduler.runAll();
      return null;
    }));
    racers.add(pool.submit(() -> {
      start.await();
      cache.cleanUp();
      return null;
    }));
    racers.add(pool.submit(() -> {
      start.await();
      for (int i = 0; i < 50; i++) {
        String v = cache.getIfPresent("k" + i);
        if (i >= 25 && v != null) {
          throw new AssertionError("expired value returned for k" + i);
        }
      }
      return null;
    }));
    start.countDown();
    for (Future<?> racer : racers) {
      racer.get(WAIT, TimeUnit.SECONDS);
    }
    cache.cleanUp();
    assertThat(listener.list()).hasSize(25);
    assertThat(listener.list()).extracting(Removal::key).doesNotHaveDuplicates();
    assertThat(listener.list()).extracting(Removal::cause).containsOnly(RemovalCause.EXPIRED);
    assertThat(cache.stats().evictionCount()).isEqualTo(25);
    assertThat(cache.asMap()).hasSize(25);
    ticker.advance(Duration.ofMinutes(7)); // 10: the write's deadline of the rest
    cache.cleanUp();
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).hasSize(50);
    assertThat(cache.stats().evictionCount()).isEqualTo(50);
  }

  @Test
  void combined_tickerNearWrapAround_deadlinesExactToTheNanosecond() {
    Cache<String, String> cache = combined(Duration.ofNanos(20), Duration.ofNanos(10));
    ticker.set(Long.MAX_VALUE - 4);
    cache.put("k", "v"); // written at MAX-4: idle until MIN+5, live until MIN+15
    ticker.advanceNanos(8);
    assertThat(cache.getIfPresent("k")).isEqualTo("v"); // idle from MIN+3 until MIN+13
    ticker.advanceNanos(9); // MIN+12
    assertThat(cache.getIfPresent("k")).isEqualTo("v"); // idle until MIN+22, capped at MIN+15
    ticker.advanceNanos(2); // MIN+14
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.advanceNanos(1); // MIN+15
    assertThat(cache.getIfPresent("k")).isNull();
  }

  @org.junit.jupiter.api.Disabled("defect: an entry whose deadline falls on ticker reading "
      + "Long.MIN_VALUE is returned one nanosecond past it")
  @Test
  void combined_deadlineLandingOnLongMinValue_isStillExact() {
    Cache<String, String> cache = combined(Duration.ofNanos(10), Duration.ofMinutes(1));
    ticker.set(Long.MAX_VALUE - 9); // written here, the time to live ends at MAX+1 = MIN_VALUE
    cache.put("k", "v");
    ticker.advanceNanos(9);
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.advanceNanos(1); // exactly written + 10ns
    assertThat(cache.getIfPresent("k")).as("10ns after it was written").isNull();
  }

  @Test
  void combined_hugeDurations_jumpJustUnderTheCapExpiresNothingAndPastItEverything() {
    Cache<String, String> cache = combined(Duration.ofDays(365L * 10_000),
        Duration.ofSeconds(Long.MAX_VALUE));
    cache.put("k", "v");
    ticker.advanceNanos(Long.MAX_VALUE / 2 - 1);
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.advanceNanos(1);
    assertThat(cache.getIfPresent("k")).as("capped at about 146 years").isNull();
  }

  @Test
  void combined_putIfAbsentAndComputeIfAbsentFindingAValue_areReadsCappedByTheTimeToLive() {
    Cache<String, String> cache = combined(Duration.ofMinutes(5), Duration.ofMinutes(2));
    cache.put("k", "v");
    for (int m = 0; m < 4; m++) {
      ticker.advance(Duration.ofMinutes(1));
      assertThat(cache.asMap().putIfAbsent("k", "other")).isEqualTo("v");
      assertThat(cache.asMap().computeIfAbsent("k", k -> "other")).isEqualTo("v");
    }
    ticker.advance(Duration.ofMinutes(1).minusNanos(1)); // 5 - 1ns
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.advanceNanos(1);
    assertThat(cache.asMap().putIfAbsent("k", "new")).isNull();
    assertThat(cache.getIfPresent("k")).isEqualTo("new");
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }

  @Test
  void combined_withMaximumSize_expiredEntriesAreReportedExpiredNotEvictedForSize() {
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).removalListener(listener).recordStats().maximumSize(2)
        .expireAfterWrite(Duration.ofMinutes(10)).expireAfterAccess(Duration.ofMinutes(3))
        .<String, String>build();
    cache.put("a", "1");
    cache.put("b", "2");
    ticker.advance(Duration.ofMinutes(3).plusMillis(1));
    cache.put("c", "3");
    cache.put("d", "4");
    cache.cleanUp();
    assertThat(cache.asMap()).containsOnly(Map.entry("c", "3"), Map.entry("d", "4"));
    assertThat(listener.list()).containsExactlyInAnyOrder(
        new Removal<>("a", "1", RemovalCause.EXPIRED),
        new Removal<>("b", "2", RemovalCause.EXPIRED));
    assertThat(cache.stats().evictionCount()).isEqualTo(2);
  }

  @Test
  void combined_viewsAndSize_neverShowAnIdleExpiredEntryBehindALiveOne() {
    Cache<String, String> cache = combined(Duration.ofMinutes(10), Duration.ofMinutes(3));
    cache.put("a", "1");
    ticker.advance(Duration.ofMinutes(1));
    cache.put("b", "2");
    ticker.advance(Duration.ofMinutes(1));
    cache.getIfPresent("a"); // a idles until 5, b until 4
    ticker.advance(Duration.ofMinutes(2)); // 4
    assertThat(cache.asMap()).containsOnly(Map.entry("a", "1"));
    assertThat(cache.asMap().size()).isEqualTo(1);
    assertThat(cache.asMap().keySet()).containsExactly("a");
    assertThat(cache.getAllPresent(List.of("a", "b"))).containsOnlyKeys("a");
  }

  @Test
  void combined_concurrentReadersAcrossTheDeadline_neverSeeTheExpiredValue() throws Exception {
    Cache<String, String> cache = combined(Duration.ofMinutes(5), Duration.ofMinutes(2));
    cache.put("k", "v");
    for (int m = 1; m <= 4; m++) {
      ticker.advance(Duration.ofMinutes(1));
      CountDownLatch start = new CountDownLatch(1);
      List<Future<Boolean>> readers = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        readers.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < 100; i++) {
            if (!"v".equals(cache.getIfPresent("k"))) {
              return false;
            }
          }
          return true;
        }));
      }
      start.countDown();
      for (Future<Boolean> reader : readers) {
        assertThat(reader.get(WAIT, TimeUnit.SECONDS)).isTrue();
      }
    }
    ticker.advance(Duration.ofMinutes(1)); // 5: the time to live ends
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Boolean>> readers = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      readers.add(pool.submit(() -> {
        start.await();
        for (int i = 0; i < 100; i++) {
          if (cache.getIfPresent("k") != null) {
            return false;
          }
        }
        return true;
      }));
    }
    start.countDown();
    for (Future<Boolean> reader : readers) {
      assertThat(reader.get(WAIT, TimeUnit.SECONDS)).isTrue();
    }
    cache.cleanUp();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }
}
