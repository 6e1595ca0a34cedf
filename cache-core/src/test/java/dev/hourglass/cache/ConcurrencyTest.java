package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Many threads started from one latch run a bounded mixed workload; then the invariants are checked
 * at quiescence. The workloads are bounded in operations, never in time.
 */
@Tag("concurrency")
final class ConcurrencyTest {
  private static final int THREADS = 8;
  private final ExecutorService pool = Executors.newFixedThreadPool(THREADS);

  @AfterEach
  void shutdown() {
    pool.shutdownNow();
  }

  interface Worker {
    void run(int thread) throws Exception;
  }

  private void runConcurrently(Worker worker) throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      int thread = t;
      futures.add(pool.submit(() -> {
        start.await();
        worker.run(thread);
        return null;
      }));
    }
    start.countDown();
    for (Future<?> future : futures) {
      future.get(120, TimeUnit.SECONDS);
    }
  }

  /** A value with an identity of its own, so each stored value is notified at most once. */
  record Value(long id) {}

  @ParameterizedTest
  @ValueSource(strings = {"size", "weight", "size+write", "size+access", "variable", "unbounded"})
  void mixedWorkload_boundHolds_everyRemovalNotifiedExactlyOnce_nothingLost(String shape)
      throws Exception {
    ConcurrentLinkedQueue<Value> notified = new ConcurrentLinkedQueue<>();
    Map<RemovalCause, LongAdder> causes = new ConcurrentHashMap<>();
    FakeTicker ticker = new FakeTicker();
    CacheBuilder<Object, Object> raw = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).concurrencyLevel(16).recordStats();
    @SuppressWarnings("unchecked")
    CacheBuilder<Integer, Value> builder = (CacheBuilder<Integer, Value>) (CacheBuilder<?, ?>) raw;
    builder.removalListener((Integer k, Value v, RemovalCause cause) -> {
      notified.add(v);
      causes.computeIfAbsent(cause, c -> new LongAdder()).increment();
    });
    long maximum = 500;
    switch (shape) {
      case "size" -> builder.maximumSize(maximum);
      case "weight" -> builder.maximumWeight(maximum * 3).weigher((Integer k, Value v) -> 1 + (k % 5));
      case "size+write" -> builder.maximumSize(maximum).expireAfterWrite(Duration.ofSeconds(5));
      case "size+access" -> builder.maximumSize(maximum).expireAfterAccess(Duration.ofSeconds(5));
      case "variable" -> builder.maximumSize(maximum)
          .expireAfter((Integer k, Value v, long now) -> Duration.ofSeconds(1 + (k % 10)).toNanos());
      default -> { }
    }
    Cache<Integer, Value> cache = builder.build();
    AtomicLong ids = new AtomicLong();
    Set<Value> created = ConcurrentHashMap.newKeySet();

    runConcurrently(thread -> {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int i = 0; i < 20_000; i++) {
        int key = random.nextInt(2_000);
        int op = random.nextInt(100);
        if (op < 40) {
          cache.getIfPresent(key);
        } else if (op < 60) {
          Value value = new Value(ids.incrementAndGet());
          created.add(value);
          cache.put(key, value);
        } else if (op < 70) {
          cache.get(key, k -> {
            Value value = new Value(ids.incrementAndGet());
            created.add(value);
            return value;
          });
        } else if (op < 77) {
          cache.invalidate(key);
        } else if (op < 84) {
          cache.asMap().compute(key, (k, old) -> {
            if ((old != null) && random.nextBoolean()) {
              return null;
            }
            Value value = new Value(ids.incrementAndGet());
            created.add(value);
            return value;
          });
        } else if (op < 90) {
          Value value = new Value(ids.incrementAndGet());
          created.add(value);
          cache.put(key, value, Duration.ofSeconds(1 + random.nextInt(3)));
        } else if (op < 95) {
          Value value = new Value(ids.incrementAndGet());
          if (cache.asMap().putIfAbsent(key, value) == null) {
            created.add(value);
          }
        } else if (op < 98) {
          if (thread == 0) {
            ticker.advance(Duration.ofMillis(50));
          }
          cache.getIfPresent(key);
        } else {
          for (Map.Entry<Integer, Value> e : cache.asMap().entrySet()) {
            assertThat(e.getValue()).isNotNull();
          }
        }
      }
    });
    cache.cleanUp();

    // The size bound holds once writes have completed.
    if (!shape.equals("unbounded")) {
      long bound = shape.equals("weight") ? maximum * 3 : maximum;
      long weight = 0;
      for (Map.Entry<Integer, Value> e : cache.asMap().entrySet()) {
        weight += shape.equals("weight") ? 1 + (e.getKey() % 5) : 1;
      }
      assertThat(weight).isLessThanOrEqualTo(bound);
    }
    // Each removal notified exactly once; every value created is either present or notified.
    List<Value> notifiedList = new ArrayList<>(notified);
    Set<Value> notifiedSet = new HashSet<>(notifiedList);
    assertThat(notifiedSet).as("no removal notified twice").hasSameSizeAs(notifiedList);
    Set<Value> present = new HashSet<>(cache.asMap().values());
    assertThat(present).doesNotContainAnyElementsOf(notifiedSet);
    // Entries past their deadline but inside the timer wheel's current bucket are invisible yet
    // still in memory; an hour later every timed entry has expired and been reclaimed.
    ticker.advance(Duration.ofHours(1));
    cache.cleanUp();
    notifiedList = new ArrayList<>(notified);
    notifiedSet = new HashSet<>(notifiedList);
    assertThat(notifiedSet).as("no removal notified twice").hasSameSizeAs(notifiedList);
    present = new HashSet<>(cache.asMap().values());
    Set<Value> accounted = new HashSet<>(present);
    accounted.addAll(notifiedSet);
    assertThat(accounted).as("nothing lost").isEqualTo(created);
    assertThat(cache.estimatedSize()).isEqualTo(present.size());
    long evicted = causes.getOrDefault(RemovalCause.SIZE, new LongAdder()).sum()
        + causes.getOrDefault(RemovalCause.EXPIRED, new LongAdder()).sum();
    assertThat(cache.stats().evictionCount()).isEqualTo(evicted);
  }

  /**
   * A writer alternates an already-expired value (TTL zero) with a live one; readers must never
   * see the expired one, not even paired with the deadline of the write that follows it.
   */
  @Test
  void expiredValue_neverReturned_whileRewritten() throws Exception {
    FakeTicker ticker = new FakeTicker(1_000);
    Cache<Integer, String> cache = Hourglass.newBuilder().ticker(ticker)
        .scheduler(Scheduler.disabledScheduler()).executor(Runnable::run)
        .expireAfterWrite(Duration.ofMinutes(1)).<Integer, String>build();
    AtomicInteger staleSeen = new AtomicInteger();
    runConcurrently(thread -> {
      if (thread == 0) {
        for (int i = 0; i < 200_000; i++) {
          cache.put(1, "stale", Duration.ZERO);
          cache.put(1, "fresh");
        }
      } else {
        for (int i = 0; i < 400_000; i++) {
          if ("stale".equals(cache.getIfPresent(1))) {
            staleSeen.incrementAndGet();
          }
        }
      }
    });
    assertThat(staleSeen).hasValue(0);
  }

  @Test
  void skewedKeys_cacheStillFillsToItsMaximum() throws Exception {
    Cache<Integer, Integer> cache = Hourglass.newBuilder().concurrencyLevel(64).maximumSize(1_000)
        .executor(Runnable::run).build();
    runConcurrently(thread -> {
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int i = 0; i < 20_000; i++) {
        // Zipf-like skew: most writes go to a few hundred keys.
        int key = (int) (Math.pow(random.nextDouble(), 4) * 50_000);
        cache.put(key, key);
      }
    });
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(1_000);
  }

  @Test
  void getWithFunction_loadsOncePerKey() throws Exception {
    Cache<Integer, Integer> cache = Hourglass.newBuilder().executor(Runnable::run).build();
    Map<Integer, AtomicInteger> loads = new ConcurrentHashMap<>();
    runConcurrently(thread -> {
      for (int i = 0; i < 2_000; i++) {
        int key = (thread % 2 == 0) ? i : 1_999 - i;
        int value = cache.get(key, k -> {
          loads.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet();
          return k * 2;
        });
        assertThat(value).isEqualTo(key * 2);
      }
    });
    assertThat(loads).hasSize(2_000);
    assertThat(loads.values()).allMatch(count -> count.get() == 1);
  }

  @Test
  void merge_noLostUpdate() throws Exception {
    Cache<Integer, Long> cache = Hourglass.newBuilder().maximumSize(1_000).executor(Runnable::run).build();
    runConcurrently(thread -> {
      for (int i = 0; i < 10_000; i++) {
        cache.asMap().merge(i % 16, 1L, Long::sum);
      }
    });
    assertThat(cache.asMap().values().stream().mapToLong(Long::longValue).sum())
        .isEqualTo(THREADS * 10_000L);
  }

  @Test
  void compute_noLostUpdate_evenWithSlowFunctions() throws Exception {
    Cache<Integer, Integer> cache = Hourglass.newBuilder().concurrencyLevel(2).executor(Runnable::run).build();
    runConcurrently(thread -> {
      for (int i = 0; i < 2_000; i++) {
        cache.asMap().compute(i % 4, (k, v) -> {
          if ((k == 0) && ((v == null) || (v % 100 == 0))) {
            Thread.yield(); // widen the window in which other writers must wait
          }
          return (v == null) ? 1 : v + 1;
        });
        cache.asMap().computeIfPresent(i % 4, (k, v) -> v + 1);
      }
    });
    assertThat(cache.asMap().values().stream().mapToInt(Integer::intValue).sum())
        .isEqualTo(THREADS * 2_000 * 2);
  }

  @Test
  void replaceAndRemoveByValue_areAtomic() throws Exception {
    Cache<Integer, Integer> cache = Hourglass.newBuilder().executor(Runnable::run).build();
    cache.put(1, 0);
    AtomicInteger successes = new AtomicInteger();
    runConcurrently(thread -> {
      for (int i = 0; i < 5_000; i++) {
        for (;;) {
          Integer current = cache.getIfPresent(1);
          if (cache.asMap().replace(1, current, current + 1)) {
            successes.incrementAndGet();
            break;
          }
        }
      }
    });
    assertThat(cache.getIfPresent(1)).isEqualTo(THREADS * 5_000);
    assertThat(successes).hasValue(THREADS * 5_000);
  }
}
