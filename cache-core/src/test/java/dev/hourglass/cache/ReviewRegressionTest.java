package dev.hourglass.cache;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.hourglass.cache.RecordingListener.Removal;
import dev.hourglass.cache.internal.Invariants;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Defects found by an outside-in review of the fixes for issue 8 (see {@link
 * DefectRegressionTest}), each named after what broke, each failing before its fix. Deterministic
 * (fake ticker, calling-thread executor) except one bounded race.
 */
final class ReviewRegressionTest {

  private static CacheBuilder<Object, Object> deterministic(FakeTicker ticker) {
    return Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler());
  }

  /** Runs {@code task} on another daemon thread and waits for it, 10 s at most. */
  private static <T> T onOtherThread(java.util.concurrent.Callable<T> task) throws Exception {
    CompletableFuture<T> result = new CompletableFuture<>();
    Thread thread = new Thread(() -> {
      try {
        result.complete(task.call());
      } catch (Throwable t) {
        result.completeExceptionally(t);
      }
    });
    thread.setDaemon(true);
    thread.start();
    return result.get(10, SECONDS);
  }

  /** A key whose hashCode throws on its n-th call (counted per instance). */
  static final class FlakyKey {
    final String name;
    final int throwOn;
    final AtomicInteger calls = new AtomicInteger();

    FlakyKey(String name, int throwOn) {
      this.name = name;
      this.throwOn = throwOn;
    }

    @Override
    public int hashCode() {
      if (calls.incrementAndGet() == throwOn) {
        throw new IllegalStateException("hashCode call " + throwOn);
      }
      return name.hashCode();
    }

    @Override
    public boolean equals(Object o) {
      return (o instanceof FlakyKey) && ((FlakyKey) o).name.equals(name);
    }
  }

  /** getAll stranded a flight when a key's hashCode threw right after its registration. */
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 6})
  void getAll_keyHashCodeThrowingAfterRegistration_strandsNoFlight(int throwOn) throws Exception {
    Cache<Object, Object> cache = deterministic(new FakeTicker()).build();
    catchThrowable(() -> cache.getAll(List.of(new FlakyKey("a", throwOn)),
        keys -> Map.of(new FlakyKey("a", -1), "v")));
    FlakyKey same = new FlakyKey("a", -1);
    assertThat(onOtherThread(() -> {
      cache.invalidate(same);
      return cache.get(same, k -> "other");
    })).isEqualTo("other");
    assertThatCode(() -> cache.get(same, k -> "mine")).doesNotThrowAnyException();
    Invariants.check(cache);
  }

  /** A ticker that wrapped past Long.MAX_VALUE stopped the timer wheel. */
  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2})
  void tickerWrappingPastLongMax_wheelKeepsExpiring(int policy) {
    FakeTicker ticker = new FakeTicker(Long.MAX_VALUE - Duration.ofSeconds(30).toNanos());
    ManualScheduler scheduler = new ManualScheduler();
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().ticker(ticker)
        .executor(Runnable::run).scheduler(scheduler).removalListener(listener);
    if (policy == 0) {
      builder.expireAfterAccess(Duration.ofMinutes(1));
    } else if (policy == 1) {
      builder.expireAfter(Expiry.creating((k, v) -> Duration.ofMinutes(1)));
    }
    Cache<Object, Object> cache = builder.build();
    if (policy == 2) {
      cache.put("a", "a", Duration.ofMinutes(1));
    } else {
      cache.put("a", "a");
    }
    cache.cleanUp();
    ticker.advance(Duration.ofMinutes(2)); // the reading wraps
    assertThat(cache.getIfPresent("a")).isNull();
    scheduler.runAll();
    assertThat(listener.list()).as("removed by the scheduled clean-up")
        .containsExactly(new Removal<>("a", "a", RemovalCause.EXPIRED));
    assertThat(cache.asMap().size()).isZero();
  }

  /**
   * (race, bounded 2 s) A deadline that came back to an earlier value let a reader pair it with
   * the short-lived value written in between: a writer whose ticker is stuck writes long, short,
   * long, and the long writes carry the same deadline.
   */
  @Test
  void readers_neverSeeShortValuePastItsDeadline_whenDeadlinesRepeat() throws Exception {
    ThreadLocal<Boolean> isWriter = ThreadLocal.withInitial(() -> false);
    Ticker ticker = () -> isWriter.get() ? 0L : 100L; // the writer's reading lags the reader's
    Cache<Object, Object> cache = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).build();
    String shortLived = "short"; // deadline 50, past at the reader's reading of 100
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong bad = new AtomicLong();
    AtomicLong reads = new AtomicLong();
    Thread writer = new Thread(() -> {
      isWriter.set(true);
      while (!stop.get()) {
        cache.put("k", "long", Duration.ofHours(1));
        cache.put("k", shortLived, Duration.ofNanos(50));
      }
    });
    Thread reader = new Thread(() -> {
      while (!stop.get()) {
        if (cache.getIfPresent("k") == shortLived) {
          bad.incrementAndGet();
        }
        reads.incrementAndGet();
      }
    });
    writer.setDaemon(true);
    reader.setDaemon(true);
    writer.start();
    reader.start();
    long end = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (System.nanoTime() - end < 0) {
      Thread.onSpinWait(); // the race runs for a bounded time; nothing is timed or asserted on it
    }
    stop.set(true);
    writer.join(10_000);
    reader.join(10_000);
    assertThat(reads.get()).as("reads made").isPositive();
    assertThat(bad.get()).as("short-lived value returned past its deadline").isZero();
  }

  /** getAll stored the bulk function's extra entries though invalidateAll ran meanwhile. */
  @Test
  void getAll_invalidateAllDuringBulkFunction_storesNoExtraEntry() {
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    Cache<Object, Object> cache = deterministic(new FakeTicker()).removalListener(listener).build();
    Map<Object, Object> got = cache.getAll(List.of("a"), keys -> {
      cache.invalidateAll();
      return Map.of("a", "A", "x", "X");
    });
    assertThat(got).containsEntry("a", "A");
    assertThat(cache.getIfPresent("a")).isNull();
    assertThat(cache.getIfPresent("x")).isNull();
    assertThat(listener.list()).containsExactlyInAnyOrder(
        new Removal<>("a", "A", RemovalCause.EXPLICIT), new Removal<>("x", "X", RemovalCause.EXPLICIT));
  }

  /** Eviction dropped a live entry while an expired one in the wheel's current bucket counted. */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void sizeBound_expiredEntryInCurrentBucket_goesBeforeALiveOne(boolean expiry) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    CacheBuilder<Object, Object> builder = deterministic(ticker).concurrencyLevel(1).maximumSize(2)
        .removalListener(listener);
    if (expiry) {
      builder.expireAfter((Object k, Object v, long now) -> k.equals("b") ? 1_000_000L : Long.MAX_VALUE);
    }
    Cache<Object, Object> cache = builder.build();
    cache.put("a", "a");
    if (expiry) {
      cache.put("b", "b");
    } else {
      cache.put("b", "b", Duration.ofMillis(1));
    }
    ticker.advance(Duration.ofMillis(2));
    cache.put("c", "c");
    assertThat(listener.list()).containsExactly(new Removal<>("b", "b", RemovalCause.EXPIRED));
    assertThat(cache.asMap()).containsOnlyKeys("a", "c");
  }

  /** A few keys each alone in its stripe: the keys in distinct stripes of a 64-stripe cache. */
  private static List<String> keysInDistinctStripes(int n) {
    List<String> keys = new ArrayList<>();
    Set<Integer> used = new HashSet<>();
    for (int i = 0; keys.size() < n; i++) {
      String key = "k" + i;
      int h = key.hashCode();
      int hash = (h ^ (h >>> 16)) & 0x7fff_ffff;
      if (used.add(((hash * 0x9E3779B9) >>> 16) & 63)) { // the stripe choice of StripedCache
        keys.add(key);
      }
    }
    return keys;
  }

  /**
   * Small caches evicted out of LRU order across stripes once more than two had stale stamps.
   * With its keys in distinct stripes, a small cache must still compare them all: it evicts the
   * one entry nobody read or the newcomer (which ties with it and may lose), never an entry read
   * twice, with one stripe or many.
   */
  @ParameterizedTest
  @ValueSource(ints = {2, 4, 5, 8, 16})
  void smallCache_neverEvictsAnEntryReadTwice_acrossStripes(int size) {
    List<String> keys = keysInDistinctStripes(size + 1);
    for (int stripes : new int[] {1, 64}) {
      List<Removal<Object, Object>> removals = replaySmallCache(stripes, size, keys);
      assertThat(removals).as("%d stripes", stripes).hasSize(1);
      assertThat(removals.get(0).cause()).isEqualTo(RemovalCause.SIZE);
      assertThat(removals.get(0).key()).as("%d stripes", stripes)
          .isIn(keys.get(size - 1), keys.get(size));
    }
  }

  private static List<Removal<Object, Object>> replaySmallCache(int stripes, int size,
      List<String> keys) {
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    Cache<Object, Object> cache = deterministic(new FakeTicker()).concurrencyLevel(stripes)
        .maximumSize(size).removalListener(listener).build();
    for (int i = 0; i < size; i++) {
      cache.put(keys.get(i), "v");
    }
    for (int i = 0; i < size - 1; i++) {
      cache.getIfPresent(keys.get(i)); // the last one written is the only one not read
      cache.getIfPresent(keys.get(i));
    }
    cache.put(keys.get(size), "v");
    return listener.list();
  }

  /**
   * A listener on the calling thread heard of the computed key before its flight landed, through
   * a write nested in the compute function (invalidateAll, or a put that evicts).
   */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void nestedWriteInsideCompute_listenerMayUseTheKey(boolean evictingPut) {
    AtomicReference<Cache<Object, Object>> self = new AtomicReference<>();
    List<Throwable> failures = new CopyOnWriteArrayList<>();
    List<Object> seen = new CopyOnWriteArrayList<>();
    CacheBuilder<Object, Object> builder = deterministic(new FakeTicker())
        .removalListener((Object k, Object v, RemovalCause c) -> {
          if (k.equals("K")) {
            try {
              seen.add(self.get().get("K", x -> "fromListener"));
            } catch (Throwable t) {
              failures.add(t);
            }
          }
        });
    if (evictingPut) {
      builder.maximumSize(1);
    }
    Cache<Object, Object> cache = builder.build();
    self.set(cache);
    cache.put("K", "old");
    Object result = cache.asMap().compute("K", (k, old) -> {
      if (evictingPut) {
        self.get().put("J", "j"); // evicts K's old value (SIZE)
      } else {
        self.get().invalidateAll(); // removes K's old value (EXPLICIT)
      }
      return "new";
    });
    assertThat(result).isEqualTo("new");
    assertThat(failures).extracting(Throwable::toString).as("failures inside the listener").isEmpty();
    assertThat(seen).as("the listener ran after the compute landed").isNotEmpty();
  }

  /** loadAll unsupported: a load() asking for another key of the batch met a false recursion. */
  @Test
  void loadAllUnsupported_loadAskingForAnotherRequestedKey_works() {
    AtomicReference<LoadingCache<String, String>> self = new AtomicReference<>();
    CacheLoader<String, String> loader = new CacheLoader<>() {
      @Override
      public String load(String key) {
        return key.equals("a") ? "A+" + self.get().get("b") : key.toUpperCase();
      }

      @Override
      public Map<String, String> loadAll(Set<? extends String> keys) {
        throw new UnsupportedOperationException();
      }
    };
    LoadingCache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).recordStats().<String, String>build(loader);
    self.set(cache);
    assertThat(cache.getAll(List.of("a", "b")))
        .containsExactly(Map.entry("a", "A+B"), Map.entry("b", "B"));
    assertThat(cache.stats().missCount()).as("each key missed once").isEqualTo(2);
    assertThat(cache.stats().hitCount()).as("b, found by the getAll after a's load loaded it")
        .isEqualTo(1);
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> void sneakyThrow(Throwable t) throws E {
    throw (E) t;
  }

  /** An executor that threw a checked exception (sneakily) broke the write and lost the notice. */
  @Test
  void executorThrowingCheckedException_notificationsRunHereAndWritesComplete() {
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    Cache<Object, Object> cache = Hourglass.newBuilder()
        .executor(task -> sneakyThrow(new IOException("down")))
        .scheduler(Scheduler.disabledScheduler()).concurrencyLevel(64).removalListener(listener)
        .build();
    try (CapturedLog log = new CapturedLog()) {
      cache.put("a", "1");
      assertThatCode(() -> cache.put("a", "2")).doesNotThrowAnyException();
      assertThat(listener.list()).containsExactly(new Removal<>("a", "1", RemovalCause.REPLACED));
      for (String key : keysInDistinctStripes(10)) {
        cache.put(key, "v");
      }
      assertThatCode(cache::invalidateAll).doesNotThrowAnyException();
      assertThat(cache.estimatedSize()).isZero();
      assertThat(log.records).as("each failure logged").isNotEmpty();
    }
  }

  /** A ticker going back less than the wheel's rebuild distance delayed the scheduled expiry. */
  @Test
  void expireAfterWrite_tickerBackTenSeconds_scheduledCleanUpStillPrompt() {
    FakeTicker ticker = new FakeTicker();
    ManualScheduler scheduler = new ManualScheduler();
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    Cache<Object, Object> cache = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .scheduler(scheduler).concurrencyLevel(1).expireAfterWrite(Duration.ofSeconds(1))
        .removalListener(listener).build();
    ticker.set(100_000_000_000L);
    cache.put("a", "a");
    ticker.set(95_000_000_000L);
    cache.put("b", "b"); // out of deadline order: into the timer wheel
    ticker.set(100_000_000_000L);
    cache.put("c", "c"); // the wheel's time moves to 100 s
    ticker.set(90_000_000_000L);
    cache.put("d", "d"); // deadline 91 s, behind the wheel's time
    ticker.set(93_000_000_000L);
    scheduler.runAll();
    assertThat(listener.list()).contains(new Removal<>("d", "d", RemovalCause.EXPIRED));
  }

  /** Duration.ZERO did not expire at once when the ticker read exactly Long.MIN_VALUE. */
  @Test
  void zeroTtl_atLongMinValue_expiresAtOnce() {
    Cache<Object, Object> cache = deterministic(new FakeTicker(Long.MIN_VALUE)).build();
    cache.put("k", "v", Duration.ZERO);
    assertThat(cache.getIfPresent("k")).isNull();
    Cache<Object, Object> fixed = deterministic(new FakeTicker(Long.MIN_VALUE))
        .expireAfterWrite(Duration.ZERO).build();
    fixed.put("k", "v");
    assertThat(fixed.getIfPresent("k")).isNull();
  }

  /** Weights summing past Long.MAX_VALUE wrapped the total, and the stats snapshot threw. */
  @Test
  void weightsSummingPastLongMax_boundHoldsAndStatsSaturate() {
    Cache<String, Long> cache = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).maximumWeight(Long.MAX_VALUE)
        .weigher((String k, Long v) -> v).build();
    cache.put("a", Long.MAX_VALUE);
    cache.put("b", Long.MAX_VALUE);
    assertThat(cache.estimatedSize()).isEqualTo(1);
    Cache<String, Long> small = Hourglass.newBuilder().executor(Runnable::run).recordStats()
        .scheduler(Scheduler.disabledScheduler()).maximumWeight(10)
        .weigher((String k, Long v) -> v).build();
    small.put("a", Long.MAX_VALUE); // each heavier than the bound: evicted at once
    small.put("b", Long.MAX_VALUE);
    assertThatCode(small::stats).doesNotThrowAnyException();
    assertThat(small.stats().evictionWeight()).isEqualTo(Long.MAX_VALUE);
    assertThat(small.stats().evictionCount()).isEqualTo(2);
  }

  /** A bulk getAll whose ticker threw at the load's start counted no load failure. */
  @Test
  void getAll_tickerThrowingAtLoadStart_countsLoadFailure() {
    AtomicInteger reads = new AtomicInteger();
    Ticker ticker = () -> {
      if (reads.incrementAndGet() == 1) {
        throw new IllegalStateException("ticker failed");
      }
      return 0;
    };
    Cache<Object, Object> cache = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).recordStats().build();
    assertThat(catchThrowable(() -> cache.getAll(List.of("a"), keys -> Map.of("a", "A"))))
        .hasMessage("ticker failed");
    assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
    assertThat(cache.stats().loadSuccessCount()).isZero();
    assertThat(cache.get("a", k -> "A")).isEqualTo("A");
  }

  /** A saturated duration set twice was shown saturated, not as given. */
  @Test
  void builder_saturatedDurationSetTwice_messageShowsTheGivenDuration() {
    Duration huge = Duration.ofDays(365L * 300);
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().expireAfterAccess(huge);
    assertThat(catchThrowable(() -> builder.expireAfterAccess(Duration.ofMinutes(1))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("expireAfterAccess was already set to " + huge);
    assertThat(builder.toString()).contains("expireAfterAccess=" + huge);
  }

  /* ---------------- Found by a second review ---------------- */

  /** A string key of the given stripe of an {@code n}-stripe cache (StripedCache's choice). */
  private static String keyInStripe(int stripe, int n, String prefix) {
    for (int i = 0; ; i++) {
      String key = prefix + i;
      int h = key.hashCode();
      int hash = (h ^ (h >>> 16)) & 0x7fff_ffff;
      if ((((hash * 0x9E3779B9) >>> 16) & (n - 1)) == stripe) {
        return key;
      }
    }
  }

  /**
   * A read's expireAfterRead extension of an old value landed on a newer value written with the
   * same deadline, which then outlived its own (or, written with put(k, v, ttl), was extended by
   * a read). The latch only widens the window between the expiry and the reader's CAS.
   */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void readExtendingAnOldValue_neverExtendsTheNewValueWithTheSameDeadline(boolean ownTtl)
      throws Exception {
    FakeTicker ticker = new FakeTicker();
    java.util.concurrent.CountDownLatch inRead = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch written = new java.util.concurrent.CountDownLatch(1);
    AtomicBoolean armed = new AtomicBoolean(true);
    Expiry<Object, Object> expiry = new Expiry<>() {
      @Override
      public long expireAfterCreate(Object k, Object v, long now) {
        return 100;
      }

      @Override
      public long expireAfterUpdate(Object k, Object v, long now, long current) {
        return 100;
      }

      @Override
      public long expireAfterRead(Object k, Object v, long now, long current) {
        if (v.equals("v1") && armed.getAndSet(false)) {
          inRead.countDown();
          try {
            written.await(10, SECONDS);
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return 1_000_000; // a grace period for reading v1
        }
        return current;
      }
    };
    Cache<Object, Object> cache = deterministic(ticker).expireAfter(expiry).build();
    cache.put("k", "v1"); // deadline 100
    CompletableFuture<Object> reader = CompletableFuture.supplyAsync(() -> cache.getIfPresent("k"));
    assertThat(inRead.await(10, SECONDS)).isTrue();
    if (ownTtl) {
      cache.put("k", "v2", Duration.ofNanos(100)); // the same deadline, and reads must not move it
    } else {
      cache.put("k", "v2"); // deadline 100 again
    }
    written.countDown();
    assertThat(reader.get(10, SECONDS)).isEqualTo("v1");
    ticker.advanceNanos(500);
    assertThat(cache.getIfPresent("k")).as("v2 past its own deadline").isNull();
  }

  /**
   * With more than 256 stripes, eviction did not compare a sparse cache whole. The first
   * overflow fills main to its share of the bound (three of four), oldest first: "old", k1, k2.
   * k3, small's oldest, then ties main's victim and leaves. The newcomer's second use makes it
   * more popular than main's victim when the next key overflows the bound, and that victim must
   * be the oldest entry of the whole cache, far from the others in the last stripe.
   */
  @ParameterizedTest
  @ValueSource(ints = {64, 512, 4096})
  void manyStripes_smallBound_evictsTheGlobalOldest(int stripes) {
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    Cache<Object, Object> cache = deterministic(new FakeTicker()).concurrencyLevel(stripes)
        .maximumSize(4).removalListener(listener).build();
    String oldest = keyInStripe(stripes - 1, stripes, "old");
    cache.put(oldest, "v");
    for (int i = 1; i <= 3; i++) {
      cache.put(keyInStripe(i, stripes, "k"), "v");
    }
    String newcomer = keyInStripe(5, stripes, "new");
    cache.put(newcomer, "v");
    assertThat(listener.list()).containsExactly(
        new Removal<>(keyInStripe(3, stripes, "k"), "v", RemovalCause.SIZE));
    cache.put(newcomer, "v");
    cache.put(keyInStripe(6, stripes, "next"), "v");
    assertThat(listener.list()).containsExactly(
        new Removal<>(keyInStripe(3, stripes, "k"), "v", RemovalCause.SIZE),
        new Removal<>(oldest, "v", RemovalCause.SIZE));
    assertThat(cache.getIfPresent(newcomer)).isEqualTo("v");
  }

  /** An extra entry that failed to store left the extras half-stored and counted a success. */
  @Test
  void getAll_extraEntryFailingToStore_storesNoExtraAndCountsAFailure() {
    Cache<Object, Object> cache = deterministic(new FakeTicker()).recordStats().maximumWeight(100)
        .weigher((Object k, Object v) -> {
          if (v.equals("BAD")) {
            throw new IllegalArgumentException("bad weight");
          }
          return 1;
        }).build();
    Map<Object, Object> fromFunction = new java.util.LinkedHashMap<>();
    fromFunction.put("a", "A");
    fromFunction.put("x1", "X1");
    fromFunction.put("x2", "BAD");
    fromFunction.put("x3", "X3");
    assertThat(catchThrowable(() -> cache.getAll(List.of("a"), keys -> fromFunction)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("bad weight");
    assertThat(cache.getIfPresent("a")).as("the requested entry is stored").isEqualTo("A");
    assertThat(cache.getIfPresent("x1")).as("no extra entry is stored").isNull();
    assertThat(cache.getIfPresent("x3")).isNull();
    assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
    assertThat(cache.stats().loadSuccessCount()).isZero();
  }

  /** A bulk function that asks the cache for one of its own keys fails fast and strands nothing. */
  @Test
  void getAll_bulkFunctionAskingForItsOwnKey_failsFastAndLeavesNoFlight() throws Exception {
    AtomicReference<Cache<Object, Object>> self = new AtomicReference<>();
    Cache<Object, Object> cache = deterministic(new FakeTicker()).build();
    self.set(cache);
    assertThat(catchThrowable(() -> cache.getAll(List.of("a", "b"),
        keys -> Map.of("a", self.get().get("b", k -> "inner")))))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("Recursive update");
    Invariants.check(cache);
    assertThat(onOtherThread(() -> cache.get("b", k -> "B"))).isEqualTo("B");
    assertThat(cache.getAll(List.of("a", "b"), keys -> Map.of("a", "A")))
        .containsExactly(Map.entry("a", "A"), Map.entry("b", "B"));
  }
}
