package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.RecordingListener.Removal;
import dev.hourglass.cache.internal.Invariants;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Asynchronous caches ({@link AsyncCache}, {@link AsyncLoadingCache}) and their synchronous views:
 * single flight, failures that cache nothing, futures that are neither weighed, evicted nor
 * expired until they complete, listeners that see values, statistics timed to completion, and
 * writes that win over a settling future. Fake ticker, manual scheduler, same-thread executor;
 * the few threads used wait on latches, never on time.
 */
final class AsyncCacheTest {
  private static final Duration TTL = Duration.ofMinutes(1);

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
        .concurrencyLevel(1).<String, String>removalListener(listener);
  }

  /* ---------------- Single flight and failures ---------------- */

  @Test
  void get_storesTheFutureAtOnce_andConcurrentCallersShareIt() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    AtomicInteger starts = new AtomicInteger();

    CompletableFuture<String> first = cache.get("k", (k, e) -> {
      starts.incrementAndGet();
      return loading;
    });
    CompletableFuture<String> second = cache.get("k", (k, e) -> {
      starts.incrementAndGet();
      return new CompletableFuture<>();
    });

    assertThat(first).isSameAs(loading).isNotDone();
    assertThat(second).isSameAs(loading);
    assertThat(starts).hasValue(1);
    assertThat(cache.getIfPresent("k")).isSameAs(loading);
    loading.complete("v");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    CacheStats stats = cache.synchronous().stats();
    assertThat(stats.missCount()).isEqualTo(1);
    assertThat(stats.hitCount()).isEqualTo(3);
    assertThat(stats.loadSuccessCount()).isEqualTo(1);
  }

  @Test
  void get_withBlockingFunction_runsOnTheExecutor() throws Exception {
    AsyncCache<String, String> cache = Hourglass.newBuilder().executor(threads)
        .<String, String>buildAsync();
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> future = cache.get("k", k -> {
      await(release);
      return k + "!";
    });
    assertThat(future).isNotDone(); // the caller did not wait for the function
    release.countDown();
    assertThat(future.get(10, TimeUnit.SECONDS)).isEqualTo("k!");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("k!");
  }

  @Test
  void failedFuture_isRemoved_andTheNextGetStartsAgain() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.get("k", (k, e) -> loading);

    loading.completeExceptionally(new IOException("source down"));

    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.synchronous().estimatedSize()).isZero();
    assertThat(listener.list()).as("a failure was never a value").isEmpty();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
    assertThat(cache.get("k", (k, e) -> CompletableFuture.completedFuture("v")).join())
        .isEqualTo("v");
  }

  @Test
  void futureCompletingWithNull_isRemoved() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    loading.complete(null);
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void functionThatThrows_failsTheFuture_andStoresNothing() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<String> future = cache.get("k", (String k, Executor e) -> {
      throw new IllegalStateException("boom");
    });
    assertThat(future).isCompletedExceptionally();
    assertThatThrownBy(future::join).hasCauseInstanceOf(IllegalStateException.class);
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
  }

  @Test
  void functionReturningNull_failsTheFutureWithNpe() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> future = cache.get("k", (k, e) -> null);
    assertThatThrownBy(future::join).hasCauseInstanceOf(NullPointerException.class)
        .hasMessageContaining("null future");
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void executorThatRejects_failsTheFuture() {
    AsyncCache<String, String> cache = Hourglass.newBuilder()
        .executor(task -> {
          throw new RejectedExecutionException("full");
        })
        .<String, String>buildAsync();
    CompletableFuture<String> future = cache.get("k", k -> "v");
    assertThatThrownBy(future::join).hasCauseInstanceOf(RejectedExecutionException.class);
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void recursiveGetOfTheSameKey_failsTheFuture_insteadOfHanging() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> future = cache.get("k",
        (k, e) -> cache.get("k", (k2, e2) -> CompletableFuture.completedFuture("inner")));
    assertThatThrownBy(future::join).hasCauseInstanceOf(IllegalStateException.class);
  }

  @Test
  void getOfAnotherKey_fromTheFunction_works() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> future = cache.get("a",
        (k, e) -> cache.get("b", (k2, e2) -> CompletableFuture.completedFuture("b!"))
            .thenApply(b -> "a+" + b));
    assertThat(future.join()).isEqualTo("a+b!");
    assertThat(cache.synchronous().asMap()).containsOnlyKeys("a", "b");
  }

  @Test
  void nullArguments_nameTheParameter() {
    AsyncLoadingCache<String, String> cache = builder().buildAsync(k -> "v");
    assertThatThrownBy(() -> cache.get(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("key");
    assertThatThrownBy(() -> cache.get("k", (java.util.function.Function<String, String>) null))
        .isInstanceOf(NullPointerException.class).hasMessage("mappingFunction");
    assertThatThrownBy(() -> cache.put("k", null)).isInstanceOf(NullPointerException.class)
        .hasMessage("valueFuture");
    assertThatThrownBy(() -> cache.getAll(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("keys");
    assertThatThrownBy(() -> cache.getAll(java.util.Arrays.asList("a", null)))
        .isInstanceOf(NullPointerException.class).hasMessage("key");
    assertThatThrownBy(() -> Hourglass.newBuilder().buildAsync((AsyncCacheLoader<Object, Object>) null))
        .isInstanceOf(NullPointerException.class).hasMessage("loader");
  }

  @Test
  void refreshAfterWrite_withoutALoader_isRejected() {
    assertThatThrownBy(() -> Hourglass.newBuilder().refreshAfterWrite(TTL).buildAsync())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("needs a loader");
  }

  /* ---------------- Bounds, expiry and listeners see values ---------------- */

  @Test
  void futureStillLoading_isNeverEvicted_andWeighsNothing() throws Exception {
    AsyncCache<String, String> cache = builder().maximumWeight(10)
        .weigher((String k, String v) -> v.length()).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("slow", loading);
    for (int i = 0; i < 50; i++) {
      cache.put("k" + i, CompletableFuture.completedFuture("12345"));
    }
    assertThat(cache.getIfPresent("slow")).isSameAs(loading);
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightOf("slow"))
        .hasValue(0);

    loading.complete("1234567");

    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightedSize().getAsLong())
        .isLessThanOrEqualTo(10);
    Invariants.check(cache.synchronous());
    assertThat(listener.withCause(RemovalCause.SIZE)).isNotEmpty()
        .allSatisfy(r -> assertThat(r.value()).isIn("12345", "1234567"));
  }

  @Test
  void sizeBound_countsValuesOnly() throws Exception {
    AsyncCache<String, String> cache = builder().maximumSize(3).buildAsync();
    CompletableFuture<String>[] loading = newFutures(5);
    for (int i = 0; i < 5; i++) {
      cache.put("k" + i, loading[i]);
    }
    assertThat(cache.synchronous().estimatedSize()).as("all five still loading").isEqualTo(5);
    assertThat(cache.synchronous().policy().eviction().orElseThrow().isWeighted()).isFalse();
    for (int i = 0; i < 5; i++) {
      loading[i].complete("v" + i);
    }
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(3);
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(2);
    Invariants.check(cache.synchronous());
  }

  @Test
  void futureStillLoading_neverExpires_andItsLifetimeStartsAtCompletion() {
    AsyncCache<String, String> cache = builder().expireAfterWrite(TTL).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);

    ticker.advance(TTL.multipliedBy(10));
    scheduler.runAll();
    assertThat(cache.getIfPresent("k")).as("loading for ten lifetimes").isSameAs(loading);

    loading.complete("v");
    ticker.advance(TTL.minusNanos(1));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    ticker.advance(Duration.ofNanos(1));
    assertThat(cache.getIfPresent("k")).isNull();
    scheduler.runAll();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }

  @Test
  void expiry_seesTheValue_andTheFirstValueIsACreate() {
    List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
    Expiry<String, String> expiry = new Expiry<>() {
      @Override
      public long expireAfterCreate(String key, String value, long now) {
        calls.add("create " + value);
        return Duration.ofSeconds(value.length()).toNanos();
      }

      @Override
      public long expireAfterUpdate(String key, String value, long now, long current) {
        calls.add("update " + value);
        return Duration.ofSeconds(100).toNanos();
      }
    };
    AsyncCache<String, String> cache = builder().expireAfter(expiry).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    assertThat(calls).as("never asked about a future").isEmpty();
    assertThat(cache.synchronous().policy().expireVariably().orElseThrow().getExpiresAfter("k"))
        .hasValue(Duration.ofNanos(Long.MAX_VALUE));

    loading.complete("abc");
    assertThat(calls).containsExactly("create abc");
    assertThat(cache.synchronous().policy().expireVariably().orElseThrow().getExpiresAfter("k"))
        .hasValue(Duration.ofSeconds(3));

    cache.synchronous().put("k", "abcd");
    assertThat(calls).containsExactly("create abc", "update abcd");
  }

  @Test
  void setExpiresAfter_onAFutureStillLoading_changesNothing() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    assertThat(cache.synchronous().policy().expireVariably().orElseThrow()
        .setExpiresAfter("k", Duration.ZERO)).isFalse();
    loading.complete("v");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
  }

  @Test
  void entryRemovedWhileLoading_isReportedWithItsValueOnCompletion() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    CompletableFuture<String> failing = new CompletableFuture<>();
    cache.put("k", loading);
    cache.put("f", failing);
    cache.synchronous().invalidate("k");
    cache.synchronous().invalidate("f");
    assertThat(listener.list()).isEmpty();

    loading.complete("v");
    failing.completeExceptionally(new IOException());

    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPLICIT));
    assertThat(cache.getIfPresent("k")).as("not brought back").isNull();
  }

  @Test
  void replacedValue_isReportedAsReplaced_andSettlingIsNot() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    loading.complete("v1");
    cache.put("k", CompletableFuture.completedFuture("v2"));
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v1", RemovalCause.REPLACED));
  }

  @Test
  void writeWhileLoading_wins_overTheLoadsCompletion() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.get("k", (k, e) -> loading);
    cache.synchronous().put("k", "written");
    loading.complete("loaded");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("written");
    assertThat(listener.list()).containsExactly(
        new Removal<>("k", "loaded", RemovalCause.REPLACED));
  }

  @Test
  void weigherThatThrowsOnCompletion_removesTheEntry_andLogs() throws Exception {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> {
          if (v.equals("bad")) {
            throw new IllegalArgumentException("cannot weigh");
          }
          return 1;
        }).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    try (CapturedLog log = new CapturedLog()) {
      loading.complete("bad"); // the weigher's failure has no caller: the entry goes
      assertThat(log.records).singleElement().satisfies(record -> {
        assertThat(record.getMessage()).contains("key k");
        assertThat(record.getThrown()).hasMessage("cannot weigh");
      });
    }
    assertThat(cache.getIfPresent("k")).isNull();
    Invariants.check(cache.synchronous());
    cache.put("k", CompletableFuture.completedFuture("good"));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("good");
  }

  /**
   * A future completes while a compute of its key runs (so its settling cannot wait), and the
   * compute then fails: the compute's owner settles the entry afterwards.
   */
  @Test
  void futureCompletingDuringAComputeThatFails_isSettledAfterIt() throws Exception {
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).maximumWeight(100).weigher((String k, String v) -> v.length())
        .expireAfterWrite(TTL).<String, String>buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    CountDownLatch computing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<?> compute = threads.submit(() -> cache.asMap().compute("k", (k, v) -> {
      computing.countDown();
      await(release);
      throw new IllegalStateException("compute failed");
    }));
    computing.await();
    loading.complete("abcd"); // the settle finds the compute's flight and leaves it the work
    release.countDown();
    assertThatThrownBy(compute::get).hasCauseInstanceOf(IllegalStateException.class);

    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightOf("k")).hasValue(4);
    ticker.advance(TTL);
    assertThat(cache.getIfPresent("k")).as("its lifetime began when it settled").isNull();
  }

  /** A compute that waits for a future still loading, on the sync view, must not deadlock. */
  @Test
  void computeWaitingForALoadingFuture_completesWhenItCompletes() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    Future<String> compute = threads.submit(
        () -> cache.synchronous().asMap().compute("k", (k, v) -> v + "+1"));
    threads.submit(() -> loading.complete("v")).get(10, TimeUnit.SECONDS);
    assertThat(compute.get(10, TimeUnit.SECONDS)).isEqualTo("v+1");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v+1");
  }

  /* ---------------- Loading caches ---------------- */

  @Test
  void asyncLoadingCache_loadsThroughTheLoader() {
    AsyncLoadingCache<String, String> cache = builder().recordStats()
        .buildAsync((String k, Executor e) -> CompletableFuture.completedFuture(k + "!"));
    assertThat(cache.get("a").join()).isEqualTo("a!");
    assertThat(cache.synchronous().get("b")).isEqualTo("b!");
    assertThat(cache.synchronous()).isInstanceOf(LoadingCache.class);
    assertThat(cache.synchronous().stats().loadSuccessCount()).isEqualTo(2);
  }

  @Test
  void cacheLoader_servesAnAsyncCache() {
    AsyncLoadingCache<String, Integer> cache = Hourglass.newBuilder().executor(Runnable::run)
        .buildAsync((String k) -> k.length());
    assertThat(cache.get("abc").join()).isEqualTo(3);
  }

  @Test
  void loaderThatThrows_failsTheFuture_andTheSynchronousGetRethrows() {
    AsyncLoadingCache<String, String> cache = builder().buildAsync((String k) -> {
      throw new IOException("down");
    });
    assertThatThrownBy(() -> cache.get("k").join()).isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(IOException.class);
    assertThatThrownBy(() -> cache.synchronous().get("k"))
        .isInstanceOf(CompletionException.class).hasRootCauseInstanceOf(IOException.class);
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void getAll_withBulkLoader_loadsTheAbsentKeysOnce_andStoresExtras() {
    AtomicInteger calls = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = builder().buildAsync(new AsyncCacheLoader<>() {
      @Override
      public CompletableFuture<String> asyncLoad(String key, Executor executor) {
        throw new AssertionError("the bulk load serves every key");
      }

      @Override
      public CompletableFuture<Map<String, String>> asyncLoadAll(Set<? extends String> keys,
          Executor executor) {
        calls.incrementAndGet();
        assertThat(List.<String>copyOf(keys)).containsExactly("b", "c");
        Map<String, String> loaded = new HashMap<>();
        loaded.put("b", "B");
        loaded.put("extra", "E"); // c is left out: it has no value
        return CompletableFuture.completedFuture(loaded);
      }
    });
    cache.synchronous().put("a", "A");
    Map<String, String> result = cache.getAll(List.of("a", "b", "c", "b")).join();
    assertThat(result).containsExactly(Map.entry("a", "A"), Map.entry("b", "B"));
    assertThat(calls).hasValue(1);
    assertThat(cache.synchronous().asMap()).containsOnlyKeys("a", "b", "extra");
  }

  @Test
  void getAll_withoutBulkLoader_loadsKeyByKey() {
    AsyncLoadingCache<String, String> cache = builder().buildAsync((String k) -> k + k);
    assertThat(cache.synchronous().getAll(List.of("x", "y")))
        .containsExactly(Map.entry("x", "xx"), Map.entry("y", "yy"));
  }

  @Test
  void getAll_bulkFailure_failsEveryKey_andStoresNothing() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<Map<String, String>> result = cache.getAll(List.of("a", "b"),
        (Set<? extends String> keys, Executor e) -> CompletableFuture.failedFuture(new IOException()));
    assertThatThrownBy(result::join).hasRootCauseInstanceOf(IOException.class);
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void getAll_sharesAKeyAlreadyLoading() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.get("a", (k, e) -> loading);
    CompletableFuture<Map<String, String>> result = cache.getAll(List.of("a", "b"),
        keys -> {
          assertThat(List.<String>copyOf(keys)).containsExactly("b");
          return Map.of("b", "B");
        });
    assertThat(result).isNotDone();
    loading.complete("A");
    assertThat(result.join()).containsExactly(Map.entry("a", "A"), Map.entry("b", "B"));
  }

  /* ---------------- Refresh ---------------- */

  @Test
  void refreshAfterWrite_servesTheOldValue_untilTheReloadCompletes() {
    CompletableFuture<String> reload = new CompletableFuture<>();
    AtomicInteger reloads = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = builder().refreshAfterWrite(TTL)
        .buildAsync(new AsyncCacheLoader<>() {
          @Override
          public CompletableFuture<String> asyncLoad(String key, Executor executor) {
            return CompletableFuture.completedFuture("v1");
          }

          @Override
          public CompletableFuture<String> asyncReload(String key, String old, Executor e) {
            reloads.incrementAndGet();
            assertThat(old).isEqualTo("v1");
            return reload;
          }
        });
    assertThat(cache.get("k").join()).isEqualTo("v1");
    ticker.advance(TTL);

    assertThat(cache.get("k").join()).as("no reader waits").isEqualTo("v1");
    assertThat(cache.get("k").join()).isEqualTo("v1");
    assertThat(reloads).as("single flight").hasValue(1);

    reload.complete("v2");
    assertThat(cache.get("k").join()).isEqualTo("v2");
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v1", RemovalCause.REPLACED));
  }

  @Test
  void refreshAfterWrite_neverRefreshesAFutureStillLoading() {
    AtomicInteger loads = new AtomicInteger();
    CompletableFuture<String> loading = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder().refreshAfterWrite(TTL)
        .buildAsync((String k, Executor e) -> {
          loads.incrementAndGet();
          return loading;
        });
    cache.get("k");
    ticker.advance(TTL.multipliedBy(3));
    assertThat(cache.get("k")).isSameAs(loading);
    assertThat(loads).hasValue(1);
  }

  @Test
  void refresh_ofAKeyStillLoading_joinsTheLoad_andOfAnAbsentKeyLoadsIt() {
    CompletableFuture<String> loading = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder()
        .buildAsync((String k, Executor e) -> k.equals("slow") ? loading
            : CompletableFuture.completedFuture(k + "!"));
    cache.get("slow");
    CompletableFuture<String> refreshed = cache.synchronous().refresh("slow");
    assertThat(refreshed).isNotDone();
    loading.complete("done");
    assertThat(refreshed.join()).isEqualTo("done");
    assertThat(cache.synchronous().refresh("absent").join()).isEqualTo("absent!");
  }

  @Test
  void refresh_failure_keepsTheOldValue() {
    AtomicInteger calls = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = builder().recordStats()
        .buildAsync(new AsyncCacheLoader<>() {
          @Override
          public CompletableFuture<String> asyncLoad(String key, Executor executor) {
            return CompletableFuture.completedFuture("v" + calls.incrementAndGet());
          }

          @Override
          public CompletableFuture<String> asyncReload(String key, String old, Executor e) {
            return CompletableFuture.failedFuture(new IOException("down"));
          }
        });
    cache.get("k").join();
    try (CapturedLog log = new CapturedLog()) {
      CompletableFuture<String> refreshed = cache.synchronous().refresh("k");
      assertThatThrownBy(refreshed::join).hasRootCauseInstanceOf(IOException.class);
      assertThat(log.records).singleElement()
          .satisfies(record -> assertThat(record.getMessage()).contains("key k"));
    }
    assertThat(cache.get("k").join()).isEqualTo("v1");
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
  }

  @Test
  void interruptedReload_keepsTheOldValue_andKeepsTheInterrupt() {
    AtomicInteger loads = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = builder().recordStats().refreshAfterWrite(TTL)
        .buildAsync(new CacheLoader<String, String>() {
          @Override
          public String load(String key) {
            return "v" + loads.incrementAndGet();
          }

          @Override
          public String reload(String key, String old) throws InterruptedException {
            throw new InterruptedException("shutting down");
          }
        });
    assertThat(cache.get("k").join()).isEqualTo("v1");
    ticker.advance(TTL);
    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("k").join()).isEqualTo("v1"); // starts the reload, inline
      assertThat(Thread.interrupted()).as("the interrupt is kept on the reloading thread")
          .isTrue();
      assertThat(log.records).hasSize(1);
    }
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v1");
    assertThat(cache.synchronous().stats().loadFailureCount()).isEqualTo(1);
    assertThat(loads).hasValue(1);
  }

  /* ---------------- Views ---------------- */

  @Test
  void synchronousView_readsWaitForLoads_andWritesStoreValues() throws Exception {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    Future<String> read = threads.submit(() -> cache.synchronous().getIfPresent("k"));
    threads.submit(() -> loading.complete("v")).get(10, TimeUnit.SECONDS);
    assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo("v");

    Cache<String, String> sync = cache.synchronous();
    sync.put("a", "A");
    assertThat(cache.getIfPresent("a")).isCompletedWithValue("A");
    assertThat(sync.get("b", k -> "B")).isEqualTo("B");
    assertThat(sync.get("c", k -> null)).isNull();
    assertThatThrownBy(() -> sync.get("d", k -> {
      throw new IllegalArgumentException("bad");
    })).isInstanceOf(IllegalArgumentException.class).hasMessage("bad");
    assertThat(sync.getAllPresent(List.of("a", "b", "c"))).containsOnlyKeys("a", "b");
    sync.invalidateAll();
    assertThat(sync.estimatedSize()).isZero();
  }

  @Test
  void synchronousMapView_skipsFuturesStillLoading_whenIterating() {
    AsyncCache<String, String> cache = builder().buildAsync();
    cache.put("loading", new CompletableFuture<>());
    cache.put("ready", CompletableFuture.completedFuture("R"));
    ConcurrentMap<String, String> map = cache.synchronous().asMap();
    assertThat(map.entrySet()).containsExactly(Map.entry("ready", "R"));
    assertThat(cache.asMap()).containsOnlyKeys("loading", "ready");
  }

  @Test
  void asMapOfFutures_putOfAFailingFuture_isRemovedWhenItFails() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    assertThat(cache.asMap().putIfAbsent("k", loading)).isNull();
    loading.completeExceptionally(new IOException());
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void policyOfTheSynchronousView_showsValues() {
    AsyncCache<String, String> cache = builder().maximumSize(10).buildAsync();
    cache.put("loading", new CompletableFuture<>());
    cache.put("ready", CompletableFuture.completedFuture("R"));
    Policy<String, String> policy = cache.synchronous().policy();
    assertThat(policy.getIfPresentQuietly("ready")).isEqualTo("R");
    assertThat(policy.getIfPresentQuietly("loading")).isNull();
    assertThat(policy.eviction().orElseThrow().hottest(10)).containsOnlyKeys("ready");
    assertThat(policy.eviction().orElseThrow().weightOf("ready")).isEmpty();
  }

  /* ---------------- Concurrency ---------------- */

  @Test
  void manyThreads_oneKeyEach_loadOnce_andSettleEveryFuture() throws Exception {
    AtomicInteger loads = new AtomicInteger();
    AsyncLoadingCache<Integer, Integer> cache = Hourglass.newBuilder().maximumSize(50)
        .executor(threads).recordStats()
        .buildAsync((Integer k, Executor e) -> {
          loads.incrementAndGet();
          return CompletableFuture.supplyAsync(() -> k * 2, e);
        });
    int threadCount = 4;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> workers = new java.util.ArrayList<>();
    for (int t = 0; t < threadCount; t++) {
      workers.add(threads.submit(() -> {
        await(start);
        for (int i = 0; i < 2_000; i++) {
          int key = i % 100;
          assertThat(cache.get(key).join()).isEqualTo(key * 2);
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> worker : workers) {
      worker.get(60, TimeUnit.SECONDS);
    }
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isLessThanOrEqualTo(50);
    for (CompletableFuture<Integer> future : cache.asMap().values()) {
      assertThat(future).isDone();
    }
    Invariants.check(cache.synchronous());
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static CompletableFuture<String>[] newFutures(int n) {
    CompletableFuture<String>[] futures = new CompletableFuture[n];
    for (int i = 0; i < n; i++) {
      futures[i] = new CompletableFuture<>();
    }
    return futures;
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
}
