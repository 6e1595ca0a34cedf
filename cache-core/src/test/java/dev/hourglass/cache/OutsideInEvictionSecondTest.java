package dev.hourglass.cache;

import static dev.hourglass.cache.OutsideInEvictionTest.checkAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.hourglass.cache.OutsideInEvictionTest.Ledger;
import dev.hourglass.cache.OutsideInEvictionTest.Removal;
import dev.hourglass.cache.OutsideInEvictionTest.Val;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Second outside-in pass over the size bound, aimed at eviction across stripes: the cross-stripe
 * admission contest and the exact cache-wide weight of the small queues. The small queue's share
 * is not observable directly, so the tests observe what it decides: how many popular keys a
 * one-time scan leaves, how many of the scan's own keys stay (about the small queue's size), and
 * the hit rate of a loop, compared between a fresh cache and one that went through a history of
 * operations (updates that change weights, expiry, removals, clears, resizes) and was then
 * emptied. A history that leaves a phantom in the count shows as a different share.
 */
final class OutsideInEvictionSecondTest {

  static CacheBuilder<Object, Object> base() {
    return Hourglass.newBuilder().executor(Runnable::run).scheduler(Scheduler.disabledScheduler());
  }

  static Cache<Object, Val> weighted(long max, int level, FakeTicker ticker, Ledger ledger,
      boolean stats) {
    CacheBuilder<Object, Object> b = base().maximumWeight(max).concurrencyLevel(level)
        .ticker(ticker);
    if (stats) {
      b.recordStats();
    }
    return b.weigher(OutsideInEvictionTest.valWeigher()).removalListener(ledger).build();
  }

  /* ====================================================================================== */
  /* Probes                                                                                  */
  /* ====================================================================================== */

  /** What a one-time scan leaves: popular keys kept, and the scan's own keys kept. */
  record Scan(int hotKept, int scanKept) {}

  /**
   * Empties the cache, fills it with {@code max} keys of weight 1 read 5 times each, then puts
   * a one-time scan of {@code 3 * max} new keys.
   */
  static Scan scanProbe(Cache<Object, Val> cache, Ledger ledger, long max, String tag) {
    cache.invalidateAll();
    cache.cleanUp();
    assertThat(cache.estimatedSize()).as(tag + ": empty before the probe").isZero();
    for (int i = 0; i < max; i++) {
      ledger.put(cache, tag + "hot" + i, 1);
    }
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < max; i++) {
        cache.getIfPresent(tag + "hot" + i);
      }
    }
    for (int i = 0; i < 3 * max; i++) {
      ledger.put(cache, tag + "scan" + i, 1);
    }
    cache.cleanUp();
    int hot = 0;
    int scan = 0;
    for (Object key : cache.asMap().keySet()) {
      String s = (String) key;
      if (s.startsWith(tag + "hot")) {
        hot++;
      } else if (s.startsWith(tag + "scan")) {
        scan++;
      }
    }
    return new Scan(hot, scan);
  }

  /**
   * Empties the cache, fills it once with {@code max} keys, then reads {@code passes} times in a
   * loop over {@code loop} keys, putting each miss. Returns hits per thousand.
   */
  static long loopProbe(Cache<Object, Val> cache, Ledger ledger, long max, int loop, int passes,
      String tag) {
    cache.invalidateAll();
    cache.cleanUp();
    for (int i = 0; i < max; i++) {
      ledger.put(cache, tag + "L" + i, 1);
    }
    long hits = 0;
    long reads = 0;
    for (int p = 0; p < passes; p++) {
      for (int i = 0; i < loop; i++) {
        reads++;
        if (cache.getIfPresent(tag + "L" + i) != null) {
          hits++;
        } else {
          ledger.put(cache, tag + "L" + i, 1);
        }
      }
    }
    return hits * 1000 / reads;
  }

  /**
   * The small queue's length, seen from outside: empties the cache, puts {@code 4 * max} new keys
   * of weight 1 that are never read, and for each SIZE eviction of one of them during the last
   * {@code max} puts, notes how many puts ago it was put. A key that leaves from the small queue
   * (it loses its contest, the common case) was put as many puts ago as the small queue holds.
   * Returns the most common lag.
   */
  static int smallLag(Cache<Object, Val> cache, Ledger ledger, long max, String tag) {
    cache.invalidateAll();
    cache.cleanUp();
    Map<Integer, Integer> lags = new java.util.TreeMap<>();
    int[] now = new int[1];
    RemovalListener<Object, Val> previous = ledger.hook;
    ledger.hook = (key, value, cause) -> {
      String s = key.toString();
      if (cause == RemovalCause.SIZE && s.startsWith(tag + "L") && now[0] >= 3 * max) {
        lags.merge(now[0] - Integer.parseInt(s.substring(tag.length() + 1)), 1, Integer::sum);
      }
    };
    try {
      for (int i = 0; i < 4 * max; i++) {
        now[0] = i;
        ledger.put(cache, tag + "L" + i, 1);
      }
    } finally {
      ledger.hook = previous;
    }
    int best = -1;
    int count = 0;
    for (Map.Entry<Integer, Integer> e : lags.entrySet()) {
      if (e.getValue() > count) {
        best = e.getKey();
        count = e.getValue();
      }
    }
    return best;
  }

  /** The small queue's lag of a fresh cache of the same bound and stripes. */
  static int freshLag(long max, int level) {
    Ledger ledger = new Ledger();
    return smallLag(weighted(max, level, new FakeTicker(), ledger, false), ledger, max, "f");
  }

  /**
   * The small queue holds what it holds in a fresh cache, within one entry. A probe can be
   * dominated by candidates that win their contests (a halving of the sketch's counts in the
   * middle of it makes every later key more popular than main's), which says nothing of the
   * small queue; a phantom in its count would show in every probe, so up to three are taken.
   */
  static void assertShareAsFresh(String ctx, Cache<Object, Val> cache, Ledger ledger, long max,
      int level) {
    int fresh = freshLag(max, level);
    assertThat(fresh).as(ctx + ": a fresh cache's small queue holds 10% of " + max)
        .isBetween((int) (max / 10) - 1, (int) (max / 10) + 1);
    List<Integer> lags = new ArrayList<>();
    for (int probe = 0; probe < 3; probe++) {
      int lag = smallLag(cache, ledger, max, "lag" + probe + "_");
      lags.add(lag);
      if (Math.abs(lag - fresh) <= 1) {
        return;
      }
    }
    assertThat(lags).as(ctx + ": small queue length after the history, three probes, vs fresh "
        + fresh).anySatisfy(lag -> assertThat(lag).isBetween(fresh - 1, fresh + 1));
  }

  /* ====================================================================================== */
  /* Histories that touch the small queues' weight                                           */
  /* ====================================================================================== */

  /** One step of a history, run after the put of key {@code k(i)} of a cycle. */
  interface Step {
    void run(Cache<Object, Val> cache, Ledger ledger, FakeTicker ticker, long max, String c,
        int i);
  }

  static String k(String c, int i) {
    return c + "k" + i;
  }

  static final Map<String, Step> HISTORIES = new LinkedHashMap<>();

  static {
    HISTORIES.put("nothing", (cache, l, t, max, c, i) -> {});
    HISTORIES.put("heavierUpdate", (cache, l, t, max, c, i) -> {
      if (i >= 2) {
        l.put(cache, k(c, i - 2), 4);
      }
    });
    HISTORIES.put("heavierThenLighterUpdate", (cache, l, t, max, c, i) -> {
      if (i >= 2) {
        l.put(cache, k(c, i - 2), 4);
      }
      if (i >= 3) {
        l.put(cache, k(c, i - 3), 1);
      }
    });
    HISTORIES.put("lighterUpdate", (cache, l, t, max, c, i) -> {
      l.put(cache, k(c, i), 3); // the key, again, heavier at once
      if (i >= 2) {
        l.put(cache, k(c, i - 2), 1);
      }
    });
    HISTORIES.put("zeroWeightAndBack", (cache, l, t, max, c, i) -> {
      if (i >= 2) {
        l.put(cache, k(c, i - 2), 0);
      }
      if (i >= 6 && (i % 2 == 0)) {
        l.put(cache, k(c, i - 6), 2);
      }
    });
    HISTORIES.put("invalidate", (cache, l, t, max, c, i) -> {
      if (i >= 2 && (i % 2 == 0)) {
        cache.invalidate(k(c, i - 2));
      }
    });
    HISTORIES.put("mapRemoveAndComputeNull", (cache, l, t, max, c, i) -> {
      if (i >= 3 && (i % 3 == 0)) {
        cache.asMap().remove(k(c, i - 2));
        cache.asMap().compute(k(c, i - 3), (kk, v) -> null);
      }
    });
    HISTORIES.put("computeMergeReplaceWeights", (cache, l, t, max, c, i) -> {
      if (i >= 4) {
        cache.asMap().computeIfPresent(k(c, i - 2), (kk, v) -> l.wrote(l.val(kk, 3)));
        Val m = l.val(k(c, i - 3), 0);
        if (cache.asMap().merge(k(c, i - 3), m, (a, b) -> b) == m) {
          l.wrote(m);
        }
        Val r = l.val(k(c, i - 4), 2);
        if (cache.asMap().replace(k(c, i - 4), r) != null) {
          l.wrote(r);
        }
      }
    });
    HISTORIES.put("ttlExpiresInSmall", (cache, l, t, max, c, i) -> {
      // a second key per step with its own short lifetime
      Val v = l.val(c + "ttl" + i, 2);
      l.wrote(v);
      cache.put(c + "ttl" + i, v, Duration.ofSeconds(1));
      if (i % 7 == 0) {
        t.advance(Duration.ofSeconds(2));
      }
      if (i % 29 == 0) {
        cache.cleanUp();
      }
    });
    HISTORIES.put("ttlExpiresOnRead", (cache, l, t, max, c, i) -> {
      Val v = l.val(c + "ttl" + i, 1);
      l.wrote(v);
      cache.put(c + "ttl" + i, v, Duration.ofSeconds(1));
      t.advance(Duration.ofMillis(600));
      if (i >= 2) {
        cache.getIfPresent(c + "ttl" + (i - 2));
      }
    });
    HISTORIES.put("ttlUpdatedWithWeight", (cache, l, t, max, c, i) -> {
      Val v = l.val(c + "ttl" + i, 1);
      l.wrote(v);
      cache.put(c + "ttl" + i, v, Duration.ofSeconds(1));
      if (i >= 1) {
        Val w = l.val(c + "ttl" + (i - 1), 3);
        l.wrote(w);
        cache.put(c + "ttl" + (i - 1), w, Duration.ofSeconds(1));
      }
      if (i % 5 == 0) {
        t.advance(Duration.ofSeconds(2));
      }
    });
    HISTORIES.put("removeIfAndIteratorRemove", (cache, l, t, max, c, i) -> {
      if (i % 50 == 49) {
        cache.asMap().entrySet().removeIf(e -> e.getValue().seq % 3 == 0);
        var it = cache.asMap().values().iterator();
        for (int n = 0; n < 5 && it.hasNext(); n++) {
          it.next();
          it.remove();
        }
      }
    });
    HISTORIES.put("heavierThanTheBound", (cache, l, t, max, c, i) -> {
      if (i % 20 == 0) {
        l.put(cache, c + "heavy" + i, max + 1);
      }
      if (i % 20 == 10 && i >= 10) {
        l.put(cache, k(c, i - 1), max + 1); // an update heavier than the bound
      }
    });
    HISTORIES.put("invalidateAllMidway", (cache, l, t, max, c, i) -> {
      if (i % 97 == 96) {
        cache.invalidateAll();
      }
      if (i % 131 == 130) {
        cache.asMap().clear();
      }
    });
    HISTORIES.put("ttlPutOverPlainAndBack", (cache, l, t, max, c, i) -> {
      if (i >= 2) {
        Val v = l.val(k(c, i - 2), 2);
        l.wrote(v);
        cache.put(k(c, i - 2), v, Duration.ofHours(1)); // a lifetime onto a plain entry
      }
      if (i >= 4) {
        l.put(cache, k(c, i - 4), 1); // and a plain write over it
      }
    });
    HISTORIES.put("insertThroughEveryPath", (cache, l, t, max, c, i) -> {
      String key = c + "m" + i;
      Val v = l.val(key, 1 + (i % 3));
      switch (i % 7) {
        case 0 -> cache.asMap().computeIfAbsent(key, kk -> l.wrote(v));
        case 1 -> cache.asMap().compute(key, (kk, old) -> l.wrote(v));
        case 2 -> {
          if (cache.asMap().merge(key, v, (a, b) -> b) == v) {
            l.wrote(v);
          }
        }
        case 3 -> {
          if (cache.asMap().putIfAbsent(key, v) == null) {
            l.wrote(v);
          }
        }
        case 4 -> cache.get(key, kk -> l.wrote(v));
        case 5 -> {
          l.wrote(v);
          cache.putAll(Map.of(key, v));
        }
        default -> cache.getAll(List.of(key), ks -> Map.of(key, l.wrote(v)));
      }
    });
    HISTORIES.put("setMaximumDownAndUp", (cache, l, t, max, c, i) -> {
      var e = cache.policy().eviction().orElseThrow();
      if (i % 60 == 30) {
        e.setMaximum(max / 3);
      } else if (i % 60 == 40) {
        e.setMaximum(0);
      } else if (i % 60 == 45) {
        e.setMaximum(max * 2);
      } else if (i % 60 == 59) {
        e.setMaximum(max);
      }
    });
  }

  /**
   * Runs {@code cycles} cycles of the history: each puts {@code 2 * max} new keys with the step
   * after each, checks every invariant and ends with {@code invalidateAll()}.
   */
  static void runHistory(String name, Step step, Cache<Object, Val> cache, Ledger ledger,
      FakeTicker ticker, long max, int cycles) {
    for (int cycle = 0; cycle < cycles; cycle++) {
      String c = name + cycle + "_";
      for (int i = 0; i < 2 * max; i++) {
        ledger.put(cache, k(c, i), 1);
        step.run(cache, ledger, ticker, max, c, i);
        if (i % 3 == 0) {
          cache.getIfPresent(k(c, i / 2));
        }
      }
      cache.policy().eviction().orElseThrow().setMaximum(max);
      checkAll(name + " cycle " + cycle, cache, ledger, max, true, true);
      cache.invalidateAll();
    }
  }

  /* ====================================================================================== */
  /* The small queue's share does not drift                                                   */
  /* ====================================================================================== */

  static final long MAX = 1000;

  static Scan freshScan(int level) {
    return scanProbe(weighted(MAX, level, new FakeTicker(), new Ledger(), false), new Ledger(),
        MAX, "fresh");
  }

  /** Every history, then invalidateAll: the small queue must hold what a fresh one holds. */
  static List<String> driftAfterHistories(int level, int cycles) {
    int fresh = freshLag(MAX, level);
    assertThat(fresh).as("fresh lag").isBetween((int) MAX / 10 - 1, (int) MAX / 10 + 1);
    List<String> drifted = new ArrayList<>();
    for (Map.Entry<String, Step> h : HISTORIES.entrySet()) {
      Ledger ledger = new Ledger();
      FakeTicker ticker = new FakeTicker();
      Cache<Object, Val> cache = weighted(MAX, level, ticker, ledger, true);
      runHistory(h.getKey(), h.getValue(), cache, ledger, ticker, MAX, cycles);
      List<Integer> lags = new ArrayList<>();
      for (int probe = 0; probe < 3; probe++) {
        lags.add(smallLag(cache, ledger, MAX, "lag" + probe + "_"));
        if (Math.abs(lags.get(probe) - fresh) <= 1) {
          break;
        }
      }
      Scan after = scanProbe(cache, ledger, MAX, "probe");
      checkAll(h.getKey() + " after probes", cache, ledger, MAX, true, true);
      if (Math.abs(lags.get(lags.size() - 1) - fresh) > 1 || after.hotKept() < 780) {
        drifted.add(h.getKey() + ": lags " + lags + " vs fresh " + fresh + ", scan " + after);
      }
    }
    return drifted;
  }

  @Test
  void freshCache_scanKeepsPopularKeys_andAboutTheSmallShareOfTheScan() {
    for (int level : new int[] {1, 4, 16}) {
      Scan fresh = freshScan(level);
      assertThat(fresh.hotKept()).as("level " + level + " " + fresh).isGreaterThanOrEqualTo(850);
      assertThat(fresh.hotKept() + fresh.scanKept()).as("level " + level).isEqualTo((int) MAX);
    }
  }

  @Test
  void histories_leaveNoPhantomInTheSmallShare_oneStripe() {
    assertThat(driftAfterHistories(1, 1)).isEmpty();
  }

  @Test
  void histories_leaveNoPhantomInTheSmallShare_sixteenStripes() {
    assertThat(driftAfterHistories(16, 1)).isEmpty();
  }

  /* ====================================================================================== */
  /* Loops and clears                                                                         */
  /* ====================================================================================== */

  @Test
  void loopSlightlyLargerThanTheCache_hitsAGoodShare_andTheSameAfterInvalidateAll() {
    for (int level : new int[] {1, 4, 16}) {
      Ledger ledger = new Ledger();
      Cache<Object, Val> cache = weighted(MAX, level, new FakeTicker(), ledger, true);
      long fresh = loopProbe(cache, ledger, MAX, (int) (MAX * 11 / 10), 20, "a");
      long again = loopProbe(cache, ledger, MAX, (int) (MAX * 11 / 10), 20, "b");
      cache.asMap().clear();
      long third = loopProbe(cache, ledger, MAX, (int) (MAX * 11 / 10), 20, "c");
      String ctx = "level " + level + " fresh/again/third " + fresh + "/" + again + "/" + third;
      assertThat(fresh).as(ctx).isGreaterThanOrEqualTo(750); // 820 per mille measured
      assertThat(Math.abs(again - fresh)).as(ctx).isLessThanOrEqualTo(10);
      assertThat(Math.abs(third - fresh)).as(ctx).isLessThanOrEqualTo(10);
      checkAll(ctx, cache, ledger, MAX, true, true);
    }
  }

  @Test
  void setMaximumDownAndUp_keepsTheBound_andHotKeys() {
    for (int level : new int[] {1, 4, 16}) {
      Ledger ledger = new Ledger();
      Cache<Object, Val> cache = weighted(MAX, level, new FakeTicker(), ledger, true);
      var eviction = cache.policy().eviction().orElseThrow();
      for (int i = 0; i < MAX; i++) {
        ledger.put(cache, "hot" + i, 1);
      }
      for (int round = 0; round < 5; round++) {
        for (int i = 0; i < MAX; i++) {
          cache.getIfPresent("hot" + i);
        }
      }
      for (int i = 0; i < MAX; i++) {
        ledger.put(cache, "warm" + i, 1);
      }
      String ctx = "level " + level;
      for (long m : new long[] {MAX / 2, MAX * 3, MAX / 10, MAX, MAX * 2, MAX}) {
        eviction.setMaximum(m);
        assertThat(eviction.weightedSize().getAsLong()).as(ctx + " max " + m)
            .isLessThanOrEqualTo(m);
        for (int i = 0; i < MAX; i++) {
          if (cache.getIfPresent("hot" + (i % 50)) == null) {
            ledger.put(cache, "hot" + (i % 50), 1);
          }
          ledger.put(cache, "scan" + m + "_" + i, 1);
        }
        checkAll(ctx + " max " + m, cache, ledger, m, true, true);
      }
      int hot = 0;
      for (int i = 0; i < 50; i++) {
        hot += cache.getIfPresent("hot" + i) != null ? 1 : 0;
      }
      assertThat(hot).as(ctx + ": hot keys read throughout the resizes").isGreaterThanOrEqualTo(45);
      assertShareAsFresh(ctx, cache, ledger, MAX, level);
    }
  }

  /* ====================================================================================== */
  /* Accounting                                                                               */
  /* ====================================================================================== */

  @Test
  void everyHistory_keepsTheBoundAndTheBooks_fewStripes() {
    for (int level : new int[] {1, 2, 16}) {
      for (Map.Entry<String, Step> h : HISTORIES.entrySet()) {
        Ledger ledger = new Ledger();
        FakeTicker ticker = new FakeTicker();
        long max = 40;
        Cache<Object, Val> cache = weighted(max, level, ticker, ledger, true);
        runHistory(h.getKey() + "/" + level, h.getValue(), cache, ledger, ticker, max, 4);
        checkAll(h.getKey() + "/" + level, cache, ledger, max, true, true);
      }
    }
  }

  @Test
  void listenerCallingBackIntoTheCache_duringSizeEvictions_keepsTheBooks() {
    for (int level : new int[] {1, 4, 16}) {
      Ledger ledger = new Ledger();
      long max = 50;
      Cache<Object, Val> cache = weighted(max, level, new FakeTicker(), ledger, true);
      AtomicLong n = new AtomicLong();
      AtomicBoolean inHook = new AtomicBoolean();
      ledger.hook = (key, value, cause) -> {
        if (cause != RemovalCause.SIZE || !inHook.compareAndSet(false, true)) {
          return;
        }
        try {
          long x = n.incrementAndGet();
          switch ((int) (x % 4)) {
            case 0 -> ledger.put(cache, "cb" + x, 1 + (x % 3));
            case 1 -> cache.invalidate("k" + (x % 90));
            case 2 -> cache.getIfPresent("k" + (x % 90));
            default -> ledger.put(cache, "k" + (x % 90), x % 2);
          }
        } finally {
          inHook.set(false);
        }
      };
      Random random = new Random(level);
      for (int i = 0; i < 5_000; i++) {
        ledger.put(cache, "k" + random.nextInt(90), random.nextInt(4));
        if (random.nextInt(4) == 0) {
          cache.getIfPresent("k" + random.nextInt(90));
        }
      }
      checkAll("level " + level, cache, ledger, max, true, true);
    }
  }

  /**
   * A listener that, on each SIZE eviction, rewrites or removes the entry the policy names as the
   * next to go (coldest): the eviction round in progress must act on what is there now.
   */
  @Test
  void listenerRewritingTheNextVictim_duringSizeEvictions_keepsTheBooks() {
    for (String mode : new String[] {"zero", "invalidate", "heavier", "read", "lighter"}) {
      for (int level : new int[] {1, 2, 16}) {
        Ledger ledger = new Ledger();
        long max = 40;
        Cache<Object, Val> cache = weighted(max, level, new FakeTicker(), ledger, true);
        var eviction = cache.policy().eviction().orElseThrow();
        AtomicBoolean inHook = new AtomicBoolean();
        ledger.hook = (key, value, cause) -> {
          if (cause != RemovalCause.SIZE || !inHook.compareAndSet(false, true)) {
            return;
          }
          try {
            for (Map.Entry<Object, Val> e : eviction.coldest(2).entrySet()) {
              Object k = e.getKey();
              switch (mode) {
                case "zero" -> ledger.put(cache, k, 0);
                case "invalidate" -> cache.invalidate(k);
                case "heavier" -> ledger.put(cache, k, e.getValue().weight + 2);
                case "lighter" -> ledger.put(cache, k, Math.max(0, e.getValue().weight - 1));
                default -> {
                  for (int r = 0; r < 4; r++) {
                    cache.getIfPresent(k);
                  }
                }
              }
            }
          } finally {
            inHook.set(false);
          }
        };
        Random random = new Random(level * 31L + mode.hashCode());
        for (int i = 0; i < 3_000; i++) {
          ledger.put(cache, "k" + random.nextInt(120), 1 + random.nextInt(3));
          if (random.nextInt(3) == 0) {
            cache.getIfPresent("k" + random.nextInt(120));
          }
          if (i % 500 == 0) {
            checkAll(mode + " level " + level + " op " + i, cache, ledger, max, true, true);
          }
        }
        checkAll(mode + " level " + level, cache, ledger, max, true, true);
        ledger.hook = null;
        // after all that, a probe: the small share is as in a fresh cache of the same bound
        assertShareAsFresh(mode + " level " + level, cache, ledger, max, level);
      }
    }
  }

  /** Expiry per entry; values expire while in the small queue, under heavy eviction. */
  @Test
  void expiryWhileEvicting_reportsEachOnce_withTheRightCause() {
    for (int level : new int[] {1, 4, 16}) {
      Ledger ledger = new Ledger();
      FakeTicker ticker = new FakeTicker();
      long max = 60;
      Cache<Object, Val> cache = base().maximumWeight(max).concurrencyLevel(level).ticker(ticker)
          .recordStats().expireAfter(Expiry.<Object, Val>creating((key, v) -> Duration.ofNanos(
              v.ttl)))
          .weigher(OutsideInEvictionTest.valWeigher()).removalListener(ledger).build();
      Random random = new Random(7 + level);
      for (int i = 0; i < 6_000; i++) {
        Object key = "k" + random.nextInt(150);
        Val v = ledger.val(key, random.nextInt(4), 1 + random.nextInt(1_000));
        ledger.wrote(v);
        cache.put(key, v);
        switch (random.nextInt(6)) {
          case 0 -> ticker.advanceNanos(random.nextInt(300));
          case 1 -> cache.invalidate("k" + random.nextInt(150));
          case 2 -> cache.getIfPresent("k" + random.nextInt(150));
          default -> { }
        }
      }
      // expired removals: each reported EXPIRED and only after its deadline; every removal once
      checkAll("level " + level, cache, ledger, max, true, true);
      ticker.advance(Duration.ofSeconds(1));
      cache.cleanUp();
      checkAll("level " + level + " all expired", cache, ledger, max, true, true);
      assertThat(cache.estimatedSize()).isZero();
      Scan after = scanProbe(cache, ledger, 60, "p");
      assertThat(after.hotKept()).as("level " + level + " " + after).isGreaterThanOrEqualTo(45);
    }
  }

  /** Popular keys all in one stripe (one hash), a scan spread over the others: contests cross. */
  @Test
  void popularKeysInOneStripe_surviveAScanSpreadOverTheOthers() {
    for (int level : new int[] {2, 4, 16}) {
      long max = 200;
      Ledger ledger = new Ledger();
      Cache<Object, Val> cache = weighted(max, level, new FakeTicker(), ledger, true);
      List<Object> hot = new ArrayList<>();
      for (int i = 0; i < 150; i++) {
        hot.add(new OutsideInEvictionTest.ComparableCollider(i));
      }
      for (Object key : hot) {
        ledger.put(cache, key, 1);
      }
      for (int i = 0; i < 50; i++) {
        ledger.put(cache, "fill" + i, 1);
      }
      for (int round = 0; round < 5; round++) {
        for (Object key : hot) {
          cache.getIfPresent(key);
        }
      }
      for (int i = 0; i < 3 * max; i++) {
        ledger.put(cache, "scan" + i, 1);
      }
      checkAll("level " + level, cache, ledger, max, true, true);
      int kept = 0;
      for (Object key : hot) {
        kept += (cache.getIfPresent(key) != null) ? 1 : 0;
      }
      assertThat(kept).as("level " + level + ": popular keys of one stripe kept of 150")
          .isGreaterThanOrEqualTo(130);
    }
  }

  @Test
  void refreshChangingWeights_thenInvalidateAll_scanBehavesAsFresh() {
    for (int level : new int[] {1, 16}) {
      Ledger ledger = new Ledger();
      AtomicLong loads = new AtomicLong();
      LoadingCache<Object, Val> cache = base().maximumWeight(MAX).concurrencyLevel(level)
          .recordStats().weigher(OutsideInEvictionTest.valWeigher()).removalListener(ledger)
          .build(key -> ledger.wrote(ledger.val(key, loads.incrementAndGet() % 4)));
      for (int cycle = 0; cycle < 3; cycle++) {
        for (int i = 0; i < 2 * MAX; i++) {
          cache.get("c" + cycle + "k" + i);
          if (i >= 2) {
            cache.refresh("c" + cycle + "k" + (i - 2)).join();
          }
          if (i % 50 == 49) {
            List<Object> keys = new ArrayList<>();
            for (int j = i - 10; j <= i; j++) {
              keys.add("c" + cycle + "k" + j);
            }
            cache.refreshAll(keys).join();
          }
        }
        checkAll("level " + level + " cycle " + cycle, cache, ledger, MAX, true, true);
        cache.invalidateAll();
      }
      assertShareAsFresh("level " + level, cache, ledger, MAX, level);
      checkAll("level " + level + " after probe", cache, ledger, MAX, true, true);
    }
  }

  /**
   * Was a defect (at 2afbe40): 500 zero-weight keys after the popular ones, then a scan with one
   * after each scan key: 0 of 1,000 popular keys kept at level 1, against 856 without the
   * zero-weight keys. Main's room was judged by a weightless head's weight, and the scan key
   * behind it moved to main uncontested each time.
   */
  @Test
  void zeroWeightEntriesBeforeAndDuringAScan_neverEvicted_popularKeysStay() {
    for (int level : new int[] {1, 4, 16}) {
      Ledger ledger = new Ledger();
      Cache<Object, Val> cache = weighted(MAX, level, new FakeTicker(), ledger, true);
      for (int i = 0; i < MAX; i++) {
        ledger.put(cache, "hot" + i, 1);
      }
      for (int round = 0; round < 5; round++) {
        for (int i = 0; i < MAX; i++) {
          cache.getIfPresent("hot" + i);
        }
      }
      for (int i = 0; i < MAX / 2; i++) {
        ledger.put(cache, "zero" + i, 0);
      }
      for (int i = 0; i < 3 * MAX; i++) {
        ledger.put(cache, "scan" + i, 1);
        ledger.put(cache, "zero" + (MAX + i), 0);
      }
      checkAll("level " + level, cache, ledger, MAX, true, true);
      int hot = 0;
      int zero = 0;
      for (Object key : cache.asMap().keySet()) {
        hot += key.toString().startsWith("hot") ? 1 : 0;
        zero += key.toString().startsWith("zero") ? 1 : 0;
      }
      assertThat(zero).as("zero-weight entries stay").isEqualTo((int) (MAX / 2 + 3 * MAX));
      Scan fresh = freshScan(level);
      assertThat(hot).as("level " + level + ": popular keys kept of " + MAX + " after a scan of "
          + "weight-1 keys, each followed by a new zero-weight key; the same scan without "
          + "the zero-weight keys keeps " + fresh.hotKept())
          .isGreaterThanOrEqualTo(fresh.hotKept() - (int) MAX / 20);
    }
  }

  /** Popular keys kept of {@code MAX} after a scan with a zero-weight key every {@code every}. */
  static int hotKeptWithZeroWeightKeysInTheScan(int level, int every) {
    Ledger ledger = new Ledger();
    Cache<Object, Val> cache = weighted(MAX, level, new FakeTicker(), ledger, true);
    for (int i = 0; i < MAX; i++) {
      ledger.put(cache, "hot" + i, 1);
    }
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < MAX; i++) {
        cache.getIfPresent("hot" + i);
      }
    }
    for (int i = 0; i < 3 * MAX; i++) {
      ledger.put(cache, "scan" + i, 1);
      if (every > 0 && (i % every) == 0) {
        ledger.put(cache, "zero" + i, 0);
      }
    }
    checkAll("level " + level + " every " + every, cache, ledger, MAX, true, true);
    int hot = 0;
    for (Object key : cache.asMap().keySet()) {
      hot += key.toString().startsWith("hot") ? 1 : 0;
    }
    return hot;
  }

  /**
   * Was a defect (at 2afbe40; see above): zero-weight keys put during a one-time scan cost
   * popular entries their place, though they take no room: with a new zero-weight key after each scan key none of 1,000 popular keys
   * survive (at levels 1, 4 and 16), with one after every tenth scan key 416 / about 620 survive,
   * against 824 to 896 for the same scan without them. The weight stays at the bound and no
   * zero-weight entry is evicted; the popular ones go instead of the scan's.
   */
  @Test
  void zeroWeightKeysInterleavedWithAScan_doNotFlushPopularKeys() {
    List<String> results = new ArrayList<>();
    boolean ok = true;
    for (int level : new int[] {1, 4, 16}) {
      int without = hotKeptWithZeroWeightKeysInTheScan(level, 0);
      assertThat(without).as("level " + level + " baseline").isGreaterThanOrEqualTo(800);
      for (int every : new int[] {1, 10}) {
        int with = hotKeptWithZeroWeightKeysInTheScan(level, every);
        results.add("level " + level + " zero-weight key every " + every + " scan keys: " + with
            + " kept vs " + without + " without");
        ok &= with >= without - MAX / 20;
      }
    }
    assertThat(ok).as("popular keys kept of %d: %s", MAX, results).isTrue();
  }

  /* ====================================================================================== */
  /* Asynchronous caches                                                                      */
  /* ====================================================================================== */

  @Test
  void asyncInFlightFutures_weighNothing_neverEvicted_andSettleIntoTheBound() {
    for (int level : new int[] {1, 4, 16}) {
      Ledger ledger = new Ledger();
      long max = 30;
      AsyncCache<Object, Val> cache = base().maximumWeight(max).concurrencyLevel(level)
          .recordStats().weigher(OutsideInEvictionTest.valWeigher()).removalListener(ledger)
          .buildAsync();
      List<CompletableFuture<Val>> pending = new ArrayList<>();
      List<Object> pendingKeys = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        CompletableFuture<Val> f = new CompletableFuture<>();
        cache.put("f" + i, f);
        pending.add(f);
        pendingKeys.add("f" + i);
      }
      for (int i = 0; i < 400; i++) {
        Val v = ledger.val("s" + i, 1 + (i % 3));
        ledger.wrote(v);
        cache.put("s" + i, CompletableFuture.completedFuture(v));
      }
      var eviction = cache.synchronous().policy().eviction().orElseThrow();
      for (Object key : pendingKeys) {
        assertThat(cache.getIfPresent(key)).as("in-flight " + key + " is never evicted")
            .isNotNull();
      }
      assertThat(ledger.removals.stream().filter(r -> r.key().toString().startsWith("f")))
          .isEmpty();
      assertThat(eviction.weightedSize().getAsLong()).isLessThanOrEqualTo(max);
      // complete them: some fail, most settle with a weight, evicting to the bound
      for (int i = 0; i < pending.size(); i++) {
        if (i % 5 == 0) {
          pending.get(i).completeExceptionally(new IllegalStateException("no " + i));
        } else {
          Val v = ledger.val("f" + i, i % 4);
          ledger.wrote(v);
          pending.get(i).complete(v);
        }
        assertThat(eviction.weightedSize().getAsLong()).as("after completing f" + i)
            .isLessThanOrEqualTo(max);
      }
      checkAll("async level " + level, cache.synchronous(), ledger, max, true, true);
      // the small share after all this is as for a fresh cache
      eviction.setMaximum(100);
      assertShareAsFresh("async level " + level, cache.synchronous(), ledger, 100, level);
    }
  }

  /** A future whose entry was replaced by a put: its late value is reported, never stored. */
  static void complete(Ledger ledger, java.util.Set<Integer> replaced, int i,
      CompletableFuture<Val> f, Val v) {
    if (replaced.contains(i)) {
      ledger.written.add(v);
    } else {
      ledger.wrote(v);
    }
    f.complete(v);
  }

  @Test
  void asyncFuturesCompletingAfterTheBoundFilled_thenInvalidateAll_shareAsFresh() {
    for (int level : new int[] {1, 16}) {
      Ledger ledger = new Ledger();
      AsyncCache<Object, Val> cache = base().maximumWeight(MAX).concurrencyLevel(level)
          .weigher(OutsideInEvictionTest.valWeigher()).removalListener(ledger).buildAsync();
      for (int cycle = 0; cycle < 3; cycle++) {
        List<CompletableFuture<Val>> pending = new ArrayList<>();
        java.util.Set<Integer> replaced = new java.util.HashSet<>();
        for (int i = 0; i < 2 * MAX; i++) {
          CompletableFuture<Val> f = new CompletableFuture<>();
          String key = "c" + cycle + "k" + i;
          cache.put(key, f);
          pending.add(f);
          if (i >= 3) {
            CompletableFuture<Val> g = pending.get(i - 3);
            Val v = ledger.val("c" + cycle + "k" + (i - 3), (i % 4 == 0) ? 0 : 2);
            complete(ledger, replaced, i - 3, g, v);
          }
          if (i % 10 == 0 && i >= 10) {
            // a put over a still-loading future
            Val v = ledger.val("c" + cycle + "k" + (i - 1), 1);
            ledger.wrote(v);
            cache.put("c" + cycle + "k" + (i - 1), CompletableFuture.completedFuture(v));
            replaced.add(i - 1);
          }
        }
        for (int i = 0; i < pending.size(); i++) {
          if (!pending.get(i).isDone()) {
            if (i % 2 == 0) {
              pending.get(i).cancel(false);
            } else {
              Val v = ledger.val("c" + cycle + "k" + i, 1);
              complete(ledger, replaced, i, pending.get(i), v);
            }
          }
        }
        checkAll("level " + level + " cycle " + cycle, cache.synchronous(), ledger, MAX, true,
            false);
        cache.synchronous().invalidateAll();
      }
      assertShareAsFresh("async level " + level, cache.synchronous(), ledger, MAX, level);
    }
  }

  /* ====================================================================================== */
  /* Concurrency                                                                              */
  /* ====================================================================================== */

  static void hammer(Cache<Object, Val> cache, int threads, long millis, int keys,
      boolean weightedValues, ConcurrentLinkedQueue<Throwable> errors) throws Exception {
    hammer(cache, null, threads, millis, keys, weightedValues, errors);
  }

  /** With a ticker, some puts have a short lifetime and the workers move the time. */
  static void hammer(Cache<Object, Val> cache, FakeTicker ticker, int threads, long millis,
      int keys, boolean weightedValues, ConcurrentLinkedQueue<Throwable> errors)
      throws Exception {
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    for (int t = 0; t < threads; t++) {
      int id = t;
      Thread w = new Thread(() -> {
        try {
          start.await();
          Random random = new Random(id * 7919L);
          long seq = id * 1_000_000_000L;
          while (!stop.get()) {
            for (int n = 0; n < 100; n++) {
              Object key = "k" + random.nextInt(keys);
              long weight = weightedValues ? random.nextInt(5) : 1;
              Val v = new Val(key, ++seq, weight, Long.MAX_VALUE);
              int op = random.nextInt(10);
              if (ticker != null && op == 9) {
                cache.put(key, v, Duration.ofNanos(1 + random.nextInt(1_000)));
                ticker.advanceNanos(random.nextInt(50));
                continue;
              }
              switch (op) {
                case 0, 1, 2 -> cache.put(key, v);
                case 3 -> cache.invalidate(key);
                case 4 -> cache.asMap().compute(key, (kk, old) -> (old != null)
                    && (v.seq % 3 == 0) ? null : v);
                case 5 -> cache.asMap().merge(key, v, (a, b) -> b);
                case 6 -> cache.get(key, kk -> v);
                case 7 -> {
                  if (random.nextInt(200) == 0) {
                    cache.invalidateAll();
                  } else {
                    cache.asMap().computeIfPresent(key, (kk, old) -> v);
                  }
                }
                default -> cache.getIfPresent(key);
              }
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
      }, "hammer-" + t);
      w.setDaemon(true);
      workers.add(w);
    }
    workers.forEach(Thread::start);
    start.countDown();
    Thread.sleep(millis); // real concurrency is the point here
    stop.set(true);
    for (Thread w : workers) {
      w.join();
    }
  }

  @Test
  void fourThreads_randomOps_boundAndMapConsistent_manyRuns() {
    assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
      for (int run = 0; run < 8; run++) {
        boolean weightedValues = (run % 2) == 1;
        int level = new int[] {1, 4, 16, 64}[run % 4];
        long max = 64;
        ConcurrentLinkedQueue<Removal> removals = new ConcurrentLinkedQueue<>();
        CacheBuilder<Object, Object> b = base().concurrencyLevel(level).recordStats()
            .maximumWeight(max);
        FakeTicker ticker = (run % 3 == 2) ? new FakeTicker() : null;
        if (ticker != null) {
          b.ticker(ticker);
        }
        Cache<Object, Val> cache = b.weigher(OutsideInEvictionTest.valWeigher())
            .removalListener((Object k, Val v, RemovalCause c) -> removals.add(
                new Removal(k, v, c))).build();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        hammer(cache, ticker, 4, 500, 200, weightedValues, errors);
        assertThat(errors).isEmpty();
        cache.cleanUp();
        String ctx = "run " + run + " level " + level + " weighted " + weightedValues;
        long total = 0;
        int n = 0;
        for (Map.Entry<Object, Val> e : cache.asMap().entrySet()) {
          total += e.getValue().weight;
          n++;
        }
        var eviction = cache.policy().eviction().orElseThrow();
        assertThat(total).as(ctx + " bound").isLessThanOrEqualTo(max);
        assertThat(eviction.weightedSize().getAsLong()).as(ctx).isEqualTo(total);
        assertThat(cache.asMap().size()).as(ctx).isEqualTo(n);
        assertThat(cache.estimatedSize()).as(ctx).isEqualTo(n);
        IdentityHashMap<Val, Removal> seen = new IdentityHashMap<>();
        long sizeEvictions = 0;
        long sizeWeight = 0;
        for (Removal r : removals) {
          assertThat(seen.put(r.value(), r)).as(ctx + " reported twice " + r).isNull();
          if (r.cause() == RemovalCause.SIZE) {
            assertThat(r.value().weight).as(ctx + " zero weight evicted " + r).isPositive();
          }
          if (r.cause().wasEvicted()) {
            sizeEvictions++;
            sizeWeight += r.value().weight;
          }
        }
        assertThat(cache.stats().evictionCount()).as(ctx).isEqualTo(sizeEvictions);
        assertThat(cache.stats().evictionWeight()).as(ctx).isEqualTo(sizeWeight);
      }
    });
  }

  /** After a concurrent history, emptied: single-threaded behaviour must be a fresh cache's. */
  @Test
  void fourThreads_thenInvalidateAll_scanBehavesAsFresh() {
    assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
      for (int level : new int[] {1, 16}) {
        for (boolean weightedValues : new boolean[] {false, true}) {
          Ledger ledger = new Ledger();
          FakeTicker ticker = new FakeTicker();
          Cache<Object, Val> cache = weighted(MAX, level, ticker, ledger, false);
          ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
          hammer(cache, ticker, 4, 1_000, 3_000, weightedValues, errors);
          assertThat(errors).isEmpty();
          cache.cleanUp();
          assertShareAsFresh("level " + level + " weighted " + weightedValues, cache, ledger,
              MAX, level);
        }
      }
    });
  }
}
