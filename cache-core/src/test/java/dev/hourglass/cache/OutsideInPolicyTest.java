package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.RecordingListener.Removal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Outside-in attacks on {@link Cache#policy()}, through the public API only: callbacks that call
 * back in, callbacks that throw, odd tickers, odd weights, per-entry lifetimes, and a bounded
 * concurrent run checked by invariants. Fake ticker, manual scheduler, same-thread executor.
 */
final class OutsideInPolicyTest {
  private static final Duration TTL = Duration.ofMinutes(10);
  private static final Duration TOLERANCE = Duration.ofMillis(1);

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final RecordingListener<String, String> listener = new RecordingListener<>();

  private CacheBuilder<String, String> builder(int stripes) {
    return Hourglass.newBuilder().ticker(ticker).scheduler(scheduler).executor(Runnable::run)
        .<String, String>removalListener(listener).concurrencyLevel(stripes);
  }

  private CacheBuilder<String, String> builder() {
    return builder(1);
  }

  private static <K, V> Policy.Eviction<K, V> eviction(Cache<K, V> cache) {
    return cache.policy().eviction().orElseThrow();
  }

  private static <K, V> Policy.VarExpiration<K, V> var(Cache<K, V> cache) {
    return cache.policy().expireVariably().orElseThrow();
  }

  private Map<String, Long> notificationsPerKey() {
    Map<String, Long> counts = new HashMap<>();
    for (Removal<String, String> r : listener.list()) {
      counts.merge(r.key(), 1L, Long::sum);
    }
    return counts;
  }

  /* ---------------- getIfPresentQuietly ---------------- */

  @Test
  void getIfPresentQuietly_onExpiredEntry_removesNothing() {
    Cache<String, String> cache = builder().expireAfterWrite(TTL).build();
    cache.put("a", "1");
    cache.put("b", "2");
    ticker.advance(TTL);
    assertThat(cache.policy().getIfPresentQuietly("a")).isNull();
    assertThat(listener.list()).as("only setMaximum and setExpiresAfter may remove entries")
        .isEmpty();
    assertThat(cache.estimatedSize()).isEqualTo(2);
  }

  @Test
  void perEntryLooks_onExpiredEntries_removeNothing() {
    Cache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).expireAfterWrite(TTL).build();
    cache.put("a", "123");
    cache.put("b", "45");
    ticker.advance(TTL);
    Policy<String, String> policy = cache.policy();
    assertThat(policy.expireAfterWrite().orElseThrow().ageOf("a")).isEmpty();
    assertThat(var(cache).getExpiresAfter("a")).isEmpty();
    assertThat(eviction(cache).weightOf("a")).isEmpty();
    assertThat(eviction(cache).hottest(10)).isEmpty();
    assertThat(eviction(cache).coldest(10)).isEmpty();
    assertThat(eviction(cache).weightedSize()).as("expired ones not yet removed included")
        .hasValue(5);
    assertThat(listener.list()).isEmpty();
    assertThat(cache.estimatedSize()).isEqualTo(2);
    cache.cleanUp();
    assertThat(eviction(cache).weightedSize()).hasValue(0);
    assertThat(listener.withCause(RemovalCause.EXPIRED)).hasSize(2);
  }

  @Test
  void getIfPresentQuietly_neverAsksTheExpiry_evenOneThatThrows() {
    AtomicInteger reads = new AtomicInteger();
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1)
        .expireAfter(new Expiry<String, String>() {
          @Override
          public long expireAfterCreate(String key, String value, long now) {
            return TTL.toNanos();
          }

          @Override
          public long expireAfterRead(String key, String value, long now, long remaining) {
            reads.incrementAndGet();
            throw new IllegalStateException("expiry read failure");
          }
        }).build();
    cache.put("a", "1");
    ticker.advance(Duration.ofMinutes(4));
    assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("1");
    assertThat(reads).hasValue(0);
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(6));
    assertThatThrownBy(() -> cache.getIfPresent("a")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expiry read failure");
    assertThat(reads).hasValue(1);
    assertThat(var(cache).getExpiresAfter("a")).as("the failed read moved nothing")
        .hasValue(Duration.ofMinutes(6));
    assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("1");
  }

  @Test
  void getIfPresentQuietly_inACombinedCache_extendsNeitherDuration() {
    Cache<String, String> cache = builder().expireAfterWrite(TTL)
        .expireAfterAccess(Duration.ofMinutes(5)).build();
    cache.put("a", "1");
    ticker.advance(Duration.ofMinutes(4));
    for (int i = 0; i < 5; i++) {
      assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("1");
    }
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(1));
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.getIfPresent("a")).as("idle 5 minutes: quiet reads were no use").isNull();
  }

  /* ---------------- Nothing in the policy counts ---------------- */

  @Test
  void policyCalls_recordNoStats_andNoUse() {
    Cache<String, String> cache = builder().maximumSize(100).expireAfterWrite(TTL)
        .recordStats().build();
    cache.put("a", "1");
    cache.put("b", "2");
    Policy<String, String> policy = cache.policy();
    for (int i = 0; i < 5; i++) {
      policy.getIfPresentQuietly("a");
      policy.getIfPresentQuietly("absent");
      policy.expireAfterWrite().orElseThrow().ageOf("a");
      var(cache).getExpiresAfter("a");
      var(cache).getExpiresAfter("absent");
      eviction(cache).weightOf("a");
      eviction(cache).hottest(10);
      eviction(cache).coldest(10);
      assertThat(var(cache).setExpiresAfter("a", Duration.ofHours(1))).isTrue();
      assertThat(var(cache).setExpiresAfter("absent", Duration.ofHours(1))).isFalse();
    }
    CacheStats stats = cache.stats();
    assertThat(stats.hitCount()).isZero();
    assertThat(stats.missCount()).isZero();
    assertThat(stats.loadSuccessCount()).isZero();
    assertThat(stats.loadFailureCount()).isZero();
    // "a" is older, so colder on a tie: none of the calls above may have made it hotter.
    assertThat(eviction(cache).coldest(2).keySet()).containsExactly("a", "b");
    assertThat(listener.list()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void setExpiresAfter_keepsTheEntrysPlaceInTheRanking(boolean timed) {
    CacheBuilder<String, String> b = builder().maximumSize(100);
    if (timed) {
      b.expireAfterAccess(TTL);
    }
    Cache<String, String> cache = b.build();
    for (String k : List.of("a", "b", "c", "d")) {
      cache.put(k, k);
    }
    cache.getIfPresent("c");
    List<String> before = new ArrayList<>(eviction(cache).hottest(10).keySet());
    assertThat(before).first().isEqualTo("c");
    for (String k : List.of("a", "b", "a", "d", "a")) {
      assertThat(var(cache).setExpiresAfter(k, Duration.ofHours(1))).isTrue();
    }
    assertThat(new ArrayList<>(eviction(cache).hottest(10).keySet())).isEqualTo(before);
    List<String> cold = new ArrayList<>(eviction(cache).coldest(10).keySet());
    Collections.reverse(cold);
    assertThat(cold).isEqualTo(before);
    assertThat(listener.list()).isEmpty();
  }

  /* ---------------- The bound ---------------- */

  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void setMaximum_shrinks_exactlyToTheBound_andNotifiesEachOnce(int stripes) {
    Cache<String, String> cache = builder(stripes).maximumSize(1_000).build();
    for (int i = 0; i < 1_000; i++) {
      cache.put("k" + i, "v" + i);
    }
    eviction(cache).setMaximum(37);
    assertThat(cache.estimatedSize()).isEqualTo(37);
    assertThat(cache.asMap()).hasSize(37);
    assertThat(listener.list()).hasSize(963)
        .allMatch(r -> r.cause() == RemovalCause.SIZE)
        .allMatch(r -> r.value().equals("v" + r.key().substring(1)));
    assertThat(notificationsPerKey().values()).allMatch(n -> n == 1);
    for (String k : cache.asMap().keySet()) {
      assertThat(notificationsPerKey()).doesNotContainKey(k);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void setMaximumZero_thenGrow_acceptsEntriesAgain(int stripes) {
    Cache<String, String> cache = builder(stripes).maximumSize(50).build();
    for (int i = 0; i < 50; i++) {
      cache.put("k" + i, "v");
    }
    eviction(cache).setMaximum(0);
    assertThat(cache.estimatedSize()).isZero();
    assertThat(eviction(cache).hottest(100)).isEmpty();
    cache.put("x", "v");
    assertThat(cache.getIfPresent("x")).as("maximum 0 keeps nothing").isNull();
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(51);
    eviction(cache).setMaximum(10);
    for (int i = 0; i < 10; i++) {
      cache.put("n" + i, "v");
    }
    assertThat(cache.estimatedSize()).isEqualTo(10);
    assertThat(eviction(cache).hottest(100)).hasSize(10);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void setMaximum_belowEveryEntrysWeight_evictsAllButZeroWeights(int stripes) {
    Cache<String, String> cache = builder(stripes).maximumWeight(1_000)
        .weigher((String k, String v) -> v.length()).build();
    for (int i = 0; i < 10; i++) {
      cache.put("heavy" + i, "x".repeat(30));
      cache.put("free" + i, "");
    }
    Policy.Eviction<String, String> eviction = eviction(cache);
    assertThat(eviction.weightedSize()).hasValue(300);
    eviction.setMaximum(20);
    assertThat(eviction.weightedSize()).hasValue(0);
    assertThat(cache.estimatedSize()).isEqualTo(10);
    for (int i = 0; i < 10; i++) {
      assertThat(cache.getIfPresent("heavy" + i)).isNull();
      assertThat(eviction.weightOf("free" + i)).hasValue(0);
    }
    assertThat(listener.list()).hasSize(10).allMatch(r -> r.cause() == RemovalCause.SIZE)
        .allMatch(r -> r.key().startsWith("heavy"));
    eviction.setMaximum(0);
    assertThat(cache.estimatedSize()).as("zero-weight entries are never evicted for size")
        .isEqualTo(10);
    assertThat(eviction.hottest(100)).hasSize(10);
    cache.put("one", "1");
    assertThat(cache.getIfPresent("one")).isNull();
    cache.put("zero", "");
    assertThat(cache.getIfPresent("zero")).isEqualTo("");
    assertThat(eviction.weightedSize()).hasValue(0);
  }

  @Test
  void setMaximum_withEntryHeavierThanTheNewBound_evictsIt() {
    Cache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).build();
    cache.put("big", "x".repeat(40));
    cache.put("small", "x".repeat(5));
    eviction(cache).setMaximum(30);
    assertThat(cache.getIfPresent("big")).isNull();
    assertThat(cache.getIfPresent("small")).isNotNull();
    assertThat(eviction(cache).weightedSize()).hasValue(5);
    cache.put("big2", "x".repeat(31));
    assertThat(cache.getIfPresent("big2")).as("heavier than the whole bound").isNull();
    assertThat(listener.withCause(RemovalCause.SIZE)).extracting(Removal::key)
        .containsExactlyInAnyOrder("big", "big2");
  }

  @Test
  void weightsThatOverflowALong_areStillHeldToTheBound() {
    long half = Long.MAX_VALUE / 2 + 1;
    Cache<String, String> cache = builder().maximumWeight(Long.MAX_VALUE)
        .weigher((String k, String v) -> half).build();
    cache.put("a", "1");
    cache.put("b", "2");
    assertThat(cache.estimatedSize()).isEqualTo(1);
    assertThat(eviction(cache).weightedSize()).hasValue(half);
    assertThat(listener.list()).hasSize(1);
  }

  @Test
  void setMaximum_negative_namesTheValue_andChangesNothing() {
    Cache<String, String> cache = builder().maximumSize(10).build();
    cache.put("a", "1");
    assertThatThrownBy(() -> eviction(cache).setMaximum(Long.MIN_VALUE))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximum")
        .hasMessageContaining(Long.toString(Long.MIN_VALUE));
    assertThat(eviction(cache).getMaximum()).isEqualTo(10);
    eviction(cache).setMaximum(Long.MAX_VALUE);
    assertThat(eviction(cache).getMaximum()).isEqualTo(Long.MAX_VALUE);
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
  }

  @Test
  void setMaximum_withAListenerThatThrows_stillEvictsAndNotifiesEveryone() {
    AtomicInteger calls = new AtomicInteger();
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(4).maximumSize(20)
        .<String, String>removalListener((k, v, c) -> {
          calls.incrementAndGet();
          throw new IllegalStateException("listener failure");
        }).build();
    for (int i = 0; i < 20; i++) {
      cache.put("k" + i, "v");
    }
    try (CapturedLog log = new CapturedLog()) { // each listener failure is logged, not thrown
      eviction(cache).setMaximum(3);
      assertThat(log.records).hasSize(17);
    }
    assertThat(cache.estimatedSize()).isEqualTo(3);
    assertThat(calls).hasValue(17);
  }

  @Test
  void setMaximum_fromAListener_growingBack_leavesTheEvictionDone() {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    Cache<String, String>[] holder = new Cache[1];
    List<Boolean> evictedKeyStillShown = new ArrayList<>();
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1).maximumSize(30)
        .<String, String>removalListener((k, v, c) -> {
          listener.onRemoval(k, v, c);
          Policy.Eviction<String, String> e = holder[0].policy().eviction().orElseThrow();
          evictedKeyStillShown.add(e.hottest(100).containsKey(k)
              || holder[0].policy().getIfPresentQuietly(k) != null);
          e.setMaximum(1_000);
        }).build();
    holder[0] = cache;
    for (int i = 0; i < 30; i++) {
      cache.put("k" + i, "v");
    }
    eviction(cache).setMaximum(10);
    assertThat(cache.estimatedSize()).isEqualTo(10);
    assertThat(eviction(cache).getMaximum()).isEqualTo(1_000);
    assertThat(listener.list()).hasSize(20);
    assertThat(evictedKeyStillShown).hasSize(20).containsOnly(false);
  }

  @Test
  void setMaximum_andHottest_fromInsideACompute() {
    Cache<String, String> cache = builder().maximumSize(10).build();
    for (int i = 0; i < 10; i++) {
      cache.put("k" + i, "v");
    }
    List<Long> sizesInside = new ArrayList<>();
    List<Set<String>> hottestInside = new ArrayList<>();
    List<Integer> notifiedInside = new ArrayList<>();
    String result = cache.asMap().compute("new", (k, v) -> {
      hottestInside.add(eviction(cache).hottest(100).keySet());
      eviction(cache).setMaximum(2);
      sizesInside.add(cache.estimatedSize());
      notifiedInside.add(listener.list().size());
      return "computed";
    });
    assertThat(result).isEqualTo("computed");
    assertThat(hottestInside.get(0)).hasSize(10).doesNotContain("new");
    assertThat(sizesInside.get(0)).as("evicted before setMaximum returned").isLessThanOrEqualTo(2);
    assertThat(notifiedInside.get(0)).as("notifications wait until the compute landed").isZero();
    assertThat(cache.estimatedSize()).isLessThanOrEqualTo(2);
    Set<String> present = new HashSet<>(cache.asMap().keySet());
    Map<String, Long> notified = notificationsPerKey();
    assertThat(notified.values()).allMatch(n -> n == 1);
    assertThat(present.size() + notified.size()).isEqualTo(11);
    for (String k : present) {
      assertThat(notified).doesNotContainKey(k);
    }
  }

  @Test
  void setMaximum_whenTheTickerThrows_reachesTheCaller_andCleanUpFitsTheBoundLater() {
    AtomicBoolean broken = new AtomicBoolean();
    Ticker flaky = () -> {
      if (broken.get()) {
        throw new IllegalStateException("ticker failure");
      }
      return ticker.read();
    };
    Cache<String, String> cache = Hourglass.newBuilder().ticker(flaky).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(4).maximumSize(10).expireAfterWrite(TTL)
        .<String, String>removalListener(listener).build();
    for (int i = 0; i < 10; i++) {
      cache.put("k" + i, "v");
    }
    broken.set(true);
    assertThatThrownBy(() -> var(cache).getExpiresAfter("k1"))
        .hasMessageContaining("ticker failure");
    assertThatThrownBy(() -> eviction(cache).hottest(3)).hasMessageContaining("ticker failure");
    try {
      eviction(cache).setMaximum(3);
    } catch (IllegalStateException expected) {
      assertThat(expected).hasMessageContaining("ticker failure");
    }
    broken.set(false);
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isLessThanOrEqualTo(eviction(cache).getMaximum());
    assertThat(cache.estimatedSize() + listener.list().size()).isEqualTo(10);
  }

  /* ---------------- Snapshots ---------------- */

  @Test
  void snapshots_areDetached_unmodifiable_andHonourLargeLimits() {
    Cache<String, String> cache = builder().maximumSize(100).build();
    cache.put("a", "1");
    cache.put("b", "2");
    Map<String, String> hot = eviction(cache).hottest(Integer.MAX_VALUE);
    Map<String, String> cold = eviction(cache).coldest(Integer.MAX_VALUE);
    assertThat(hot).hasSize(2);
    cache.put("a", "changed");
    cache.put("c", "3");
    assertThat(hot).containsEntry("a", "1").doesNotContainKey("c");
    assertThatThrownBy(() -> hot.remove("a")).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(hot::clear).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> cold.entrySet().iterator().next().setValue("x"))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> cold.keySet().iterator().remove())
        .isInstanceOf(RuntimeException.class);
    assertThat(cache.getIfPresent("a")).isEqualTo("changed");
  }

  @Test
  void snapshots_skipEntriesWhoseOwnLifetimeEnded() {
    Cache<String, String> cache = builder().maximumSize(100).build();
    cache.put("short", "1", Duration.ofMinutes(1));
    cache.put("retimed", "2");
    cache.put("forever", "3");
    var(cache).setExpiresAfter("retimed", Duration.ofMinutes(2));
    ticker.advance(Duration.ofMinutes(1));
    assertThat(eviction(cache).hottest(10).keySet()).containsExactlyInAnyOrder("retimed", "forever");
    ticker.advance(Duration.ofMinutes(1));
    assertThat(eviction(cache).hottest(10).keySet()).containsExactly("forever");
    assertThat(eviction(cache).coldest(10).keySet()).containsExactly("forever");
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void coldest_isTheReverseOfHottest_inAWeightedCacheWithZeroWeights(int stripes) {
    Cache<String, String> cache = builder(stripes).maximumWeight(60)
        .weigher((String k, String v) -> (k.hashCode() % 3 == 0) ? 0 : v.length()).build();
    for (int i = 0; i < 150; i++) {
      cache.put("k" + i, "v".repeat(1 + (i % 3)));
      for (int r = 0; r < (i % 5); r++) {
        cache.getIfPresent("k" + (i / 3));
      }
    }
    Policy.Eviction<String, String> eviction = eviction(cache);
    List<String> hot = new ArrayList<>(eviction.hottest(1_000).keySet());
    List<String> cold = new ArrayList<>(eviction.coldest(1_000).keySet());
    assertThat(hot).hasSize(cache.asMap().size()).doesNotHaveDuplicates();
    Collections.reverse(cold);
    assertThat(cold).isEqualTo(hot);
    for (int limit : new int[] {1, 5, 17}) {
      assertThat(new ArrayList<>(eviction.hottest(limit).keySet()))
          .isEqualTo(hot.subList(0, Math.min(limit, hot.size())));
    }
    assertThat(eviction.weightedSize().getAsLong()).isLessThanOrEqualTo(60);
  }

  /* ---------------- User code under a lock, and callbacks that call back in ---------------- */

  /** A key that runs a hook from its hashCode and equals, once per thread at a time. */
  static final class HookKey {
    static final ThreadLocal<Boolean> IN_HOOK = ThreadLocal.withInitial(() -> false);
    final String name;
    final int hash;
    volatile Runnable onHashCode;
    volatile Runnable onEquals;

    HookKey(String name, int hash) {
      this.name = name;
      this.hash = hash;
    }

    private static void run(Runnable hook) {
      if ((hook != null) && !IN_HOOK.get()) {
        IN_HOOK.set(true);
        try {
          hook.run();
        } finally {
          IN_HOOK.set(false);
        }
      }
    }

    @Override
    public int hashCode() {
      run(onHashCode);
      return hash;
    }

    @Override
    public boolean equals(Object o) {
      run(onEquals);
      return (o instanceof HookKey) && ((HookKey) o).name.equals(name);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  @Test
  void snapshots_runKeysHashCodeOutsideTheLocks() {
    Cache<HookKey, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1).maximumSize(100).build();
    HookKey a = new HookKey("a", 1);
    HookKey b = new HookKey("b", 2);
    cache.put(a, "1");
    cache.put(b, "2");
    AtomicInteger writes = new AtomicInteger();
    Runnable write = () -> {
      cache.put(new HookKey("side" + writes.incrementAndGet(), 3), "w"); // same, only stripe
    };
    a.onHashCode = write;
    a.onEquals = write;
    Map<HookKey, String> hot = eviction(cache).hottest(10);
    Map<HookKey, String> cold = eviction(cache).coldest(10);
    a.onHashCode = null;
    a.onEquals = null;
    assertThat(hot).containsKeys(a, b);
    assertThat(cold).containsKeys(a, b);
    assertThat(writes.get()).as("the hook ran, and its writes did not fail").isPositive();
    assertThat(cache.getIfPresent(new HookKey("side1", 3))).isEqualTo("w");
  }

  @Test
  void keyEqualsUnderTheLock_mayReadThePolicy() {
    Cache<HookKey, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1).maximumWeight(100)
        .weigher((HookKey k, String v) -> v.length()).expireAfterWrite(TTL).build();
    HookKey first = new HookKey("first", 7);
    cache.put(first, "abc");
    ticker.advance(Duration.ofMinutes(2));
    List<Object> seen = new ArrayList<>();
    HookKey second = new HookKey("second", 7); // same hash: its equals runs under the lock
    second.onEquals = () -> {
      Policy<HookKey, String> p = cache.policy();
      seen.add(p.getIfPresentQuietly(first));
      seen.add(p.eviction().orElseThrow().weightOf(first));
      seen.add(p.expireVariably().orElseThrow().getExpiresAfter(first));
      seen.add(p.expireAfterWrite().orElseThrow().ageOf(first));
      seen.add(p.eviction().orElseThrow().weightedSize());
    };
    cache.put(second, "de");
    second.onEquals = null;
    assertThat(seen).hasSizeGreaterThanOrEqualTo(5);
    assertThat(seen.subList(0, 5)).containsExactly("abc", java.util.OptionalLong.of(3),
        Optional.of(Duration.ofMinutes(8)), Optional.of(Duration.ofMinutes(2)),
        java.util.OptionalLong.of(3));
    assertThat(cache.getIfPresent(second)).isEqualTo("de");
    assertThat(eviction(cache).weightedSize()).hasValue(5);
  }

  @Test
  void weigherAndExpiry_mayCallThePolicy() {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    Cache<String, String>[] holder = new Cache[1];
    List<Object> fromWeigher = Collections.synchronizedList(new ArrayList<>());
    List<Long> remainingSeenByPolicy = new ArrayList<>();
    List<Long> remainingGiven = new ArrayList<>();
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1).maximumWeight(100)
        .<String, String>removalListener(listener)
        .weigher((String k, String v) -> {
          if (holder[0] != null) {
            Policy<String, String> p = holder[0].policy();
            fromWeigher.add(p.eviction().orElseThrow().weightedSize().getAsLong());
            fromWeigher.add(p.eviction().orElseThrow().hottest(3).size());
            fromWeigher.add(String.valueOf(p.getIfPresentQuietly(k)));
          }
          return v.length();
        })
        .expireAfter(new Expiry<String, String>() {
          @Override
          public long expireAfterCreate(String key, String value, long now) {
            if (holder[0] != null) {
              assertThat(holder[0].policy().expireVariably().orElseThrow().getExpiresAfter(key))
                  .isEmpty();
              holder[0].policy().eviction().orElseThrow().coldest(2);
            }
            return TTL.toNanos();
          }

          @Override
          public long expireAfterUpdate(String key, String value, long now, long remaining) {
            remainingGiven.add(remaining);
            remainingSeenByPolicy.add(holder[0].policy().expireVariably().orElseThrow()
                .getExpiresAfter(key).orElseThrow().toNanos());
            return remaining;
          }
        }).build();
    holder[0] = cache;
    cache.put("a", "12");
    ticker.advance(Duration.ofMinutes(3));
    cache.put("a", "1234");
    assertThat(fromWeigher).containsExactly(0L, 0, "null", 2L, 1, "12");
    assertThat(remainingGiven).containsExactly(Duration.ofMinutes(7).toNanos());
    assertThat(remainingSeenByPolicy).isEqualTo(remainingGiven);
    assertThat(eviction(cache).weightOf("a")).hasValue(4);
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(7));
    assertThat(listener.list()).containsExactly(new Removal<>("a", "12", RemovalCause.REPLACED));
  }

  @Test
  void listenerOnTheCallingThread_mayWriteTheSameStripe() {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    Cache<String, String>[] holder = new Cache[1];
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1).maximumSize(20)
        .<String, String>removalListener((k, v, c) -> {
          listener.onRemoval(k, v, c);
          if (k.startsWith("k")) {
            holder[0].invalidate("side-" + k); // a write to the only stripe
            holder[0].policy().expireVariably().orElseThrow()
                .setExpiresAfter("keep", Duration.ofMinutes(1));
          }
        }).build();
    holder[0] = cache;
    cache.put("keep", "v");
    for (int i = 0; i < 19; i++) {
      cache.put("k" + i, "v");
      cache.getIfPresent("keep");
    }
    for (int i = 0; i < 5; i++) {
      cache.put("side-k" + i, "s");
    }
    eviction(cache).setMaximum(8);
    assertThat(cache.estimatedSize()).isLessThanOrEqualTo(8);
    assertThat(notificationsPerKey().values()).allMatch(n -> n == 1);
    assertThat(cache.asMap().size() + notificationsPerKey().size()).isEqualTo(25);
  }

  /* ---------------- Fixed durations: views and ages ---------------- */

  @Test
  void fixedViews_returnTheConfiguredDuration_evenAVeryLongOne() {
    Duration twoCenturies = Duration.ofDays(365L * 200); // 6.3e18 ns: fits in a long
    LoadingCache<String, String> cache = builder().expireAfterWrite(twoCenturies)
        .expireAfterAccess(twoCenturies).refreshAfterWrite(twoCenturies).build(k -> k);
    Policy<String, String> policy = cache.policy();
    assertThat(policy.expireAfterWrite().orElseThrow().getExpiresAfter()).isEqualTo(twoCenturies);
    assertThat(policy.expireAfterAccess().orElseThrow().getExpiresAfter())
        .isEqualTo(twoCenturies);
    assertThat(policy.refreshAfterWrite().orElseThrow().getRefreshesAfter())
        .isEqualTo(twoCenturies);
  }

  @Test
  void views_areAbsentUnlessConfigured_inEveryCombination() {
    assertThat(builder().maximumWeight(5).weigher((String k, String v) -> 1).build().policy()
        .eviction().orElseThrow().isWeighted()).isTrue();
    Cache<String, String> viaExpiry = builder()
        .expireAfter(Expiry.<String, String>creating((k, v) -> TTL)).build();
    assertThat(viaExpiry.policy().expireAfterWrite()).as("an Expiry is no fixed duration")
        .isEmpty();
    assertThat(viaExpiry.policy().expireAfterAccess()).isEmpty();
    assertThat(viaExpiry.policy().eviction()).isEmpty();
    assertThat(viaExpiry.policy().expireVariably()).isPresent();
    Cache<String, String> accessOnly = builder().expireAfterAccess(TTL).build();
    assertThat(accessOnly.policy().expireAfterWrite()).isEmpty();
    assertThat(accessOnly.policy().expireAfterAccess().orElseThrow().getExpiresAfter())
        .isEqualTo(TTL);
    LoadingCache<String, String> loading = builder().build(k -> k);
    assertThat(loading.policy().refreshAfterWrite()).isEmpty();
    assertThat(loading.policy().eviction()).isEmpty();
  }

  @Test
  void combined_writeShorterThanIdle_idleAgeIsWhatTheWriteDeadlineLeaves() {
    Cache<String, String> cache = builder().expireAfterWrite(Duration.ofMinutes(5))
        .expireAfterAccess(TTL).build();
    Policy<String, String> policy = cache.policy();
    cache.put("a", "1");
    assertThat(policy.expireAfterWrite().orElseThrow().ageOf("a")).hasValue(Duration.ZERO);
    assertThat(policy.expireAfterAccess().orElseThrow().ageOf("a"))
        .as("10 - (5 - 0)").hasValue(Duration.ofMinutes(5));
    ticker.advance(Duration.ofMinutes(2));
    cache.getIfPresent("a");
    assertThat(policy.expireAfterWrite().orElseThrow().ageOf("a")).hasValue(Duration.ofMinutes(2));
    assertThat(policy.expireAfterAccess().orElseThrow().ageOf("a"))
        .as("10 - (5 - 2)").hasValue(Duration.ofMinutes(7));
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(3));
    ticker.advance(Duration.ofMinutes(3));
    assertThat(policy.expireAfterWrite().orElseThrow().ageOf("a")).isEmpty();
    assertThat(policy.expireAfterAccess().orElseThrow().ageOf("a")).isEmpty();
  }

  @Test
  void ages_followTheMapViewsWritesAndReads() {
    Cache<String, String> cache = builder().maximumSize(100).expireAfterWrite(TTL).build();
    Cache<String, String> idle = builder().expireAfterAccess(TTL).build();
    Policy.FixedExpiration<String, String> write = cache.policy().expireAfterWrite().orElseThrow();
    Policy.FixedExpiration<String, String> access =
        idle.policy().expireAfterAccess().orElseThrow();
    for (Cache<String, String> c : List.of(cache, idle)) {
      c.put("a", "1");
    }
    ticker.advance(Duration.ofMinutes(3));
    for (Cache<String, String> c : List.of(cache, idle)) {
      assertThat(c.asMap().putIfAbsent("a", "2")).isEqualTo("1");
    }
    assertThat(write.ageOf("a")).as("putIfAbsent that finds a value is no write")
        .hasValue(Duration.ofMinutes(3));
    assertThat(access.ageOf("a").orElseThrow()).as("but it is a read")
        .isBetween(Duration.ZERO, TOLERANCE);
    ticker.advance(Duration.ofMinutes(1));
    cache.asMap().replace("a", "3");
    assertThat(write.ageOf("a")).hasValue(Duration.ZERO);
    ticker.advance(Duration.ofMinutes(1));
    cache.asMap().merge("a", "4", String::concat);
    assertThat(write.ageOf("a")).hasValue(Duration.ZERO);
    ticker.advance(Duration.ofMinutes(1));
    cache.asMap().compute("a", (k, v) -> v + "5");
    assertThat(write.ageOf("a")).hasValue(Duration.ZERO);
    assertThat(cache.getIfPresent("a")).isEqualTo("345");
  }

  @Test
  void ownLifetime_inAnIdleCache_hasNoIdleAge_andReadsDoNotExtendIt() {
    Cache<String, String> cache = builder().expireAfterAccess(TTL).build();
    Policy.FixedExpiration<String, String> access =
        cache.policy().expireAfterAccess().orElseThrow();
    cache.put("a", "1", Duration.ofMinutes(3));
    ticker.advance(Duration.ofMinutes(2));
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(access.ageOf("a")).isEmpty();
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(1));
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.getIfPresent("a")).isNull();
    cache.put("b", "1", Duration.ofHours(1));
    cache.put("b", "2");
    assertThat(access.ageOf("b")).as("a plain write brings it back under the idle time")
        .hasValue(Duration.ZERO);
    assertThat(var(cache).getExpiresAfter("b")).hasValue(TTL);
  }

  @Test
  void tickerWrappingPastLongMax_keepsAgesAndTimeLeftExact() {
    FakeTicker wrapping = new FakeTicker(Long.MAX_VALUE - Duration.ofMinutes(3).toNanos());
    Cache<String, String> cache = Hourglass.newBuilder().ticker(wrapping).scheduler(scheduler)
        .executor(Runnable::run).maximumSize(10).expireAfterWrite(TTL)
        .expireAfterAccess(TTL.multipliedBy(2)).build();
    cache.put("a", "1");
    wrapping.advance(Duration.ofMinutes(5));
    assertThat(cache.policy().expireAfterWrite().orElseThrow().ageOf("a"))
        .hasValue(Duration.ofMinutes(5));
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(5));
    assertThat(eviction(cache).hottest(5)).containsOnlyKeys("a");
    wrapping.advance(Duration.ofMinutes(5));
    assertThat(cache.policy().getIfPresentQuietly("a")).isNull();
    assertThat(var(cache).getExpiresAfter("a")).isEmpty();
    assertThat(eviction(cache).hottest(5)).isEmpty();
  }

  @Test
  void deadlineThatWouldLandOnTheNeverValue_stillExpires() {
    // now + TTL wraps to exactly Long.MIN_VALUE.
    FakeTicker edge = new FakeTicker(Long.MIN_VALUE - TTL.toNanos());
    Cache<String, String> cache = Hourglass.newBuilder().ticker(edge).scheduler(scheduler)
        .executor(Runnable::run).expireAfterWrite(TTL).build();
    cache.put("a", "1");
    Duration left = var(cache).getExpiresAfter("a").orElseThrow();
    assertThat(left).isBetween(TTL, TTL.plusNanos(1));
    assertThat(cache.policy().expireAfterWrite().orElseThrow().ageOf("a"))
        .hasValue(Duration.ZERO);
    edge.advance(TTL.plusNanos(1));
    assertThat(cache.getIfPresent("a")).isNull();
    assertThat(var(cache).getExpiresAfter("a")).isEmpty();
    Cache<String, String> plain = Hourglass.newBuilder().ticker(edge).scheduler(scheduler).build();
    plain.put("b", "2", TTL);
    edge.set(Long.MIN_VALUE - TTL.toNanos());
    plain.put("c", "3", TTL);
    assertThat(var(plain).getExpiresAfter("c").orElseThrow()).isBetween(TTL, TTL.plusNanos(1));
  }

  /* ---------------- Each entry's own deadline ---------------- */

  @Test
  void setExpiresAfter_inAnExpiryCache_readsDoNotAskTheExpiry_untilTheNextWrite() {
    AtomicInteger reads = new AtomicInteger();
    AtomicInteger updates = new AtomicInteger();
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).<String, String>removalListener(listener)
        .expireAfter(new Expiry<String, String>() {
          @Override
          public long expireAfterCreate(String key, String value, long now) {
            return TTL.toNanos();
          }

          @Override
          public long expireAfterUpdate(String key, String value, long now, long remaining) {
            updates.incrementAndGet();
            return TTL.toNanos();
          }

          @Override
          public long expireAfterRead(String key, String value, long now, long remaining) {
            reads.incrementAndGet();
            return TTL.toNanos();
          }
        }).build();
    cache.put("a", "1");
    cache.getIfPresent("a");
    assertThat(reads).hasValue(1);
    assertThat(var(cache).setExpiresAfter("a", Duration.ofHours(1))).isTrue();
    for (int i = 0; i < 3; i++) {
      ticker.advance(Duration.ofMinutes(1));
      assertThat(cache.getIfPresent("a")).isEqualTo("1");
    }
    assertThat(reads).as("the Expiry is not asked again until the next write").hasValue(1);
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(57));
    cache.put("a", "2");
    assertThat(updates).hasValue(1);
    assertThat(var(cache).getExpiresAfter("a")).hasValue(TTL);
    ticker.advance(Duration.ofMinutes(1));
    cache.getIfPresent("a");
    assertThat(reads).as("the rules again").hasValue(2);
    cache.put("own", "x", Duration.ofMinutes(1));
    cache.getIfPresent("own");
    assertThat(reads).as("an entry's own ttl is not the Expiry's").hasValue(2);
    assertThat(listener.withCause(RemovalCause.REPLACED)).hasSize(1);
  }

  @Test
  void setExpiresAfter_zero_inAWeightedCache_expiresAtOnce_withItsWeight() {
    Cache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).recordStats().build();
    cache.put("a", "1234");
    cache.put("b", "12");
    assertThat(var(cache).setExpiresAfter("a", Duration.ZERO)).isTrue();
    assertThat(eviction(cache).weightedSize()).hasValue(2);
    assertThat(eviction(cache).weightOf("a")).isEmpty();
    assertThat(cache.estimatedSize()).isEqualTo(1);
    assertThat(listener.list()).containsExactly(new Removal<>("a", "1234", RemovalCause.EXPIRED));
    assertThat(var(cache).setExpiresAfter("a", Duration.ZERO)).isFalse();
    assertThat(listener.list()).hasSize(1);
    assertThat(cache.stats().hitCount() + cache.stats().missCount()).isZero();
  }

  @Test
  void setExpiresAfter_argumentChecks_comeFirst() {
    Cache<String, String> cache = builder().build();
    assertThatThrownBy(() -> var(cache).setExpiresAfter("absent", null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("duration");
    assertThatThrownBy(() -> var(cache).setExpiresAfter("absent", Duration.ofNanos(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("duration");
    assertThatThrownBy(() -> var(cache).setExpiresAfter(null, null))
        .isInstanceOf(NullPointerException.class);
    assertThat(var(cache).setExpiresAfter("absent", Duration.ofSeconds(Long.MAX_VALUE)))
        .isFalse();
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void setExpiresAfter_fromTheListener_ofTheKeyBeingRemoved_findsNothing() {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    Cache<String, String>[] holder = new Cache[1];
    List<Boolean> answers = new ArrayList<>();
    Cache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1).maximumSize(2)
        .<String, String>removalListener((k, v, c) -> answers.add(
            holder[0].policy().expireVariably().orElseThrow()
                .setExpiresAfter(k, Duration.ofHours(1)))).build();
    holder[0] = cache;
    cache.put("a", "1");
    cache.put("b", "2");
    cache.put("c", "3");
    cache.invalidate("b");
    var(cache).setExpiresAfter("c", Duration.ZERO);
    assertThat(answers).isNotEmpty().containsOnly(false);
  }

  /* ---------------- Refresh ---------------- */

  @Test
  void refresh_policyCallsStartNoRefresh_andRetimingKeepsTheRefreshAge() {
    AtomicInteger loads = new AtomicInteger();
    LoadingCache<String, String> cache = builder().maximumSize(10)
        .refreshAfterWrite(Duration.ofMinutes(1)).build(k -> k + loads.incrementAndGet());
    Policy<String, String> policy = cache.policy();
    cache.get("a");
    ticker.advance(Duration.ofSeconds(30));
    assertThat(var(cache).setExpiresAfter("a", Duration.ofHours(1))).isTrue();
    assertThat(policy.refreshAfterWrite().orElseThrow().ageOf("a"))
        .as("refresh state stays").hasValue(Duration.ofSeconds(30));
    ticker.advance(Duration.ofMinutes(2));
    policy.getIfPresentQuietly("a");
    policy.refreshAfterWrite().orElseThrow().ageOf("a");
    var(cache).getExpiresAfter("a");
    var(cache).setExpiresAfter("a", Duration.ofHours(1));
    eviction(cache).hottest(5);
    eviction(cache).coldest(5);
    eviction(cache).setMaximum(20);
    assertThat(loads).as("no method runs a loader").hasValue(1);
    assertThat(policy.refreshAfterWrite().orElseThrow().ageOf("a"))
        .hasValue(Duration.ofSeconds(150));
  }

  @Test
  void refresh_thatFails_leavesTheAgeAlone() {
    AtomicInteger loads = new AtomicInteger();
    LoadingCache<String, String> cache = builder().refreshAfterWrite(Duration.ofMinutes(1))
        .build(k -> {
          if (loads.incrementAndGet() > 1) {
            throw new IllegalStateException("source down");
          }
          return "v";
        });
    cache.get("a");
    ticker.advance(Duration.ofSeconds(90));
    try (CapturedLog log = new CapturedLog()) { // the failed refresh is logged once
      assertThat(cache.getIfPresent("a")).isEqualTo("v");
      assertThat(log.records).hasSize(1);
    }
    assertThat(loads).as("a refresh was tried").hasValue(2);
    assertThat(cache.policy().refreshAfterWrite().orElseThrow().ageOf("a"))
        .as("no value was written").hasValue(Duration.ofSeconds(90));
  }

  /* ---------------- More per-entry lifetimes ---------------- */

  @Test
  void setExpiresAfter_inATimeToLiveCache_outOfWriteOrder_expiresEachAtItsOwnDeadline() {
    Cache<String, String> cache = builder().expireAfterWrite(TTL).build();
    cache.put("a", "1");
    cache.put("b", "2");
    cache.put("c", "3");
    var(cache).setExpiresAfter("a", TTL.multipliedBy(2)); // later than the queue's order
    var(cache).setExpiresAfter("b", TTL.dividedBy(2)); // earlier
    ticker.advance(TTL.dividedBy(2));
    cache.put("d", "4");
    scheduler.runAll();
    cache.cleanUp();
    assertThat(listener.list()).containsExactly(new Removal<>("b", "2", RemovalCause.EXPIRED));
    ticker.advance(TTL.dividedBy(2));
    scheduler.runAll();
    cache.cleanUp();
    assertThat(listener.list()).extracting(Removal::key).containsExactly("b", "c");
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(var(cache).getExpiresAfter("a")).hasValue(TTL);
    assertThat(var(cache).getExpiresAfter("d")).hasValue(TTL.dividedBy(2));
    ticker.advance(TTL);
    cache.cleanUp();
    assertThat(listener.list()).extracting(Removal::key).containsExactlyInAnyOrder("b", "c", "d",
        "a");
    assertThat(listener.list()).allMatch(r -> r.cause() == RemovalCause.EXPIRED);
    assertThat(cache.estimatedSize()).isZero();
  }

  @Test
  void setExpiresAfter_inACombinedCache_outlivesBothFixedDurations() {
    Cache<String, String> cache = builder().expireAfterWrite(TTL)
        .expireAfterAccess(Duration.ofMinutes(5)).build();
    cache.put("a", "1");
    var(cache).setExpiresAfter("a", Duration.ofHours(1));
    ticker.advance(Duration.ofMinutes(30));
    scheduler.runAll();
    cache.cleanUp();
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(cache.policy().expireAfterWrite().orElseThrow().ageOf("a")).isEmpty();
    assertThat(cache.policy().expireAfterAccess().orElseThrow().ageOf("a")).isEmpty();
    assertThat(var(cache).getExpiresAfter("a")).hasValue(Duration.ofMinutes(30));
    ticker.advance(Duration.ofMinutes(30));
    assertThat(cache.getIfPresent("a")).isNull();
    cache.cleanUp();
    assertThat(listener.list()).containsExactly(new Removal<>("a", "1", RemovalCause.EXPIRED));
  }

  @Test
  void setMaximum_takesExpiredEntriesFirst_reportingThemExpired() {
    Cache<String, String> cache = builder().maximumSize(10).expireAfterWrite(TTL).build();
    for (int i = 0; i < 5; i++) {
      cache.put("old" + i, "v");
    }
    ticker.advance(Duration.ofMinutes(6));
    for (int i = 0; i < 5; i++) {
      cache.put("live" + i, "v");
    }
    ticker.advance(Duration.ofMinutes(5)); // the old ones are due, not yet removed
    eviction(cache).setMaximum(5);
    assertThat(cache.asMap().keySet())
        .containsExactlyInAnyOrder("live0", "live1", "live2", "live3", "live4");
    assertThat(listener.list()).hasSize(5).allMatch(r -> r.cause() == RemovalCause.EXPIRED)
        .allMatch(r -> r.key().startsWith("old"));
  }

  @Test
  void setExpiresAfter_fromTheLoaderOfTheSameKey_failsFast_andStoresNothing() {
    @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
    LoadingCache<String, String>[] holder = new LoadingCache[1];
    LoadingCache<String, String> cache = builder().build(k -> {
      holder[0].policy().expireVariably().orElseThrow().setExpiresAfter(k, TTL);
      return "loaded-" + k;
    });
    holder[0] = cache;
    assertThatThrownBy(() -> cache.get("a")).isInstanceOf(IllegalStateException.class);
    assertThat(cache.policy().getIfPresentQuietly("a")).isNull();
    cache.put("other", "present");
    String value = cache.get("b", k -> {
      assertThat(holder[0].policy().expireVariably().orElseThrow()
          .setExpiresAfter("other", Duration.ofMinutes(1))).isTrue();
      return "computed";
    });
    assertThat(value).isEqualTo("computed");
    assertThat(var(cache).getExpiresAfter("other")).hasValue(Duration.ofMinutes(1));
    assertThat(var(cache).getExpiresAfter("b")).hasValue(Duration.ofNanos(Long.MAX_VALUE));
  }

  @Test
  void setExpiresAfterZero_whileARefreshIsPending_isNotUndoneByTheRefresh() {
    List<Runnable> held = new ArrayList<>();
    AtomicBoolean hold = new AtomicBoolean();
    AtomicInteger loads = new AtomicInteger();
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker)
        .scheduler(scheduler).concurrencyLevel(1)
        .executor(task -> {
          if (hold.get()) {
            held.add(task);
          } else {
            task.run();
          }
        })
        .<String, String>removalListener(listener).refreshAfterWrite(Duration.ofMinutes(1))
        .build(k -> k + loads.incrementAndGet());
    assertThat(cache.get("a")).isEqualTo("a1");
    ticker.advance(Duration.ofSeconds(90));
    hold.set(true);
    assertThat(cache.getIfPresent("a")).isEqualTo("a1");
    assertThat(held).as("the refresh waits on the executor").isNotEmpty();
    hold.set(false);
    assertThat(var(cache).setExpiresAfter("a", Duration.ZERO)).isTrue();
    for (Runnable task : new ArrayList<>(held)) {
      task.run();
    }
    assertThat(cache.policy().getIfPresentQuietly("a")).as("an expired entry is not brought back")
        .isNull();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(listener.list()).contains(new Removal<>("a", "a1", RemovalCause.EXPIRED));
    assertThat(notificationsPerKey().values()).allMatch(n -> n <= 2);
  }

  @Test
  void policyCalls_fromAnInterruptedThread_workAndKeepTheInterrupt() {
    Cache<String, String> cache = builder(4).maximumSize(10).expireAfterWrite(TTL).build();
    for (int i = 0; i < 5; i++) {
      cache.put("k" + i, "v");
    }
    Thread.currentThread().interrupt();
    try {
      assertThat(eviction(cache).hottest(3)).hasSize(3);
      assertThat(eviction(cache).coldest(10)).hasSize(5);
      assertThat(var(cache).setExpiresAfter("k0", Duration.ofMinutes(1))).isTrue();
      eviction(cache).setMaximum(2);
      assertThat(cache.estimatedSize()).isEqualTo(2);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
  }

  @Test
  void snapshot_whoseKeyHashCodeThrows_leavesNoLockHeld() {
    Cache<HookKey, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).concurrencyLevel(1).maximumSize(10).build();
    HookKey bad = new HookKey("bad", 5);
    cache.put(bad, "1");
    cache.put(new HookKey("good", 6), "2");
    bad.onHashCode = () -> {
      throw new IllegalStateException("hashCode failure");
    };
    assertThatThrownBy(() -> eviction(cache).hottest(5)).hasMessageContaining("hashCode failure");
    bad.onHashCode = null;
    java.util.concurrent.CompletableFuture<Void> other =
        java.util.concurrent.CompletableFuture.runAsync(() -> {
          cache.put(new HookKey("third", 7), "3"); // the only stripe, from another thread
          eviction(cache).setMaximum(2);
        });
    other.join();
    assertThat(cache.estimatedSize()).isEqualTo(2);
    assertThat(eviction(cache).hottest(5)).hasSize(2);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void coldest_isTheReverseOfHottest_inAnExpiryCacheWithBufferedReads(int stripes) {
    Cache<String, String> cache = builder(stripes).maximumSize(30)
        .expireAfter(Expiry.<String, String>accessing((k, v) -> TTL)).build();
    for (int i = 0; i < 100; i++) {
      cache.put("k" + i, "v");
      for (int r = 0; r < (i % 4); r++) {
        cache.getIfPresent("k" + (i / 2));
      }
    }
    List<String> hot = new ArrayList<>(eviction(cache).hottest(1_000).keySet());
    List<String> cold = new ArrayList<>(eviction(cache).coldest(1_000).keySet());
    List<String> hotAgain = new ArrayList<>(eviction(cache).hottest(1_000).keySet());
    Collections.reverse(cold);
    assertThat(hot).hasSize(cache.asMap().size());
    assertThat(cold).isEqualTo(hot);
    assertThat(hotAgain).as("a snapshot changes nothing").isEqualTo(hot);
  }

  @Test
  void policyLooks_atAKeyBeingLoaded_neverWait_andSeeNothing() throws Exception {
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Cache<String, String> cache = builder(1).maximumSize(10).build();
    cache.put("other", "o");
    Thread loader = new Thread(() -> cache.get("a", k -> {
      loading.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return "loaded";
    }));
    loader.start();
    loading.await();
    try {
      assertThat(cache.policy().getIfPresentQuietly("a")).isNull();
      assertThat(var(cache).getExpiresAfter("a")).isEmpty();
      assertThat(eviction(cache).weightOf("a")).isEmpty();
      assertThat(eviction(cache).hottest(10)).containsOnlyKeys("other");
      assertThat(eviction(cache).coldest(10)).containsOnlyKeys("other");
      eviction(cache).setMaximum(5); // takes the stripe's lock, which the load does not hold
      assertThat(eviction(cache).getMaximum()).isEqualTo(5);
    } finally {
      release.countDown();
      loader.join();
    }
    assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("loaded");
    assertThat(eviction(cache).hottest(10)).containsOnlyKeys("other", "a");
  }

  @Test
  void weightOf_isTheWeightWhenWritten_evenFromAnImpureWeigher() {
    AtomicInteger calls = new AtomicInteger();
    Cache<String, String> cache = builder().maximumWeight(1_000)
        .weigher((String k, String v) -> calls.incrementAndGet() * 10L).build();
    cache.put("a", "1"); // weight 10
    cache.put("b", "2"); // weight 20
    for (int i = 0; i < 3; i++) {
      assertThat(eviction(cache).weightOf("a")).hasValue(10);
      assertThat(eviction(cache).weightOf("b")).hasValue(20);
      eviction(cache).hottest(5);
      var(cache).setExpiresAfter("a", Duration.ofHours(1));
    }
    assertThat(eviction(cache).weightedSize()).hasValue(30);
    assertThat(calls).as("the policy never weighs").hasValue(2);
    cache.put("a", "3"); // weight 30
    assertThat(eviction(cache).weightOf("a")).hasValue(30);
    assertThat(eviction(cache).weightedSize()).hasValue(50);
  }

  @Test
  void cacheBuiltWithMaximumZero_canBeOpenedUpAtRunTime() {
    Cache<String, String> cache = builder().maximumSize(0).build();
    cache.put("a", "1");
    assertThat(cache.getIfPresent("a")).isNull();
    Policy.Eviction<String, String> eviction = eviction(cache);
    assertThat(eviction.getMaximum()).isZero();
    assertThat(eviction.hottest(5)).isEmpty();
    eviction.setMaximum(3);
    for (int i = 0; i < 5; i++) {
      cache.put("k" + i, "v");
    }
    assertThat(cache.estimatedSize()).isEqualTo(3);
    assertThat(eviction.hottest(5)).hasSize(3);
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(3);
  }

  /* ---------------- Concurrency ---------------- */

  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void concurrentResizingWritesAndSnapshots_keepTheBound_andNotifyEachRemovalOnce(int stripes)
      throws Exception {
    concurrentRun(stripes, false);
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void concurrentRun_weighted_keepsTheWeightsConsistent(int stripes) throws Exception {
    concurrentRun(stripes, true);
  }

  private void concurrentRun(int stripes, boolean weighted) throws Exception {
    CacheBuilder<String, String> b = builder(stripes);
    Cache<String, String> cache = weighted
        ? b.maximumWeight(64).weigher((String k, String v) -> v.length()).build()
        : b.maximumSize(64).build();
    int threads = 4;
    int ops = 1_500;
    CountDownLatch start = new CountDownLatch(1);
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread worker = new Thread(() -> {
        Random random = new Random(1_000 + id);
        try {
          start.await();
          for (int i = 0; i < ops; i++) {
            String key = "t" + id + "-" + i;
            int op = random.nextInt(10);
            if (op < 5) {
              cache.put(key, "v".repeat(random.nextInt(4))); // weight 0..3
            } else if (op == 5) {
              eviction(cache).setMaximum(random.nextInt(80));
            } else if (op == 6) {
              int limit = random.nextInt(10);
              Map<String, String> hot = eviction(cache).hottest(limit);
              Map<String, String> cold = eviction(cache).coldest(limit);
              if ((hot.size() > limit) || (cold.size() > limit)) {
                throw new AssertionError("snapshot over its limit " + limit);
              }
            } else if (op == 7) {
              String other = "t" + id + "-" + random.nextInt(i + 1);
              var(cache).setExpiresAfter(other,
                  random.nextBoolean() ? Duration.ZERO : Duration.ofHours(1));
            } else if (op == 8) {
              String other = "t" + random.nextInt(threads) + "-" + random.nextInt(i + 1);
              cache.policy().getIfPresentQuietly(other);
              eviction(cache).weightOf(other);
              var(cache).getExpiresAfter(other);
            } else {
              cache.invalidate("t" + id + "-" + random.nextInt(i + 1));
            }
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      });
      workers.add(worker);
      worker.start();
    }
    start.countDown();
    for (Thread worker : workers) {
      worker.join();
    }
    assertThat(failures).isEmpty();
    cache.cleanUp();
    Policy.Eviction<String, String> eviction = eviction(cache);
    Map<String, String> present = new HashMap<>(cache.asMap());
    if (weighted) {
      long sum = present.values().stream().mapToLong(String::length).sum();
      assertThat(eviction.weightedSize()).hasValue(sum);
      assertThat(sum).isLessThanOrEqualTo(eviction.getMaximum());
      for (Map.Entry<String, String> e : present.entrySet()) {
        assertThat(eviction.weightOf(e.getKey())).hasValue(e.getValue().length());
      }
    } else {
      assertThat((long) present.size()).isLessThanOrEqualTo(eviction.getMaximum());
      assertThat(cache.estimatedSize()).isEqualTo(present.size());
    }
    assertThat(eviction.hottest(100_000).keySet()).containsExactlyInAnyOrderElementsOf(
        present.keySet());
    Map<String, Long> notified = notificationsPerKey();
    assertThat(notified.entrySet()).allSatisfy(e ->
        assertThat(e.getValue()).as("notifications of " + e.getKey()).isEqualTo(1L));
    for (String k : present.keySet()) {
      assertThat(notified).doesNotContainKey(k);
    }
    // Every key ever put is either present or was notified exactly once.
    Set<String> putKeys = new HashSet<>();
    for (int t = 0; t < threads; t++) {
      Random random = new Random(1_000 + t);
      for (int i = 0; i < ops; i++) {
        int op = random.nextInt(10);
        if (op < 5) {
          random.nextInt(4);
          putKeys.add("t" + t + "-" + i);
        } else if (op == 5) {
          random.nextInt(80);
        } else if (op == 6) {
          random.nextInt(10);
        } else if (op == 7) {
          random.nextInt(i + 1);
          random.nextBoolean();
        } else if (op == 8) {
          random.nextInt(threads);
          random.nextInt(i + 1);
        } else {
          random.nextInt(i + 1);
        }
      }
    }
    Set<String> accounted = new HashSet<>(present.keySet());
    accounted.addAll(notified.keySet());
    assertThat(accounted).isEqualTo(putKeys);
  }
}
