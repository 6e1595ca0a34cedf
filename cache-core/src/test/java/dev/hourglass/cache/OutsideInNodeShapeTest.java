package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Outside-in tests of per-shape node classes: an untimed entry given its own time to live by
 * {@code put(key, value, ttl)} in a cache without configured expiry. Public API only.
 */
class OutsideInNodeShapeTest {

  /* ---------------- keys ---------------- */

  /** Comparable, all on one hash: forms a tree bin at 8+ in one stripe. */
  record TreeKey(int id) implements Comparable<TreeKey> {
    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public int compareTo(TreeKey o) {
      return Integer.compare(id, o.id);
    }
  }

  /** Not comparable, all on one hash: stays a chain. */
  record ChainKey(int id) {
    @Override
    public int hashCode() {
      return 42;
    }
  }

  /** Comparable, one hash, but compareTo always ties: lands in a tree bin's unordered part. */
  record TieKey(int id) implements Comparable<TieKey> {
    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public int compareTo(TieKey o) {
      return 0;
    }
  }

  static Object key(String kind, int i) {
    switch (kind) {
      case "int":
        return i;
      case "chain":
        return new ChainKey(i);
      case "tree":
        return new TreeKey(i);
      case "tie":
        return new TieKey(i);
      default:
        throw new AssertionError(kind);
    }
  }

  static final String[] SHAPES = {"unbounded", "size", "weight"};
  static final String[] KINDS = {"int", "chain", "tree", "tie"};

  static List<Arguments> shapesAndKinds() {
    List<Arguments> args = new ArrayList<>();
    for (String s : SHAPES) {
      for (String k : KINDS) {
        args.add(Arguments.of(s, k));
      }
    }
    return args;
  }

  static Cache<Object, String> build(String shape, FakeTicker ticker,
      RecordingListener<Object, String> listener, long bound) {
    CacheBuilder<Object, Object> b = Hourglass.newBuilder()
        .concurrencyLevel(1)
        .ticker(ticker)
        .executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler());
    switch (shape) {
      case "unbounded":
        break;
      case "size":
        b.maximumSize(bound);
        break;
      case "weight":
        b.maximumWeight(bound);
        break;
      default:
        throw new AssertionError(shape);
    }
    if (shape.equals("weight")) {
      CacheBuilder<Object, String> w = b.weigher((Object k, String v) -> v.length());
      return w.removalListener(listener).build();
    }
    CacheBuilder<Object, String> typed = b.removalListener(listener);
    return typed.build();
  }

  static Cache<Object, String> build(String shape, FakeTicker ticker,
      RecordingListener<Object, String> listener) {
    return build(shape, ticker, listener, 10_000);
  }

  /* ---------------- expiry at the TTL, notifications ---------------- */

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void ttlOnExistingEntry_replacedOnce_expiresExactlyAtTtl(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    int n = 12;
    for (int i = 0; i < n; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    for (int i = 0; i < n; i += 2) {
      cache.put(key(kind, i), "w" + i, Duration.ofSeconds(10 + i));
    }
    assertThat(listener.list()).hasSize(n / 2);
    for (int i = 0; i < n; i += 2) {
      assertThat(listener.list()).containsOnlyOnce(
          new RecordingListener.Removal<>(key(kind, i), "v" + i, RemovalCause.REPLACED));
    }
    for (int i = 0; i < n; i++) {
      assertThat(cache.getIfPresent(key(kind, i))).isEqualTo(((i % 2 == 0) ? "w" : "v") + i);
    }
    assertThat(cache.estimatedSize()).isEqualTo(n);
    assertThat(cache.asMap().keySet()).hasSize(n);

    for (int s = 10; s < 10 + n; s++) {
      ticker.set(Duration.ofSeconds(s).toNanos() - 1);
      for (int i = 0; i < n; i++) {
        boolean gone = (i % 2 == 0) && (10 + i <= s - 1);
        assertThat(cache.getIfPresent(key(kind, i))).as("key %d at %ds-1ns", i, s)
            .isEqualTo(gone ? null : (((i % 2 == 0) ? "w" : "v") + i));
      }
      ticker.set(Duration.ofSeconds(s).toNanos());
      for (int i = 0; i < n; i++) {
        boolean gone = (i % 2 == 0) && (10 + i <= s);
        assertThat(cache.getIfPresent(key(kind, i))).as("key %d at %ds", i, s)
            .isEqualTo(gone ? null : (((i % 2 == 0) ? "w" : "v") + i));
        assertThat(cache.asMap().containsKey(key(kind, i))).isEqualTo(!gone);
      }
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(n / 2);
    Set<Object> odd = new HashSet<>();
    for (int i = 1; i < n; i += 2) {
      odd.add(key(kind, i));
    }
    assertThat(new HashSet<>(cache.asMap().keySet())).isEqualTo(odd);
    assertThat(listener.withCause(RemovalCause.EXPIRED)).hasSize(n / 2);
    for (int i = 0; i < n; i += 2) {
      assertThat(listener.list()).containsOnlyOnce(
          new RecordingListener.Removal<>(key(kind, i), "w" + i, RemovalCause.EXPIRED));
    }
    assertThat(listener.list()).hasSize(n);
  }

  /* ---------------- a later write ends the TTL ---------------- */

  static List<Arguments> laterWrites() {
    List<Arguments> args = new ArrayList<>();
    for (String s : SHAPES) {
      for (String k : new String[] {"int", "tree"}) {
        for (String w : new String[] {"put", "mapPut", "putAll", "compute", "merge", "replace",
            "replace3", "computeIfPresent"}) {
          args.add(Arguments.of(s, k, w));
        }
      }
    }
    return args;
  }

  @ParameterizedTest
  @MethodSource("laterWrites")
  void laterWriteWithoutTtl_makesTheEntryNeverExpire(String shape, String kind, String write) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    Object k = key(kind, 3);
    cache.put(k, "w", Duration.ofSeconds(10));
    ticker.advance(Duration.ofSeconds(5));
    ConcurrentMap<Object, String> map = cache.asMap();
    switch (write) {
      case "put":
        cache.put(k, "x");
        break;
      case "mapPut":
        assertThat(map.put(k, "x")).isEqualTo("w");
        break;
      case "putAll":
        cache.putAll(Map.of(k, "x"));
        break;
      case "compute":
        assertThat(map.compute(k, (kk, v) -> "x")).isEqualTo("x");
        break;
      case "merge":
        assertThat(map.merge(k, "x", (a, b) -> b)).isEqualTo("x");
        break;
      case "replace":
        assertThat(map.replace(k, "x")).isEqualTo("w");
        break;
      case "replace3":
        assertThat(map.replace(k, "w", "x")).isTrue();
        break;
      case "computeIfPresent":
        assertThat(map.computeIfPresent(k, (kk, v) -> "x")).isEqualTo("x");
        break;
      default:
        throw new AssertionError(write);
    }
    ticker.advance(Duration.ofDays(10_000));
    cache.cleanUp();
    assertThat(cache.getIfPresent(k)).isEqualTo("x");
    assertThat(cache.estimatedSize()).isEqualTo(10);
    assertThat(listener.withCause(RemovalCause.REPLACED)).extracting(r -> r.value())
        .containsExactly("v3", "w");
    assertThat(listener.withCause(RemovalCause.EXPIRED)).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void expiredTtlEntry_thenPlainPut_isACreate(String shape, String kind) {
    FakeTicker ticker = new FakeTicker(Duration.ofSeconds(100).toNanos());
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    Object k = key(kind, 4);
    cache.put(k, "w", Duration.ofSeconds(1));
    ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.asMap().put(k, "x")).isNull();
    assertThat(cache.getIfPresent(k)).isEqualTo("x");
    assertThat(listener.list()).containsExactly(
        new RecordingListener.Removal<>(k, "v4", RemovalCause.REPLACED),
        new RecordingListener.Removal<>(k, "w", RemovalCause.EXPIRED));
    ticker.advance(Duration.ofDays(1000));
    assertThat(cache.getIfPresent(k)).isEqualTo("x");
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(10);
  }

  /* ---------------- zero TTL, huge TTL, ticker going backwards ---------------- */

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void zeroTtlOnExistingEntry_removesIt_andAccountingStaysExact(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener, 10);
    for (int i = 0; i < 5; i++) {
      cache.put(key(kind, i), "v"); // weight 1 each
    }
    Object k = key(kind, 2);
    cache.put(k, "w", Duration.ZERO);
    assertThat(cache.getIfPresent(k)).isNull();
    assertThat(cache.asMap()).doesNotContainKey(k).hasSize(4);
    assertThat(listener.list()).containsExactly(
        new RecordingListener.Removal<>(k, "v", RemovalCause.REPLACED),
        new RecordingListener.Removal<>(k, "w", RemovalCause.EXPIRED));
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(4);
    // Fill exactly to the bound: nothing may be evicted.
    for (int i = 100; i < 106; i++) {
      cache.put(key(kind, i), "v");
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(10);
    assertThat(listener.withCause(RemovalCause.SIZE)).isEmpty();
    assertThat(cache.asMap()).hasSize(10);
  }

  @ParameterizedTest
  @ValueSource(strings = {"unbounded", "size", "weight"})
  void hugeTtlOnExistingEntry_atAHugeTickerReading_neverExpiresEarly(String shape) {
    FakeTicker ticker = new FakeTicker(Long.MAX_VALUE - 1_000);
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    cache.put(1, "v");
    cache.put(1, "w", Duration.ofSeconds(Long.MAX_VALUE));
    ticker.advanceNanos(2_000); // wraps around past Long.MAX_VALUE
    assertThat(cache.getIfPresent(1)).isEqualTo("w");
    ticker.advance(Duration.ofDays(365));
    cache.cleanUp();
    assertThat(cache.getIfPresent(1)).isEqualTo("w");
    assertThat(cache.estimatedSize()).isEqualTo(1);
  }

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void tickerGoingBackwards_copiedEntryStillExpiresAtItsDeadline(String shape, String kind) {
    FakeTicker ticker = new FakeTicker(Duration.ofSeconds(1000).toNanos());
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    Object k = key(kind, 7);
    cache.put(k, "w", Duration.ofSeconds(10)); // deadline 1010 s
    ticker.set(Duration.ofSeconds(500).toNanos());
    assertThat(cache.getIfPresent(k)).isEqualTo("w");
    cache.put(key(kind, 8), "w8", Duration.ofSeconds(10)); // deadline 510 s
    ticker.set(Duration.ofSeconds(1010).toNanos() - 1);
    assertThat(cache.getIfPresent(k)).isEqualTo("w");
    assertThat(cache.getIfPresent(key(kind, 8))).isNull();
    ticker.set(Duration.ofSeconds(1010).toNanos());
    assertThat(cache.getIfPresent(k)).isNull();
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(8);
    assertThat(listener.withCause(RemovalCause.EXPIRED)).hasSize(2);
  }

  @Test
  void expireAfterAccess_ownTtl_isNotExtendedByReads() {
    FakeTicker ticker = new FakeTicker();
    Cache<Integer, String> cache = Hourglass.newBuilder()
        .expireAfterAccess(Duration.ofMinutes(10))
        .ticker(ticker).executor(Runnable::run).scheduler(Scheduler.disabledScheduler())
        .build();
    cache.put(1, "v", Duration.ofSeconds(1));
    ticker.advance(Duration.ofMillis(900));
    assertThat(cache.getIfPresent(1)).isEqualTo("v");
    ticker.advance(Duration.ofMillis(100));
    assertThat(cache.getIfPresent(1)).isNull();
  }

  /* ---------------- accounting and the bound ---------------- */

  static List<Arguments> boundedShapesAndKinds() {
    List<Arguments> args = new ArrayList<>();
    for (String s : new String[] {"size", "weight"}) {
      for (String k : KINDS) {
        args.add(Arguments.of(s, k));
      }
    }
    return args;
  }

  @ParameterizedTest
  @MethodSource("boundedShapesAndKinds")
  void sizeAccounting_afterCopies_exactAndBoundHolds(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    int bound = 9;
    Cache<Object, String> cache = build(shape, ticker, listener, bound);
    for (int i = 0; i < bound; i++) {
      cache.put(key(kind, i), "v");
    }
    for (int i = 0; i < bound; i++) {
      cache.put(key(kind, i), "w", Duration.ofDays(1));
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(bound);
    assertThat(listener.withCause(RemovalCause.SIZE)).isEmpty();
    cache.invalidateAll();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(listener.withCause(RemovalCause.EXPLICIT)).hasSize(bound);
    // The accounting must be back at zero: a full load fits exactly.
    for (int i = 100; i < 100 + bound; i++) {
      cache.put(key(kind, i), "v");
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(bound);
    assertThat(listener.withCause(RemovalCause.SIZE)).isEmpty();
    // Copies again, then overflow: the bound holds, each key is seen once.
    for (int i = 100; i < 100 + bound; i++) {
      cache.put(key(kind, i), "w", Duration.ofDays(1));
    }
    for (int i = 200; i < 240; i++) {
      cache.put(key(kind, i), "v");
      if (i % 3 == 0) {
        cache.put(key(kind, i), "w", Duration.ofDays(1));
      }
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isLessThanOrEqualTo(bound);
    List<Object> keys = new ArrayList<>(cache.asMap().keySet());
    assertThat(keys).doesNotHaveDuplicates();
    assertThat((long) keys.size()).isEqualTo(cache.estimatedSize());
    int inserted = bound + 40;
    assertThat(listener.withCause(RemovalCause.SIZE).size() + keys.size()).isEqualTo(inserted);
    for (Object k : keys) {
      assertThat(cache.getIfPresent(k)).isNotNull();
    }
    // Expire all the timed ones; then invalidateAll; the accounting returns to zero.
    ticker.advance(Duration.ofDays(2));
    cache.cleanUp();
    cache.invalidateAll();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(cache.asMap()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"int", "chain", "tree", "tie"})
  void weightAccounting_copyWithNewWeight_isExact(String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build("weight", ticker, listener, 100);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "x".repeat(5)); // 50 in all
    }
    cache.put(key(kind, 0), "y".repeat(30), Duration.ofDays(1)); // 75
    cache.put(key(kind, 1), "y".repeat(30), Duration.ofDays(1)); // 100
    cache.cleanUp();
    assertThat(listener.withCause(RemovalCause.SIZE)).isEmpty();
    assertThat(cache.estimatedSize()).isEqualTo(10);
    // The TTL entries expire: their 60 must leave the total.
    ticker.advance(Duration.ofDays(1));
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(8);
    cache.put(key(kind, 50), "z".repeat(60)); // 40 + 60 = 100: fits
    cache.cleanUp();
    assertThat(listener.withCause(RemovalCause.SIZE)).isEmpty();
    assertThat(cache.estimatedSize()).isEqualTo(9);
    cache.invalidateAll();
    cache.put(key(kind, 60), "z".repeat(100)); // exactly the bound: fits
    cache.cleanUp();
    assertThat(listener.withCause(RemovalCause.SIZE)).isEmpty();
    assertThat(cache.getIfPresent(key(kind, 60))).hasSize(100);
  }

  @ParameterizedTest
  @ValueSource(strings = {"int", "chain", "tree", "tie"})
  void weightOverflowByCopy_evictsBackToTheBound(String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build("weight", ticker, listener, 100);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "x".repeat(10)); // 100 in all
    }
    cache.put(key(kind, 4), "y".repeat(35), Duration.ofDays(1)); // 125
    cache.cleanUp();
    int total = 0;
    for (String v : cache.asMap().values()) {
      total += v.length();
    }
    assertThat(total).isLessThanOrEqualTo(100);
    int evictedWeight = 0;
    for (var r : listener.withCause(RemovalCause.SIZE)) {
      evictedWeight += r.value().length();
    }
    assertThat(total + evictedWeight).isEqualTo(125);
  }

  /** The copy keeps its place and counters: the same history evicts the same keys. */
  @ParameterizedTest
  @ValueSource(strings = {"size", "weight"})
  void copyKeepsPolicyPlace_sameEvictionsAsWithoutTtl(String shape) {
    List<List<Object>> runs = new ArrayList<>();
    for (boolean withTtl : new boolean[] {false, true}) {
      FakeTicker ticker = new FakeTicker();
      RecordingListener<Object, String> listener = new RecordingListener<>();
      Cache<Object, String> cache = build(shape, ticker, listener, 20);
      Map<Integer, String> values = new HashMap<>();
      for (int i = 0; i < 20; i++) {
        values.put(i, "v");
        cache.put(i, values.get(i));
      }
      for (int r = 0; r < 5; r++) {
        for (int i = 0; i < 20; i += (1 + r)) {
          cache.getIfPresent(i);
        }
      }
      for (int i = 0; i < 20; i++) {
        if (withTtl) {
          cache.put(i, values.get(i), Duration.ofDays(10_000));
        } else {
          cache.put(i, values.get(i));
        }
      }
      for (int i = 20; i < 80; i++) {
        cache.put(i, "v");
        cache.getIfPresent(i % 7);
      }
      cache.cleanUp();
      List<Object> evicted = new ArrayList<>();
      for (var r : listener.list()) {
        evicted.add(r.key() + ":" + r.cause());
      }
      runs.add(evicted);
    }
    assertThat(runs.get(1)).isEqualTo(runs.get(0));
  }

  /* ---------------- operations on the copied entry ---------------- */

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void operationsOnCopiedEntry_behaveAsOnAnyEntry(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    ConcurrentMap<Object, String> map = cache.asMap();
    for (int i = 0; i < 12; i++) {
      cache.put(key(kind, i), "v" + i);
      cache.put(key(kind, i), "w" + i, Duration.ofSeconds(100));
    }
    listener.removals.clear();
    cache.invalidate(key(kind, 0));
    assertThat(map.remove(key(kind, 1), "w1")).isTrue();
    assertThat(map.remove(key(kind, 2), "nope")).isFalse();
    assertThat(map.compute(key(kind, 3), (k, v) -> null)).isNull();
    assertThat(map.merge(key(kind, 4), "m", (a, b) -> a + b)).isEqualTo("w4m");
    assertThat(map.replace(key(kind, 5), "r")).isEqualTo("w5");
    assertThat(map.putIfAbsent(key(kind, 6), "p")).isEqualTo("w6");
    assertThat(cache.get(key(kind, 7), k -> "loaded")).isEqualTo("w7");
    assertThat(map.remove(key(kind, 8))).isEqualTo("w8");
    cache.invalidateAll(List.of(key(kind, 9)));
    assertThat(map.computeIfAbsent(key(kind, 10), k -> "c")).isEqualTo("w10");
    assertThat(cache.getAllPresent(List.of(key(kind, 11), key(kind, 0))))
        .containsExactly(Map.entry(key(kind, 11), "w11"));

    assertThat(listener.list()).containsExactlyInAnyOrder(
        new RecordingListener.Removal<>(key(kind, 0), "w0", RemovalCause.EXPLICIT),
        new RecordingListener.Removal<>(key(kind, 1), "w1", RemovalCause.EXPLICIT),
        new RecordingListener.Removal<>(key(kind, 3), "w3", RemovalCause.EXPLICIT),
        new RecordingListener.Removal<>(key(kind, 4), "w4", RemovalCause.REPLACED),
        new RecordingListener.Removal<>(key(kind, 5), "w5", RemovalCause.REPLACED),
        new RecordingListener.Removal<>(key(kind, 8), "w8", RemovalCause.EXPLICIT),
        new RecordingListener.Removal<>(key(kind, 9), "w9", RemovalCause.EXPLICIT));
    Set<Object> expected = Set.of(key(kind, 2), key(kind, 4), key(kind, 5), key(kind, 6),
        key(kind, 7), key(kind, 10), key(kind, 11));
    assertThat(new HashSet<>(map.keySet())).isEqualTo(expected);
    assertThat(map.keySet()).hasSize(expected.size());
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(expected.size());

    // Untouched TTL entries (2, 6, 7, 10, 11) expire at 100 s; the rewritten ones (4, 5) do not.
    ticker.advance(Duration.ofSeconds(100));
    assertThat(new HashSet<>(map.keySet())).isEqualTo(Set.of(key(kind, 4), key(kind, 5)));
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isEqualTo(2);
    cache.invalidateAll();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(map).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void iteration_seesEachKeyOnce_andIteratorRemoveWorks(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    int n = 20;
    for (int i = 0; i < n; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    List<Object> seen = new ArrayList<>();
    var it = cache.asMap().entrySet().iterator();
    int j = 0;
    while (it.hasNext()) {
      var e = it.next();
      seen.add(e.getKey());
      // Copy entries while iterating: some already seen, some not yet.
      cache.put(key(kind, j), "w" + j, Duration.ofSeconds(50));
      j += 1;
    }
    assertThat(seen).doesNotHaveDuplicates().hasSize(n);
    listener.removals.clear();
    var it2 = cache.asMap().entrySet().iterator();
    while (it2.hasNext()) {
      var e = it2.next();
      if (e.getValue().startsWith("w")) {
        it2.remove();
      }
    }
    assertThat(listener.withCause(RemovalCause.EXPLICIT)).hasSize(n);
    assertThat(cache.asMap()).isEmpty();
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isZero();
  }

  /* ---------------- callbacks ---------------- */

  @ParameterizedTest
  @ValueSource(strings = {"int", "chain", "tree"})
  void throwingOrNegativeWeigher_onTtlPut_changesNothing(String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = Hourglass.newBuilder()
        .concurrencyLevel(1).ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler())
        .maximumWeight(100)
        .weigher((Object k, String v) -> {
          if (v.equals("boom")) {
            throw new IllegalStateException("boom");
          }
          return v.equals("neg") ? -1 : 1;
        })
        .removalListener(listener)
        .build();
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    assertThatThrownBy(() -> cache.put(key(kind, 3), "boom", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> cache.put(key(kind, 3), "neg", Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
    ticker.advance(Duration.ofDays(1));
    cache.cleanUp();
    assertThat(cache.getIfPresent(key(kind, 3))).isEqualTo("v3");
    assertThat(cache.estimatedSize()).isEqualTo(10);
    assertThat(listener.list()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"int", "chain", "tree"})
  void weigherThatReadsTheCache_seesTheOldValue(String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    AtomicReference<Cache<Object, String>> self = new AtomicReference<>();
    List<String> seenByWeigher = new ArrayList<>();
    Cache<Object, String> cache = Hourglass.newBuilder()
        .concurrencyLevel(1).ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler())
        .maximumWeight(1000)
        .weigher((Object k, String v) -> {
          if (self.get() != null) {
            seenByWeigher.add(self.get().getIfPresent(k));
          }
          return v.length();
        })
        .removalListener(listener)
        .build();
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    self.set(cache);
    cache.put(key(kind, 3), "w3", Duration.ofSeconds(5));
    assertThat(seenByWeigher).containsExactly("v3");
    assertThat(cache.getIfPresent(key(kind, 3))).isEqualTo("w3");
    ticker.advance(Duration.ofSeconds(5));
    assertThat(cache.getIfPresent(key(kind, 3))).isNull();
  }

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void listenerThatGivesTtlsToOtherKeys_staysConsistent(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    AtomicReference<Cache<Object, String>> self = new AtomicReference<>();
    List<RecordingListener.Removal<Object, String>> heard = new ArrayList<>();
    AtomicInteger next = new AtomicInteger(1);
    RemovalListener<Object, String> listener = (k, v, cause) -> {
      heard.add(new RecordingListener.Removal<>(k, v, cause));
      int i = next.getAndIncrement();
      if (i < 10) {
        self.get().put(key(kind, i), "w" + i, Duration.ofSeconds(10 + i));
      }
    };
    CacheBuilder<Object, Object> b = Hourglass.newBuilder().concurrencyLevel(1).ticker(ticker)
        .executor(Runnable::run).scheduler(Scheduler.disabledScheduler());
    if (shape.equals("size")) {
      b.maximumSize(1000);
    }
    Cache<Object, String> cache = shape.equals("weight")
        ? b.maximumWeight(1000).weigher((Object k, String v) -> v.length())
            .removalListener(listener).build()
        : b.<Object, String>removalListener(listener).build();
    self.set(cache);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    cache.put(key(kind, 0), "w0", Duration.ofSeconds(10)); // chains through keys 1..9
    assertThat(heard).hasSize(10);
    for (int i = 0; i < 10; i++) {
      assertThat(heard).containsOnlyOnce(
          new RecordingListener.Removal<>(key(kind, i), "v" + i, RemovalCause.REPLACED));
      assertThat(cache.getIfPresent(key(kind, i))).isEqualTo("w" + i);
    }
    for (int i = 0; i < 10; i++) {
      ticker.set(Duration.ofSeconds(10 + i).toNanos());
      assertThat(cache.getIfPresent(key(kind, i))).isNull();
      if (i < 9) {
        assertThat(cache.getIfPresent(key(kind, i + 1))).isEqualTo("w" + (i + 1));
      }
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"unbounded", "size"})
  void loadingCache_copiedEntry_isAHit_andRefreshOfTtlWorks(String shape) {
    FakeTicker ticker = new FakeTicker();
    AtomicInteger loads = new AtomicInteger();
    CacheBuilder<Object, Object> b = Hourglass.newBuilder().concurrencyLevel(1).ticker(ticker)
        .executor(Runnable::run).scheduler(Scheduler.disabledScheduler()).recordStats();
    if (shape.equals("size")) {
      b.maximumSize(100);
    }
    LoadingCache<Integer, String> cache = b.build(k -> {
      loads.incrementAndGet();
      return "l" + k;
    });
    assertThat(cache.get(1)).isEqualTo("l1");
    cache.put(1, "w", Duration.ofSeconds(3));
    assertThat(cache.get(1)).isEqualTo("w");
    assertThat(loads).hasValue(1);
    ticker.advance(Duration.ofSeconds(3));
    assertThat(cache.get(1)).isEqualTo("l1");
    assertThat(loads).hasValue(2);
    ticker.advance(Duration.ofDays(100)); // the load was a write without TTL: never expires
    assertThat(cache.get(1)).isEqualTo("l1");
    assertThat(loads).hasValue(2);
  }

  /* ---------------- concurrent readers ---------------- */

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void concurrentReaders_neverMissAPresentKeyDuringCopies(String shape, String kind)
      throws Exception {
    for (int round = 0; round < 30; round++) {
      FakeTicker ticker = new FakeTicker();
      RecordingListener<Object, String> listener = new RecordingListener<>();
      Cache<Object, String> cache = build(shape, ticker, listener);
      int n = 16;
      Object[] keys = new Object[n];
      for (int i = 0; i < n; i++) {
        keys[i] = key(kind, i);
        cache.put(keys[i], "v" + i);
      }
      AtomicBoolean done = new AtomicBoolean();
      AtomicReference<String> miss = new AtomicReference<>();
      Thread reader = new Thread(() -> {
        while (!done.get() && (miss.get() == null)) {
          for (int i = 0; i < n; i++) {
            if (cache.getIfPresent(keys[i]) == null) {
              miss.compareAndSet(null, "getIfPresent " + keys[i]);
            }
            if (!cache.asMap().containsKey(keys[i])) {
              miss.compareAndSet(null, "containsKey " + keys[i]);
            }
          }
        }
      });
      reader.start();
      for (int i = 0; i < n; i++) {
        cache.put(keys[i], "w" + i, Duration.ofDays(1));
        Thread.onSpinWait();
      }
      done.set(true);
      reader.join();
      assertThat(miss.get()).as("round %d", round).isNull();
      assertThat(listener.withCause(RemovalCause.REPLACED)).hasSize(n);
      assertThat(listener.list()).hasSize(n);
      cache.cleanUp();
      assertThat(cache.estimatedSize()).isEqualTo(n);
    }
  }

  @Test
  void getAll_overCopiedEntries_returnsTheirValues() {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build("size", ticker, listener, 100);
    for (int i = 0; i < 10; i++) {
      cache.put(key("tree", i), "v" + i);
      cache.put(key("tree", i), "w" + i, Duration.ofSeconds(1));
    }
    Function<Set<?>, Map<Object, String>> loader = ks -> {
      Map<Object, String> m = new HashMap<>();
      for (Object k : ks) {
        m.put(k, "L");
      }
      return m;
    };
    List<Object> keys = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      keys.add(key("tree", i));
    }
    Map<Object, String> got = cache.getAll(keys, ks -> loader.apply(ks));
    for (int i = 0; i < 10; i++) {
      assertThat(got.get(key("tree", i))).isEqualTo("w" + i);
    }
    assertThat(got.get(key("tree", 10))).isEqualTo("L");
    ticker.advance(Duration.ofSeconds(1));
    got = cache.getAll(keys, ks -> loader.apply(ks));
    assertThat(got.values()).containsOnly("L").hasSize(12);
    ticker.advance(Duration.ofDays(10));
    assertThat(cache.getAllPresent(keys)).hasSize(12);
  }

  /* ---------------- more: iteration after a copy, invalidateAll, stats, many stripes ---------------- */

  /**
   * An iterator that took its stripe's snapshot before an entry's copy must not show that entry
   * after it expired (or was removed): the same flow on an entry that needs no copy hides it.
   */
  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void iteratorStartedBeforeCopy_doesNotShowTheEntryAfterItExpired(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    int n = 10;
    for (int i = 0; i < n; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    var it = cache.asMap().entrySet().iterator();
    assertThat(it.hasNext()).isTrue(); // takes the (only) stripe's snapshot, stages one entry
    Object first = it.next().getKey();
    for (int i = 0; i < n; i++) {
      cache.put(key(kind, i), "w" + i, Duration.ofSeconds(1));
    }
    ticker.advance(Duration.ofSeconds(1));
    List<Map.Entry<Object, String>> shown = new ArrayList<>();
    while (it.hasNext()) {
      shown.add(it.next());
    }
    assertThat(shown).as("entries shown after every entry expired (first was %s)", first)
        .isEmpty();
  }

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void iteratorStartedBeforeCopy_doesNotShowTheEntryAfterItWasInvalidated(String shape,
      String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    int n = 10;
    for (int i = 0; i < n; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    var it = cache.asMap().entrySet().iterator();
    assertThat(it.hasNext()).isTrue();
    it.next();
    for (int i = 0; i < n; i++) {
      cache.put(key(kind, i), "w" + i, Duration.ofSeconds(100));
      cache.invalidate(key(kind, i));
    }
    List<Map.Entry<Object, String>> shown = new ArrayList<>();
    while (it.hasNext()) {
      shown.add(it.next());
    }
    // Baseline: without the TTL put, an invalidated entry is not shown by a running iterator.
    assertThat(shown).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void invalidateAll_reportsExpiredCopiesAsExpired(String shape, String kind) {
    FakeTicker ticker = new FakeTicker(Duration.ofSeconds(7).toNanos());
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    for (int i = 0; i < 5; i++) {
      cache.put(key(kind, i), "w" + i, Duration.ofSeconds(1));
    }
    ticker.advance(Duration.ofSeconds(1));
    listener.removals.clear();
    cache.invalidateAll();
    assertThat(listener.withCause(RemovalCause.EXPIRED)).extracting(r -> r.value())
        .containsExactlyInAnyOrder("w0", "w1", "w2", "w3", "w4");
    assertThat(listener.withCause(RemovalCause.EXPLICIT)).extracting(r -> r.value())
        .containsExactlyInAnyOrder("v5", "v6", "v7", "v8", "v9");
    assertThat(cache.estimatedSize()).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"int", "chain", "tree"})
  void stats_expiryOfACopy_countsItsNewWeight(String kind) {
    FakeTicker ticker = new FakeTicker();
    Cache<Object, String> cache = Hourglass.newBuilder()
        .concurrencyLevel(1).ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).recordStats()
        .maximumWeight(1000).weigher((Object k, String v) -> v.length())
        .build();
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v");
    }
    cache.put(key(kind, 3), "w".repeat(7), Duration.ofSeconds(1));
    cache.put(key(kind, 4), "", Duration.ofSeconds(1)); // weight zero
    ticker.advance(Duration.ofSeconds(1));
    cache.cleanUp();
    assertThat(cache.stats().evictionCount()).isEqualTo(2);
    assertThat(cache.stats().evictionWeight()).isEqualTo(7);
    assertThat(cache.estimatedSize()).isEqualTo(8);
    cache.put(key(kind, 99), "z".repeat(992)); // 8 + 992 = 1000: fits exactly
    cache.cleanUp();
    assertThat(cache.stats().evictionCount()).isEqualTo(2);
  }

  @ParameterizedTest
  @ValueSource(strings = {"size", "weight"})
  void manyStripes_copiesThenOverflow_boundHolds(String shape) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    CacheBuilder<Object, Object> b = Hourglass.newBuilder().concurrencyLevel(64).ticker(ticker)
        .executor(Runnable::run).scheduler(Scheduler.disabledScheduler());
    int bound = 50;
    Cache<Object, String> cache = shape.equals("size")
        ? b.maximumSize(bound).<Object, String>removalListener(listener).build()
        : b.maximumWeight(bound).weigher((Object k, String v) -> v.length())
            .removalListener(listener).build();
    for (int i = 0; i < bound; i++) {
      cache.put(i, "v");
    }
    for (int i = 0; i < bound; i++) {
      cache.put(i, "w", Duration.ofDays(1));
      cache.getIfPresent(i);
    }
    for (int i = bound; i < 10 * bound; i++) {
      cache.put(i, "v");
      if (i % 2 == 0) {
        cache.put(i, "w", Duration.ofDays(1));
      }
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isLessThanOrEqualTo(bound);
    List<Object> keys = new ArrayList<>(cache.asMap().keySet());
    assertThat(keys).doesNotHaveDuplicates();
    // Every put either created or replaced: puts = notifications + present entries.
    int puts = 2 * bound + 9 * bound + (9 * bound) / 2;
    assertThat(listener.list().size() + keys.size()).isEqualTo(puts);
    ticker.advance(Duration.ofDays(1));
    cache.cleanUp();
    for (Object k : cache.asMap().keySet()) {
      assertThat(cache.getIfPresent(k)).isEqualTo("v");
    }
  }

  /** Two writers, one reader, many stripes: per-key accounting balances exactly. */
  @ParameterizedTest
  @ValueSource(strings = {"unbounded", "size", "weight"})
  void concurrentWritersWithCopies_accountingBalances(String shape) throws Exception {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    CacheBuilder<Object, Object> b = Hourglass.newBuilder().concurrencyLevel(4).ticker(ticker)
        .executor(Runnable::run).scheduler(Scheduler.disabledScheduler());
    int bound = 64;
    Cache<Object, String> cache;
    if (shape.equals("size")) {
      cache = b.maximumSize(bound).<Object, String>removalListener(listener).build();
    } else if (shape.equals("weight")) {
      cache = b.maximumWeight(bound).weigher((Object k, String v) -> v.length())
          .removalListener(listener).build();
    } else {
      cache = b.<Object, String>removalListener(listener).build();
    }
    int keys = 200;
    int[][] writes = new int[2][keys];
    Thread[] writers = new Thread[2];
    for (int t = 0; t < 2; t++) {
      int id = t;
      writers[t] = new Thread(() -> {
        java.util.Random random = new java.util.Random(id);
        for (int i = 0; i < 20_000; i++) {
          int k = random.nextInt(keys);
          Object key = (k % 3 == 0) ? new TreeKey(k) : k;
          writes[id][k]++;
          if (random.nextBoolean()) {
            cache.put(key, "t" + id, Duration.ofDays(1));
          } else {
            cache.put(key, "p" + id);
          }
        }
      });
    }
    for (Thread w : writers) {
      w.start();
    }
    for (Thread w : writers) {
      w.join();
    }
    cache.cleanUp();
    if (!shape.equals("unbounded")) {
      assertThat(cache.estimatedSize()).isLessThanOrEqualTo(bound);
    }
    Map<Object, Integer> balance = new HashMap<>();
    for (int k = 0; k < keys; k++) {
      Object key = (k % 3 == 0) ? new TreeKey(k) : k;
      balance.put(key, writes[0][k] + writes[1][k]);
    }
    for (var r : listener.list()) {
      balance.merge(r.key(), -1, Integer::sum);
    }
    List<Object> present = new ArrayList<>(cache.asMap().keySet());
    assertThat(present).doesNotHaveDuplicates();
    assertThat((long) present.size()).isEqualTo(cache.estimatedSize());
    for (Object k : present) {
      balance.merge(k, -1, Integer::sum);
    }
    balance.values().removeIf(v -> v == 0);
    assertThat(balance).as("writes - notifications - present, per key").isEmpty();
  }

  /** Baselines for the two iterator tests above: the same flows without a node copy. */
  @ParameterizedTest
  @MethodSource("shapesAndKinds")
  void baseline_iteratorHidesEntriesInvalidatedAfterItsSnapshot(String shape, String kind) {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, String> listener = new RecordingListener<>();
    Cache<Object, String> cache = build(shape, ticker, listener);
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    var it = cache.asMap().entrySet().iterator();
    assertThat(it.hasNext()).isTrue();
    it.next();
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "w" + i); // no TTL: no copy
      cache.invalidate(key(kind, i));
    }
    List<Map.Entry<Object, String>> shown = new ArrayList<>();
    while (it.hasNext()) {
      shown.add(it.next());
    }
    assertThat(shown).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"int", "chain", "tree", "tie"})
  void baseline_iteratorHidesEntriesExpiredAfterItsSnapshot_inATimedCache(String kind) {
    FakeTicker ticker = new FakeTicker();
    Cache<Object, String> cache = Hourglass.newBuilder()
        .concurrencyLevel(1).ticker(ticker).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler())
        .expireAfterWrite(Duration.ofDays(1)) // nodes are timed from the start: no copy
        .build();
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "v" + i);
    }
    var it = cache.asMap().entrySet().iterator();
    assertThat(it.hasNext()).isTrue();
    it.next();
    for (int i = 0; i < 10; i++) {
      cache.put(key(kind, i), "w" + i, Duration.ofSeconds(1));
    }
    ticker.advance(Duration.ofSeconds(1));
    List<Map.Entry<Object, String>> shown = new ArrayList<>();
    while (it.hasNext()) {
      shown.add(it.next());
    }
    assertThat(shown).isEmpty();
  }
}
