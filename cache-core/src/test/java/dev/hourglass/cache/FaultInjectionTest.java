package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.internal.Invariants;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every fault a cache's collaborators can throw at it, over every cache shape: loaders that throw
 * (checked, unchecked, {@link Error}), are interrupted or return null; listeners, weighers and
 * expiries that throw; executors and schedulers that reject; a clock that jumps years forward or
 * runs backwards. Each has a documented outcome, and afterwards the cache is consistent
 * ({@link Invariants}), holds what it held, and the faulted key works again.
 */
final class FaultInjectionTest {

  static Stream<CacheContext> contexts() {
    return CacheContext.all();
  }

  /** The cache's contents before the fault, to show nothing was lost. */
  private static Cache<Integer, Integer> filled(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    for (int i = 0; i < 100; i++) {
      cache.put(i, i);
    }
    return cache;
  }

  private static void assertIntactAndUsable(Cache<Integer, Integer> cache, int faultedKey)
      throws InterruptedException {
    Invariants.check(cache);
    for (int i = 0; i < 100; i++) {
      assertThat(cache.getIfPresent(i)).as("key %d kept", i).isEqualTo(i);
    }
    assertThat(cache.getIfPresent(faultedKey)).isNull();
    assertThat(cache.get(faultedKey, k -> 7)).isEqualTo(7); // the key is not stuck in flight
    assertThat(cache.getIfPresent(faultedKey)).isEqualTo(7);
    Invariants.check(cache);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void loaderThrowsChecked_wrappedInCompletionException(CacheContext context) throws Exception {
    Cache<Integer, Integer> cache = filled(context);
    LoadingCache<Integer, Integer> loading = context.build(k -> {
      throw new IOException("disk on fire");
    });
    loading.putAll(cache.asMap());
    assertThatThrownBy(() -> loading.get(500))
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(IOException.class)
        .hasRootCauseMessage("disk on fire");
    if (context.stats) {
      assertThat(loading.stats().loadFailureCount()).isEqualTo(1);
    }
    assertIntactAndUsable(loading, 500);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void loaderThrowsUncheckedOrError_propagatedAsIs(CacheContext context) throws Exception {
    Cache<Integer, Integer> cache = filled(context);
    IllegalStateException unchecked = new IllegalStateException("bad row");
    assertThatThrownBy(() -> cache.get(500, k -> {
      throw unchecked;
    })).isSameAs(unchecked);
    StackOverflowError error = new StackOverflowError("deep");
    assertThatThrownBy(() -> cache.asMap().computeIfAbsent(501, k -> {
      throw error;
    })).isSameAs(error);
    assertThatThrownBy(() -> cache.asMap().compute(502, (k, v) -> {
      throw new OutOfMemoryError("simulated");
    })).isInstanceOf(OutOfMemoryError.class);
    assertThatThrownBy(() -> cache.asMap().merge(3, 1, (a, b) -> {
      throw unchecked;
    })).isSameAs(unchecked);
    assertThat(cache.getIfPresent(3)).isEqualTo(3); // a failed merge leaves the old value
    assertThat(cache.getIfPresent(501)).isNull();
    assertThat(cache.getIfPresent(502)).isNull();
    assertIntactAndUsable(cache, 500);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void loaderReturnsNull_storesNothing(CacheContext context) throws Exception {
    Cache<Integer, Integer> cache = filled(context);
    assertThat(cache.get(500, k -> null)).isNull();
    assertThat(cache.asMap().computeIfAbsent(500, k -> null)).isNull();
    assertThat(cache.asMap().compute(5, (k, v) -> null)).isNull(); // removes key 5
    cache.put(5, 5);
    if (context.stats) {
      assertThat(cache.stats().loadFailureCount()).isEqualTo(2);
    }
    assertIntactAndUsable(cache, 500);
  }

  /** The loading thread is interrupted: it fails, keeps its interrupt, and waiters fail with it. */
  @ParameterizedTest
  @MethodSource("contexts")
  void loaderInterrupted_failsTheLoadAndItsWaiters(CacheContext context) throws Exception {
    Cache<Integer, Integer> cache = filled(context);
    CountDownLatch loading = new CountDownLatch(1);
    CompletableFuture<Throwable> loader = new CompletableFuture<>();
    Thread thread = new Thread(() -> {
      try {
        cache.get(500, k -> {
          loading.countDown();
          try {
            new CountDownLatch(1).await(); // blocks until interrupted: no clock involved
            return 1;
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
          }
        });
        loader.complete(null);
      } catch (Throwable t) {
        loader.complete(Thread.currentThread().isInterrupted() ? t : new AssertionError("lost interrupt"));
      }
    });
    thread.start();
    loading.await();
    CompletableFuture<Integer> waiter = CompletableFuture.supplyAsync(() -> cache.get(500, k -> 2));
    thread.interrupt();
    assertThat(loader.get(10, TimeUnit.SECONDS)).isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(InterruptedException.class);
    // The waiter either shared the failure or, arriving after it, loaded its own value.
    try {
      assertThat(waiter.get(10, TimeUnit.SECONDS)).isEqualTo(2);
      cache.invalidate(500);
    } catch (java.util.concurrent.ExecutionException e) {
      assertThat(e).hasRootCauseInstanceOf(InterruptedException.class); // the shared failure
    }
    assertIntactAndUsable(cache, 500);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void weigherThrows_writeFailsAndNothingChanges(CacheContext context) throws Exception {
    AtomicInteger calls = new AtomicInteger();
    CacheBuilder<Integer, Integer> builder = Hourglass.newBuilder().ticker(context.ticker)
        .scheduler(context.scheduler).executor(Runnable::run).maximumWeight(1_000)
        .weigher((Integer k, Integer v) -> {
          if (v < 0) {
            calls.incrementAndGet();
            throw new IllegalArgumentException("cannot weigh " + v);
          }
          return 1;
        });
    if (context.expires()) {
      builder.expireAfterWrite(CacheContext.TTL);
    }
    Cache<Integer, Integer> cache = builder.build();
    for (int i = 0; i < 100; i++) {
      cache.put(i, i);
    }
    assertThatThrownBy(() -> cache.put(500, -1)).hasMessage("cannot weigh -1");
    assertThatThrownBy(() -> cache.put(7, -1)).hasMessage("cannot weigh -1");
    assertThatThrownBy(() -> cache.asMap().compute(8, (k, v) -> -1)).hasMessage("cannot weigh -1");
    assertThatThrownBy(() -> cache.get(500, k -> -1)).hasMessage("cannot weigh -1");
    assertThat(calls.get()).isEqualTo(4);
    assertThat(cache.getIfPresent(7)).isEqualTo(7);
    assertThat(cache.getIfPresent(8)).isEqualTo(8);
    assertIntactAndUsable(cache, 500);
  }

  @Test
  void listenerThrows_loggedAndEveryOtherNotificationStillDelivered() throws Exception {
    AtomicInteger delivered = new AtomicInteger();
    Cache<Integer, Integer> cache = Hourglass.newBuilder().executor(Runnable::run).maximumSize(10)
        .removalListener((Integer k, Integer v, RemovalCause c) -> {
          delivered.incrementAndGet();
          if (k % 2 == 0) {
            throw new IllegalStateException("listener bug");
          }
        }).build();
    try (CapturedLog log = new CapturedLog()) {
      for (int i = 0; i < 20; i++) {
        cache.put(i, i); // 10 evictions, half of whose notifications throw (each is logged)
      }
      assertThat(log.records).as("each failure logged").hasSize(5)
          .allMatch(r -> "listener bug".equals(r.getThrown().getMessage()));
    }
    assertThat(delivered.get()).isEqualTo(10);
    assertThat(cache.estimatedSize()).isEqualTo(10);
    Invariants.check(cache);
  }

  @Test
  void executorRejects_notificationsRunOnTheCallingThread() throws Exception {
    Executor rejecting = task -> {
      throw new RejectedExecutionException("shut down");
    };
    List<Integer> removed = new java.util.concurrent.CopyOnWriteArrayList<>();
    Cache<Integer, Integer> cache = Hourglass.newBuilder().executor(rejecting).maximumSize(10)
        .removalListener((Integer k, Integer v, RemovalCause c) -> removed.add(k)).build();
    for (int i = 0; i < 20; i++) {
      cache.put(i, i);
    }
    cache.invalidate(19);
    assertThat(removed).hasSize(11).contains(19);
    Invariants.check(cache);
  }

  @Test
  void schedulerRejects_expiryStillHappensOnAccess() throws Exception {
    ScheduledExecutorService shutDown = new ScheduledThreadPoolExecutor(1);
    shutDown.shutdown();
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Integer, Integer> listener = new RecordingListener<>();
    Cache<Integer, Integer> cache;
    try (CapturedLog log = new CapturedLog()) {
      // Building an expiring cache schedules the cleaner: rejected, logged, and the cache works.
      cache = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
          .scheduler(Scheduler.forScheduledExecutorService(shutDown))
          .expireAfterWrite(Duration.ofSeconds(1)).removalListener(listener).build();
      cache.put(1, 1);
      assertThat(log.records).as("the scheduler's failure logged").hasSize(1);
    }
    cache.put(2, 2);
    ticker.advance(Duration.ofSeconds(2));
    assertThat(cache.getIfPresent(1)).isNull();
    cache.cleanUp();
    assertThat(listener.withCause(RemovalCause.EXPIRED)).hasSize(2);
    Invariants.check(cache);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void expiryOrTickerFaults_leaveTheCacheConsistent(CacheContext context) throws Exception {
    Cache<Integer, Integer> cache = filled(context);
    context.ticker.advanceNanos(-Duration.ofDays(365).toNanos()); // backwards a year
    cache.put(200, 200);
    assertThat(cache.getIfPresent(5)).isEqualTo(5);
    Invariants.check(cache);
    context.ticker.advanceNanos(Duration.ofDays(365 * 2 + 1).toNanos()); // then a year ahead
    cache.cleanUp();
    if (context.expires()) {
      assertThat(cache.asMap()).isEmpty();
    } else {
      assertThat(cache.asMap()).hasSize(101);
    }
    context.ticker.advanceNanos(Long.MAX_VALUE / 2); // decades: deadlines wrap around
    cache.put(300, 300);
    assertThat(cache.getIfPresent(300)).isEqualTo(300);
    Invariants.check(cache);
  }

  @Test
  void expiryThrows_writeFailsAndNothingChanges() throws Exception {
    FakeTicker ticker = new FakeTicker();
    Cache<Integer, Integer> cache = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .expireAfter(new Expiry<Integer, Integer>() {
          @Override
          public long expireAfterCreate(Integer key, Integer value, long currentTimeNanos) {
            if (value < 0) {
              throw new IllegalStateException("expiry bug");
            }
            return TimeUnit.MINUTES.toNanos(1);
          }
        }).build();
    cache.putAll(Map.of(1, 1, 2, 2));
    assertThatThrownBy(() -> cache.put(3, -1)).hasMessage("expiry bug");
    assertThatThrownBy(() -> cache.get(4, k -> -1)).hasMessage("expiry bug");
    assertThatThrownBy(() -> cache.asMap().merge(5, -1, Integer::sum)).hasMessage("expiry bug");
    assertThat(cache.asMap()).isEqualTo(Map.of(1, 1, 2, 2));
    assertThat(cache.get(4, k -> 4)).isEqualTo(4);
    Invariants.check(cache);
  }
}
