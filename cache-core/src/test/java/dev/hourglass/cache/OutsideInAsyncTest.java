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
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Outside-in attacks on the asynchronous caches ({@link AsyncCache}, {@link AsyncLoadingCache})
 * through the public API only: callbacks that re-enter the cache, futures completed on other
 * threads or before they are returned, cancellation, hostile executors and tickers, bulk loads
 * with odd results, the map views over loading futures, bounds and expiry around loading
 * futures, refresh, and a bounded concurrent mix. A hang fails through a timeout, never blocks.
 * Tests marked {@link Disabled} reproduce a defect against a documented promise.
 */
final class OutsideInAsyncTest {
  private static final Duration TTL = Duration.ofMinutes(1);
  private static final long WAIT = 10;

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final RecordingListener<String, String> listener = new RecordingListener<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() {
    threads.shutdownNow();
  }

  private CacheBuilder<String, String> builder() {
    return Hourglass.newBuilder().ticker(ticker).scheduler(scheduler).executor(Runnable::run)
        .<String, String>removalListener(listener);
  }

  private static CompletableFuture<String> done(String value) {
    return CompletableFuture.completedFuture(value);
  }

  /* ---------------- Re-entrant callbacks ---------------- */

  @Test
  void get_functionThatInvalidatesItsOwnKey_failsTheFuture_withoutHanging() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    Future<CompletableFuture<String>> call = threads.submit(() -> cache.get("k", (k, e) -> {
      cache.synchronous().invalidate(k);
      return done("v");
    }));
    CompletableFuture<String> future = call.get(WAIT, TimeUnit.SECONDS);
    assertThat(future.isDone()).isTrue();
    assertThatThrownBy(() -> future.get(WAIT, TimeUnit.SECONDS))
        .hasCauseInstanceOf(IllegalStateException.class);
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.get("k", (k, e) -> done("again")).get(WAIT, TimeUnit.SECONDS))
        .isEqualTo("again");
  }

  @Test
  void get_functionThatWritesOtherKeys_storesThemAll() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> future = cache.get("a", (k, e) -> {
      cache.put("b", done("B"));
      cache.synchronous().put("c", "C");
      cache.synchronous().invalidate("c");
      return done("A");
    });
    assertThat(future.get(WAIT, TimeUnit.SECONDS)).isEqualTo("A");
    assertThat(cache.synchronous().asMap()).containsOnlyKeys("a", "b");
    assertThat(listener.list()).containsExactly(new Removal<>("c", "C", RemovalCause.EXPLICIT));
  }

  @Test
  void thenApplyOnTheReturnedFuture_thatWritesTheSameKey_wins() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    CompletableFuture<Void> chained = cache.get("k", (k, e) -> loading)
        .thenAccept(v -> cache.put("k", done(v + "!")));
    threads.submit(() -> loading.complete("v")).get(WAIT, TimeUnit.SECONDS);
    chained.get(WAIT, TimeUnit.SECONDS);

    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v!");
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(1);
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.REPLACED));
  }

  @Test
  void futureCompletedInsideTheFunction_beforeItReturns_isStoredAsAValue() throws Exception {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).expireAfterWrite(TTL).buildAsync();
    CompletableFuture<String> future = cache.get("k", (k, e) -> {
      CompletableFuture<String> f = new CompletableFuture<>();
      f.complete("abc");
      return f;
    });
    assertThat(future.get(WAIT, TimeUnit.SECONDS)).isEqualTo("abc");
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightOf("k")).hasValue(3);
    ticker.advance(TTL);
    assertThat(cache.getIfPresent("k")).isNull();
  }

  @Test
  void futureThatFailsInsideTheFunction_beforeItReturns_storesNothing() throws Exception {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<String> future = cache.get("k", (k, e) -> {
      CompletableFuture<String> f = new CompletableFuture<>();
      f.completeExceptionally(new IOException("early"));
      return f;
    });
    assertThatThrownBy(() -> future.get(WAIT, TimeUnit.SECONDS))
        .hasCauseInstanceOf(IOException.class);
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).isEmpty();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
  }

  @Test
  void futureCompletedOnAnotherThread_whileTheFunctionStillRuns_settles() throws Exception {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    CompletableFuture<String> future = cache.get("k", (k, e) -> {
      try {
        threads.submit(() -> loading.complete("abcd")).get(WAIT, TimeUnit.SECONDS);
      } catch (Exception ex) {
        throw new AssertionError(ex);
      }
      return loading;
    });
    assertThat(future.get(WAIT, TimeUnit.SECONDS)).isEqualTo("abcd");
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightOf("k")).hasValue(4);
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightedSize())
        .hasValue(4);
  }

  @Test
  void removalListenerThatWritesTheCache_onALateNotification_works() throws Exception {
    AsyncCache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run)
        .ticker(ticker).scheduler(scheduler)
        .<String, String>removalListener((k, v, cause) -> { })
        .buildAsync();
    AtomicReference<AsyncCache<String, String>> self = new AtomicReference<>();
    List<String> heard = new CopyOnWriteArrayList<>();
    AsyncCache<String, String> writing = Hourglass.newBuilder().executor(Runnable::run)
        .ticker(ticker).scheduler(scheduler)
        .<String, String>removalListener((k, v, cause) -> {
          heard.add(k + "=" + v + ":" + cause);
          self.get().put(k + "-gone", done(v));
          self.get().synchronous().put(k, v + "-back");
        })
        .buildAsync();
    self.set(writing);
    CompletableFuture<String> loading = new CompletableFuture<>();
    writing.put("k", loading);
    writing.synchronous().invalidate("k");
    assertThat(heard).isEmpty();
    threads.submit(() -> loading.complete("v")).get(WAIT, TimeUnit.SECONDS);

    assertThat(heard).containsExactly("k=v:EXPLICIT");
    assertThat(writing.synchronous().getIfPresent("k-gone")).isEqualTo("v");
    assertThat(writing.synchronous().getIfPresent("k")).isEqualTo("v-back");
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void weigherAndExpiryThatReadTheCache_doNotHang() throws Exception {
    AtomicReference<AsyncCache<String, String>> self = new AtomicReference<>();
    AtomicInteger reads = new AtomicInteger();
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).maximumWeight(100)
        .weigher((String k, String v) -> {
          CompletableFuture<String> mine = self.get().getIfPresent(k);
          if (mine != null) {
            reads.incrementAndGet();
          }
          return v.length();
        })
        .expireAfter(Expiry.<String, String>creating((k, v) -> {
          self.get().synchronous().getIfPresent("other");
          return TTL;
        }))
        .buildAsync();
    self.set(cache);
    cache.put("other", done("o"));
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    threads.submit(() -> loading.complete("abc")).get(WAIT, TimeUnit.SECONDS);
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("abc");
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightOf("k")).hasValue(3);
    assertThat(reads.get()).isPositive();
  }

  @Test
  void loader_thatLoadsAnotherKeyOfTheSameCache_composes() throws Exception {
    AtomicReference<AsyncLoadingCache<String, String>> self = new AtomicReference<>();
    AsyncLoadingCache<String, String> cache = builder()
        .buildAsync((String k, Executor e) -> k.startsWith("x")
            ? self.get().get(k.substring(1)).thenApply(v -> "x" + v)
            : done(k.toUpperCase()));
    self.set(cache);
    assertThat(cache.get("xxa").get(WAIT, TimeUnit.SECONDS)).isEqualTo("xxA");
    assertThat(cache.synchronous().asMap()).containsOnlyKeys("xxa", "xa", "a");
  }

  /* ---------------- Cancellation and obtrusion ---------------- */

  @Test
  void cancelOfAStoredFuture_removesIt_reportsNothing_andTheNextGetStartsAgain() throws Exception {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    CompletableFuture<String> returned = cache.get("k", (k, e) -> loading);
    assertThat(returned.cancel(true)).isTrue();

    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.synchronous().getIfPresent("k")).isNull();
    assertThat(cache.synchronous().estimatedSize()).isZero();
    assertThat(listener.list()).isEmpty();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
    assertThat(cache.get("k", (k, e) -> done("v")).get(WAIT, TimeUnit.SECONDS)).isEqualTo("v");
  }

  @Test
  void cancelOfAFutureRemovedWhileLoading_isNeverReported() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    cache.put("k", done("new"));
    loading.cancel(false);
    assertThat(listener.list()).isEmpty();
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("new");
  }

  @Test
  void synchronousGet_ofACancelledFuture_answersNull() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    Future<String> read = threads.submit(() -> cache.synchronous().getIfPresent("k"));
    loading.cancel(true);
    assertThat(read.get(WAIT, TimeUnit.SECONDS)).isNull();
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void obtrudeValue_onAFutureStillLoading_settlesLikeAComplete() throws Exception {
    AsyncCache<String, String> cache = builder().expireAfterWrite(TTL).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    ticker.advance(TTL.multipliedBy(2));
    loading.obtrudeValue("forced");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("forced");
    ticker.advance(TTL.minusNanos(1));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("forced");
    ticker.advance(Duration.ofNanos(1));
    assertThat(cache.getIfPresent("k")).isNull();
  }

  @Test
  void obtrudeException_onAFutureStillLoading_removesIt() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    loading.obtrudeException(new IOException("forced"));
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(listener.list()).isEmpty();
  }

  /* ---------------- Executors and tickers ---------------- */

  @Test
  void executorThatThrowsSomethingElse_failsTheFuture_andThrowsNothingAtTheCaller() {
    AsyncCache<String, String> cache = Hourglass.newBuilder().scheduler(scheduler)
        .executor(task -> {
          throw new IllegalStateException("broken executor");
        })
        .<String, String>buildAsync();
    CompletableFuture<String> future = cache.get("k", k -> "v");
    assertThat(future).isCompletedExceptionally();
    assertThatThrownBy(future::join).hasCauseInstanceOf(IllegalStateException.class);
    assertThat(cache.asMap()).isEmpty();
    CompletableFuture<Map<String, String>> all = cache.getAll(List.of("a", "b"),
        keys -> Map.of("a", "A"));
    assertThat(all).isCompletedExceptionally();
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void cacheLoaderOnAnExecutorThatThrows_failsTheFuture() {
    AsyncLoadingCache<String, String> cache = Hourglass.newBuilder().scheduler(scheduler)
        .executor(task -> {
          throw new IllegalStateException("broken executor");
        })
        .buildAsync((String k) -> k);
    CompletableFuture<String> future = cache.get("k");
    assertThat(future).isCompletedExceptionally();
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.getAll(List.of("a")).isCompletedExceptionally()).isTrue();
  }

  @Test
  void getWithFunction_onAnInlineExecutor_isCompleteWhenReturned() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    AtomicReference<Thread> ran = new AtomicReference<>();
    CompletableFuture<String> future = cache.get("k", k -> {
      ran.set(Thread.currentThread());
      return "v";
    });
    assertThat(future).isCompletedWithValue("v");
    assertThat(ran.get()).isSameAs(Thread.currentThread());
    assertThat(cache.synchronous().stats().loadSuccessCount()).isEqualTo(1);
  }

  @Test
  void tickerGoingBackwards_neitherExpiresNorResurrects() {
    FakeTicker clock = new FakeTicker(TTL.toNanos() * 10);
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(clock).scheduler(scheduler)
        .executor(Runnable::run).expireAfterWrite(TTL).<String, String>buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    clock.set(0); // backwards
    loading.complete("v");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    clock.advance(TTL.minusNanos(1));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    clock.advance(Duration.ofNanos(1));
    assertThat(cache.getIfPresent("k")).isNull();
    clock.set(0);
    assertThat(cache.getIfPresent("k")).as("an expired entry is not brought back").isNull();
  }

  @Test
  void tickerThatThrowsOnce_whileAFutureSettles_logsAndRemovesTheEntry() throws Exception {
    AtomicInteger failures = new AtomicInteger();
    FakeTicker clock = new FakeTicker();
    Ticker hostile = () -> {
      if (failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new IllegalStateException("ticker down");
      }
      return clock.read();
    };
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(hostile)
        .scheduler(scheduler).executor(Runnable::run).expireAfterWrite(TTL)
        .<String, String>removalListener(listener).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    try (CapturedLog log = new CapturedLog()) {
      failures.set(1);
      loading.complete("v");
      assertThat(log.records).singleElement()
          .satisfies(r -> assertThat(r.getThrown()).hasMessage("ticker down"));
    }
    assertThat(cache.getIfPresent("k")).isNull();
    // (The removal is heard as EXPLICIT "v", as for a weigher that throws on completion.)
    assertThat(listener.list()).hasSizeLessThanOrEqualTo(1);
    assertThat(cache.get("k", (k, e) -> done("v2")).get(WAIT, TimeUnit.SECONDS))
        .isEqualTo("v2");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v2");
  }

  /**
   * User guide: "Until its future completes, an entry weighs nothing, is never evicted and never
   * expires ... When it completes ... its lifetime starts then"; "a ticker that throws: ... nothing
   * is left waiting". A future that completes while the ticker is down stays "loading" forever.
   */
  @Test
  void tickerDown_whileAFutureCompletes_leavesNoImmortalValue() {
    AtomicBoolean down = new AtomicBoolean();
    FakeTicker clock = new FakeTicker();
    Ticker hostile = () -> {
      if (down.get()) {
        throw new IllegalStateException("ticker down");
      }
      return clock.read();
    };
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(hostile)
        .scheduler(scheduler).executor(Runnable::run).expireAfterWrite(TTL).maximumSize(1)
        .<String, String>buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    try (CapturedLog log = new CapturedLog()) {
      down.set(true);
      loading.complete("v"); // both the settle and its fallback removal fail, and are logged
      down.set(false);
      assertThat(log.records).isNotEmpty();
    }
    clock.advance(TTL.multipliedBy(10));
    cache.synchronous().cleanUp();
    assertThat(cache.getIfPresent("k")).as("ten lifetimes after it completed").isNull();
  }

  @Test
  void tickerThatThrows_duringAGet_leavesNoFlightBehind() throws Exception {
    AtomicBoolean broken = new AtomicBoolean();
    Ticker hostile = () -> {
      if (broken.get()) {
        throw new IllegalStateException("ticker down");
      }
      return 0;
    };
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(hostile)
        .scheduler(scheduler).executor(Runnable::run).expireAfterWrite(TTL).recordStats()
        .<String, String>buildAsync();
    broken.set(true);
    try {
      CompletableFuture<String> failed = cache.get("k", (k, e) -> done("v"));
      // Either the caller sees the ticker's exception or the future does; nothing may hang.
      assertThat(failed.isDone()).isTrue();
    } catch (IllegalStateException expected) {
      assertThat(expected).hasMessage("ticker down");
    }
    broken.set(false);
    Future<CompletableFuture<String>> again = threads.submit(
        () -> cache.get("k", (k, e) -> done("v2")));
    assertThat(again.get(WAIT, TimeUnit.SECONDS).get(WAIT, TimeUnit.SECONDS)).isIn("v", "v2");
  }

  /* ---------------- invalidateAll with loads in flight ---------------- */

  @Test
  void invalidateAll_whileTheFunctionRuns_storesNothing_andReportsTheValueOnce() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CountDownLatch running = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> loading = new CompletableFuture<>();
    Future<CompletableFuture<String>> call = threads.submit(() -> cache.get("k", (k, e) -> {
      running.countDown();
      await(release);
      return loading;
    }));
    assertThat(running.await(WAIT, TimeUnit.SECONDS)).isTrue();
    cache.synchronous().invalidateAll();
    release.countDown();
    CompletableFuture<String> returned = call.get(WAIT, TimeUnit.SECONDS);
    assertThat(returned).isSameAs(loading);
    loading.complete("v");
    assertThat(returned.get(WAIT, TimeUnit.SECONDS)).isEqualTo("v");
    assertThat(cache.getIfPresent("k")).as("started before the invalidateAll").isNull();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPLICIT));
  }

  @Test
  void invalidateAll_withManyFuturesLoading_reportsEachValueOnce_andNoFailure() {
    AsyncCache<String, String> cache = builder().maximumSize(3).buildAsync();
    List<CompletableFuture<String>> loading = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      loading.add(f);
      cache.put("k" + i, f);
    }
    cache.synchronous().invalidateAll();
    assertThat(cache.asMap()).isEmpty();
    for (int i = 0; i < 10; i++) {
      if (i % 2 == 0) {
        loading.get(i).complete("v" + i);
      } else {
        loading.get(i).completeExceptionally(new IOException());
      }
    }
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).hasSize(5)
        .allSatisfy(r -> assertThat(r.cause()).isEqualTo(RemovalCause.EXPLICIT))
        .extracting(Removal::value).containsExactlyInAnyOrder("v0", "v2", "v4", "v6", "v8");
  }

  @Test
  void asMapClear_whileAGetAllLoads_storesNoRequestedKey() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<Map<String, String>> bulk = new CompletableFuture<>();
    CompletableFuture<Map<String, String>> result = cache.getAll(List.of("a", "b"),
        (keys, e) -> bulk);
    cache.asMap().clear();
    bulk.complete(Map.of("a", "A", "b", "B"));
    assertThat(result.join()).containsOnlyKeys("a", "b");
    assertThat(cache.getIfPresent("a")).isNull();
    assertThat(cache.getIfPresent("b")).isNull();
    assertThat(listener.withCause(RemovalCause.EXPLICIT)).extracting(Removal::key)
        .containsExactlyInAnyOrder("a", "b");
  }

  /** Cache.invalidateAll: "one that started before this call stores nothing when it finishes". */
  @Test
  void getAll_extraEntries_afterAnInvalidateAll_areNotStored() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<Map<String, String>> bulk = new CompletableFuture<>();
    CompletableFuture<Map<String, String>> result = cache.getAll(List.of("a"), (keys, e) -> bulk);
    cache.synchronous().invalidateAll();
    bulk.complete(Map.of("a", "A", "extra", "X"));

    assertThat(result.join()).containsExactly(Map.entry("a", "A"));
    assertThat(cache.getIfPresent("a")).isNull();
    assertThat(cache.getIfPresent("extra")).as("loaded by a bulk load begun before the clear")
        .isNull();
  }

  /* ---------------- getAll ---------------- */

  @Test
  void getAll_withDuplicateKeys_callsTheBulkFunctionOnceWithUniqueKeys() throws Exception {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    List<Set<? extends String>> calls = new CopyOnWriteArrayList<>();
    Map<String, String> result = cache.getAll(List.of("b", "a", "b", "a", "c"),
        keys -> {
          calls.add(Set.copyOf(keys));
          Map<String, String> out = new HashMap<>();
          keys.forEach(k -> out.put(k, k.toUpperCase()));
          return out;
        }).get(WAIT, TimeUnit.SECONDS);
    assertThat(calls).containsExactly(Set.of("a", "b", "c"));
    assertThat(result).containsExactly(Map.entry("b", "B"), Map.entry("a", "A"),
        Map.entry("c", "C"));
    CacheStats stats = cache.synchronous().stats();
    assertThat(stats.missCount()).isEqualTo(3);
    assertThat(stats.hitCount()).isZero();
  }

  @Test
  void getAll_bulkFunctionThatThrows_failsTheResult_andThrowsNothing() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<Map<String, String>> viaExecutor = cache.getAll(List.of("a"), keys -> {
      throw new IllegalArgumentException("bulk down");
    });
    assertThatThrownBy(viaExecutor::join).hasRootCauseInstanceOf(IllegalArgumentException.class);
    CompletableFuture<Map<String, String>> onCaller = cache.getAll(List.of("a"),
        (Set<? extends String> keys, Executor e) -> {
          throw new IllegalArgumentException("bulk down");
        });
    assertThatThrownBy(onCaller::join).hasRootCauseInstanceOf(IllegalArgumentException.class);
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).isEmpty();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(2);
  }

  @Test
  void getAll_bulkFunctionReturningANullFuture_orANullMap_failsTheResult() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<Map<String, String>> nullFuture = cache.getAll(List.of("a"),
        (keys, e) -> null);
    assertThatThrownBy(nullFuture::join).hasRootCauseInstanceOf(NullPointerException.class);
    CompletableFuture<Map<String, String>> nullMap = cache.getAll(List.of("a"), keys -> null);
    assertThatThrownBy(nullMap::join).hasRootCauseInstanceOf(NullPointerException.class);
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void getAll_nullValuesAndLeftOutKeys_completeWithNoValue_andExtrasAreStored() {
    AsyncCache<String, String> cache = builder().buildAsync();
    Map<String, String> result = cache.getAll(List.of("a", "b", "c"), keys -> {
      Map<String, String> out = new HashMap<>();
      out.put("a", "A");
      out.put("b", null);
      out.put("x", "X");
      out.put(null, "N");
      return out;
    }).join();
    assertThat(result).containsExactly(Map.entry("a", "A"));
    assertThat(cache.asMap()).containsOnlyKeys("a", "x");
    assertThat(cache.get("b", k -> "B2").join()).as("the next get starts again").isEqualTo("B2");
  }

  @Test
  void getAll_concurrentGetOfAReservedKey_sharesTheBulkLoad() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<Map<String, String>> bulk = new CompletableFuture<>();
    AtomicInteger singles = new AtomicInteger();
    CompletableFuture<Map<String, String>> result = cache.getAll(List.of("a", "b"),
        (keys, e) -> bulk);
    CompletableFuture<String> a = cache.get("a", (k, e) -> {
      singles.incrementAndGet();
      return done("single");
    });
    assertThat(a).isNotDone();
    bulk.complete(Map.of("a", "A", "b", "B"));
    assertThat(a.join()).isEqualTo("A");
    assertThat(singles).hasValue(0);
    assertThat(result.join()).containsExactly(Map.entry("a", "A"), Map.entry("b", "B"));
    assertThat(cache.synchronous().stats().hitCount()).isEqualTo(1);
  }

  @Test
  void getAll_bulkFunctionThatReadsItsOwnKeys_seesThemLoading_andDoesNotHang() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    List<Boolean> seenDone = new CopyOnWriteArrayList<>();
    Future<CompletableFuture<Map<String, String>>> call = threads.submit(
        () -> cache.getAll(List.of("a", "b"), (keys, e) -> {
          for (String key : keys) {
            CompletableFuture<String> mine = cache.getIfPresent(key);
            seenDone.add(mine != null && mine.isDone());
          }
          return CompletableFuture.completedFuture(Map.of("a", "A"));
        }));
    Map<String, String> result = call.get(WAIT, TimeUnit.SECONDS).get(WAIT, TimeUnit.SECONDS);
    assertThat(seenDone).containsExactly(false, false);
    assertThat(result).containsExactly(Map.entry("a", "A"));
  }

  @Test
  void getAll_whenAKeyIsWrittenWhileTheBulkLoadRuns_theWriteWins() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<Map<String, String>> bulk = new CompletableFuture<>();
    CompletableFuture<Map<String, String>> result = cache.getAll(List.of("a", "b"),
        (keys, e) -> bulk);
    cache.synchronous().put("a", "written");
    cache.synchronous().invalidate("b");
    bulk.complete(Map.of("a", "loaded", "b", "B"));
    assertThat(result.join()).containsExactly(Map.entry("a", "loaded"), Map.entry("b", "B"));
    assertThat(cache.synchronous().getIfPresent("a")).isEqualTo("written");
    assertThat(cache.getIfPresent("b")).isNull();
    assertThat(listener.list()).containsExactlyInAnyOrder(
        new Removal<>("a", "loaded", RemovalCause.REPLACED),
        new Removal<>("b", "B", RemovalCause.EXPLICIT));
  }

  @Test
  void asyncLoadAll_returningANullFuture_orThrowing_failsEveryKey() {
    AtomicBoolean throwIt = new AtomicBoolean();
    AsyncLoadingCache<String, String> cache = builder().buildAsync(new AsyncCacheLoader<>() {
      @Override
      public CompletableFuture<String> asyncLoad(String key, Executor executor) {
        return done(key);
      }

      @Override
      public CompletableFuture<Map<String, String>> asyncLoadAll(Set<? extends String> keys,
          Executor executor) throws Exception {
        if (throwIt.get()) {
          throw new IOException("bulk down");
        }
        return null;
      }
    });
    assertThatThrownBy(() -> cache.getAll(List.of("a", "b")).join())
        .hasRootCauseInstanceOf(NullPointerException.class);
    throwIt.set(true);
    assertThatThrownBy(() -> cache.getAll(List.of("a", "b")).join())
        .hasRootCauseInstanceOf(IOException.class);
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.get("a").join()).isEqualTo("a");
  }

  @Test
  void cacheLoaderLoadAll_isUsedForBulkLoads_withExtras() {
    AtomicInteger bulkCalls = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = builder().buildAsync(new CacheLoader<>() {
      @Override
      public String load(String key) {
        throw new AssertionError("bulk expected");
      }

      @Override
      public Map<String, String> loadAll(Set<? extends String> keys) {
        bulkCalls.incrementAndGet();
        Map<String, String> out = new LinkedHashMap<>();
        keys.forEach(k -> out.put(k, k + "!"));
        out.put("extra", "E");
        return out;
      }
    });
    assertThat(cache.getAll(List.of("a", "b", "a")).join())
        .containsExactly(Map.entry("a", "a!"), Map.entry("b", "b!"));
    assertThat(bulkCalls).hasValue(1);
    assertThat(cache.synchronous().asMap()).containsOnlyKeys("a", "b", "extra");
  }

  /** Cache.getAll: "@throws NullPointerException ... if the function returns a map with a null key or value". */
  @Test
  void synchronousGetAll_functionReturningANullValue_throwsNpe_andStoresNothing() {
    AsyncCache<String, String> cache = builder().buildAsync();
    assertThatThrownBy(() -> cache.synchronous().getAll(List.of("a", "b"), keys -> {
      Map<String, String> out = new HashMap<>();
      out.put("a", "A");
      out.put("b", null);
      return out;
    })).isInstanceOf(NullPointerException.class);
    assertThat(cache.asMap()).isEmpty();
  }

  /* ---------------- asMap of futures over loading futures ---------------- */

  @Test
  void asMapCompute_overALoadingFuture_seesTheFuture_andItsResultSettles() throws Exception {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    AtomicReference<CompletableFuture<String>> seen = new AtomicReference<>();
    CompletableFuture<String> computed = cache.asMap().compute("k", (k, old) -> {
      seen.set(old);
      return old.thenApply(v -> v + "+1");
    });
    assertThat(seen.get()).isSameAs(loading);
    assertThat(computed).isNotDone();
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightOf("k")).hasValue(0);
    loading.complete("ab");
    assertThat(computed.get(WAIT, TimeUnit.SECONDS)).isEqualTo("ab+1");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("ab+1");
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightOf("k")).hasValue(4);
    assertThat(listener.list()).containsExactly(new Removal<>("k", "ab", RemovalCause.REPLACED));
  }

  @Test
  void asMapComputeIfPresent_removingALoadingFuture_reportsItsValueOnCompletion() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    assertThat(cache.asMap().computeIfPresent("k", (k, old) -> null)).isNull();
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).isEmpty();
    loading.complete("v");
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPLICIT));
    assertThat(cache.getIfPresent("k")).isNull();
  }

  @Test
  void asMapMerge_withAFailingFuture_isRemovedWhenItFails() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> failing = new CompletableFuture<>();
    CompletableFuture<String> merged = cache.asMap().merge("k", failing, (a, b) -> a);
    assertThat(merged).isSameAs(failing);
    failing.completeExceptionally(new IOException());
    assertThat(cache.asMap()).isEmpty();
    CompletableFuture<String> second = new CompletableFuture<>();
    cache.put("k", done("v"));
    cache.asMap().merge("k", second, (a, b) -> b);
    second.complete(null);
    assertThat(cache.asMap()).as("null completes as no value").isEmpty();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.REPLACED));
  }

  @Test
  void asMapReplaceAndPutIfAbsent_ofLoadingFutures_followTheRules() {
    AsyncCache<String, String> cache = builder().maximumSize(1).buildAsync();
    CompletableFuture<String> first = new CompletableFuture<>();
    CompletableFuture<String> second = new CompletableFuture<>();
    assertThat(cache.asMap().putIfAbsent("k", first)).isNull();
    assertThat(cache.asMap().putIfAbsent("k", second)).isSameAs(first);
    assertThat(cache.asMap().replace("k", first, second)).isTrue();
    first.complete("one");
    assertThat(cache.getIfPresent("k")).isSameAs(second);
    second.complete("two");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("two");
    assertThat(listener.list()).containsExactly(new Removal<>("k", "one", RemovalCause.REPLACED));
  }

  @Test
  void asMapComputeIfAbsent_withALoadingFuture_isWatched_andRemovedIfItFails() {
    AsyncCache<String, String> cache = builder().maximumSize(1).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    assertThat(cache.asMap().computeIfAbsent("k", k -> loading)).isSameAs(loading);
    assertThat(cache.asMap().computeIfAbsent("k", k -> done("other"))).isSameAs(loading);
    cache.put("x", done("X"));
    cache.synchronous().cleanUp();
    assertThat(cache.getIfPresent("k")).as("not evicted while loading").isSameAs(loading);
    loading.completeExceptionally(new IOException());
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(listener.list()).isEmpty();
  }

  @Test
  void asMapEntrySetValue_withALoadingFuture_isWatched() {
    AsyncCache<String, String> cache = builder().buildAsync();
    cache.put("k", done("v"));
    CompletableFuture<String> loading = new CompletableFuture<>();
    for (Map.Entry<String, CompletableFuture<String>> e : cache.asMap().entrySet()) {
      e.setValue(loading);
    }
    assertThat(cache.getIfPresent("k")).isSameAs(loading);
    loading.complete(null);
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.REPLACED));
  }

  @Test
  void invalidateAllOfKeys_whileLoading_reportsValuesOnCompletion() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> a = new CompletableFuture<>();
    CompletableFuture<String> b = new CompletableFuture<>();
    cache.put("a", a);
    cache.put("b", b);
    cache.put("c", done("C"));
    cache.synchronous().invalidateAll(List.of("a", "b", "c"));
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).containsExactly(new Removal<>("c", "C", RemovalCause.EXPLICIT));
    b.complete("B");
    a.cancel(false);
    assertThat(listener.list()).containsExactly(new Removal<>("c", "C", RemovalCause.EXPLICIT),
        new Removal<>("b", "B", RemovalCause.EXPLICIT));
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void asMapOfFutures_readsRecordNoStatistics() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    cache.put("k", done("v"));
    cache.asMap().get("k");
    cache.asMap().get("absent");
    cache.asMap().containsKey("k");
    assertThat(cache.synchronous().stats().hitCount()).isZero();
    assertThat(cache.synchronous().stats().missCount()).isZero();
  }

  /* ---------------- The synchronous view ---------------- */

  @Test
  void synchronousGet_runsTheFunctionOnTheCallingThread_andSharesItWithAsyncCallers()
      throws Exception {
    AsyncCache<String, String> cache = Hourglass.newBuilder().executor(threads)
        .scheduler(scheduler).recordStats().<String, String>buildAsync();
    CountDownLatch inside = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicReference<Thread> ranOn = new AtomicReference<>();
    AtomicReference<Thread> caller = new AtomicReference<>();
    Future<String> sync = threads.submit(() -> {
      caller.set(Thread.currentThread());
      return cache.synchronous().get("k", k -> {
        ranOn.set(Thread.currentThread());
        inside.countDown();
        await(release);
        return "v";
      });
    });
    assertThat(inside.await(WAIT, TimeUnit.SECONDS)).isTrue();
    Future<CompletableFuture<String>> joiner = threads.submit(
        () -> cache.get("k", k -> "other"));
    release.countDown();
    assertThat(sync.get(WAIT, TimeUnit.SECONDS)).isEqualTo("v");
    assertThat(joiner.get(WAIT, TimeUnit.SECONDS).get(WAIT, TimeUnit.SECONDS)).isEqualTo("v");
    assertThat(ranOn.get()).isSameAs(caller.get());
    assertThat(cache.synchronous().stats().loadSuccessCount()).isEqualTo(1);
  }

  @Test
  void synchronousGet_rethrowsErrorsAsThrown_andStoresNothing() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    StackOverflowError error = new StackOverflowError("deep");
    assertThatThrownBy(() -> cache.synchronous().get("k", k -> {
      throw error;
    })).isSameAs(error);
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
  }

  @Test
  void synchronousGet_recursiveForTheSameKey_failsFast() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    Future<?> call = threads.submit(() -> cache.synchronous().get("k",
        k -> cache.synchronous().get("k", k2 -> "inner")));
    assertThatThrownBy(() -> call.get(WAIT, TimeUnit.SECONDS))
        .hasCauseInstanceOf(IllegalStateException.class);
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void synchronousGet_ofAFutureThatFails_whileWaiting_loadsNothing_andAnswersNull()
      throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    Future<String> read = threads.submit(() -> cache.synchronous().getIfPresent("k"));
    loading.completeExceptionally(new IOException());
    assertThat(read.get(WAIT, TimeUnit.SECONDS)).isNull();
  }

  @Test
  void synchronousAsMap_computeOverAFutureThatFails_computesFromNothing() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    List<String> olds = new CopyOnWriteArrayList<>();
    Future<String> compute = threads.submit(() -> cache.synchronous().asMap()
        .merge("k", "x", (a, b) -> {
          olds.add(a);
          return a + b;
        }));
    threads.submit(() -> loading.completeExceptionally(new IOException()))
        .get(WAIT, TimeUnit.SECONDS);
    assertThat(compute.get(WAIT, TimeUnit.SECONDS)).isEqualTo("x");
    assertThat(olds).isEmpty();
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("x");
  }

  @Test
  void synchronousAsMap_iterationNeverWaits_andShowsOnlyValues() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("loading", loading);
    cache.put("failed", CompletableFuture.failedFuture(new IOException()));
    cache.put("ready", done("R"));
    Future<List<String>> keys = threads.submit(
        () -> new ArrayList<>(cache.synchronous().asMap().keySet()));
    assertThat(keys.get(WAIT, TimeUnit.SECONDS)).containsExactly("ready");
    assertThat(cache.synchronous().asMap().values()).containsExactly("R");
    loading.complete("L");
    assertThat(cache.synchronous().asMap()).containsOnlyKeys("loading", "ready");
  }

  @Test
  void synchronousAsMap_entrySetValue_andIteratorRemove_writeThrough() {
    AsyncCache<String, String> cache = builder().buildAsync();
    cache.put("a", done("A"));
    cache.put("b", done("B"));
    var it = cache.synchronous().asMap().entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<String, String> e = it.next();
      if (e.getKey().equals("a")) {
        e.setValue("A2");
      } else {
        it.remove();
      }
    }
    assertThat(cache.synchronous().asMap()).containsExactly(Map.entry("a", "A2"));
    assertThat(listener.list()).containsExactlyInAnyOrder(
        new Removal<>("a", "A", RemovalCause.REPLACED),
        new Removal<>("b", "B", RemovalCause.EXPLICIT));
  }

  @Test
  void synchronousPolicy_hottestAndColdest_leaveLoadingFuturesOut_andSetMaximumSparesThem() {
    AsyncCache<String, String> cache = builder().maximumSize(10).buildAsync();
    List<CompletableFuture<String>> loading = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      loading.add(f);
      cache.put("l" + i, f);
      cache.put("r" + i, done("R" + i));
    }
    Policy.Eviction<String, String> eviction =
        cache.synchronous().policy().eviction().orElseThrow();
    assertThat(eviction.coldest(100).keySet()).allMatch(k -> k.startsWith("r"));
    eviction.setMaximum(0);
    cache.synchronous().cleanUp();
    for (int i = 0; i < 5; i++) {
      assertThat(cache.getIfPresent("l" + i)).as("never evicted while loading")
          .isSameAs(loading.get(i));
    }
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(5);
    loading.forEach(f -> f.complete("L"));
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isZero();
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(10);
  }

  /* ---------------- Bounds, expiry, listener ---------------- */

  @Test
  void manyFuturesLoading_overTheBound_thenCompleting_evictDownToIt_reportingEachOnce() {
    AsyncCache<String, String> cache = builder().maximumSize(5).buildAsync();
    List<CompletableFuture<String>> loading = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      loading.add(f);
      cache.put("k" + i, f);
    }
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(50);
    assertThat(listener.list()).isEmpty();
    for (int i = 49; i >= 0; i--) {
      loading.get(i).complete("v" + i);
    }
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(5);
    assertThat(listener.list()).hasSize(45)
        .allSatisfy(r -> assertThat(r.cause()).isEqualTo(RemovalCause.SIZE));
    assertThat(listener.list()).extracting(Removal::key).doesNotHaveDuplicates();
    assertThat(cache.asMap().values()).allMatch(CompletableFuture::isDone);
  }

  @Test
  void expireAfterAccess_loadingFutureNeverExpires_andIdleTimeStartsAtCompletion() {
    AsyncCache<String, String> cache = builder().expireAfterAccess(TTL).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    for (int i = 0; i < 3; i++) {
      ticker.advance(TTL.multipliedBy(2));
      assertThat(cache.getIfPresent("k")).isSameAs(loading);
      scheduler.runAll();
      cache.synchronous().cleanUp();
    }
    loading.complete("v");
    ticker.advance(TTL.minusNanos(1));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v"); // extends the idle time
    ticker.advance(TTL.minusNanos(1));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    ticker.advance(TTL.multipliedBy(2)); // past the idle time, whatever the read tolerance
    assertThat(cache.getIfPresent("k")).isNull();
    scheduler.runAll();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }

  @Test
  void expiryReturningZero_onCompletion_expiresTheValueAtOnce_reportedOnce() {
    AsyncCache<String, String> cache = builder()
        .expireAfter(Expiry.<String, String>creating((k, v) -> Duration.ZERO)).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    assertThat(cache.getIfPresent("k")).isSameAs(loading);
    loading.complete("v");
    assertThat(cache.getIfPresent("k")).isNull();
    cache.synchronous().cleanUp();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }

  /** A value written over a loading future must not inherit the loading future's "never". */
  @Test
  void putOverALoadingFuture_withACreatingExpiry_expires() {
    List<Long> currentDurations = new CopyOnWriteArrayList<>();
    AsyncCache<String, String> cache = builder().expireAfter(new Expiry<String, String>() {
      @Override
      public long expireAfterCreate(String key, String value, long now) {
        return TTL.toNanos();
      }

      @Override
      public long expireAfterUpdate(String key, String value, long now, long current) {
        currentDurations.add(current);
        return current;
      }
    }).buildAsync();
    cache.put("k", new CompletableFuture<>());
    cache.synchronous().put("k", "v");
    ticker.advance(TTL.multipliedBy(100));
    assertThat(cache.getIfPresent("k")).as("the first value's lifetime; was %s",
        currentDurations).isNull();
  }

  @Test
  void expireAfterWrite_putOverALoadingFuture_startsTheLifetimeAtThePut() {
    AsyncCache<String, String> cache = builder().expireAfterWrite(TTL).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    ticker.advance(TTL.multipliedBy(3));
    cache.synchronous().put("k", "v");
    loading.complete("late");
    ticker.advance(TTL.minusNanos(1));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    ticker.advance(Duration.ofNanos(1));
    assertThat(cache.getIfPresent("k")).isNull();
  }

  /** CacheBuilder.executor: "Sets the executor that delivers removal notifications". */
  @Test
  void removalOfALoadingEntry_isDeliveredThroughTheExecutor() throws Exception {
    ThreadLocal<Boolean> inExecutor = ThreadLocal.withInitial(() -> false);
    AtomicInteger tasks = new AtomicInteger();
    Executor marking = task -> {
      tasks.incrementAndGet();
      inExecutor.set(true);
      try {
        task.run();
      } finally {
        inExecutor.set(false);
      }
    };
    List<Boolean> deliveredByExecutor = new CopyOnWriteArrayList<>();
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(marking)
        .<String, String>removalListener((k, v, c) -> deliveredByExecutor.add(inExecutor.get()))
        .buildAsync();
    cache.put("ready", done("R"));
    cache.synchronous().invalidate("ready");
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    cache.synchronous().invalidate("k");
    loading.complete("v");
    assertThat(deliveredByExecutor).hasSize(2);
    assertThat(deliveredByExecutor).as("both notifications through the executor")
        .containsOnly(true);
  }

  @Test
  void listenerThatThrows_onALateNotification_isLogged_andTheCompleterIsUnharmed() {
    RuntimeException boom = new IllegalStateException("listener down");
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run)
        .<String, String>removalListener((k, v, c) -> {
          throw boom;
        })
        .buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    cache.synchronous().invalidate("k");
    try (CapturedLog log = new CapturedLog()) {
      assertThat(loading.complete("v")).isTrue();
      assertThat(log.logged(boom)).isTrue();
    }
    assertThat(loading.join()).isEqualTo("v");
  }

  /* ---------------- Statistics ---------------- */

  @Test
  void stats_loadIsTimedFromItsStartToItsCompletion_andSharingIsAHit() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.get("k", (k, e) -> loading);
    cache.get("k", (k, e) -> done("never"));
    cache.getIfPresent("k");
    cache.getIfPresent("absent");
    ticker.advance(Duration.ofMillis(7));
    loading.complete("v");
    CacheStats stats = cache.synchronous().stats();
    assertThat(stats.missCount()).isEqualTo(2);
    assertThat(stats.hitCount()).isEqualTo(2);
    assertThat(stats.loadSuccessCount()).isEqualTo(1);
    assertThat(stats.totalLoadTimeNanos()).isEqualTo(Duration.ofMillis(7).toNanos());
  }

  @Test
  void stats_nullCompletion_isALoadFailure() {
    AsyncLoadingCache<String, String> cache = builder().recordStats()
        .buildAsync((String k, Executor e) -> done(null));
    assertThat(cache.get("k").join()).isNull();
    assertThat(cache.synchronous().get("k")).isNull();
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(2);
    assertThat(cache.synchronous().stats().loadSuccessCount()).isZero();
  }

  /** User guide, Statistics: "... and asMap().computeIfAbsent count hits and misses". */
  @Test
  void synchronousAsMapComputeIfAbsent_countsHitsAndMisses() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    cache.synchronous().asMap().computeIfAbsent("k", k -> "v");
    cache.synchronous().asMap().computeIfAbsent("k", k -> "w");
    CacheStats stats = cache.synchronous().stats();
    assertThat(stats.missCount()).isEqualTo(1);
    assertThat(stats.hitCount()).isEqualTo(1);
  }

  /* ---------------- Refresh ---------------- */

  @Test
  void refreshAfterWrite_withExpireAfterWrite_reloadRestartsTheLifetime_failureDoesNot() {
    AtomicInteger version = new AtomicInteger();
    AtomicBoolean fail = new AtomicBoolean();
    AsyncLoadingCache<String, String> cache = builder().refreshAfterWrite(TTL)
        .expireAfterWrite(TTL.multipliedBy(3))
        .buildAsync(new AsyncCacheLoader<>() {
          @Override
          public CompletableFuture<String> asyncLoad(String key, Executor executor) {
            return done("v" + version.incrementAndGet());
          }

          @Override
          public CompletableFuture<String> asyncReload(String key, String old, Executor e) {
            return fail.get() ? CompletableFuture.failedFuture(new IOException("down"))
                : done("v" + version.incrementAndGet());
          }
        });
    assertThat(cache.get("k").join()).isEqualTo("v1");
    ticker.advance(TTL.multipliedBy(2));
    assertThat(cache.get("k").join()).as("served while reloading").isEqualTo("v1");
    assertThat(cache.get("k").join()).isEqualTo("v2");
    // Lifetime restarted at the reload: two more intervals are still within it.
    ticker.advance(TTL.multipliedBy(2));
    fail.set(true);
    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("k").join()).isEqualTo("v2");
      assertThat(log.records).hasSize(1);
    }
    assertThat(cache.get("k").join()).as("a failed reload keeps the old value").isEqualTo("v2");
    ticker.advance(TTL);
    assertThat(cache.getIfPresent("k")).as("a failed reload does not extend the lifetime")
        .isNull();
  }

  @Test
  void asyncReload_thatThrowsOrReturnsNull_keepsTheOldValue_andLogs() {
    AtomicInteger mode = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = builder().refreshAfterWrite(TTL).recordStats()
        .buildAsync(new AsyncCacheLoader<>() {
          @Override
          public CompletableFuture<String> asyncLoad(String key, Executor executor) {
            return done("v");
          }

          @Override
          public CompletableFuture<String> asyncReload(String key, String old, Executor e)
              throws Exception {
            if (mode.get() == 0) {
              throw new IOException("cannot start");
            }
            return (mode.get() == 1) ? null : done(null);
          }
        });
    cache.get("k").join();
    try (CapturedLog log = new CapturedLog()) {
      for (int m = 0; m < 3; m++) {
        mode.set(m);
        ticker.advance(TTL);
        assertThat(cache.get("k").join()).isEqualTo("v");
        assertThat(cache.get("k").join()).isEqualTo("v");
      }
      assertThat(log.records).hasSize(3);
    }
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(3);
  }

  @Test
  void refresh_whileAWriteHappens_theWriteWins() {
    CompletableFuture<String> reload = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder().refreshAfterWrite(TTL)
        .buildAsync(new AsyncCacheLoader<>() {
          @Override
          public CompletableFuture<String> asyncLoad(String key, Executor executor) {
            return done("v1");
          }

          @Override
          public CompletableFuture<String> asyncReload(String key, String old, Executor e) {
            return reload;
          }
        });
    cache.get("k").join();
    ticker.advance(TTL);
    cache.get("k");
    CompletableFuture<String> pending = new CompletableFuture<>();
    cache.put("k", pending);
    reload.complete("reloaded");
    assertThat(cache.getIfPresent("k")).as("the write wins over the reload").isSameAs(pending);
    pending.complete("written");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("written");
  }

  /**
   * LoadingCache.refresh: "A reload or load already running for the key ... is joined, not
   * repeated"; refreshAll "Refreshes every given key as refresh does"; user guide: "a future
   * still loading is never refreshed".
   */
  @Test
  void refreshAll_ofAKeyStillLoading_joinsTheLoad() {
    AtomicInteger loads = new AtomicInteger();
    CompletableFuture<String> loading = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder()
        .buildAsync((String k, Executor e) -> (loads.incrementAndGet() == 1) ? loading
            : done("second"));
    CompletableFuture<String> first = cache.get("k");
    CompletableFuture<Map<String, String>> refreshed =
        cache.synchronous().refreshAll(List.of("k"));
    assertThat(loads).as("joined, not loaded twice").hasValue(1);
    assertThat(cache.getIfPresent("k")).isSameAs(first);
    loading.complete("first");
    assertThat(refreshed.join()).containsExactly(Map.entry("k", "first"));
    assertThat(listener.list()).isEmpty();
  }

  @Test
  void refresh_ofAKeyStillLoading_joinsTheLoad() {
    AtomicInteger loads = new AtomicInteger();
    CompletableFuture<String> loading = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder()
        .buildAsync((String k, Executor e) -> (loads.incrementAndGet() == 1) ? loading
            : done("second"));
    cache.get("k");
    CompletableFuture<String> refreshed = cache.synchronous().refresh("k");
    assertThat(loads).hasValue(1);
    loading.complete("first");
    assertThat(refreshed.join()).isEqualTo("first");
  }

  /** User guide, asynchronous statistics: each load counted "when its future completes". */
  @Test
  void refreshAll_ofAnAbsentKey_countsTheLoadWhenItsFutureCompletes() {
    CompletableFuture<String> loading = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder().recordStats()
        .buildAsync((String k, Executor e) -> loading);
    CompletableFuture<Map<String, String>> refreshed =
        cache.synchronous().refreshAll(List.of("k"));
    assertThat(cache.synchronous().stats().loadCount()).as("still loading").isZero();
    loading.completeExceptionally(new IOException("down"));
    assertThat(refreshed).isCompletedExceptionally();
    CacheStats stats = cache.synchronous().stats();
    assertThat(stats.loadSuccessCount()).isZero();
    assertThat(stats.loadFailureCount()).isEqualTo(1);
  }

  @Test
  void refresh_ofAnAbsentKey_countsTheLoadWhenItsFutureCompletes() {
    CompletableFuture<String> loading = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder().recordStats()
        .buildAsync((String k, Executor e) -> loading);
    CompletableFuture<String> refreshed = cache.synchronous().refresh("k");
    assertThat(cache.synchronous().stats().loadCount()).isZero();
    loading.completeExceptionally(new IOException("down"));
    assertThat(refreshed).isCompletedExceptionally();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
    assertThat(cache.synchronous().stats().loadSuccessCount()).isZero();
  }

  /* ---------------- Concurrency ---------------- */

  @Test
  void concurrentMix_onFewKeys_settlesEverything_withinTheBound_reportingEachValueOnce()
      throws Exception {
    ConcurrentLinkedQueue<String> removedValues = new ConcurrentLinkedQueue<>();
    AsyncCache<Integer, String> cache = Hourglass.newBuilder().maximumSize(8)
        .executor(Runnable::run).scheduler(scheduler)
        .<Integer, String>removalListener((k, v, c) -> removedValues.add(v))
        .buildAsync();
    ConcurrentLinkedQueue<CompletableFuture<String>> open = new ConcurrentLinkedQueue<>();
    AtomicLong ids = new AtomicLong();
    int threadCount = 4;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> workers = new ArrayList<>();
    for (int t = 0; t < threadCount; t++) {
      workers.add(threads.submit(() -> {
        await(start);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < 3_000; i++) {
          int key = random.nextInt(16);
          switch (random.nextInt(8)) {
            case 0 -> {
              CompletableFuture<String> f = new CompletableFuture<>();
              open.add(f);
              cache.put(key, f);
            }
            case 1 -> cache.get(key, (k, e) -> {
              CompletableFuture<String> f = new CompletableFuture<>();
              open.add(f);
              return f;
            });
            case 2 -> {
              CompletableFuture<String> f = open.poll();
              if (f != null) {
                if (random.nextInt(4) == 0) {
                  f.completeExceptionally(new IOException());
                } else {
                  f.complete("v" + ids.incrementAndGet());
                }
              }
            }
            case 3 -> cache.synchronous().invalidate(key);
            case 4 -> cache.synchronous().put(key, "v" + ids.incrementAndGet());
            case 5 -> cache.get(key, k -> "v" + ids.incrementAndGet());
            case 6 -> cache.asMap().compute(key, (k, old) -> (old == null)
                ? done("v" + ids.incrementAndGet())
                : old.thenApply(v -> "v" + ids.incrementAndGet()));
            default -> {
              CompletableFuture<String> f = cache.getIfPresent(key);
              if (f != null && f.isDone()) {
                f.getNow(null);
              }
            }
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> worker : workers) {
      worker.get(60, TimeUnit.SECONDS);
    }
    for (CompletableFuture<String> f; (f = open.poll()) != null; ) {
      f.complete("v" + ids.incrementAndGet());
    }
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isLessThanOrEqualTo(8);
    assertThat(cache.asMap().values()).allMatch(CompletableFuture::isDone);
    List<String> removed = new ArrayList<>(removedValues);
    assertThat(removed).as("each value reported at most once").doesNotHaveDuplicates();
    Set<String> held = Set.copyOf(cache.synchronous().asMap().values());
    assertThat(held).hasSize((int) cache.synchronous().estimatedSize());
    assertThat(removed).as("a value still held was never reported").noneMatch(held::contains);
  }

  @Test
  void concurrentGets_ofOneKey_fromALatch_startOneComputation() throws Exception {
    AsyncCache<String, String> cache = Hourglass.newBuilder().executor(threads)
        .scheduler(scheduler).recordStats().<String, String>buildAsync();
    AtomicInteger starts = new AtomicInteger();
    CompletableFuture<String> loading = new CompletableFuture<>();
    int threadCount = 4;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<CompletableFuture<String>>> callers = new ArrayList<>();
    for (int t = 0; t < threadCount; t++) {
      callers.add(threads.submit(() -> {
        await(start);
        return cache.get("k", (k, e) -> {
          starts.incrementAndGet();
          return loading;
        });
      }));
    }
    start.countDown();
    for (Future<CompletableFuture<String>> caller : callers) {
      assertThat(caller.get(WAIT, TimeUnit.SECONDS)).isSameAs(loading);
    }
    assertThat(starts).hasValue(1);
    loading.complete("v");
    CacheStats stats = cache.synchronous().stats();
    assertThat(stats.missCount()).isEqualTo(1);
    assertThat(stats.hitCount()).isEqualTo(threadCount - 1);
  }

  @Test
  void concurrentCompletionAndInvalidation_reportEachValueAtMostOnce() throws Exception {
    for (int round = 0; round < 200; round++) {
      RecordingListener<String, String> heard = new RecordingListener<>();
      AsyncCache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run)
          .scheduler(scheduler).maximumSize(1).<String, String>removalListener(heard)
          .buildAsync();
      CompletableFuture<String> loading = new CompletableFuture<>();
      cache.put("k", loading);
      CountDownLatch go = new CountDownLatch(1);
      Future<?> completer = threads.submit(() -> {
        await(go);
        loading.complete("v");
      });
      Future<?> invalidator = threads.submit(() -> {
        await(go);
        cache.synchronous().invalidate("k");
      });
      go.countDown();
      completer.get(WAIT, TimeUnit.SECONDS);
      invalidator.get(WAIT, TimeUnit.SECONDS);
      assertThat(cache.getIfPresent("k")).isNull();
      assertThat(heard.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPLICIT));
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static void unused(CancellationException e) {}
}
