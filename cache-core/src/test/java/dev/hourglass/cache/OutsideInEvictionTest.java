package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

/**
 * Outside-in tests of the S3-TinyLFU size bound, through the public API only. Every value is a
 * unique {@link Val}, so the ledger can account for each one: present as its key's latest value,
 * or reported removed exactly once, never both.
 */
final class OutsideInEvictionTest {

  /* ====================================================================================== */
  /* Harness                                                                                 */
  /* ====================================================================================== */

  /** A unique value (identity equality); carries its weight and its lifetime. */
  static final class Val {
    final Object key;
    final long seq;
    final long weight;
    final long ttl;

    Val(Object key, long seq, long weight, long ttl) {
      this.key = key;
      this.seq = seq;
      this.weight = weight;
      this.ttl = ttl;
    }

    @Override
    public String toString() {
      return "Val{" + key + "#" + seq + ", w=" + weight + "}";
    }
  }

  record Removal(Object key, Val value, RemovalCause cause) {}

  /** Colliding keys: every instance has the same hashCode, so all share one stripe and one bin. */
  static class Collider {
    final int id;

    Collider(int id) {
      this.id = id;
    }

    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public boolean equals(Object o) {
      return (o instanceof Collider c) && (c.id == id) && (c.getClass() == getClass());
    }

    @Override
    public String toString() {
      return getClass().getSimpleName() + id;
    }
  }

  static final class ComparableCollider extends Collider implements Comparable<ComparableCollider> {
    ComparableCollider(int id) {
      super(id);
    }

    @Override
    public int compareTo(ComparableCollider o) {
      return Integer.compare(id, o.id);
    }
  }

  /** compareTo throws for odd ids: the tree must fall back to equals. */
  static final class ThrowingCollider extends Collider implements Comparable<ThrowingCollider> {
    ThrowingCollider(int id) {
      super(id);
    }

    @Override
    public int compareTo(ThrowingCollider o) {
      if (((id & 1) == 1) || ((o.id & 1) == 1)) {
        throw new IllegalStateException("compareTo refuses " + this + " vs " + o);
      }
      return Integer.compare(id, o.id);
    }
  }

  /** compareTo that ties every pair (inconsistent with equals). */
  static final class TieCollider extends Collider implements Comparable<TieCollider> {
    TieCollider(int id) {
      super(id);
    }

    @Override
    public int compareTo(TieCollider o) {
      return 0;
    }
  }

  /**
   * The books: every value written and every removal reported. Single-threaded by default; the
   * concurrent test uses one per thread for the writes and a shared removal queue.
   */
  static final class Ledger implements RemovalListener<Object, Val> {
    final ConcurrentLinkedQueue<Removal> removals = new ConcurrentLinkedQueue<>();
    /** By {@link #id} of the key: a HashMap would call a colliding key's compareTo. */
    final Map<String, Val> latest = new HashMap<>();

    Val latest(Object key) {
      return latest.get(id(key));
    }
    final Set<Val> written = Collections.newSetFromMap(new IdentityHashMap<>());
    long seq;
    /** Optional hook run on each notification, after it is recorded. */
    volatile RemovalListener<Object, Val> hook;

    @Override
    public void onRemoval(Object key, Val value, RemovalCause cause) {
      removals.add(new Removal(key, value, cause));
      RemovalListener<Object, Val> h = hook;
      if (h != null) {
        h.onRemoval(key, value, cause);
      }
    }

    Val val(Object key, long weight) {
      return new Val(key, ++seq, weight, Long.MAX_VALUE);
    }

    Val val(Object key, long weight, long ttl) {
      return new Val(key, ++seq, weight, ttl);
    }

    /** Records that {@code v} was stored as its key's value. */
    Val wrote(Val v) {
      written.add(v);
      latest.put(id(v.key), v);
      return v;
    }

    List<Removal> withCause(RemovalCause cause) {
      List<Removal> out = new ArrayList<>();
      for (Removal r : removals) {
        if (r.cause() == cause) {
          out.add(r);
        }
      }
      return out;
    }

    Val put(Cache<Object, Val> cache, Object key, long weight) {
      Val v = val(key, weight);
      // Recorded before the call: the put's own eviction may notify a listener that writes the
      // same key again, and that later write is the one the cache then holds.
      Val before = latest.get(id(key));
      wrote(v);
      try {
        cache.put(key, v);
      } catch (RuntimeException | Error e) {
        written.remove(v);
        latest.put(id(key), before);
        throw e;
      }
      return v;
    }
  }

  /** A model-side identity for a key that calls none of its methods but toString. */
  static String id(Object key) {
    return key.getClass().getName() + ":" + key;
  }

  static CacheBuilder<Object, Object> base() {
    return Hourglass.newBuilder().executor(Runnable::run).scheduler(Scheduler.disabledScheduler());
  }

  static Weigher<Object, Val> valWeigher() {
    return (k, v) -> v.weight;
  }

  /**
   * Checks every invariant the promises imply, at quiescence: the bound, size agreement, latest
   * values, exactly-once accounting, SIZE never for a zero-weight entry, and stats if recorded.
   */
  static void checkAll(String ctx, Cache<Object, Val> cache, Ledger ledger, long maximum,
      boolean weighted, boolean statsRecorded) {
    cache.cleanUp();
    Map<String, Val> present = new HashMap<>();
    int iterated = 0;
    long weight = 0;
    for (Map.Entry<Object, Val> e : cache.asMap().entrySet()) {
      iterated++;
      Val previous = present.put(id(e.getKey()), e.getValue());
      assertThat(previous).as(ctx + ": iteration returned key twice: " + e.getKey()).isNull();
      assertThat(e.getValue().key).as(ctx + ": value under the wrong key").isEqualTo(e.getKey());
      weight += weighted ? e.getValue().weight : 1;
    }
    assertThat(iterated).as(ctx + ": iteration count vs asMap().size()")
        .isEqualTo(cache.asMap().size());
    assertThat((long) iterated).as(ctx + ": iteration count vs estimatedSize()")
        .isEqualTo(cache.estimatedSize());
    assertThat(weight).as(ctx + ": total weight/size within the bound").isLessThanOrEqualTo(maximum);

    for (Map.Entry<String, Val> e : present.entrySet()) {
      assertThat(e.getValue()).as(ctx + ": present value is the latest written for " + e.getKey())
          .isSameAs(ledger.latest.get(e.getKey()));
      assertThat(cache.getIfPresent(e.getValue().key)).as(ctx + ": getIfPresent agrees with "
          + "iteration for " + e.getKey()).isSameAs(e.getValue());
    }

    IdentityHashMap<Val, Removal> reported = new IdentityHashMap<>();
    long evictions = 0;
    long evictionWeight = 0;
    for (Removal r : ledger.removals) {
      Removal twice = reported.put(r.value(), r);
      assertThat(twice).as(ctx + ": reported twice: " + r + " and " + twice).isNull();
      assertThat(r.value().key).as(ctx + ": notification with the wrong key: " + r)
          .isEqualTo(r.key());
      assertThat(ledger.written).as(ctx + ": notified a value never written: " + r)
          .contains(r.value());
      if (r.cause() == RemovalCause.SIZE) {
        assertThat(r.value().weight).as(ctx + ": zero-weight entry evicted for size: " + r)
            .isPositive();
      }
      if (r.cause().wasEvicted()) {
        evictions++;
        evictionWeight += weighted ? r.value().weight : 1;
      }
    }
    for (Val v : ledger.written) {
      boolean isPresent = present.get(id(v.key)) == v;
      boolean isReported = reported.containsKey(v);
      if (isPresent == isReported) {
        fail(ctx + ": " + v + (isPresent ? " is present and was reported removed ("
            + reported.get(v) + ")" : " was silently lost: neither present nor reported"));
      }
    }
    if (statsRecorded) {
      CacheStats stats = cache.stats();
      assertThat(stats.evictionCount()).as(ctx + ": stats evictionCount vs SIZE+EXPIRED reports")
          .isEqualTo(evictions);
      assertThat(stats.evictionWeight()).as(ctx + ": stats evictionWeight vs reported weight")
          .isEqualTo(evictionWeight);
    }
  }

  /* ====================================================================================== */
  /* The bound, across stripes                                                               */
  /* ====================================================================================== */

  @Test
  void tinyMaximumSize_manyStripes_boundAndAccountingHoldAfterEveryPut() {
    for (long max : new long[] {0, 1, 2, 3, 5}) {
      for (int level : new int[] {1, 2, 16, 4096}) {
        Ledger ledger = new Ledger();
        Cache<Object, Val> cache = base().maximumSize(max).concurrencyLevel(level).recordStats()
            .removalListener(ledger).build();
        Random random = new Random(max * 31 + level);
        for (int i = 0; i < 400; i++) {
          Object key = random.nextInt(60);
          ledger.put(cache, key, 1);
          String ctx = "max=" + max + " level=" + level + " op=" + i;
          assertThat(cache.estimatedSize()).as(ctx).isLessThanOrEqualTo(max);
          if (random.nextInt(3) == 0) {
            cache.getIfPresent(random.nextInt(60));
          }
          if ((i % 50) == 0) {
            checkAll(ctx, cache, ledger, max, false, true);
          }
        }
        checkAll("max=" + max + " level=" + level, cache, ledger, max, false, true);
      }
    }
  }

  @Test
  void allKeysInOneStripe_fillTheGlobalBound_andNoMore() {
    // Colliding keys all land in one stripe of 64: the global bound must still be filled exactly.
    for (Function<Integer, Object> kind : List.<Function<Integer, Object>>of(
        Collider::new, ComparableCollider::new, ThrowingCollider::new, TieCollider::new)) {
      Ledger ledger = new Ledger();
      Cache<Object, Val> cache = base().maximumSize(20).concurrencyLevel(64).recordStats()
          .removalListener(ledger).build();
      for (int i = 0; i < 300; i++) {
        ledger.put(cache, kind.apply(i % 120), 1);
        assertThat(cache.estimatedSize()).isLessThanOrEqualTo(20);
        if (i % 3 == 0) {
          cache.getIfPresent(kind.apply(i % 7));
        }
      }
      String ctx = kind.apply(0).getClass().getSimpleName();
      assertThat(cache.estimatedSize()).as(ctx + " fills the bound").isEqualTo(20);
      checkAll(ctx, cache, ledger, 20, false, true);
    }
  }

  @Test
  void collidingKeys_randomOps_boundedCache_keepEveryInvariant() {
    for (Function<Integer, Object> kind : List.<Function<Integer, Object>>of(
        Collider::new, ComparableCollider::new, ThrowingCollider::new, TieCollider::new)) {
      for (int seed = 0; seed < 4; seed++) {
        Ledger ledger = new Ledger();
        Cache<Object, Val> cache = base().maximumSize(6).concurrencyLevel(8).recordStats()
            .removalListener(ledger).build();
        runRandomOps(cache, ledger, new Random(seed), 600, kind, 40, 6, false);
      }
    }
  }

  /* ====================================================================================== */
  /* Weights                                                                                 */
  /* ====================================================================================== */

  @Test
  void weightsChangingOnUpdate_includingHeavierThanTheBound_keepTheBound() {
    for (int level : new int[] {1, 4, 64}) {
      Ledger ledger = new Ledger();
      Cache<Object, Val> cache = base().maximumWeight(100).weigher(valWeigher())
          .concurrencyLevel(level).recordStats().removalListener(ledger).build();
      Random random = new Random(level);
      for (int i = 0; i < 2_000; i++) {
        Object key = random.nextInt(30);
        int roll = random.nextInt(20);
        long weight = (roll == 0) ? 101 : (roll == 1) ? 100 : (roll < 5) ? 0 : random.nextInt(40);
        ledger.put(cache, key, weight);
        String ctx = "level=" + level + " op=" + i + " key=" + key + " w=" + weight;
        long total = 0;
        for (Val v : cache.asMap().values()) {
          total += v.weight;
        }
        assertThat(total).as(ctx).isLessThanOrEqualTo(100);
        if (weight > 100) {
          assertThat(cache.getIfPresent(key)).as(ctx + ": heavier than the bound").isNull();
        }
        if (random.nextInt(4) == 0) {
          cache.getIfPresent(random.nextInt(30));
        }
        if ((i % 100) == 0) {
          checkAll(ctx, cache, ledger, 100, true, true);
        }
      }
      checkAll("level=" + level, cache, ledger, 100, true, true);
    }
  }

  @Test
  void zeroWeightEntries_neverEvicted_thenWeighedUpAndDown() {
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumWeight(10).weigher(valWeigher())
        .concurrencyLevel(16).recordStats().removalListener(ledger).build();
    for (int i = 0; i < 300; i++) {
      ledger.put(cache, "z" + i, 0);
    }
    for (int i = 0; i < 300; i++) {
      ledger.put(cache, "p" + i, 1 + (i % 3));
    }
    for (int i = 0; i < 300; i++) {
      assertThat(cache.getIfPresent("z" + i)).as("z" + i).isNotNull();
    }
    checkAll("after positive puts", cache, ledger, 10, true, true);
    // Weigh some zero-weight entries up (each update must keep the bound), then down again.
    for (int i = 0; i < 50; i++) {
      ledger.put(cache, "z" + i, 4);
      long total = cache.asMap().values().stream().mapToLong(v -> v.weight).sum();
      assertThat(total).as("after weighing z" + i + " up").isLessThanOrEqualTo(10);
    }
    for (int i = 0; i < 50; i++) {
      ledger.put(cache, "z" + i, 0);
    }
    checkAll("after weighing up and down", cache, ledger, 10, true, true);
    for (int i = 0; i < 300; i++) {
      assertThat(cache.getIfPresent("z" + i)).as("zero-weight z" + i + " at the end").isNotNull();
    }
  }

  /**
   * Was a defect (fixed: main holding only zero-weight nodes lets small give one up): a put left
   * the total weight at twice maximumWeight. Keys 1 and 4 fall in one
   * stripe of a two-stripe cache, keys 0, 2, 3, 6 and 7 in the other (stripe = high bits of the
   * scrambled hash; any two such key groups do). Setup: stripe B holds only zero-weight entries
   * that have expired (one in its small queue, one in main) and ranks oldest in both queues;
   * stripe A holds a zero-weight entry in main and its positive-weight entries only in small.
   * The eviction after the last put picks stripe B for both candidates, whose expiration pass
   * removes all it has and evicts nothing live (NONE); the fall-back pass then asks each stripe
   * for a main victim only, and A's main holds only the zero-weight entry, so eviction gives up
   * with A's small queue over the bound.
   */
  @Test
  void expiredZeroWeightStripe_boundStillHolds() {
    AtomicLong time = new AtomicLong();
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().concurrencyLevel(2).maximumWeight(10)
        .weigher(valWeigher()).ticker(time::get).recordStats().removalListener(ledger)
        .expireAfter(Expiry.<Object, Val>creating((k, v) -> Duration.ofNanos(v.ttl))).build();
    long forever = Long.MAX_VALUE / 4;
    putWithTtl(cache, ledger, 1, 0, 1_000);      // stripe B, zero weight, short-lived
    putWithTtl(cache, ledger, 0, 0, forever);    // stripe A, zero weight
    putWithTtl(cache, ledger, 2, 10, forever);   // A: fills the bound
    putWithTtl(cache, ledger, 3, 1, forever);    // A: over by 1; eviction moves 1 and 0 to main
    cache.invalidate(3);
    putWithTtl(cache, ledger, 4, 0, 1_000);      // B, zero weight, short-lived, in small
    putWithTtl(cache, ledger, 6, 10, forever);   // A, in small: total 10, at the bound
    time.addAndGet(2_000);                       // B's two entries expire
    putWithTtl(cache, ledger, 7, 10, forever);   // A, in small: total 20

    long total = cache.asMap().values().stream().mapToLong(v -> v.weight).sum();
    assertThat(total).as("total weight after the last put returned (maximumWeight 10); "
        + "present: " + cache.asMap().keySet()).isLessThanOrEqualTo(10);
  }

  /** The same defect with a fixed expireAfterWrite instead of an Expiry. */
  @Test
  void expiredZeroWeightStripe_expireAfterWrite_boundStillHolds() {
    AtomicLong time = new AtomicLong();
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().concurrencyLevel(2).maximumWeight(10)
        .weigher(valWeigher()).ticker(time::get).recordStats().removalListener(ledger)
        .expireAfterWrite(Duration.ofNanos(1_000)).build();
    ledger.put(cache, 1, 0);    // stripe B, zero weight
    ledger.put(cache, 0, 0);    // stripe A, zero weight
    ledger.put(cache, 2, 10);   // A: fills the bound
    ledger.put(cache, 3, 1);    // A: over by 1; eviction moves 1 and 0 to main
    cache.invalidate(3);
    ledger.put(cache, 4, 0);    // B, zero weight, in small
    time.addAndGet(900);
    ledger.put(cache, 0, 0);    // A: rewrites 0 (stays in main), lives until 1,900
    ledger.put(cache, 6, 10);   // A, in small: total 10, lives until 1,900
    time.addAndGet(600);        // now 1,500: B's two entries have expired, A's have not
    ledger.put(cache, 7, 10);   // A, in small: total 20

    long total = cache.asMap().values().stream().mapToLong(v -> v.weight).sum();
    assertThat(total).as("total weight after the last put returned (maximumWeight 10); "
        + "present: " + cache.asMap().keySet()).isLessThanOrEqualTo(10);
  }

  static void putWithTtl(Cache<Object, Val> cache, Ledger ledger, Object key, long weight,
      long ttl) {
    Val v = ledger.val(key, weight, ttl);
    cache.put(key, v);
    ledger.wrote(v);
  }

  @Test
  void onlyZeroWeightLeft_evictionStopsAndBoundStillHolds() {
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumWeight(0).weigher(valWeigher())
        .concurrencyLevel(8).recordStats().removalListener(ledger).build();
    for (int i = 0; i < 100; i++) {
      ledger.put(cache, i, (i % 2 == 0) ? 0 : 1);
    }
    assertThat(cache.estimatedSize()).isEqualTo(50);
    checkAll("maximumWeight(0)", cache, ledger, 0, true, true);
  }

  @Test
  void heavierThanTheBound_throughEveryWritePath_isEvictedAloneAndAtOnce() {
    List<String> paths = List.of("put", "putIfAbsent", "replace", "replace3", "compute",
        "computeIfPresent", "merge", "computeIfAbsent", "getWithFunction", "loadingGet",
        "getAllLoader", "getAllFunction", "asMapPut", "updateExisting", "putAll", "putTtl");
    for (String path : paths) {
      Ledger ledger = new Ledger();
      LoadingCache<Object, Val> cache = base().maximumWeight(100).weigher(valWeigher())
          .concurrencyLevel(4).recordStats().removalListener(ledger)
          .build(new CacheLoader<Object, Val>() {
            @Override
            public Val load(Object key) {
              return ledger.wrote(ledger.val(key, 500));
            }

            @Override
            public Map<Object, Val> loadAll(Set<?> keys) {
              Map<Object, Val> out = new HashMap<>();
              for (Object k : keys) {
                out.put(k, ledger.wrote(ledger.val(k, 500)));
              }
              return out;
            }
          });
      for (int i = 0; i < 9; i++) {
        ledger.put(cache, "small" + i, 10);
      }
      ledger.put(cache, "victim", 10);
      Object heavyKey = path.equals("putIfAbsent") || path.equals("computeIfAbsent")
          || path.equals("getWithFunction") || path.equals("loadingGet")
          || path.startsWith("getAll") || path.equals("asMapPut") || path.equals("putAll")
          || path.equals("putTtl") ? "heavy" : "victim";
      switch (path) {
        case "put", "updateExisting" -> ledger.put(cache, heavyKey, 500);
        case "asMapPut" -> cache.asMap().put(heavyKey, ledger.wrote(ledger.val(heavyKey, 500)));
        case "putAll" -> {
          Val v = ledger.val(heavyKey, 500);
          cache.putAll(Map.of(heavyKey, v));
          ledger.wrote(v);
        }
        case "putTtl" -> {
          Val v = ledger.val(heavyKey, 500);
          cache.put(heavyKey, v, Duration.ofDays(1));
          ledger.wrote(v);
        }
        case "putIfAbsent" -> {
          Val v = ledger.val(heavyKey, 500);
          assertThat(cache.asMap().putIfAbsent(heavyKey, v)).isNull();
          ledger.wrote(v);
        }
        case "replace" -> {
          Val v = ledger.val(heavyKey, 500);
          assertThat(cache.asMap().replace(heavyKey, v)).isNotNull();
          ledger.wrote(v);
        }
        case "replace3" -> {
          Val v = ledger.val(heavyKey, 500);
          assertThat(cache.asMap().replace(heavyKey, ledger.latest(heavyKey), v)).isTrue();
          ledger.wrote(v);
        }
        case "compute" -> cache.asMap().compute(heavyKey,
            (k, old) -> ledger.wrote(ledger.val(k, 500)));
        case "computeIfPresent" -> cache.asMap().computeIfPresent(heavyKey,
            (k, old) -> ledger.wrote(ledger.val(k, 500)));
        case "merge" -> {
          Val v = ledger.val(heavyKey, 500);
          cache.asMap().merge(heavyKey, v, (a, b) -> b);
          ledger.wrote(v);
        }
        case "computeIfAbsent" -> cache.asMap().computeIfAbsent(heavyKey,
            k -> ledger.wrote(ledger.val(k, 500)));
        case "getWithFunction" -> cache.get(heavyKey, k -> ledger.wrote(ledger.val(k, 500)));
        case "loadingGet" -> assertThat(cache.get(heavyKey)).isNotNull();
        case "getAllLoader" -> assertThat(cache.getAll(List.of(heavyKey))).hasSize(1);
        case "getAllFunction" -> assertThat(cache.getAll(List.of(heavyKey), keys -> {
          Map<Object, Val> out = new HashMap<>();
          for (Object k : keys) {
            out.put(k, ledger.wrote(ledger.val(k, 500)));
          }
          return out;
        })).hasSize(1);
        default -> throw new AssertionError(path);
      }
      String ctx = "path=" + path;
      assertThat(cache.getIfPresent(heavyKey)).as(ctx + ": heavy entry evicted at once").isNull();
      for (int i = 0; i < 9; i++) {
        assertThat(cache.getIfPresent("small" + i)).as(ctx + ": small" + i + " not flushed")
            .isNotNull();
      }
      List<Removal> sizes = ledger.withCause(RemovalCause.SIZE);
      assertThat(sizes).as(ctx + ": only the heavy value is evicted for size").hasSize(1);
      assertThat(sizes.get(0).value().weight).as(ctx).isEqualTo(500);
      checkAll(ctx, cache, ledger, 100, true, true);
    }
  }

  @Test
  void weightsNearLongMax_doNotOverflowTheBound() {
    long max = Long.MAX_VALUE;
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumWeight(max).weigher(valWeigher())
        .concurrencyLevel(4).recordStats().removalListener(ledger).build();
    long big = Long.MAX_VALUE / 2 + 1;
    for (int i = 0; i < 20; i++) {
      ledger.put(cache, i % 5, (i % 3 == 0) ? big : (i % 3 == 1) ? Long.MAX_VALUE : 1);
      java.math.BigInteger total = java.math.BigInteger.ZERO;
      for (Val v : cache.asMap().values()) {
        total = total.add(java.math.BigInteger.valueOf(v.weight));
      }
      assertThat(total).as("op " + i).isLessThanOrEqualTo(java.math.BigInteger.valueOf(max));
    }
    assertThat(cache.estimatedSize()).isPositive();
    // evictionWeight may saturate, so only the count is compared
    checkAll("near Long.MAX_VALUE", cache, ledger, Long.MAX_VALUE, false, false);
  }

  /* ====================================================================================== */
  /* Model-based random operations                                                           */
  /* ====================================================================================== */

  /**
   * Random mixes of every write and read, checked after each op: the bound right away, the whole
   * ledger periodically.
   */
  static void runRandomOps(Cache<Object, Val> cache, Ledger ledger, Random random, int ops,
      Function<Integer, Object> keys, int keySpace, long maximum, boolean weighted) {
    for (int i = 0; i < ops; i++) {
      Object key = keys.apply(random.nextInt(keySpace));
      long weight = weighted ? random.nextInt(4) : 1;
      int op = random.nextInt(16);
      String ctx = "op#" + i + " kind=" + op + " key=" + key;
      switch (op) {
        case 0, 1, 2 -> ledger.put(cache, key, weight);
        case 3 -> cache.invalidate(key);
        case 4 -> cache.asMap().remove(key);
        case 5 -> {
          Val current = cache.getIfPresent(key);
          if (current != null) {
            cache.asMap().remove(key, current);
          }
        }
        case 6 -> {
          Val v = ledger.val(key, weight);
          if (cache.asMap().replace(key, v) != null) {
            ledger.wrote(v);
          }
        }
        case 7 -> {
          Val current = cache.getIfPresent(key);
          Val v = ledger.val(key, weight);
          if ((current != null) && cache.asMap().replace(key, current, v)) {
            ledger.wrote(v);
          }
        }
        case 8 -> cache.asMap().compute(key, (k, old) -> {
          if ((old != null) && random.nextBoolean()) {
            return null;
          }
          return ledger.wrote(ledger.val(k, weight));
        });
        case 9 -> cache.asMap().computeIfPresent(key, (k, old) -> random.nextBoolean() ? null
            : ledger.wrote(ledger.val(k, weight)));
        case 10 -> {
          Val v = ledger.val(key, weight);
          Val result = cache.asMap().merge(key, v, (a, b) -> random.nextInt(3) == 0 ? null : b);
          if (result == v) {
            ledger.wrote(v);
          }
        }
        case 11 -> {
          Val v = ledger.val(key, weight);
          if (cache.asMap().putIfAbsent(key, v) == null) {
            ledger.wrote(v);
          }
        }
        case 12 -> cache.get(key, k -> ledger.wrote(ledger.val(k, weight)));
        case 13 -> {
          cache.getIfPresent(key);
          cache.getIfPresent(keys.apply(random.nextInt(keySpace)));
        }
        case 14 -> {
          if (random.nextInt(20) == 0) {
            cache.invalidateAll();
          } else {
            cache.invalidateAll(List.of(key, keys.apply(random.nextInt(keySpace))));
          }
        }
        case 15 -> {
          Map<Object, Val> batch = new LinkedHashMap<>();
          for (int j = 0; j < 3; j++) {
            Object k = keys.apply(random.nextInt(keySpace));
            batch.put(k, ledger.val(k, weight));
          }
          cache.putAll(batch);
          batch.values().forEach(ledger::wrote);
        }
        default -> throw new AssertionError(op);
      }
      long total = 0;
      for (Val v : cache.asMap().values()) {
        total += weighted ? v.weight : 1;
      }
      assertThat(total).as(ctx + ": bound after the op").isLessThanOrEqualTo(maximum);
      if ((i % 37) == 0) {
        checkAll(ctx, cache, ledger, maximum, weighted, true);
      }
    }
    checkAll("end", cache, ledger, maximum, weighted, true);
  }

  @Test
  void randomOps_interleavedWithEviction_sizeBound() {
    for (int seed = 0; seed < 12; seed++) {
      for (int level : new int[] {1, 8, 256}) {
        Ledger ledger = new Ledger();
        Cache<Object, Val> cache = base().maximumSize(4).concurrencyLevel(level).recordStats()
            .removalListener(ledger).build();
        runRandomOps(cache, ledger, new Random(seed * 1000L + level), 400, i -> i, 24, 4, false);
      }
    }
  }

  @Test
  void randomOps_interleavedWithEviction_weightBoundWithZeroWeights() {
    for (int seed = 0; seed < 12; seed++) {
      for (int level : new int[] {1, 8, 256}) {
        Ledger ledger = new Ledger();
        Cache<Object, Val> cache = base().maximumWeight(7).weigher(valWeigher())
            .concurrencyLevel(level).recordStats().removalListener(ledger).build();
        runRandomOps(cache, ledger, new Random(seed * 7919L + level), 400, i -> "k" + i, 30, 7,
            true);
      }
    }
  }

  /* ====================================================================================== */
  /* Listeners during eviction                                                               */
  /* ====================================================================================== */

  @Test
  void throwingListener_duringEvictions_leavesCacheConsistent() {
    Ledger ledger = new Ledger();
    ledger.hook = (k, v, cause) -> {
      throw new IllegalStateException("listener fails on " + cause);
    };
    Cache<Object, Val> cache = base().maximumSize(3).concurrencyLevel(4).recordStats()
        .removalListener(ledger).build();
    try (CapturedLog log = new CapturedLog()) { // each failure is logged, never thrown
      runRandomOps(cache, ledger, new Random(5), 300, i -> i, 12, 3, false);
      assertThat(log.records).as("the listener's failures, logged").isNotEmpty();
    }
  }

  @Test
  void listenerCallingBackIntoTheCache_duringSizeEvictions_keepsTheBoundAndTheBooks() {
    Ledger ledger = new Ledger();
    AtomicReference<Cache<Object, Val>> ref = new AtomicReference<>();
    AtomicInteger depth = new AtomicInteger();
    Random random = new Random(11);
    List<String> listenerFailures = new ArrayList<>();
    ledger.hook = (k, v, cause) -> {
      if ((cause != RemovalCause.SIZE) || (depth.get() > 2)) {
        return;
      }
      depth.incrementAndGet();
      try {
        Cache<Object, Val> c = ref.get();
        Val back = c.getIfPresent(k);
        if (back == v) {
          listenerFailures.add("evicted value still readable from its listener: " + v);
        }
        switch (random.nextInt(4)) {
          case 0 -> ledger.put(c, "fromListener" + random.nextInt(10), 1);
          case 1 -> c.invalidate(random.nextInt(20));
          case 2 -> ledger.put(c, k, 1); // re-insert the evicted key
          default -> c.get(random.nextInt(20), key -> ledger.wrote(ledger.val(key, 1)));
        }
      } finally {
        depth.decrementAndGet();
      }
    };
    Cache<Object, Val> cache = base().maximumSize(3).concurrencyLevel(8).recordStats()
        .removalListener(ledger).build();
    ref.set(cache);
    for (int i = 0; i < 400; i++) {
      ledger.put(cache, random.nextInt(20), 1);
      assertThat(cache.estimatedSize()).as("op " + i).isLessThanOrEqualTo(3);
      if (i % 40 == 0) {
        checkAll("op " + i, cache, ledger, 3, false, true);
      }
    }
    checkAll("end", cache, ledger, 3, false, true);
    assertThat(listenerFailures).isEmpty();
  }

  @Test
  void oddExecutors_deliverEachSizeEvictionExactlyOnce() {
    List<java.util.concurrent.Executor> executors = List.of(
        r -> {
          r.run();
          throw new IllegalStateException("ran it, then threw");
        },
        r -> {
          throw new java.util.concurrent.RejectedExecutionException("rejects");
        },
        r -> {
          r.run();
          r.run(); // runs it twice
        },
        r -> {
          throw new OutOfMemoryError("pretend");
        });
    try (CapturedLog log = new CapturedLog()) { // the odd executors' failures are logged
      for (int e = 0; e < executors.size(); e++) {
        Ledger ledger = new Ledger();
        Cache<Object, Val> cache = Hourglass.newBuilder().executor(executors.get(e))
            .scheduler(Scheduler.disabledScheduler()).maximumSize(3).concurrencyLevel(4)
            .recordStats().removalListener(ledger).build();
        runRandomOps(cache, ledger, new Random(e), 200, i -> i, 10, 3, false);
      }
      assertThat(log.records).as("the throwing executors' failures, logged").isNotEmpty();
    }
  }

  @Test
  void listenerInvalidatingEverything_duringSizeEvictions_keepsTheBooks() {
    Ledger ledger = new Ledger();
    AtomicReference<Cache<Object, Val>> ref = new AtomicReference<>();
    AtomicInteger depth = new AtomicInteger();
    Random random = new Random(17);
    ledger.hook = (k, v, cause) -> {
      if ((cause != RemovalCause.SIZE) || (depth.get() > 0)) {
        return;
      }
      depth.incrementAndGet();
      try {
        Cache<Object, Val> c = ref.get();
        switch (random.nextInt(5)) {
          case 0 -> c.invalidateAll();
          case 1 -> c.asMap().compute(k, (key, old) -> ledger.wrote(ledger.val(key, 1)));
          case 2 -> {
            Object mk = random.nextInt(20);
            Val mv = ledger.val(mk, 1);
            if (c.asMap().merge(mk, mv, (a, b) -> null) == mv) {
              ledger.wrote(mv);
            }
          }
          case 3 -> c.cleanUp();
          default -> c.asMap().entrySet().removeIf(en -> random.nextBoolean());
        }
      } finally {
        depth.decrementAndGet();
      }
    };
    Cache<Object, Val> cache = base().maximumSize(4).concurrencyLevel(4).recordStats()
        .removalListener(ledger).build();
    ref.set(cache);
    for (int i = 0; i < 500; i++) {
      ledger.put(cache, random.nextInt(20), 1);
      assertThat(cache.estimatedSize()).as("op " + i).isLessThanOrEqualTo(4);
    }
    checkAll("end", cache, ledger, 4, false, true);
  }

  /* ====================================================================================== */
  /* Loaders on a tiny bound                                                                 */
  /* ====================================================================================== */

  @Test
  void getAll_onTinyBoundedCache_returnsEveryValue_andAccountsForEvictions() {
    for (boolean bulk : new boolean[] {true, false}) {
      for (int level : new int[] {1, 16}) {
        Ledger ledger = new Ledger();
        LoadingCache<Object, Val> cache = base().maximumSize(2).concurrencyLevel(level)
            .recordStats().removalListener(ledger).build(new CacheLoader<Object, Val>() {
              @Override
              public Val load(Object key) {
                return ledger.wrote(ledger.val(key, 1));
              }

              @Override
              public Map<Object, Val> loadAll(Set<?> keys) {
                if (!bulk) {
                  throw new UnsupportedOperationException();
                }
                Map<Object, Val> out = new LinkedHashMap<>();
                for (Object k : keys) {
                  out.put(k, ledger.wrote(ledger.val(k, 1)));
                }
                // an extra key the caller did not ask for
                out.put("extra", ledger.wrote(ledger.val("extra", 1)));
                return out;
              }
            });
        List<Object> keys = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          keys.add(i);
        }
        Map<Object, Val> all = cache.getAll(keys);
        String ctx = "bulk=" + bulk + " level=" + level;
        assertThat(all).as(ctx).hasSize(20);
        for (Map.Entry<Object, Val> e : all.entrySet()) {
          assertThat(e.getValue().key).as(ctx).isEqualTo(e.getKey());
        }
        assertThat(cache.estimatedSize()).as(ctx).isLessThanOrEqualTo(2);
        for (int i = 0; i < 30; i++) {
          assertThat(cache.get(i % 25)).as(ctx).isNotNull();
          assertThat(cache.estimatedSize()).as(ctx).isLessThanOrEqualTo(2);
        }
        checkAll(ctx, cache, ledger, 2, false, true);
      }
    }
  }

  /* ====================================================================================== */
  /* Expiry with the bound, and a clock that goes back                                       */
  /* ====================================================================================== */

  @Test
  void expiryAndMaximumSize_clockForwardAndBack_causesMatchDeadlines() {
    for (int seed = 0; seed < 6; seed++) {
      AtomicLong time = new AtomicLong(1_000_000_000L);
      Ledger ledger = new Ledger();
      IdentityHashMap<Val, Long> deadlines = new IdentityHashMap<>();
      // Each removal is checked against the clock at the moment it is reported.
      List<String> wrong = new ArrayList<>();
      ledger.hook = (k, v, cause) -> {
        Long deadline = deadlines.get(v);
        if (deadline == null) {
          return;
        }
        long now = time.get();
        boolean expired = now - deadline >= 0;
        if ((cause == RemovalCause.SIZE) && expired) {
          wrong.add("SIZE for an expired victim " + v + " deadline=" + deadline + " now=" + now);
        }
        if ((cause == RemovalCause.EXPIRED) && !expired) {
          wrong.add("EXPIRED for a live entry " + v + " deadline=" + deadline + " now=" + now);
        }
      };
      Cache<Object, Val> cache = base().maximumSize(5).concurrencyLevel(4).recordStats()
          .ticker(time::get).removalListener(ledger)
          .expireAfter(new Expiry<Object, Val>() {
            @Override
            public long expireAfterCreate(Object key, Val value, long now) {
              return value.ttl;
            }

            @Override
            public long expireAfterUpdate(Object key, Val value, long now, long current) {
              return value.ttl;
            }
          }).build();
      Random random = new Random(seed);
      for (int i = 0; i < 800; i++) {
        int roll = random.nextInt(10);
        if (roll == 0) {
          time.addAndGet(-random.nextInt(50_000)); // backwards
        } else if (roll < 4) {
          time.addAndGet(random.nextInt(100_000));
        }
        Object key = random.nextInt(15);
        long ttl = 1 + random.nextInt(300_000);
        Val v = ledger.val(key, 1, ttl);
        long now = time.get();
        deadlines.put(v, now + ttl);
        cache.put(key, v);
        ledger.wrote(v);
        String ctx = "seed=" + seed + " op=" + i;
        assertThat(cache.estimatedSize()).as(ctx).isLessThanOrEqualTo(5);
        Object probe = random.nextInt(15);
        Val read = cache.getIfPresent(probe);
        if (read != null) {
          assertThat(time.get() - deadlines.get(read)).as(ctx + ": read an expired value " + read)
              .isNegative();
        }
      }
      assertThat(wrong).as("removal causes vs deadlines, seed " + seed).isEmpty();
      checkAll("seed=" + seed, cache, ledger, 5, false, true);
    }
  }

  @Test
  void expiredEntries_preferredToLiveOnes_whenMakingRoom() {
    // Entries that expired must go (as EXPIRED) before a live entry is evicted for size.
    AtomicLong time = new AtomicLong();
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumSize(10).concurrencyLevel(16).recordStats()
        .ticker(time::get).removalListener(ledger)
        .expireAfter(Expiry.<Object, Val>writing((k, v) -> Duration.ofNanos(v.ttl))).build();
    for (int i = 0; i < 10; i++) {
      Val v = ledger.val("short" + i, 1, 1_000);
      cache.put(v.key, v);
      ledger.wrote(v);
    }
    time.addAndGet(10_000);
    for (int i = 0; i < 10; i++) {
      Val v = ledger.val("long" + i, 1, Long.MAX_VALUE / 4);
      cache.put(v.key, v);
      ledger.wrote(v);
    }
    assertThat(ledger.withCause(RemovalCause.SIZE)).as("nothing live needs evicting").isEmpty();
    assertThat(ledger.withCause(RemovalCause.EXPIRED)).hasSize(10);
    checkAll("expired first", cache, ledger, 10, false, true);
  }

  /* ====================================================================================== */
  /* Callbacks: no lock held, and failures                                                   */
  /* ====================================================================================== */

  /**
   * User code that writes back into the cache, with keys in the same stripe as the write: if it
   * ran under that stripe's lock it would get IllegalStateException (or deadlock).
   */
  @Test
  void userCallbacks_runWithoutTheStripeLock_canWriteTheSameStripe() {
    AtomicBoolean inCallback = new AtomicBoolean();
    AtomicReference<Cache<Object, Val>> ref = new AtomicReference<>();
    List<Throwable> failures = new ArrayList<>();
    Runnable reenter = () -> {
      if (inCallback.compareAndSet(false, true)) {
        try {
          Cache<Object, Val> c = ref.get();
          if (c != null) {
            // Colliders share one stripe with every other collider.
            c.put(new Collider(1_000_000), new Val("x", -1, 1, Long.MAX_VALUE));
            c.invalidate(new Collider(1_000_000));
            c.asMap().size();
          }
        } catch (Throwable t) {
          failures.add(t);
        } finally {
          inCallback.set(false);
        }
      }
    };
    AtomicLong time = new AtomicLong();
    LoadingCache<Object, Val> cache = Hourglass.newBuilder().concurrencyLevel(16)
        .scheduler(Scheduler.disabledScheduler())
        .executor(r -> {
          reenter.run();
          r.run();
        })
        .maximumWeight(5)
        .weigher((Object k, Val v) -> {
          reenter.run();
          return v.weight;
        })
        .ticker(() -> time.get())
        .expireAfter(new Expiry<Object, Val>() {
          @Override
          public long expireAfterCreate(Object key, Val value, long now) {
            reenter.run();
            return Long.MAX_VALUE;
          }

          @Override
          public long expireAfterUpdate(Object key, Val value, long now, long d) {
            reenter.run();
            return d;
          }

          @Override
          public long expireAfterRead(Object key, Val value, long now, long d) {
            reenter.run();
            return d;
          }
        })
        .removalListener((Object k, Val v, RemovalCause c) -> reenter.run())
        .build(key -> {
          reenter.run();
          return new Val(key, 0, 1, Long.MAX_VALUE);
        });
    ref.set(cache);
    for (int i = 0; i < 60; i++) {
      Collider key = new Collider(i % 12);
      cache.put(key, new Val(key, i, 1, Long.MAX_VALUE));
      cache.getIfPresent(key);
      cache.get(new Collider(100 + i));
      cache.asMap().compute(new Collider(200 + (i % 5)), (k, old) -> {
        reenter.run();
        return new Val(k, 0, 1, Long.MAX_VALUE);
      });
      cache.asMap().merge(new Collider(300 + (i % 5)), new Val("m", 0, 1, Long.MAX_VALUE),
          (a, b) -> {
            reenter.run();
            return b;
          });
    }
    assertThat(failures).as("callbacks that wrote back into the same stripe").isEmpty();
    long total = cache.asMap().values().stream().mapToLong(v -> v.weight).sum();
    assertThat(total).isLessThanOrEqualTo(5);
  }

  @Test
  void keyEqualsCallingBackToWrite_underTheLock_getsIllegalStateException_andNothingBreaks() {
    AtomicReference<Cache<Object, Val>> ref = new AtomicReference<>();
    AtomicBoolean armed = new AtomicBoolean();
    final class Sneaky extends Collider {
      Sneaky(int id) {
        super(id);
      }

      @Override
      public boolean equals(Object o) {
        if (armed.getAndSet(false)) {
          ref.get().put(new Collider(999), new Val("x", 0, 1, Long.MAX_VALUE));
        }
        return super.equals(o);
      }
    }
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumSize(3).concurrencyLevel(4).recordStats()
        .removalListener(ledger).build();
    ref.set(cache);
    ledger.put(cache, new Sneaky(1), 1);
    ledger.put(cache, new Sneaky(2), 1);
    armed.set(true);
    Val v = ledger.val(new Sneaky(3), 1);
    assertThatThrownBy(() -> cache.put(v.key, v)).isInstanceOf(IllegalStateException.class);
    assertThat(cache.getIfPresent(new Collider(999))).isNull();
    assertThat(cache.getIfPresent(v.key)).isNull();
    checkAll("after reentry", cache, ledger, 3, false, true);
  }

  /** A tree-bin key whose compareTo writes other keys (other stripes) into the cache. */
  static final class WritingCollider extends Collider implements Comparable<WritingCollider> {
    static final ThreadLocal<Boolean> busy = ThreadLocal.withInitial(() -> false);
    static volatile Cache<Object, Val> cache;
    static volatile Ledger ledger;
    static final AtomicInteger calls = new AtomicInteger();
    static final List<Throwable> seen = Collections.synchronizedList(new ArrayList<>());
    static final List<Val> pending = new ArrayList<>();

    WritingCollider(int id) {
      super(id);
    }

    @Override
    public int compareTo(WritingCollider o) {
      if (!busy.get() && (cache != null) && (calls.incrementAndGet() % 3 == 0)) {
        busy.set(true);
        Val v = ledger.val(calls.get() % 50, 1); // Integer keys: mostly other stripes
        pending.add(v);
        try {
          cache.put(v.key, v);
        } catch (Throwable t) {
          seen.add(t);
          throw t;
        } finally {
          busy.set(false);
        }
      }
      return Integer.compare(id, o.id);
    }
  }

  @Test
  void compareToWritingOtherStripes_duringTreeBinEvictions_keepsTheBooks() {
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumSize(12).concurrencyLevel(8).recordStats()
        .removalListener(ledger).build();
    WritingCollider.ledger = ledger;
    Random random = new Random(21);
    try {
      for (int i = 0; i < 20; i++) {
        ledger.put(cache, new WritingCollider(i), 1); // a tree bin forms
      }
      WritingCollider.cache = cache;
      for (int i = 0; i < 600; i++) {
        int removalsBefore = ledger.removals.size();
        ledger.put(cache, new WritingCollider(random.nextInt(60)), 1);
        // The nested puts may have thrown (see defect_writeFromEqualsIntoAnotherStripe_...):
        // count each as stored if it is present or was reported.
        List<Removal> recent = new ArrayList<>(ledger.removals).subList(removalsBefore,
            ledger.removals.size());
        for (Val v : WritingCollider.pending) {
          if ((cache.asMap().get(v.key) == v) || recent.stream().anyMatch(r -> r.value() == v)) {
            ledger.wrote(v);
          }
        }
        WritingCollider.pending.clear();
        long size = cache.estimatedSize();
        assertThat(size).as("op " + i).isLessThanOrEqualTo(12);
      }
    } finally {
      WritingCollider.cache = null;
    }
    checkAll("compareTo writing back", cache, ledger, 12, false, true);
  }

  /**
   * Was a defect (fixed: eviction skips a stripe whose lock the caller holds): a key's equals,
   * called under its stripe's lock during a lookup, writes a key of
   * another stripe. That put commits, then its eviction (the cache is now over its bound) picks
   * the locked stripe and fails with IllegalStateException: the put throws although its value
   * was stored, and its eviction stopped half-way. The caller cannot tell from the exception
   * whether the write happened (IllegalStateException otherwise means it was refused). Keys
   * hashing to 42 and the key 0 fall in different stripes of a two-stripe cache.
   */
  @Test
  void writeFromEqualsIntoAnotherStripe_isNotFailedAfterItCommitted() {
    AtomicReference<Cache<Object, Val>> ref = new AtomicReference<>();
    AtomicBoolean armed = new AtomicBoolean();
    Val nested = new Val(0, -1, 1, Long.MAX_VALUE);
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    final class Sneaky extends Collider {
      Sneaky(int id) {
        super(id);
      }

      @Override
      public boolean equals(Object o) {
        if (armed.getAndSet(false)) {
          try {
            ref.get().put(0, nested); // key 0: the other stripe
          } catch (RuntimeException e) {
            thrown.set(e);
          }
        }
        return super.equals(o);
      }
    }
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumSize(2).concurrencyLevel(2).removalListener(ledger)
        .build();
    ref.set(cache);
    ledger.put(cache, new Sneaky(1), 1);
    ledger.put(cache, new Sneaky(2), 1); // at the bound; both in the colliders' stripe
    armed.set(true);
    ledger.put(cache, new Sneaky(3), 1); // its lookup calls Sneaky(3).equals(Sneaky(2))

    boolean stored = (cache.getIfPresent(0) == nested)
        || ledger.removals.stream().anyMatch(r -> r.value() == nested);
    assertThat(thrown.get() == null || !stored)
        .as("the nested put threw " + thrown.get() + " but its value was stored=" + stored)
        .isTrue();
  }

  @Test
  void throwingCallbacks_weigherExpiryLoaderCompute_leaveTheBoundedCacheConsistent() {
    Ledger ledger = new Ledger();
    AtomicLong time = new AtomicLong();
    Random random = new Random(3);
    AtomicBoolean fail = new AtomicBoolean();
    // Values handed to the cache by a loader or compute whose store may still fail: reconciled
    // after each op (stored if present now or reported since; else never stored).
    List<Val> pending = new ArrayList<>();
    LoadingCache<Object, Val> cache = base().maximumWeight(6).concurrencyLevel(4)
        .weigher((Object k, Val v) -> {
          if (fail.get() && (v.seq % 3 == 0)) {
            throw new ArithmeticException("weigher");
          }
          return v.weight;
        })
        .ticker(time::get)
        .expireAfter(new Expiry<Object, Val>() {
          @Override
          public long expireAfterCreate(Object key, Val value, long now) {
            if (fail.get() && (value.seq % 5 == 0)) {
              throw new IllegalArgumentException("expiry");
            }
            return Long.MAX_VALUE;
          }
        })
        .recordStats().removalListener(ledger)
        .build(key -> {
          if (fail.get() && random.nextInt(3) == 0) {
            throw new IllegalStateException("loader");
          }
          Val v = ledger.val(key, 1 + random.nextInt(2));
          pending.add(v);
          return v;
        });
    fail.set(true);
    int failures = 0;
    for (int i = 0; i < 600; i++) {
      Object key = random.nextInt(20);
      int removalsBefore = ledger.removals.size();
      try {
        switch (random.nextInt(4)) {
          case 0 -> {
            Val v = ledger.val(key, random.nextInt(4));
            cache.put(key, v);
            ledger.wrote(v);
          }
          case 1 -> cache.get(key);
          case 2 -> cache.asMap().compute(key, (k, old) -> {
            if (random.nextInt(3) == 0) {
              throw new UnsupportedOperationException("compute");
            }
            Val v = ledger.val(k, random.nextInt(4));
            pending.add(v);
            return v;
          });
          default -> cache.getAll(List.of(key, random.nextInt(20)));
        }
      } catch (RuntimeException expected) {
        failures++;
      }
      List<Removal> recent = new ArrayList<>(ledger.removals).subList(removalsBefore,
          ledger.removals.size());
      for (Val v : pending) {
        boolean stored = (cache.asMap().get(v.key) == v)
            || recent.stream().anyMatch(r -> r.value() == v);
        if (stored) {
          ledger.wrote(v);
        }
      }
      pending.clear();
      long total = cache.asMap().values().stream().mapToLong(v -> v.weight).sum();
      assertThat(total).as("op " + i).isLessThanOrEqualTo(6);
      if (i % 50 == 0) {
        checkAll("op " + i, cache, ledger, 6, true, true);
      }
    }
    assertThat(failures).as("callbacks did fail").isPositive();
    fail.set(false);
    checkAll("after failing callbacks", cache, ledger, 6, true, true);
  }

  @Test
  void throwingTickerAndExpiryOnRead_leaveTheBoundedCacheConsistent() {
    Ledger ledger = new Ledger();
    AtomicLong time = new AtomicLong();
    AtomicInteger reads = new AtomicInteger();
    AtomicBoolean fail = new AtomicBoolean(true);
    Ticker ticker = () -> {
      if (fail.get() && (reads.incrementAndGet() % 7 == 0)) {
        throw new IllegalStateException("ticker");
      }
      return time.get();
    };
    Cache<Object, Val> cache = base().maximumWeight(8).weigher(valWeigher()).concurrencyLevel(4)
        .ticker(ticker).recordStats().removalListener(ledger)
        .expireAfter(new Expiry<Object, Val>() {
          @Override
          public long expireAfterCreate(Object key, Val value, long now) {
            return value.ttl;
          }

          @Override
          public long expireAfterUpdate(Object key, Val value, long now, long d) {
            return value.ttl;
          }

          @Override
          public long expireAfterRead(Object key, Val value, long now, long d) {
            if (fail.get() && (value.seq % 4 == 0)) {
              throw new ArithmeticException("expireAfterRead");
            }
            return d;
          }
        }).build();
    Random random = new Random(8);
    int failures = 0;
    for (int i = 0; i < 1_500; i++) {
      if (random.nextInt(5) == 0) {
        time.addAndGet(random.nextInt(1_000) - 200);
      }
      Object key = random.nextInt(16);
      long weight = random.nextInt(4);
      long ttl = 1 + random.nextInt(5_000);
      try {
        switch (random.nextInt(6)) {
          case 0, 1 -> {
            Val v = ledger.val(key, weight, ttl);
            cache.put(key, v);
            ledger.wrote(v);
          }
          case 2 -> {
            Val v = ledger.val(key, weight, ttl);
            Val[] stored = new Val[1];
            cache.asMap().compute(key, (k, old) -> stored[0] = v);
            ledger.wrote(stored[0]);
          }
          case 3 -> {
            Val v = ledger.val(key, weight, ttl);
            if (cache.get(key, k -> v) == v) {
              ledger.wrote(v);
            }
          }
          case 4 -> cache.invalidate(key);
          default -> cache.getIfPresent(key);
        }
      } catch (IllegalStateException | ArithmeticException expected) {
        failures++;
      }
      if (i % 100 == 0) {
        fail.set(false);
        checkAll("op " + i, cache, ledger, 8, true, true);
        fail.set(true);
      }
    }
    assertThat(failures).isPositive();
    fail.set(false);
    checkAll("end", cache, ledger, 8, true, true);
  }

  @Test
  void zeroTtlPuts_onABoundedCache_areReportedExpiredOnce_andLeaveNoPhantom() {
    AtomicLong time = new AtomicLong(5);
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumWeight(5).weigher(valWeigher()).concurrencyLevel(2)
        .ticker(time::get).recordStats().removalListener(ledger).build();
    for (int i = 0; i < 20; i++) {
      Val v = ledger.val(i % 4, 2);
      cache.put(v.key, v, (i % 3 == 0) ? Duration.ZERO : Duration.ofNanos(10));
      ledger.wrote(v);
      if (i % 5 == 4) {
        time.addAndGet(11);
      }
    }
    checkAll("zero ttl", cache, ledger, 5, true, true);
  }

  /* ====================================================================================== */
  /* Policy promises                                                                         */
  /* ====================================================================================== */

  /** Hot keys read 5 times each, then a one-time scan of {@code scan} new keys: how many stay. */
  static int hotSurvivors(long max, int level, int scan) {
    Cache<Object, Object> cache = base().maximumSize(max).concurrencyLevel(level).build();
    for (int i = 0; i < max; i++) {
      cache.put("hot" + i, i);
    }
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < max; i++) {
        assertThat(cache.getIfPresent("hot" + i)).isNotNull();
      }
    }
    for (int i = 0; i < scan; i++) {
      cache.put("scan" + i, i);
    }
    int survivors = 0;
    for (int i = 0; i < max; i++) {
      if (cache.getIfPresent("hot" + i) != null) {
        survivors++;
      }
    }
    assertThat(cache.estimatedSize()).isEqualTo(max);
    return survivors;
  }

  @Test
  void popularKeys_surviveAOneTimeScan() {
    // S3-FIFO gives up about 10% of main while small fills; the rest must stay.
    for (int level : new int[] {1, 4, 16}) {
      assertThat(hotSurvivors(100, level, 300)).as("hot keys of 100 left after a scan of 300, "
          + "level " + level).isGreaterThanOrEqualTo(85);
    }
    assertThat(hotSurvivors(10_000, 64, 10_000)).as("10,000 hot keys, level 64")
        .isGreaterThanOrEqualTo(8_500);
  }

  /**
   * DEFECT: with few entries per stripe (maximumSize 100 at concurrencyLevel 64, which is the
   * default on a machine with 16 or more cores; or 1,000 at 256), a one-time scan evicts far more
   * popular keys than the same cache with fewer stripes: 63 of 100 survive a scan of 100 at level
   * 64 (44 at 256), against 88-90 at levels 1 to 16.
   */
  @Test
  @Disabled("open defect of issue 10, docs/design.md 'Known limits' 6: with about two entries per "
      + "stripe, small holds far more than its share and scans reach main; reproduces every run")
  void defect_popularKeys_lostToAOneTimeScan_whenFewEntriesPerStripe() {
    int level1 = hotSurvivors(100, 1, 100);
    int level64 = hotSurvivors(100, 64, 100);
    int level256 = hotSurvivors(1_000, 256, 3_000);
    assertThat(level1).as("baseline, one stripe").isGreaterThanOrEqualTo(85);
    assertThat(List.of(level64, level256 / 10)).as("hot keys surviving a one-time scan: "
        + "[maximumSize 100 / level 64 / scan 100, maximumSize 1000 / level 256 / scan 3000 (%)]")
        .allSatisfy(n -> assertThat(n).isGreaterThanOrEqualTo(85));
  }

  @Test
  void popularKeys_surviveAScan_withHitsDuringTheScan() {
    Cache<Object, Object> cache = base().maximumSize(200).build();
    for (int i = 0; i < 50; i++) {
      cache.put("hot" + i, i);
    }
    for (int i = 0; i < 20_000; i++) {
      cache.put("scan" + i, i);
      Object hot = "hot" + (i % 50);
      if (cache.getIfPresent(hot) == null) {
        cache.put(hot, i);
      }
    }
    int survivors = 0;
    for (int i = 0; i < 50; i++) {
      if (cache.getIfPresent("hot" + i) != null) {
        survivors++;
      }
    }
    assertThat(survivors).as("hot keys read throughout a long scan").isGreaterThanOrEqualTo(45);
  }

  @Test
  void singleThreadedReplay_isDeterministic() {
    List<String> first = replay();
    List<String> second = replay();
    assertThat(second).isEqualTo(first);
    assertThat(replayColliding()).isEqualTo(replayColliding());
  }

  /** Colliding keys share sketch counters, so popular ties reach the seeded coin. */
  private static List<String> replayColliding() {
    List<String> events = new ArrayList<>();
    Cache<Object, Object> cache = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).maximumSize(40).concurrencyLevel(64)
        .removalListener((k, v, c) -> events.add(k + "=" + v + ":" + c)).build();
    Random random = new Random(7);
    for (int i = 0; i < 20_000; i++) {
      Object key = (random.nextInt(4) == 0) ? new ComparableCollider(random.nextInt(100))
          : random.nextInt(200);
      if (cache.getIfPresent(key) == null) {
        cache.put(key, i);
      }
    }
    List<String> snapshot = new ArrayList<>();
    cache.asMap().forEach((k, v) -> snapshot.add(k + "=" + v));
    Collections.sort(snapshot);
    events.addAll(snapshot);
    return events;
  }

  private static List<String> replay() {
    List<String> events = new ArrayList<>();
    AtomicLong time = new AtomicLong();
    Cache<Object, Object> cache = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).maximumWeight(300)
        .weigher((Object k, Object v) -> 1 + (((Integer) v) % 4)).ticker(time::get)
        .expireAfterAccess(Duration.ofNanos(5_000_000))
        .removalListener((k, v, c) -> events.add(k + "=" + v + ":" + c)).build();
    Random random = new Random(42);
    for (int i = 0; i < 30_000; i++) {
      int key = (int) Math.abs(random.nextGaussian() * 400);
      if (random.nextInt(3) == 0) {
        cache.put(key, i);
      } else if (cache.getIfPresent(key) == null) {
        cache.put(key, i);
      }
      time.addAndGet(random.nextInt(1_000));
    }
    events.add("size=" + cache.estimatedSize());
    List<String> snapshot = new ArrayList<>();
    cache.asMap().forEach((k, v) -> snapshot.add(k + "=" + v));
    Collections.sort(snapshot);
    events.addAll(snapshot);
    return events;
  }

  private static final Duration HOUR = Duration.ofHours(1);
  private static final Function<Integer, Integer> IDENTITY = k -> k;

  @Test
  void boundedHits_allocateNothing() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    if (!threads.isThreadAllocatedMemorySupported()) {
      return;
    }
    threads.setThreadAllocatedMemoryEnabled(true);
    AtomicLong time = new AtomicLong();
    List<Map.Entry<String, Function<Integer, Integer>>> readers = new ArrayList<>();
    Cache<Integer, Integer> small = Hourglass.newBuilder().maximumSize(1_024)
        .concurrencyLevel(1).<Integer, Integer>build();
    Cache<Integer, Integer> weighed = Hourglass.newBuilder().maximumWeight(1_000_000)
        .weigher((Integer k, Integer v) -> 3).<Integer, Integer>build();
    Cache<Integer, Integer> withExpiry = Hourglass.newBuilder().maximumSize(2_000)
        .ticker(time::get).scheduler(Scheduler.disabledScheduler())
        .expireAfter(Expiry.<Integer, Integer>accessing((k, v) -> HOUR)) // no allocation
        .<Integer, Integer>build();
    LoadingCache<Integer, Integer> loading = Hourglass.newBuilder().maximumSize(2_000)
        .build(k -> k);
    for (Cache<Integer, Integer> c : List.of(small, weighed, withExpiry, loading)) {
      for (int i = 0; i < 1_024; i++) {
        c.put(i, i);
      }
    }
    readers.add(Map.entry("maximumSize(1024), 1 stripe, getIfPresent", small::getIfPresent));
    readers.add(Map.entry("maximumWeight getIfPresent", weighed::getIfPresent));
    readers.add(Map.entry("maximumSize + Expiry getIfPresent", withExpiry::getIfPresent));
    readers.add(Map.entry("LoadingCache.getIfPresent", loading::getIfPresent));
    readers.add(Map.entry("asMap().get", k -> small.asMap().get(k)));
    readers.add(Map.entry("Cache.get(key, function) hit", k -> small.get(k, IDENTITY)));
    readers.add(Map.entry("asMap().computeIfAbsent hit",
        k -> small.asMap().computeIfAbsent(k, IDENTITY)));
    readers.add(Map.entry("asMap().getOrDefault", k -> small.asMap().getOrDefault(k, -1)));
    Integer[] keys = new Integer[1_024];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = i;
    }
    for (Map.Entry<String, Function<Integer, Integer>> reader : readers) {
      long allocated = Long.MAX_VALUE;
      long sum = 0;
      for (int round = 0; (round < 10) && ((round < 3) || (allocated >= 1_024)); round++) {
        long id = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(id);
        for (int i = 0; i < 200_000; i++) {
          sum += reader.getValue().apply(keys[i & 1023]);
        }
        allocated = threads.getThreadAllocatedBytes(id) - before;
      }
      assertThat(allocated).as(reader.getKey() + ": bytes allocated by 200,000 hits")
          .isLessThan(1_024);
      assertThat(sum).isPositive();
    }
  }

  /** Bytes one thread allocates for 200,000 calls in steady state (JIT warm). */
  static long steadyStateBytes(Function<Integer, Integer> read) {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    threads.setThreadAllocatedMemoryEnabled(true);
    Integer[] keys = new Integer[1_024];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = i;
    }
    long allocated = Long.MAX_VALUE;
    long sum = 0;
    for (int round = 0; (round < 10) && ((round < 3) || (allocated >= 1_024)); round++) {
      long id = Thread.currentThread().getId();
      long before = threads.getThreadAllocatedBytes(id);
      for (int i = 0; i < 200_000; i++) {
        sum += read.apply(keys[i & 1023]);
      }
      allocated = threads.getThreadAllocatedBytes(id) - before;
    }
    assertThat(sum).isPositive();
    return allocated;
  }

  /**
   * Was a defect (fixed: the loader function is made once): a hit through LoadingCache.get
   * allocated 16 bytes (the bound method reference
   * {@code this::loadOne} that StripedLoadingCache.get creates before it knows it is a hit), on
   * a bounded cache as on an unbounded one; getIfPresent on the same cache allocates nothing.
   */
  @Test
  void loadingCacheGet_hitAllocatesNothing() {
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    if (!threads.isThreadAllocatedMemorySupported()) {
      return;
    }
    LoadingCache<Integer, Integer> bounded = Hourglass.newBuilder().maximumSize(2_000)
        .build(k -> k + 1);
    for (int i = 0; i < 1_024; i++) {
      bounded.get(i);
    }
    long viaGetIfPresent = steadyStateBytes(bounded::getIfPresent);
    long viaGet = steadyStateBytes(bounded::get);
    assertThat(viaGetIfPresent).as("getIfPresent hits").isLessThan(1_024);
    assertThat(viaGet).as("LoadingCache.get: bytes allocated by 200,000 hits on a bounded cache")
        .isLessThan(1_024);
  }

  /* ====================================================================================== */
  /* Bad input                                                                               */
  /* ====================================================================================== */

  @Test
  void badInput_namesTheParameter() {
    assertThatThrownBy(() -> Hourglass.newBuilder().maximumSize(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximumSize");
    assertThatThrownBy(() -> Hourglass.newBuilder().maximumWeight(-5))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximumWeight");
    assertThatThrownBy(() -> Hourglass.newBuilder().concurrencyLevel(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concurrencyLevel");
    assertThatThrownBy(() -> Hourglass.newBuilder().concurrencyLevel(-3))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concurrencyLevel");
    assertThatThrownBy(() -> Hourglass.newBuilder().initialCapacity(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("initialCapacity");
    assertThatThrownBy(() -> Hourglass.newBuilder().weigher(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("weigher");
    assertThatThrownBy(() -> Hourglass.newBuilder().removalListener(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("listener");
    assertThatThrownBy(() -> Hourglass.newBuilder().ticker(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("ticker");
    assertThatThrownBy(() -> Hourglass.newBuilder().expireAfter(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("expiry");
    assertThatThrownBy(() -> Hourglass.newBuilder().executor(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("executor");
    assertThatThrownBy(() -> Hourglass.newBuilder().scheduler(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("scheduler");
    assertThatThrownBy(() -> Hourglass.newBuilder().maximumSize(3).build(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("loader");
    // concurrencyLevel beyond 4096 is accepted (capped)
    Cache<Object, Object> capped = Hourglass.newBuilder().concurrencyLevel(Integer.MAX_VALUE)
        .maximumSize(2).build();
    for (int i = 0; i < 100; i++) {
      capped.put(i, i);
      assertThat(capped.estimatedSize()).isLessThanOrEqualTo(2);
    }

    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = base().maximumWeight(10).weigher(valWeigher())
        .removalListener(ledger).recordStats().build();
    ledger.put(cache, "a", 3);
    Val negative = ledger.val("a", -1);
    assertThatThrownBy(() -> cache.put("a", negative)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("weigh");
    Val negative2 = ledger.val("b", -1);
    assertThatThrownBy(() -> cache.asMap().compute("b", (k, old) -> negative2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("weigh");
    assertThatThrownBy(() -> cache.asMap().merge("a", negative2, (x, y) -> y))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> cache.put(null, ledger.val("x", 1)))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("key");
    assertThatThrownBy(() -> cache.put("x", null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("value");
    assertThatThrownBy(() -> cache.put("x", ledger.val("x", 1), (Duration) null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("ttl");
    assertThatThrownBy(() -> cache.put("x", ledger.val("x", 1), Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ttl");
    assertThatThrownBy(() -> cache.getAllPresent(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("keys");
    assertThatThrownBy(() -> cache.invalidateAll((Iterable<Object>) null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("keys");
    assertThatThrownBy(() -> cache.get("x", null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("mappingFunction");
    assertThatThrownBy(() -> cache.asMap().compute("x", null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("remappingFunction");
    assertThat(cache.getIfPresent("a")).isSameAs(ledger.latest("a"));
    assertThat(cache.getIfPresent("b")).isNull();
    // the failed puts wrote nothing
    ledger.written.remove(negative);
    ledger.written.remove(negative2);
    checkAll("bad input", cache, ledger, 10, true, true);
  }

  /* ====================================================================================== */
  /* Concurrency: invariants only                                                            */
  /* ====================================================================================== */

  @Test
  void manyThreads_hammeringASmallBoundedCache_keepTheInvariants() throws Exception {
    for (boolean weighted : new boolean[] {false, true}) {
      int threads = 6;
      long max = 16;
      ConcurrentLinkedQueue<Removal> removals = new ConcurrentLinkedQueue<>();
      CacheBuilder<Object, Object> b = Hourglass.newBuilder().executor(Runnable::run)
          .scheduler(Scheduler.disabledScheduler()).concurrencyLevel(8).recordStats();
      RemovalListener<Object, Val> rec = (k, v, c) -> removals.add(new Removal(k, v, c));
      Cache<Object, Val> cache = weighted
          ? b.maximumWeight(max).weigher(valWeigher()).removalListener(rec).build()
          : b.maximumSize(max).removalListener(rec).build();
      List<Ledger> ledgers = new ArrayList<>();
      List<Thread> workers = new ArrayList<>();
      CountDownLatch start = new CountDownLatch(1);
      ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
      AtomicLong maxSeen = new AtomicLong();
      for (int t = 0; t < threads; t++) {
        Ledger ledger = new Ledger();
        ledger.seq = t * 10_000_000L;
        ledgers.add(ledger);
        int id = t;
        workers.add(new Thread(() -> {
          try {
            start.await();
            Random random = new Random(id);
            for (int i = 0; i < 20_000; i++) {
              int n = i;
              Object key = id * 1_000 + random.nextInt(12); // keys of its own, in shared stripes
              long weight = weighted ? random.nextInt(4) : 1;
              switch (random.nextInt(8)) {
                case 0, 1, 2 -> ledger.put(cache, key, weight);
                case 3 -> cache.invalidate(key);
                case 4 -> cache.asMap().compute(key, (k, old) -> (old != null) && (n % 5 == 0)
                    ? null : ledger.wrote(ledger.val(k, weight)));
                case 5 -> {
                  Val v = ledger.val(key, weight);
                  if (cache.asMap().merge(key, v, (a, bb) -> bb) == v) {
                    ledger.wrote(v);
                  }
                }
                case 6 -> cache.get(key, k -> ledger.wrote(ledger.val(k, weight)));
                default -> cache.getIfPresent(key);
              }
              long size = cache.estimatedSize();
              maxSeen.accumulateAndGet(size, Math::max);
            }
          } catch (Throwable e) {
            errors.add(e);
          }
        }, "hammer-" + t));
      }
      workers.forEach(Thread::start);
      start.countDown();
      for (Thread w : workers) {
        w.join(60_000);
        assertThat(w.isAlive()).as(w.getName() + " finished").isFalse();
      }
      assertThat(errors).isEmpty();
      cache.cleanUp();
      String ctx = "weighted=" + weighted;
      assertThat(cache.asMap().size()).as(ctx).isEqualTo((int) cache.estimatedSize());
      long total = 0;
      Map<String, Val> present = new HashMap<>();
      for (Map.Entry<Object, Val> e : cache.asMap().entrySet()) {
        present.put(id(e.getKey()), e.getValue());
        total += weighted ? e.getValue().weight : 1;
      }
      assertThat(total).as(ctx + ": bound at quiescence").isLessThanOrEqualTo(max);
      if (!weighted) {
        assertThat(maxSeen.get()).as(ctx + ": size seen during the run")
            .isLessThanOrEqualTo(max + 2L * threads);
      }
      IdentityHashMap<Val, Removal> reported = new IdentityHashMap<>();
      for (Removal r : removals) {
        assertThat(reported.put(r.value(), r)).as(ctx + ": reported twice " + r).isNull();
        assertThat(r.value().key).isEqualTo(r.key());
      }
      for (Ledger ledger : ledgers) {
        for (Map.Entry<String, Val> e : present.entrySet()) {
          Val latest = ledger.latest.get(e.getKey());
          if (latest != null) {
            assertThat(e.getValue()).as(ctx + ": latest value of " + e.getKey()).isSameAs(latest);
          }
        }
        for (Val v : ledger.written) {
          boolean isPresent = present.get(id(v.key)) == v;
          boolean isReported = reported.containsKey(v);
          assertThat(isPresent ^ isReported).as(ctx + ": " + v + " present=" + isPresent
              + " reported=" + isReported).isTrue();
        }
      }
      long evicted = removals.stream().filter(r -> r.cause().wasEvicted()).count();
      assertThat(cache.stats().evictionCount()).as(ctx).isEqualTo(evicted);
    }
  }
}
