package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.RecordingListener.Removal;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Behaviour every cache shape shares, over the whole configuration matrix. */
final class CacheBehaviourTest {

  static java.util.stream.Stream<CacheContext> contexts() {
    return CacheContext.all();
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void getIfPresent_absentAndPresent(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    assertThat(cache.getIfPresent(1)).isNull();
    cache.put(1, 10);
    assertThat(cache.getIfPresent(1)).isEqualTo(10);
    if (context.stats) {
      assertThat(cache.stats().hitCount()).isEqualTo(1);
      assertThat(cache.stats().missCount()).isEqualTo(1);
      assertThat(cache.stats().hitRate()).isEqualTo(0.5);
    } else {
      assertThat(cache.stats()).isEqualTo(CacheStats.empty());
    }
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void put_replacesAndNotifies(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.put(1, 10);
    cache.put(1, 11);
    assertThat(cache.getIfPresent(1)).isEqualTo(11);
    assertThat(cache.estimatedSize()).isEqualTo(1);
    if (context.listen) {
      assertThat(context.listener.list()).containsExactly(new Removal<>(1, 10, RemovalCause.REPLACED));
    }
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void put_sameInstance_notReportedAsReplaced(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    Integer value = 1_000_000;
    cache.put(1, value);
    cache.put(1, value);
    assertThat(context.listener.list()).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void get_computesOnceAndStores(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    AtomicInteger calls = new AtomicInteger();
    assertThat(cache.get(2, k -> { calls.incrementAndGet(); return k * 10; })).isEqualTo(20);
    assertThat(cache.get(2, k -> { calls.incrementAndGet(); return -1; })).isEqualTo(20);
    assertThat(calls).hasValue(1);
    assertThat(cache.getIfPresent(2)).isEqualTo(20);
    if (context.stats) {
      CacheStats stats = cache.stats();
      assertThat(stats.missCount()).isEqualTo(1);
      assertThat(stats.hitCount()).isEqualTo(2);
      assertThat(stats.loadSuccessCount()).isEqualTo(1);
      assertThat(stats.loadFailureCount()).isZero();
    }
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void get_nullResult_storesNothing(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    assertThat(cache.get(3, k -> null)).isNull();
    assertThat(cache.getIfPresent(3)).isNull();
    assertThat(cache.estimatedSize()).isZero();
    if (context.stats) {
      assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void get_throwing_storesNothingAndCounts(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    IllegalStateException failure = new IllegalStateException("boom");
    assertThatThrownBy(() -> cache.get(4, k -> { throw failure; })).isSameAs(failure);
    assertThat(cache.getIfPresent(4)).isNull();
    assertThat(cache.get(4, k -> 40)).isEqualTo(40);
    if (context.stats) {
      assertThat(cache.stats().loadFailureCount()).isEqualTo(1);
      assertThat(cache.stats().loadSuccessCount()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void getAll_loadsAbsentInOneCall(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.put(1, 10);
    AtomicInteger calls = new AtomicInteger();
    Map<Integer, Integer> result = cache.getAll(List.of(1, 2, 3, 2), keys -> {
      calls.incrementAndGet();
      assertThat(List.<Integer>copyOf(keys)).containsExactlyInAnyOrder(2, 3);
      return Map.of(2, 20, 3, 30, 99, 990);
    });
    assertThat(calls).hasValue(1);
    assertThat(result).containsExactly(Map.entry(1, 10), Map.entry(2, 20), Map.entry(3, 30));
    assertThat(cache.getIfPresent(99)).as("extra entries are stored").isEqualTo(990);
    assertThatThrownBy(() -> result.put(5, 5)).isInstanceOf(UnsupportedOperationException.class);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void getAll_missingKeysAbsent_failureStoresNothing(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    assertThat(cache.getAll(List.of(1, 2), keys -> Map.of(1, 10))).containsExactly(Map.entry(1, 10));
    assertThat(cache.getIfPresent(2)).isNull();
    RuntimeException failure = new RuntimeException("bulk");
    assertThatThrownBy(() -> cache.getAll(List.of(5, 6), keys -> { throw failure; })).isSameAs(failure);
    assertThat(cache.getAllPresent(List.of(5, 6))).isEmpty();
    assertThat(cache.getAll(List.of(7), keys -> Map.of(7, 7, 8, 8))).containsOnlyKeys(7);
    assertThat(cache.getIfPresent(8)).isEqualTo(8);
    assertThatThrownBy(() -> cache.getAll(List.of(9), keys -> null))
        .isInstanceOf(NullPointerException.class);
    assertThat(cache.getIfPresent(9)).isNull();
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void getAllPresent_returnsOnlyPresent(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.putAll(Map.of(1, 10, 2, 20));
    assertThat(cache.getAllPresent(List.of(1, 2, 3)))
        .containsExactly(Map.entry(1, 10), Map.entry(2, 20));
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void invalidate_removesAndNotifiesExplicit(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.putAll(Map.of(1, 10, 2, 20, 3, 30, 4, 40));
    cache.invalidate(1);
    cache.invalidate(100);
    cache.invalidateAll(List.of(2, 3));
    assertThat(cache.asMap()).containsExactly(Map.entry(4, 40));
    cache.invalidateAll();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(cache.asMap()).isEmpty();
    if (context.listen) {
      assertThat(context.listener.list()).extracting(Removal::cause).containsOnly(RemovalCause.EXPLICIT);
      assertThat(context.listener.list()).extracting(Removal::key).containsExactlyInAnyOrder(1, 2, 3, 4);
    }
    cache.put(5, 50);
    assertThat(cache.getIfPresent(5)).as("usable after invalidateAll").isEqualTo(50);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void invalidateAll_nullKey_removesNothing(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.put(1, 10);
    assertThatThrownBy(() -> cache.invalidateAll(Arrays.asList(1, null)))
        .isInstanceOf(NullPointerException.class).hasMessage("key");
    assertThat(cache.getIfPresent(1)).isEqualTo(10);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void putAll_nullValue_storesNothing(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    Map<Integer, Integer> map = new java.util.LinkedHashMap<>();
    map.put(1, 10);
    map.put(2, null);
    assertThatThrownBy(() -> cache.putAll(map)).isInstanceOf(NullPointerException.class).hasMessage("value");
    assertThat(cache.estimatedSize()).isZero();
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void nullArguments_throwNamingTheParameter(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    assertThatThrownBy(() -> cache.getIfPresent(null)).isInstanceOf(NullPointerException.class).hasMessage("key");
    assertThatThrownBy(() -> cache.get(null, k -> 1)).hasMessage("key");
    assertThatThrownBy(() -> cache.get(1, null)).hasMessage("mappingFunction");
    assertThatThrownBy(() -> cache.put(null, 1)).hasMessage("key");
    assertThatThrownBy(() -> cache.put(1, null)).hasMessage("value");
    assertThatThrownBy(() -> cache.put(1, 1, null)).hasMessage("ttl");
    assertThatThrownBy(() -> cache.putAll(null)).hasMessage("map");
    assertThatThrownBy(() -> cache.invalidate(null)).hasMessage("key");
    assertThatThrownBy(() -> cache.invalidateAll(null)).hasMessage("keys");
    assertThatThrownBy(() -> cache.getAll(null, k -> Map.of())).hasMessage("keys");
    assertThatThrownBy(() -> cache.getAll(List.of(1), null)).hasMessage("mappingFunction");
    assertThatThrownBy(() -> cache.getAllPresent(null)).hasMessage("keys");
    assertThatThrownBy(() -> cache.asMap().put(null, 1)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> cache.asMap().get(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> cache.asMap().compute(1, null)).hasMessage("remappingFunction");
    assertThatThrownBy(() -> cache.asMap().merge(1, null, (a, b) -> a)).hasMessage("value");
    assertThat(cache.estimatedSize()).isZero();
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void putWithTtl_negative_rejectedAndNothingChanges(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.put(1, 10);
    assertThatThrownBy(() -> cache.put(1, 11, Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("ttl must not be negative: PT-1S");
    assertThat(cache.getIfPresent(1)).isEqualTo(10);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void putWithTtl_expiresThatEntryOnly(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.put(1, 10, Duration.ofSeconds(5));
    cache.put(2, 20);
    context.ticker.advance(Duration.ofSeconds(4));
    assertThat(cache.getIfPresent(1)).isEqualTo(10);
    context.ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.getIfPresent(1)).isNull();
    assertThat(cache.asMap().containsKey(1)).isFalse();
    assertThat(cache.getIfPresent(2)).isEqualTo(20);
    context.ticker.advance(Duration.ofSeconds(1));
    context.scheduler.runAll();
    assertThat(cache.estimatedSize()).isEqualTo(1);
    if (context.listen) {
      assertThat(context.listener.list()).containsExactly(new Removal<>(1, 10, RemovalCause.EXPIRED));
    }
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void expiration_entriesVanishEverywhere(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    for (int i = 0; i < 100; i++) {
      cache.put(i, i);
    }
    context.ticker.advance(CacheContext.TTL.minusNanos(1));
    assertThat(cache.asMap()).hasSize(100);
    context.ticker.advance(Duration.ofNanos(1));
    if (!context.expires()) {
      assertThat(cache.asMap()).hasSize(100);
      return;
    }
    assertThat(cache.getIfPresent(5)).isNull();
    assertThat(cache.asMap().get(6)).isNull();
    assertThat(cache.asMap().containsKey(7)).isFalse();
    assertThat(cache.asMap().containsValue(8)).isFalse();
    assertThat(cache.asMap().keySet()).isEmpty();
    assertThat(cache.asMap().entrySet().iterator().hasNext()).isFalse();
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.getAllPresent(List.of(1, 2))).isEmpty();
    assertThat(cache.get(9, k -> -9)).isEqualTo(-9);
    // Memory is reclaimed within about a second (the timer wheel's level-0 buckets span 0.27 s).
    context.ticker.advance(Duration.ofSeconds(1));
    context.scheduler.runAll();
    assertThat(cache.estimatedSize()).isEqualTo(1);
    if (context.listen) {
      assertThat(context.listener.withCause(RemovalCause.EXPIRED)).hasSize(100);
    }
    if (context.stats) {
      assertThat(cache.stats().evictionCount()).isEqualTo(100);
    }
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void cleanUp_isHarmless(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    cache.put(1, 1);
    cache.cleanUp();
    assertThat(cache.getIfPresent(1)).isEqualTo(1);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void asMap_isAConcurrentMapView(CacheContext context) {
    Cache<Integer, Integer> cache = context.build();
    Map<Integer, Integer> map = cache.asMap();
    assertThat(map.put(1, 10)).isNull();
    assertThat(map.put(1, 11)).isEqualTo(10);
    assertThat(cache.asMap().putIfAbsent(1, 12)).isEqualTo(11);
    assertThat(cache.asMap().putIfAbsent(2, 20)).isNull();
    assertThat(map).isEqualTo(Map.of(1, 11, 2, 20));
    assertThat(map.hashCode()).isEqualTo(Map.of(1, 11, 2, 20).hashCode());
    assertThat(map.toString()).contains("1=11").contains("2=20");
    assertThat(map.keySet()).isEqualTo(Set.of(1, 2));
    assertThat(map.values()).containsExactlyInAnyOrder(11, 20);
  }

  @ParameterizedTest
  @MethodSource("contexts")
  void loadingCache_getAndGetAll(CacheContext context) {
    AtomicInteger loads = new AtomicInteger();
    LoadingCache<Integer, Integer> cache = context.build(key -> {
      loads.incrementAndGet();
      return key * 100;
    });
    assertThat(cache.get(1)).isEqualTo(100);
    assertThat(cache.get(1)).isEqualTo(100);
    assertThat(cache.getAll(List.of(1, 2, 3))).containsExactly(
        Map.entry(1, 100), Map.entry(2, 200), Map.entry(3, 300));
    assertThat(loads).hasValue(3);
  }
}
