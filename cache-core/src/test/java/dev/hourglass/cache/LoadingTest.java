package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Single-flight loading, failures, recursion and isolation between keys. */
final class LoadingTest {
  private static final long WAIT_SECONDS = 30; // a hang guard, never a speed assertion
  private final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void shutdown() {
    pool.shutdownNow();
  }

  private static CacheBuilder<Object, Object> builder() {
    return Hourglass.newBuilder().executor(Runnable::run).scheduler(Scheduler.disabledScheduler());
  }

  @Test
  void get_concurrentCallersShareOneLoad() throws Exception {
    Cache<String, String> cache = builder().recordStats().build();
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    List<Future<String>> results = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      results.add(pool.submit(() -> cache.get("k", key -> {
        loads.incrementAndGet();
        await(release);
        return "v";
      })));
    }
    waitUntil(() -> loads.get() == 1);
    release.countDown();
    for (Future<String> result : results) {
      assertThat(result.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("v");
    }
    assertThat(loads).hasValue(1);
    assertThat(cache.stats().loadSuccessCount()).isEqualTo(1);
    assertThat(cache.stats().requestCount()).isEqualTo(8);
  }

  @Test
  void get_concurrentCallersShareTheException() throws Exception {
    Cache<String, String> cache = builder().build();
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger loads = new AtomicInteger();
    IllegalStateException failure = new IllegalStateException("load failed");
    java.util.Queue<Thread> callers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    List<Future<String>> results = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      results.add(pool.submit(() -> {
        callers.add(Thread.currentThread());
        return cache.get("k", key -> {
          loads.incrementAndGet();
          await(release);
          throw failure;
        });
      }));
    }
    // Every caller is parked: one in the loader, three waiting on its in-flight marker (checked
    // by stack, so a thread merely parked on the stripe lock does not count).
    waitUntil(() -> (callers.size() == 4) && (loads.get() == 1) && (callers.stream()
        .filter(t -> java.util.Arrays.stream(t.getStackTrace()).anyMatch(
            frame -> frame.getClassName().endsWith("internal.Flight")
                && frame.getMethodName().equals("await")))
        .count() == 3));
    release.countDown();
    for (Future<String> result : results) {
      assertThatThrownBy(() -> result.get(WAIT_SECONDS, TimeUnit.SECONDS))
          .isInstanceOf(java.util.concurrent.ExecutionException.class).hasCause(failure);
    }
    assertThat(loads).as("the loader ran once and its exception was shared").hasValue(1);
    assertThat(cache.getIfPresent("k")).isNull();
  }

  @Test
  void get_recursiveLoadOfSameKey_failsFast() {
    Cache<String, String> cache = builder().build();
    assertThatThrownBy(() -> cache.get("k", key -> cache.get("k", k2 -> "inner")))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("Recursive");
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.get("k", key -> "ok")).isEqualTo("ok");
  }

  @Test
  void get_recursiveWriteOfSameKey_failsFast() {
    Cache<String, String> cache = builder().build();
    assertThatThrownBy(() -> cache.get("k", key -> { cache.put("k", "x"); return "v"; }))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> cache.asMap().compute("k", (key, v) -> cache.asMap().merge("k", "x", String::concat)))
        .isInstanceOf(IllegalStateException.class);
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void get_loadOfOtherKeyInsideLoader_works() {
    Cache<String, String> cache = builder().concurrencyLevel(1).build();
    assertThat(cache.get("outer", key -> cache.get("inner", k -> "i") + "o")).isEqualTo("io");
    assertThat(cache.asMap()).containsOnlyKeys("outer", "inner");
  }

  @Test
  void slowLoader_neverDelaysOtherKeysInTheSameStripe() throws Exception {
    Cache<String, String> cache = builder().concurrencyLevel(1).maximumSize(100).build();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<String> slow = pool.submit(() -> cache.get("slow", key -> {
      started.countDown();
      await(release);
      return "loaded";
    }));
    assertThat(started.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();

    // Same stripe (there is only one): every operation on other keys completes while "slow" loads.
    CompletableFuture<Void> others = CompletableFuture.runAsync(() -> {
      cache.put("b", "1");
      assertThat(cache.get("c", k -> "2")).isEqualTo("2");
      assertThat(cache.asMap().merge("b", "+", String::concat)).isEqualTo("1+");
      assertThat(cache.asMap().compute("d", (k, v) -> "3")).isEqualTo("3");
      cache.invalidate("c");
      assertThat(cache.getIfPresent("slow")).isNull(); // readers never wait for a load
      assertThat(cache.asMap().size()).isEqualTo(2);
      cache.cleanUp();
    }, pool);
    others.get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(slow.isDone()).isFalse();

    // A writer of the same key waits for the load, then wins.
    Future<?> put = pool.submit(() -> cache.put("slow", "put"));
    release.countDown();
    assertThat(slow.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("loaded");
    put.get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(cache.getIfPresent("slow")).isEqualTo("put");
  }

  @Test
  void expiryThrowingWhileInstallingALoad_leavesTheKeyUsable() throws Exception {
    Cache<String, String> cache = builder().expireAfter((String k, String v, long now) -> {
      if (v.equals("bad")) {
        throw new IllegalArgumentException("expiry failed");
      }
      return Long.MAX_VALUE;
    }).build();
    assertThatThrownBy(() -> cache.get("k", key -> "bad")).hasMessage("expiry failed");
    assertThatThrownBy(() -> cache.asMap().compute("k", (key, v) -> "bad")).hasMessage("expiry failed");
    // No in-flight marker was left behind: writers of the key do not wait forever.
    pool.submit(() -> cache.put("k", "good")).get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(cache.getIfPresent("k")).isEqualTo("good");
  }

  @Test
  void loadingCache_checkedException_wrapped() {
    IOException failure = new IOException("disk");
    LoadingCache<String, String> cache = builder().recordStats().build(key -> { throw failure; });
    assertThatThrownBy(() -> cache.get("k"))
        .isInstanceOf(CompletionException.class).hasCause(failure);
    assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void loadingCache_uncheckedAndError_propagateUnchanged() {
    StackOverflowError error = new StackOverflowError("deep");
    LoadingCache<String, String> cache = builder().build(key -> {
      if (key.equals("error")) {
        throw error;
      }
      throw new IllegalArgumentException(key);
    });
    assertThatThrownBy(() -> cache.get("error")).isSameAs(error);
    assertThatThrownBy(() -> cache.get("x")).isInstanceOf(IllegalArgumentException.class).hasMessage("x");
    assertThat(cache.asMap()).isEmpty();
  }

  @Test
  void loadingCache_interruptedLoader_keepsInterruptStatus() {
    LoadingCache<String, String> cache = builder().build(key -> {
      throw new InterruptedException("stop");
    });
    try {
      assertThatThrownBy(() -> cache.get("k"))
          .isInstanceOf(CompletionException.class).hasCauseInstanceOf(InterruptedException.class);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void loadingCache_nullResult_storesNothingAndCountsFailure() {
    LoadingCache<String, String> cache = builder().recordStats().build(key -> null);
    assertThat(cache.get("k")).isNull();
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
  }

  @Test
  void loadingCache_bulkLoaderUsedWhenOverridden() {
    AtomicInteger bulkCalls = new AtomicInteger();
    LoadingCache<Integer, String> cache = builder().build(new CacheLoader<Integer, String>() {
      @Override
      public String load(Integer key) {
        throw new AssertionError("single load not expected");
      }

      @Override
      public Map<Integer, String> loadAll(Set<? extends Integer> keys) {
        bulkCalls.incrementAndGet();
        Map<Integer, String> result = new java.util.HashMap<>();
        keys.forEach(k -> result.put(k, "v" + k));
        return result;
      }
    });
    assertThat(cache.getAll(List.of(1, 2, 3))).containsOnlyKeys(1, 2, 3);
    assertThat(cache.getAll(List.of(1, 4))).containsExactly(Map.entry(1, "v1"), Map.entry(4, "v4"));
    assertThat(bulkCalls).hasValue(2);
  }

  @Test
  void loadingCache_withoutBulkLoader_loadsOneByOne() {
    AtomicInteger loads = new AtomicInteger();
    LoadingCache<Integer, Integer> cache = builder().build(key -> {
      loads.incrementAndGet();
      return (key == 2) ? null : key;
    });
    assertThat(cache.getAll(List.of(1, 2, 3))).containsExactly(Map.entry(1, 1), Map.entry(3, 3));
    assertThat(loads).hasValue(3);
  }

  @Test
  void getAll_waitsForKeysBeingLoadedElsewhere() throws Exception {
    Cache<String, String> cache = builder().build();
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<String> single = pool.submit(() -> cache.get("shared", key -> {
      started.countDown();
      await(release);
      return "from-single";
    }));
    assertThat(started.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
    Future<Map<String, String>> bulk = pool.submit(() -> cache.getAll(List.of("shared", "own"), keys -> {
      assertThat(List.<String>copyOf(keys)).containsExactly("own");
      return Map.of("own", "from-bulk");
    }));
    waitUntil(() -> cache.getIfPresent("own") != null);
    release.countDown();
    assertThat(bulk.get(WAIT_SECONDS, TimeUnit.SECONDS))
        .containsExactly(Map.entry("shared", "from-single"), Map.entry("own", "from-bulk"));
    assertThat(single.get(WAIT_SECONDS, TimeUnit.SECONDS)).isEqualTo("from-single");
  }

  @Test
  void stats_loadTimeMeasuredWithTheTicker() {
    FakeTicker ticker = new FakeTicker();
    LoadingCache<String, String> cache = builder().ticker(ticker).recordStats().build(key -> {
      ticker.advance(Duration.ofMillis(25));
      return "v";
    });
    cache.get("a");
    cache.get("b");
    assertThat(cache.stats().totalLoadTimeNanos()).isEqualTo(Duration.ofMillis(50).toNanos());
    assertThat(cache.stats().averageLoadPenaltyNanos()).isEqualTo(25_000_000.0);
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  static void waitUntil(java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("condition not reached");
      }
      Thread.onSpinWait();
      Thread.yield();
    }
  }
}
