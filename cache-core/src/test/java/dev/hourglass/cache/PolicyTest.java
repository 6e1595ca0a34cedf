package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.RecordingListener.Removal;
import dev.hourglass.cache.internal.Invariants;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Cache#policy()}: which views a cache has, and that each reads and changes what it says
 * without counting as a use. Fake ticker, manual scheduler, same-thread executor.
 */
final class PolicyTest {
  private static final Duration TTL = Duration.ofMinutes(10);
  /** How late an idle deadline may be: min(1 ms, idle time / 64). */
  private static final Duration TOLERANCE = Duration.ofMillis(1);

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final RecordingListener<String, String> listener = new RecordingListener<>();

  private CacheBuilder<String, String> builder() {
    return builder(1, listener);
  }

  private CacheBuilder<String, String> builder(int stripes,
      RemovalListener<String, String> removalListener) {
    return Hourglass.newBuilder().ticker(ticker).scheduler(scheduler).executor(Runnable::run)
        .<String, String>removalListener(removalListener).concurrencyLevel(stripes);
  }

  static Stream<String> shapes() {
    return Stream.of("unbounded", "size", "weight");
  }

  private CacheBuilder<String, String> shaped(String shape) {
    CacheBuilder<String, String> b = builder();
    if (shape.equals("size")) {
      b.maximumSize(1_000);
    } else if (shape.equals("weight")) {
      b.maximumWeight(1_000).weigher((String k, String v) -> v.length());
    }
    return b;
  }

  /* ---------------- Which views ---------------- */

  @Test
  void plainCache_hasOnlyTheVariableView() {
    Policy<String, String> policy = builder().build().policy();
    assertThat(policy.eviction()).isEmpty();
    assertThat(policy.expireAfterWrite()).isEmpty();
    assertThat(policy.expireAfterAccess()).isEmpty();
    assertThat(policy.refreshAfterWrite()).isEmpty();
    assertThat(policy.expireVariably()).isPresent();
    assertThat(policy.isRecordingStats()).isFalse();
  }

  @Test
  void eachSetting_hasItsView_withTheConfiguredValue() {
    LoadingCache<String, String> cache = builder().maximumSize(123).recordStats()
        .expireAfterWrite(TTL).expireAfterAccess(Duration.ofMinutes(3))
        .refreshAfterWrite(Duration.ofMinutes(1)).build(k -> k);
    Policy<String, String> policy = cache.policy();
    assertThat(policy.isRecordingStats()).isTrue();
    assertThat(policy.eviction().orElseThrow().getMaximum()).isEqualTo(123);
    assertThat(policy.eviction().orElseThrow().isWeighted()).isFalse();
    assertThat(policy.expireAfterWrite().orElseThrow().getExpiresAfter()).isEqualTo(TTL);
    assertThat(policy.expireAfterAccess().orElseThrow().getExpiresAfter())
        .isEqualTo(Duration.ofMinutes(3));
    assertThat(policy.refreshAfterWrite().orElseThrow().getRefreshesAfter())
        .isEqualTo(Duration.ofMinutes(1));
    assertThat(cache.policy()).as("one view per cache").isSameAs(policy);
  }

  @Test
  void weightedBound_saysSo() {
    Cache<String, String> cache = builder().maximumWeight(50)
        .weigher((String k, String v) -> v.length()).build();
    assertThat(cache.policy().eviction().orElseThrow().isWeighted()).isTrue();
    assertThat(cache.policy().eviction().orElseThrow().getMaximum()).isEqualTo(50);
  }

  /* ---------------- Quiet lookup ---------------- */

  @Nested
  final class Quietly {
    @Test
    void returnsTheValue_andCountsNothing() {
      Cache<String, String> cache = builder().recordStats().build();
      cache.put("a", "1");
      assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("1");
      assertThat(cache.policy().getIfPresentQuietly("b")).isNull();
      assertThat(cache.stats().hitCount()).isZero();
      assertThat(cache.stats().missCount()).isZero();
    }

    @Test
    void doesNotExtendTheIdleTime() {
      Cache<String, String> cache = builder().expireAfterAccess(TTL).build();
      cache.put("a", "1");
      ticker.advance(TTL.multipliedBy(6).dividedBy(10));
      assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("1");
      ticker.advance(TTL.multipliedBy(6).dividedBy(10));
      assertThat(cache.policy().getIfPresentQuietly("a")).as("idle since it was written").isNull();
      assertThat(cache.getIfPresent("a")).isNull();
    }

    @Test
    void hidesAnExpiredEntry() {
      Cache<String, String> cache = builder().expireAfterWrite(TTL).build();
      cache.put("a", "1");
      ticker.advance(TTL);
      assertThat(cache.policy().getIfPresentQuietly("a")).isNull();
    }

    @Test
    void startsNoRefresh() {
      AtomicInteger loads = new AtomicInteger();
      LoadingCache<String, String> cache = builder().refreshAfterWrite(Duration.ofMinutes(1))
          .build(k -> k + loads.incrementAndGet());
      assertThat(cache.get("a")).isEqualTo("a1");
      ticker.advance(Duration.ofMinutes(2));
      assertThat(cache.policy().getIfPresentQuietly("a")).isEqualTo("a1");
      assertThat(loads).hasValue(1);
      assertThat(cache.getIfPresent("a")).as("a read refreshes (same-thread executor)")
          .isEqualTo("a1");
      assertThat(loads).hasValue(2);
    }

    @Test
    void isNoUseForThePolicy() {
      Cache<String, String> cache = builder().maximumSize(100).build();
      cache.put("read", "1");
      cache.put("quiet", "2");
      for (int i = 0; i < 3; i++) {
        cache.getIfPresent("read");
        cache.policy().getIfPresentQuietly("quiet");
      }
      // "quiet" was added later, so it would rank hotter on a tie: the reads must decide.
      assertThat(cache.policy().eviction().orElseThrow().hottest(2).keySet())
          .containsExactly("read", "quiet");
    }

    @Test
    void nullKey_throwsNpe() {
      Cache<String, String> cache = builder().build();
      assertThatThrownBy(() -> cache.policy().getIfPresentQuietly(null))
          .isInstanceOf(NullPointerException.class).hasMessageContaining("key");
    }
  }

  /* ---------------- The bound ---------------- */

  @Nested
  final class Bound {
    @ParameterizedTest
    @MethodSource("dev.hourglass.cache.PolicyTest#stripeCounts")
    void shrinking_evictsBeforeReturning(int stripes) throws Exception {
      Cache<String, String> cache = builder(stripes, listener).maximumSize(100).build();
      for (int i = 0; i < 100; i++) {
        cache.put("k" + i, "v");
      }
      Policy.Eviction<String, String> eviction = cache.policy().eviction().orElseThrow();
      eviction.setMaximum(10);
      assertThat(eviction.getMaximum()).isEqualTo(10);
      assertThat(cache.estimatedSize()).isEqualTo(10);
      assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(90);
      assertThat(listener.list()).hasSize(90);
      Invariants.check(cache);
      for (int i = 0; i < 50; i++) {
        cache.put("n" + i, "v");
      }
      assertThat(cache.estimatedSize()).as("held to the new bound").isEqualTo(10);
      Invariants.check(cache);
    }

    @Test
    void growing_letsTheCacheHoldMore() throws Exception {
      Cache<String, String> cache = builder().maximumSize(10).build();
      cache.policy().eviction().orElseThrow().setMaximum(100);
      for (int i = 0; i < 100; i++) {
        cache.put("k" + i, "v");
      }
      assertThat(cache.estimatedSize()).isEqualTo(100);
      assertThat(listener.list()).isEmpty();
      cache.put("one more", "v");
      assertThat(cache.estimatedSize()).isEqualTo(100);
      Invariants.check(cache);
    }

    @Test
    void zero_evictsEverything() throws Exception {
      Cache<String, String> cache = builder().maximumSize(10).build();
      cache.put("a", "1");
      cache.put("b", "2");
      cache.policy().eviction().orElseThrow().setMaximum(0);
      assertThat(cache.estimatedSize()).isZero();
      assertThat(listener.withCause(RemovalCause.SIZE)).extracting(Removal::key)
          .containsExactlyInAnyOrder("a", "b");
      cache.put("c", "3");
      assertThat(cache.getIfPresent("c")).isNull();
      Invariants.check(cache);
    }

    @Test
    void weighted_shrinksByWeight() throws Exception {
      Cache<String, String> cache = builder().maximumWeight(100)
          .weigher((String k, String v) -> v.length()).build();
      for (int i = 0; i < 10; i++) {
        cache.put("k" + i, "0123456789"); // weight 10 each
      }
      Policy.Eviction<String, String> eviction = cache.policy().eviction().orElseThrow();
      assertThat(eviction.weightedSize()).hasValue(100);
      assertThat(eviction.weightOf("k3")).hasValue(10);
      assertThat(eviction.weightOf("absent")).isEmpty();
      eviction.setMaximum(35);
      assertThat(eviction.weightedSize().getAsLong()).isLessThanOrEqualTo(35).isGreaterThan(20);
      assertThat(Invariants.totalWeight(cache)).isEqualTo(eviction.weightedSize().getAsLong());
      Invariants.check(cache);
    }

    @Test
    void unweighted_hasNoWeights() {
      Cache<String, String> cache = builder().maximumSize(10).build();
      cache.put("a", "1");
      assertThat(cache.policy().eviction().orElseThrow().weightOf("a")).isEmpty();
      assertThat(cache.policy().eviction().orElseThrow().weightedSize()).isEmpty();
    }

    @Test
    void negativeMaximum_isRejected_andChangesNothing() {
      Cache<String, String> cache = builder().maximumSize(10).build();
      Policy.Eviction<String, String> eviction = cache.policy().eviction().orElseThrow();
      assertThatThrownBy(() -> eviction.setMaximum(-1))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("maximum").hasMessageContaining("-1");
      assertThat(eviction.getMaximum()).isEqualTo(10);
    }

    @Test
    void listenerThatChangesTheBound_staysConsistent() throws Exception {
      List<String> seen = Collections.synchronizedList(new ArrayList<>());
      @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
      Cache<String, String>[] holder = new Cache[1];
      Cache<String, String> cache = builder(1, (k, v, cause) -> {
        seen.add(k);
        Policy.Eviction<String, String> eviction = holder[0].policy().eviction().orElseThrow();
        if (eviction.getMaximum() > 5) {
          eviction.setMaximum(eviction.getMaximum() - 5); // calls back in, after the unlock
        }
        eviction.hottest(3);
      }).maximumSize(20).build();
      holder[0] = cache;
      for (int i = 0; i < 40; i++) {
        cache.put("k" + i, "v");
      }
      assertThat(cache.estimatedSize()).isLessThanOrEqualTo(5);
      assertThat(seen).hasSize(40 - (int) cache.estimatedSize());
      Invariants.check(cache);
    }
  }

  static Stream<Integer> stripeCounts() {
    return Stream.of(1, 4, 64);
  }

  /* ---------------- Hottest and coldest ---------------- */

  @Nested
  final class Ranking {
    @Test
    void hottest_putsTheMostUsedFirst() {
      Cache<String, String> cache = builder().maximumSize(100).build();
      for (int i = 0; i < 10; i++) {
        cache.put("k" + i, "v" + i);
      }
      for (int i = 0; i < 3; i++) {
        cache.getIfPresent("k2");
      }
      cache.getIfPresent("k7");
      Map<String, String> hottest = cache.policy().eviction().orElseThrow().hottest(2);
      assertThat(hottest).containsExactly(Map.entry("k2", "v2"), Map.entry("k7", "v7"));
    }

    @ParameterizedTest
    @MethodSource("dev.hourglass.cache.PolicyTest#stripeCounts")
    void coldest_isTheReverseOfHottest_andLimitsArePrefixes(int stripes) {
      Cache<String, String> cache = builder(stripes, listener).maximumSize(50).build();
      for (int i = 0; i < 200; i++) { // past the bound, so both queues hold entries
        cache.put("k" + i, "v");
        for (int r = 0; r < (i % 4); r++) {
          cache.getIfPresent("k" + (i / 2));
        }
      }
      Policy.Eviction<String, String> eviction = cache.policy().eviction().orElseThrow();
      List<String> hot = new ArrayList<>(eviction.hottest(1_000).keySet());
      List<String> cold = new ArrayList<>(eviction.coldest(1_000).keySet());
      assertThat(hot).hasSize((int) cache.estimatedSize());
      Collections.reverse(cold);
      assertThat(hot).isEqualTo(cold);
      assertThat(new ArrayList<>(eviction.hottest(7).keySet())).isEqualTo(hot.subList(0, 7));
      List<String> coldestSeven = new ArrayList<>(hot.subList(hot.size() - 7, hot.size()));
      Collections.reverse(coldestSeven);
      assertThat(new ArrayList<>(eviction.coldest(7).keySet())).isEqualTo(coldestSeven);
    }

    @Test
    void newerEntries_rankHotter_onATie() {
      Cache<String, String> cache = builder().maximumSize(100).build();
      for (int i = 0; i < 5; i++) {
        cache.put("k" + i, "v");
      }
      assertThat(cache.policy().eviction().orElseThrow().coldest(5).keySet())
          .containsExactly("k0", "k1", "k2", "k3", "k4");
    }

    @Test
    void snapshots_skipExpiredEntries_andAreUnmodifiable() {
      Cache<String, String> cache = builder().maximumSize(100).expireAfterWrite(TTL).build();
      cache.put("old", "1");
      ticker.advance(TTL.dividedBy(2));
      cache.put("new", "2");
      ticker.advance(TTL.dividedBy(2));
      Map<String, String> hottest = cache.policy().eviction().orElseThrow().hottest(10);
      assertThat(hottest).containsOnlyKeys("new");
      assertThatThrownBy(() -> hottest.put("x", "y"))
          .isInstanceOf(UnsupportedOperationException.class);
      assertThat(cache.policy().eviction().orElseThrow().coldest(10)).containsOnlyKeys("new");
    }

    @Test
    void limits() {
      Cache<String, String> cache = builder().maximumSize(100).build();
      cache.put("a", "1");
      Policy.Eviction<String, String> eviction = cache.policy().eviction().orElseThrow();
      assertThat(eviction.hottest(0)).isEmpty();
      assertThat(eviction.coldest(0)).isEmpty();
      assertThatThrownBy(() -> eviction.hottest(-1)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("limit").hasMessageContaining("-1");
      assertThatThrownBy(() -> eviction.coldest(-2)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("limit").hasMessageContaining("-2");
    }

    @Test
    void keyWhoseEqualsAsksForASnapshot_failsFast_andTheCacheStaysConsistent() throws Exception {
      @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
      Cache<Object, String>[] holder = new Cache[1];
      AtomicInteger asked = new AtomicInteger();
      Object hostile = new Object() {
        @Override
        public boolean equals(Object other) {
          if (asked.incrementAndGet() == 1) {
            holder[0].policy().eviction().orElseThrow().hottest(1); // under the stripe lock
          }
          return other == this;
        }

        @Override
        public int hashCode() {
          return 42;
        }
      };
      Cache<Object, String> cache = Hourglass.newBuilder().concurrencyLevel(1).maximumSize(10)
          .executor(Runnable::run).build();
      holder[0] = cache;
      Object twin = new Object() {
        @Override
        public int hashCode() {
          return 42;
        }
      };
      cache.put(twin, "twin");
      // The locked lookup compares the new key with "twin" by the new key's equals.
      assertThatThrownBy(() -> cache.put(hostile, "v"))
          .isInstanceOf(IllegalStateException.class);
      assertThat(cache.getIfPresent(twin)).isEqualTo("twin");
      Invariants.check(cache);
    }
  }

  /* ---------------- Ages ---------------- */

  @Nested
  final class Ages {
    @ParameterizedTest
    @MethodSource("dev.hourglass.cache.PolicyTest#shapes")
    void timeToLive_ageIsTheTimeSinceTheWrite(String shape) {
      Cache<String, String> cache = shaped(shape).expireAfterWrite(TTL).build();
      Policy.FixedExpiration<String, String> write =
          cache.policy().expireAfterWrite().orElseThrow();
      cache.put("a", "1");
      assertThat(write.ageOf("a")).hasValue(Duration.ZERO);
      ticker.advance(Duration.ofMinutes(3));
      assertThat(write.ageOf("a")).hasValue(Duration.ofMinutes(3));
      cache.getIfPresent("a");
      assertThat(write.ageOf("a")).as("a read is no write").hasValue(Duration.ofMinutes(3));
      cache.put("a", "2");
      assertThat(write.ageOf("a")).hasValue(Duration.ZERO);
      assertThat(write.ageOf("absent")).isEmpty();
      ticker.advance(TTL);
      assertThat(write.ageOf("a")).as("expired").isEmpty();
    }

    @Test
    void timeToLive_inACacheThatRecordsWriteTimes_isExact() {
      Cache<String, String> cache = builder().expireAfterWrite(TTL)
          .expireAfterAccess(Duration.ofMinutes(5)).build();
      Policy<String, String> policy = cache.policy();
      cache.put("a", "1");
      for (int i = 1; i <= 2; i++) { // reads keep the idle time going
        ticker.advance(Duration.ofMinutes(2));
        assertThat(cache.getIfPresent("a")).isEqualTo("1");
        assertThat(policy.expireAfterWrite().orElseThrow().ageOf("a"))
            .hasValue(Duration.ofMinutes(2L * i));
        assertThat(policy.expireAfterAccess().orElseThrow().ageOf("a").orElseThrow())
            .isBetween(Duration.ZERO, TOLERANCE);
      }
      ticker.advance(Duration.ofMinutes(2)); // minute 6: the write's deadline (10) comes first
      assertThat(cache.getIfPresent("a")).isEqualTo("1");
      assertThat(policy.expireAfterWrite().orElseThrow().ageOf("a")).hasValue(Duration.ofMinutes(6));
      assertThat(policy.expireAfterAccess().orElseThrow().ageOf("a"))
          .as("the idle age that deadline leaves: 5 - (10 - 6)").hasValue(Duration.ofMinutes(1));
      assertThat(policy.expireVariably().orElseThrow().getExpiresAfter("a"))
          .hasValue(Duration.ofMinutes(4));
    }

    @Test
    void idleTime_ageIsTheTimeSinceTheLastUse() {
      Cache<String, String> cache = builder().expireAfterAccess(TTL).build();
      Policy.FixedExpiration<String, String> access =
          cache.policy().expireAfterAccess().orElseThrow();
      cache.put("a", "1");
      ticker.advance(Duration.ofMinutes(4));
      assertThat(access.ageOf("a").orElseThrow())
          .isBetween(Duration.ofMinutes(4).minus(TOLERANCE), Duration.ofMinutes(4));
      cache.getIfPresent("a");
      assertThat(access.ageOf("a").orElseThrow()).isBetween(Duration.ZERO, TOLERANCE);
      ticker.advance(Duration.ofMinutes(1));
      assertThat(access.ageOf("a").orElseThrow())
          .isBetween(Duration.ofMinutes(1).minus(TOLERANCE), Duration.ofMinutes(1));
    }

    @Test
    void entryWithItsOwnTimeToLive_hasNoFixedAge() {
      Cache<String, String> cache = builder().expireAfterWrite(TTL).build();
      cache.put("own", "1", Duration.ofHours(1));
      cache.put("fixed", "2");
      assertThat(cache.policy().expireAfterWrite().orElseThrow().ageOf("own")).isEmpty();
      assertThat(cache.policy().expireAfterWrite().orElseThrow().ageOf("fixed")).isPresent();
      cache.put("own", "3"); // a write under the cache's rules brings it back under them
      assertThat(cache.policy().expireAfterWrite().orElseThrow().ageOf("own"))
          .hasValue(Duration.ZERO);
    }

    @Test
    void tickerGoingBack_neverGivesANegativeAge() {
      Cache<String, String> cache = builder().expireAfterWrite(TTL)
          .expireAfterAccess(Duration.ofMinutes(5)).refreshAfterWrite(Duration.ofMinutes(1))
          .build(k -> k);
      cache.put("a", "1");
      ticker.advance(Duration.ofMinutes(-2));
      Policy<String, String> policy = cache.policy();
      assertThat(policy.expireAfterWrite().orElseThrow().ageOf("a")).hasValue(Duration.ZERO);
      assertThat(policy.expireAfterAccess().orElseThrow().ageOf("a")).hasValue(Duration.ZERO);
      assertThat(policy.refreshAfterWrite().orElseThrow().ageOf("a")).hasValue(Duration.ZERO);
      assertThat(policy.expireVariably().orElseThrow().getExpiresAfter("a").orElseThrow())
          .isGreaterThan(Duration.ofMinutes(5));
    }

    @Test
    void refresh_ageRestartsWhenARefreshLands() {
      AtomicInteger loads = new AtomicInteger();
      LoadingCache<String, String> cache = builder().refreshAfterWrite(Duration.ofMinutes(1))
          .build(k -> k + loads.incrementAndGet());
      Policy.FixedRefresh<String, String> refresh =
          cache.policy().refreshAfterWrite().orElseThrow();
      cache.get("a");
      ticker.advance(Duration.ofSeconds(90));
      assertThat(refresh.ageOf("a")).hasValue(Duration.ofSeconds(90));
      assertThat(cache.get("a")).as("old value served").isEqualTo("a1");
      assertThat(cache.getIfPresent("a")).as("the refresh landed").isEqualTo("a2");
      assertThat(refresh.ageOf("a")).hasValue(Duration.ZERO);
      assertThat(refresh.ageOf("absent")).isEmpty();
    }

    @Test
    void nullKeys_throwNpe() {
      LoadingCache<String, String> cache = builder().maximumSize(10).expireAfterWrite(TTL)
          .expireAfterAccess(TTL).refreshAfterWrite(Duration.ofMinutes(1)).build(k -> k);
      Policy<String, String> policy = cache.policy();
      List<Runnable> calls = List.of(
          () -> policy.expireAfterWrite().orElseThrow().ageOf(null),
          () -> policy.expireAfterAccess().orElseThrow().ageOf(null),
          () -> policy.refreshAfterWrite().orElseThrow().ageOf(null),
          () -> policy.expireVariably().orElseThrow().getExpiresAfter(null),
          () -> policy.expireVariably().orElseThrow().setExpiresAfter(null, TTL),
          () -> policy.eviction().orElseThrow().weightOf(null));
      for (Runnable call : calls) {
        assertThatThrownBy(call::run).isInstanceOf(NullPointerException.class)
            .hasMessageContaining("key");
      }
      assertThatThrownBy(() -> policy.expireVariably().orElseThrow().setExpiresAfter("a", null))
          .isInstanceOf(NullPointerException.class).hasMessageContaining("duration");
    }
  }

  /* ---------------- Each entry's deadline ---------------- */

  @Nested
  final class Deadlines {
    @ParameterizedTest
    @MethodSource("dev.hourglass.cache.PolicyTest#shapes")
    void timeLeft_followsTheDeadline(String shape) {
      Cache<String, String> cache = shaped(shape).expireAfterWrite(TTL).build();
      Policy.VarExpiration<String, String> var = cache.policy().expireVariably().orElseThrow();
      cache.put("a", "1");
      ticker.advance(Duration.ofMinutes(4));
      assertThat(var.getExpiresAfter("a")).hasValue(Duration.ofMinutes(6));
      assertThat(var.getExpiresAfter("absent")).isEmpty();
      ticker.advance(Duration.ofMinutes(6));
      assertThat(var.getExpiresAfter("a")).isEmpty();
    }

    @Test
    void entryThatNeverExpires_hasTheLongestTimeLeft() {
      Cache<String, String> cache = builder().build();
      cache.put("a", "1");
      assertThat(cache.policy().expireVariably().orElseThrow().getExpiresAfter("a"))
          .hasValue(Duration.ofNanos(Long.MAX_VALUE));
    }

    @ParameterizedTest
    @MethodSource("dev.hourglass.cache.PolicyTest#shapes")
    void setExpiresAfter_onACacheThatNeverExpires_expiresTheEntryThen(String shape)
        throws Exception {
      Cache<String, String> cache = shaped(shape).build();
      cache.put("a", "1");
      cache.put("b", "2");
      Policy.VarExpiration<String, String> var = cache.policy().expireVariably().orElseThrow();
      assertThat(var.setExpiresAfter("a", Duration.ofMinutes(1))).isTrue();
      assertThat(listener.list()).as("no value changed, nothing reported").isEmpty();
      assertThat(cache.getIfPresent("a")).isEqualTo("1");
      assertThat(var.getExpiresAfter("a")).hasValue(Duration.ofMinutes(1));
      Invariants.check(cache);
      ticker.advance(Duration.ofMinutes(1));
      assertThat(cache.getIfPresent("a")).isNull();
      assertThat(cache.getIfPresent("b")).isEqualTo("2");
      scheduler.runAll();
      assertThat(listener.list()).containsExactly(new Removal<>("a", "1", RemovalCause.EXPIRED));
      assertThat(cache.estimatedSize()).isEqualTo(1);
      Invariants.check(cache);
    }

    @Test
    void setExpiresAfter_overridesTheFixedDurations_untilTheNextWrite() {
      Cache<String, String> cache = builder().maximumSize(100).expireAfterAccess(TTL).build();
      Policy.VarExpiration<String, String> var = cache.policy().expireVariably().orElseThrow();
      cache.put("a", "1");
      var.setExpiresAfter("a", Duration.ofHours(2));
      ticker.advance(Duration.ofHours(1));
      assertThat(cache.getIfPresent("a")).as("idle an hour, but its own deadline holds")
          .isEqualTo("1");
      assertThat(var.getExpiresAfter("a")).as("a read does not extend it")
          .hasValue(Duration.ofHours(1));
      var.setExpiresAfter("a", Duration.ofMinutes(1));
      ticker.advance(Duration.ofMinutes(1));
      assertThat(cache.getIfPresent("a")).as("shortened").isNull();
      cache.put("b", "2");
      var.setExpiresAfter("b", Duration.ofHours(2));
      cache.put("b", "3");
      assertThat(var.getExpiresAfter("b")).as("a write follows the rules again").hasValue(TTL);
    }

    @Test
    void setExpiresAfter_keepsTheEntrysWeightAndUse() throws Exception {
      Cache<String, String> cache = builder().maximumWeight(100)
          .weigher((String k, String v) -> v.length()).build();
      cache.put("a", "12345");
      cache.put("b", "1");
      for (int i = 0; i < 3; i++) {
        cache.getIfPresent("a");
      }
      cache.policy().expireVariably().orElseThrow().setExpiresAfter("a", TTL);
      assertThat(cache.policy().eviction().orElseThrow().weightOf("a")).hasValue(5);
      assertThat(cache.policy().eviction().orElseThrow().hottest(1)).containsOnlyKeys("a");
      assertThat(Invariants.totalWeight(cache)).isEqualTo(6);
      Invariants.check(cache);
    }

    @Test
    void zeroDuration_expiresAtOnce() throws Exception {
      Cache<String, String> cache = builder().maximumSize(10).build();
      cache.put("a", "1");
      assertThat(cache.policy().expireVariably().orElseThrow().setExpiresAfter("a", Duration.ZERO))
          .isTrue();
      assertThat(cache.getIfPresent("a")).isNull();
      assertThat(listener.list()).containsExactly(new Removal<>("a", "1", RemovalCause.EXPIRED));
      assertThat(cache.estimatedSize()).isZero();
      Invariants.check(cache);
    }

    @Test
    void absentOrExpiredKey_isLeftAlone() {
      Cache<String, String> cache = builder().expireAfterWrite(TTL).build();
      Policy.VarExpiration<String, String> var = cache.policy().expireVariably().orElseThrow();
      assertThat(var.setExpiresAfter("absent", TTL)).isFalse();
      assertThat(cache.getIfPresent("absent")).isNull();
      cache.put("a", "1");
      ticker.advance(TTL);
      assertThat(var.setExpiresAfter("a", Duration.ofHours(1))).as("expired: not revived")
          .isFalse();
      assertThat(cache.getIfPresent("a")).isNull();
    }

    @Test
    void badDuration_isRejected_andChangesNothing() {
      Cache<String, String> cache = builder().expireAfterWrite(TTL).build();
      cache.put("a", "1");
      Policy.VarExpiration<String, String> var = cache.policy().expireVariably().orElseThrow();
      assertThatThrownBy(() -> var.setExpiresAfter("a", Duration.ofSeconds(-1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("duration").hasMessageContaining("PT-1S");
      assertThat(var.getExpiresAfter("a")).hasValue(TTL);
    }

    @Test
    void hugeDuration_isCapped_andNeverOverflows() {
      Cache<String, String> cache = builder().expireAfterWrite(TTL).build();
      cache.put("a", "1");
      Policy.VarExpiration<String, String> var = cache.policy().expireVariably().orElseThrow();
      var.setExpiresAfter("a", Duration.ofSeconds(Long.MAX_VALUE));
      ticker.advance(Duration.ofDays(365 * 100));
      assertThat(cache.getIfPresent("a")).isEqualTo("1");
      assertThat(var.getExpiresAfter("a").orElseThrow()).isPositive();
    }

    @Test
    void fromTheComputeOfTheSameKey_failsFast() {
      Cache<String, String> cache = builder().build();
      cache.put("a", "1");
      Policy.VarExpiration<String, String> var = cache.policy().expireVariably().orElseThrow();
      assertThatThrownBy(() -> cache.asMap().compute("a", (k, v) -> {
        var.setExpiresAfter("a", TTL);
        return "2";
      })).isInstanceOf(IllegalStateException.class);
      assertThat(cache.getIfPresent("a")).isEqualTo("1");
      cache.asMap().compute("a", (k, v) -> {
        var.setExpiresAfter("other", TTL); // another key: fine
        return "2";
      });
      assertThat(cache.getIfPresent("a")).isEqualTo("2");
    }

    @Test
    void whileALoadRuns_waitsForIt_thenRetimesTheLoadedValue() throws Exception {
      CompletableFuture<Void> loading = new CompletableFuture<>();
      CompletableFuture<Void> release = new CompletableFuture<>();
      Cache<String, String> cache = Hourglass.newBuilder().concurrencyLevel(1).build();
      Thread loader = new Thread(() -> cache.get("a", k -> {
        loading.complete(null);
        release.join();
        return "loaded";
      }));
      loader.start();
      loading.join();
      CompletableFuture<Boolean> retimed = CompletableFuture.supplyAsync(() ->
          cache.policy().expireVariably().orElseThrow().setExpiresAfter("a", TTL));
      release.complete(null);
      assertThat(retimed.get()).isTrue();
      loader.join();
      assertThat(cache.policy().expireVariably().orElseThrow().getExpiresAfter("a").orElseThrow())
          .isLessThanOrEqualTo(TTL).isPositive();
    }

    @Test
    void listenerThatRetimesOtherKeys_staysConsistent() throws Exception {
      @SuppressWarnings({"unchecked", "rawtypes"}) // a generic array for a lambda to fill
      Cache<String, String>[] holder = new Cache[1];
      Cache<String, String> cache = builder(1, (k, v, cause) -> {
        for (int i = 0; i < 10; i++) {
          holder[0].policy().expireVariably().orElseThrow()
              .setExpiresAfter("k" + i, Duration.ofMinutes(i + 1));
        }
      }).maximumSize(5).build();
      holder[0] = cache;
      for (int i = 0; i < 20; i++) {
        cache.put("k" + i, "v");
      }
      Invariants.check(cache);
      ticker.advance(Duration.ofHours(1));
      cache.cleanUp();
      Invariants.check(cache);
      for (int i = 0; i < 10; i++) {
        assertThat(cache.getIfPresent("k" + i)).as("retimed to expire within 10 minutes").isNull();
      }
    }
  }

  @Test
  void weightOf_isTheWeigherAnswer_forEveryLiveEntry() {
    Cache<String, String> cache = builder().maximumWeight(1_000)
        .weigher((String k, String v) -> v.length()).build();
    cache.put("a", "xyz");
    cache.put("b", "");
    assertThat(cache.policy().eviction().orElseThrow().weightOf("a")).isEqualTo(OptionalLong.of(3));
    assertThat(cache.policy().eviction().orElseThrow().weightOf("b")).isEqualTo(OptionalLong.of(0));
  }
}
