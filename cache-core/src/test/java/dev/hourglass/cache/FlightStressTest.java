package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.internal.Invariants;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Many threads at once over the newest mechanisms of the engine: bulk loads over overlapping keys
 * (that throw, omit keys, return extra keys), loaders with and without a bulk form that load
 * other keys, computes that call {@code invalidateAll()} or write other keys from inside (their
 * notifications are deferred until the outer flight lands), a listener on the calling thread that
 * calls back in, size and weight bounds, an {@code Expiry}, and a fake clock moved by its own
 * thread. Every value carries a unique id. At quiescence: no thread hung, {@link Invariants}
 * hold, and every value a function produced is present or was notified exactly once (a value
 * whose flight an {@code invalidateAll} overtook, exactly once as {@code EXPLICIT}), none was
 * notified twice or without being produced, and no listener ran inside its own thread's
 * computation. Racing time per configuration: {@code -Dhourglass.flightstress.ms} (default
 * 1000). Written as an outside-in probe of the issue-8 fixes.
 */
final class FlightStressTest {

  record V(long id, int key) {}

  static final class ProbeFailure extends RuntimeException {
    ProbeFailure() { super("probe", null, false, false); }
  }

  enum Mode { PLAIN, LOADER_BULK, LOADER_NO_BULK, NESTED }

  enum Config {
    SIZE16_EXPIRY(Mode.PLAIN, 16, 8, true, false),
    UNBOUNDED_EXPIRY64(Mode.PLAIN, 64, -1, true, false),
    SIZE_ONLY32(Mode.PLAIN, 32, 10, false, false),
    SIZE_EXPIRY_SYSSCHED(Mode.PLAIN, 32, 12, true, true),
    LOADER_BULK16(Mode.LOADER_BULK, 16, 10, true, false),
    LOADER_BULK64(Mode.LOADER_BULK, 64, -1, true, false),
    LOADER_NOBULK32(Mode.LOADER_NO_BULK, 32, 12, true, false),
    LOADER_NOBULK64_UNB(Mode.LOADER_NO_BULK, 64, -1, false, false),
    NESTED64_SIZE(Mode.NESTED, 64, 20, true, false),
    NESTED64_UNB(Mode.NESTED, 64, -1, false, false),
    NESTED32_SIZE_EXPIRY(Mode.NESTED, 32, 10, true, true),
    WEIGHT_PLAIN(Mode.PLAIN, 32, 30, true, false, true),
    WEIGHT_LOADER_BULK(Mode.LOADER_BULK, 32, 30, true, false, true),
    WEIGHT_LOADER_NOBULK(Mode.LOADER_NO_BULK, 32, 30, false, false, true),
    WEIGHT_NESTED(Mode.NESTED, 64, 40, true, false, true);

    final Mode mode; final int keys; final long max; final boolean expiry; final boolean sysSched;
    final boolean weigh;
    Config(Mode mode, int keys, long max, boolean expiry, boolean sysSched) {
      this(mode, keys, max, expiry, sysSched, false);
    }
    Config(Mode mode, int keys, long max, boolean expiry, boolean sysSched, boolean weigh) {
      this.mode = mode; this.keys = keys; this.max = max; this.expiry = expiry; this.sysSched = sysSched;
      this.weigh = weigh;
    }
  }

  // ---- ledger ----
  final AtomicLong ids = new AtomicLong();
  final ConcurrentHashMap<Long, V> must = new ConcurrentHashMap<>();
  final ConcurrentHashMap<Long, V> maybe = new ConcurrentHashMap<>();
  final ConcurrentHashMap<Long, V> discarded = new ConcurrentHashMap<>();
  final ConcurrentHashMap<Long, RemovalCause> notified = new ConcurrentHashMap<>();
  final ConcurrentLinkedQueue<String> dups = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
  /** results of a function that itself called invalidateAll()/clear(): must be notified once, never stored */
  final ConcurrentHashMap<Long, String> selfCleared = new ConcurrentHashMap<>();
  final AtomicBoolean callbacks = new AtomicBoolean(true);
  final ThreadLocal<int[]> listenerDepth = ThreadLocal.withInitial(() -> new int[1]);
  final ThreadLocal<int[]> loadDepth = ThreadLocal.withInitial(() -> new int[1]);
  /** the highest key this thread may hold a flight for; nested loads only go above it */
  final ThreadLocal<int[]> floor = ThreadLocal.withInitial(() -> new int[] {-1});

  V lget(int key) {
    int[] f = floor.get();
    int saved = f[0];
    f[0] = Math.max(saved, key);
    try {
      return ((LoadingCache<Integer, V>) cache).get(key);
    } finally {
      f[0] = saved;
    }
  }

  Map<Integer, V> lgetAll(List<Integer> ks) {
    int[] f = floor.get();
    int saved = f[0];
    for (int k : ks) f[0] = Math.max(f[0], k);
    try {
      return ((LoadingCache<Integer, V>) cache).getAll(ks);
    } finally {
      f[0] = saved;
    }
  }
  final AtomicInteger opCount = new AtomicInteger();
  Cache<Integer, V> cache;
  Config cfg;

  V fresh(int key) {
    V v = new V(ids.incrementAndGet(), key);
    must.put(v.id(), v);
    return v;
  }

  V freshMaybe(int key) {
    V v = new V(ids.incrementAndGet(), key);
    maybe.put(v.id(), v);
    return v;
  }

  void discard(Map<Integer, V> m) {
    for (V v : m.values()) {
      must.remove(v.id());
      discarded.put(v.id(), v);
    }
  }

  void problem(String s) {
    if (problems.size() < 50) problems.add(s + " [" + Thread.currentThread().getName() + "]");
  }

  void checkValue(Integer key, V v, String where) {
    if (v == null) return;
    if (v.key() != key) problem(where + ": value " + v + " returned for key " + key);
    if (discarded.containsKey(v.id())) problem(where + ": discarded value returned " + v);
    if (!must.containsKey(v.id()) && !maybe.containsKey(v.id()))
      problem(where + ": unknown value returned " + v);
  }

  final ThreadLocal<int[]> inFn = ThreadLocal.withInitial(() -> new int[1]);

  <T> T inside(java.util.function.Supplier<T> body) {
    int[] d = inFn.get();
    d[0]++;
    try {
      return body.get();
    } finally {
      d[0]--;
    }
  }

  void onRemoval(Integer key, V value, RemovalCause cause) {
    if (inFn.get()[0] > 0)
      problem("listener ran inside this thread's own user function (flight not landed): " + value + " " + cause);
    RemovalCause prev = notified.putIfAbsent(value.id(), cause);
    if (prev != null && dups.size() < 50) dups.add(value + " " + prev + " then " + cause);
    if (value.key() != key) problem("notified key " + key + " for value " + value);
    if (!must.containsKey(value.id()) && !maybe.containsKey(value.id()))
      problem("notification for never-produced/discarded value " + value + " " + cause
          + " discarded=" + discarded.containsKey(value.id()));
    int[] depth = listenerDepth.get();
    if (!callbacks.get() || depth[0] >= 2) return;
    ThreadLocalRandom r = ThreadLocalRandom.current();
    if (r.nextInt(8) != 0) return;
    depth[0]++;
    try {
      int k = r.nextBoolean() ? key : r.nextInt(cfg.keys);
      switch (r.nextInt(3)) {
        case 0 -> checkValue(k, cache.get(k, kk -> fresh(kk)), "listener get");
        case 1 -> cache.put(k, fresh(k));
        default -> checkValue(k, cache.asMap().computeIfPresent(k, (kk, old) -> fresh(kk)),
            "listener computeIfPresent");
      }
    } catch (ProbeFailure shared) {
      // waited on another caller's failing load: shares its exception
    } catch (RuntimeException e) {
      problem("listener callback threw " + e);
    } finally {
      depth[0]--;
    }
  }

  // ---- loader ----
  V loadOne(int key) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int p = r.nextInt(100);
    if (p < 8) throw new ProbeFailure();
    if (p < 12) return null;
    int[] d = loadDepth.get();
    int lo = Math.max(key, floor.get()[0]) + 1;
    if (p < 30 && d[0] < 3 && lo < cfg.keys) {
      d[0]++;
      try {
        int other = lo + r.nextInt(cfg.keys - lo);
        checkValue(other, lget(other), "nested load");
      } catch (ProbeFailure expected) {
      } finally {
        d[0]--;
      }
    }
    if (p >= 97) {
      cache.invalidateAll();
      V v = fresh(key);
      selfCleared.put(v.id(), "load(" + key + ") after its own invalidateAll");
      return v;
    }
    return fresh(key);
  }

  Map<Integer, V> loadMany(Set<? extends Integer> keys) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    Map<Integer, V> out = new HashMap<>();
    int max = -1;
    for (Integer k : keys) max = Math.max(max, k);
    max = Math.max(max, floor.get()[0]);
    int[] d = loadDepth.get();
    if (r.nextInt(5) == 0 && d[0] < 3 && max + 1 < cfg.keys) {
      d[0]++;
      try {
        int other = max + 1 + r.nextInt(cfg.keys - max - 1);
        checkValue(other, r.nextBoolean() ? lget(other)
            : lgetAll(List.of(other, Math.min(cfg.keys - 1, other + 1))).get(other), "nested loadAll get");
      } catch (ProbeFailure expected) {
      } finally {
        d[0]--;
      }
    }
    for (Integer k : keys) {
      if (r.nextInt(7) != 0) out.put(k, fresh(k));
    }
    // extras only above every requested key (keeps nested waits acyclic)
    if (r.nextInt(4) == 0 && max + 1 < cfg.keys) {
      int e = max + 1 + r.nextInt(cfg.keys - max - 1);
      out.put(e, cfg.weigh ? freshMaybe(e) : fresh(e));
    }
    if (r.nextInt(12) == 0) {
      discard(out);
      throw new ProbeFailure();
    }
    return out;
  }

  Map<Integer, V> bulkFn(Set<? extends Integer> keys) {
    return inside(() -> bulkFn0(keys));
  }

  Map<Integer, V> bulkFn0(Set<? extends Integer> keys) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    Map<Integer, V> out = new LinkedHashMap<>();
    for (Integer k : keys) {
      if (r.nextInt(6) != 0) out.put(k, fresh(k));
    }
    int extras = r.nextInt(4) == 0 ? 1 + r.nextInt(3) : 0;
    for (int i = 0; i < extras; i++) {
      int e = extraKey(r);
      if (!out.containsKey(e)) out.put(e, cfg.weigh ? freshMaybe(e) : fresh(e));
    }
    if (r.nextInt(10) == 0) {
      discard(out);
      throw new ProbeFailure();
    }
    return out;
  }

  int extraKey(ThreadLocalRandom r) {
    // in NESTED mode bulk fns run also nested inside computes of the low half: stay in the high half
    return cfg.mode == Mode.NESTED ? cfg.keys / 2 + r.nextInt(cfg.keys / 2) : r.nextInt(cfg.keys);
  }

  List<Integer> someKeys(ThreadLocalRandom r, int lo, int hi) {
    int n = 1 + r.nextInt(6);
    List<Integer> ks = new ArrayList<>();
    for (int i = 0; i < n; i++) ks.add(lo + r.nextInt(hi - lo));
    return ks;
  }

  void checkBulkResult(List<Integer> ks, Map<Integer, V> res, String where) {
    for (Map.Entry<Integer, V> e : res.entrySet()) {
      if (!ks.contains(e.getKey())) problem(where + ": unrequested key in result " + e);
      checkValue(e.getKey(), e.getValue(), where);
    }
  }

  // compute function for NESTED mode (runs on low-half keys)
  V nestedCompute(Integer k, V old) {
    return inside(() -> nestedCompute0(k, old));
  }

  V nestedCompute0(Integer k, V old) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    int half = cfg.keys / 2;
    int p = r.nextInt(100);
    boolean cleared = false;
    if (p < 6) {
      cache.invalidateAll();
      cleared = true;
    } else if (p < 9) {
      cache.asMap().clear();
      cleared = true;
    } else if (p < 30) {
      int o = half + r.nextInt(half);
      cache.put(o, fresh(o));
    } else if (p < 38) {
      int o = half + r.nextInt(half);
      cache.put(o, fresh(o), Duration.ofMillis(r.nextInt(3) * 300));
    } else if (p < 48) {
      int o = half + r.nextInt(half);
      checkValue(o, cache.get(o, kk -> fresh(kk)), "nested get");
    } else if (p < 56) {
      List<Integer> ks = someKeys(r, half, cfg.keys);
      try {
        checkBulkResult(ks, cache.getAll(ks, this::bulkFn), "nested getAll");
      } catch (ProbeFailure expected) {
      }
    } else if (p < 62) {
      cache.invalidate(half + r.nextInt(half));
    } else if (p < 66) {
      int o = half + r.nextInt(half);
      cache.asMap().merge(o, freshMaybe(o), (a, b) -> fresh(o));
    }
    int q = r.nextInt(100);
    if (q < 5) throw new ProbeFailure();
    if (q < 20) return null;
    V v = fresh(k);
    if (cleared) selfCleared.put(v.id(), "compute(" + k + ") after its own invalidateAll");
    return v;
  }

  void step(ThreadLocalRandom r) {
    int n = cfg.keys;
    int k = r.nextInt(n);
    int op = r.nextInt(100);
    boolean nested = cfg.mode == Mode.NESTED;
    boolean loading = cfg.mode == Mode.LOADER_BULK || cfg.mode == Mode.LOADER_NO_BULK;
    try {
      if (op < 14) {
        List<Integer> ks = someKeys(r, 0, n);
        if (loading && r.nextBoolean()) {
          checkBulkResult(ks, lgetAll(ks), "loader getAll");
        } else {
          checkBulkResult(ks, cache.getAll(ks, this::bulkFn), "getAll");
        }
      } else if (op < 26) {
        if (loading && r.nextBoolean()) {
          checkValue(k, lget(k), "loader get");
        } else {
          checkValue(k, cache.get(k, kk -> {
            int p = r.nextInt(20);
            if (p == 0) throw new ProbeFailure();
            if (p == 1) return null;
            return fresh(kk);
          }), "get");
        }
      } else if (op < 38) {
        if (nested && k < n / 2) {
          checkValue(k, cache.asMap().compute(k, this::nestedCompute), "nested compute");
        } else {
          checkValue(k, cache.asMap().compute(k, (kk, old) -> {
            if (old != null && old.key() != kk) problem("compute saw wrong old " + old);
            int p = r.nextInt(20);
            if (p == 0) throw new ProbeFailure();
            if (p < 4) return null;
            return fresh(kk);
          }), "compute");
        }
      } else if (op < 44) {
        final int kk = k;
        checkValue(k, cache.asMap().merge(k, freshMaybe(k), (a, b) -> {
          if (r.nextInt(5) == 0) return null;
          return fresh(kk);
        }), "merge");
      } else if (op < 52) {
        if (nested && k < n / 2 && r.nextBoolean()) {
          checkValue(k, cache.asMap().computeIfPresent(k, this::nestedCompute), "nested cip");
        } else if (nested && k < n / 2) {
          checkValue(k, cache.asMap().computeIfAbsent(k, kk -> nestedCompute(kk, null)),
              "nested cia");
        } else {
          checkValue(k, cache.asMap().computeIfPresent(k, (kk, old) -> fresh(kk)), "cip");
        }
      } else if (op < 62) {
        cache.put(k, fresh(k));
      } else if (op < 70) {
        cache.put(k, fresh(k), Duration.ofMillis(r.nextInt(4) * 250));
      } else if (op < 76) {
        cache.invalidate(k);
      } else if (op < 79) {
        cache.invalidateAll(someKeys(r, 0, n));
      } else if (op < 80) {
        if (r.nextBoolean()) cache.invalidateAll(); else cache.asMap().clear();
      } else if (op < 88) {
        checkValue(k, cache.getIfPresent(k), "getIfPresent");
      } else if (op < 92) {
        V nv = freshMaybe(k);
        V prev = cache.asMap().putIfAbsent(k, nv);
        checkValue(k, prev, "putIfAbsent");
      } else if (op < 95) {
        V cur = cache.getIfPresent(k);
        if (cur != null) cache.asMap().replace(k, cur, freshMaybe(k));
      } else if (op < 97) {
        List<Integer> ks = someKeys(r, 0, n);
        checkBulkResult(ks, cache.getAllPresent(ks), "getAllPresent");
      } else {
        cache.asMap().remove(k);
      }
    } catch (ProbeFailure expected) {
    } catch (RuntimeException | Error e) {
      problem("op " + op + " threw " + e + " at "
          + ((e.getStackTrace().length > 0) ? e.getStackTrace()[0] : "?"));
    }
    opCount.incrementAndGet();
  }

  Cache<Integer, V> build(Config c, FakeTicker ticker) {
    CacheBuilder<Object, Object> b = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
        .recordStats();
    if (!c.sysSched) b.scheduler(Scheduler.disabledScheduler());
    CacheBuilder<Integer, V> bb;
    if (c.weigh) {
      bb = b.maximumWeight(c.max).weigher((Integer k, V v) -> {
        if (v.id() % 97 == 0) {
          if (must.remove(v.id()) != null || maybe.remove(v.id()) != null) discarded.put(v.id(), v);
          throw new ProbeFailure();
        }
        return (v.id() % 11 == 0) ? 0 : 1 + (int) (v.id() % 3);
      });
      bb = bb.removalListener(this::onRemoval);
    } else {
      if (c.max >= 0) b.maximumSize(c.max);
      bb = b.removalListener(this::onRemoval);
    }
    if (c.expiry) {
      bb = bb.expireAfter(new Expiry<Integer, V>() {
        @Override
        public long expireAfterCreate(Integer k, V v, long now) {
          return (v.id() % 5) * 200_000_000L;   // 0 .. 800 ms
        }
        @Override
        public long expireAfterUpdate(Integer k, V v, long now, long cur) {
          return (v.id() % 3 == 0) ? cur : (v.id() % 7) * 150_000_000L;
        }
        @Override
        public long expireAfterRead(Integer k, V v, long now, long cur) {
          return (v.id() % 4 == 0) ? 300_000_000L : cur;
        }
      });
    }
    return switch (c.mode) {
      case LOADER_BULK -> bb.build(new CacheLoader<Integer, V>() {
        @Override
        public V load(Integer key) { return inside(() -> loadOne(key)); }
        @Override
        public Map<Integer, V> loadAll(Set<? extends Integer> keys) { return inside(() -> loadMany(keys)); }
      });
      case LOADER_NO_BULK -> bb.build(new CacheLoader<Integer, V>() {
        @Override
        public V load(Integer key) { return inside(() -> loadOne(key)); }
        @Override
        public Map<Integer, V> loadAll(Set<? extends Integer> keys) {
          throw new UnsupportedOperationException("delegating");
        }
      });
      default -> bb.build();
    };
  }

  @ParameterizedTest
  @EnumSource(Config.class)
  void stress(Config c) throws Exception {
    cfg = c;
    FakeTicker ticker = new FakeTicker();
    cache = build(c, ticker);
    int threads = (c.ordinal() % 2 == 0) ? 8 : 4;
    long racingNanos = Long.getLong("hourglass.flightstress.ms", 1000) * 1_000_000L;
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> ts = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread t = new Thread(() -> {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        while (!stop.get()) step(r);
      }, "flight-stress-worker-" + i);
      t.setDaemon(true);
      ts.add(t);
    }
    Thread tick = new Thread(() -> {
      while (!stop.get()) {
        ticker.advanceNanos(ThreadLocalRandom.current().nextLong(1, 60_000_000L));
        try { Thread.sleep(1); } catch (InterruptedException e) { return; }
      }
    }, "flight-stress-ticker");
    tick.setDaemon(true);
    ts.add(tick);
    ts.forEach(Thread::start);
    Thread.sleep(racingNanos / 1_000_000);
    stop.set(true);
    long deadline = System.nanoTime() + 10_000_000_000L;
    for (Thread t : ts) {
      t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
    }
    List<String> hung = new ArrayList<>();
    for (Thread t : ts) {
      if (t.isAlive()) {
        StringBuilder sb = new StringBuilder(t.getName()).append(" HUNG:\n");
        for (StackTraceElement e : t.getStackTrace()) sb.append("    at ").append(e).append('\n');
        hung.add(sb.toString());
      }
    }
    assertThat(hung).as("hung threads, with their stacks").isEmpty();
    callbacks.set(false);
    assertThat(opCount.get()).as("operations run").isPositive();

    Invariants.check(cache);
    Set<Long> present = new HashSet<>();
    for (Map.Entry<Integer, V> e : cache.asMap().entrySet()) {
      present.add(e.getValue().id());
      checkValue(e.getKey(), e.getValue(), "present");
      if (!c.sysSched && notified.containsKey(e.getValue().id()))
        problem("present value was already notified: " + e.getValue() + " " + notified.get(e.getValue().id()));
    }
    cache.invalidateAll();
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isZero();
    Invariants.check(cache);

    List<String> lost = new ArrayList<>();
    List<String> dup = new ArrayList<>(dups);
    for (Long id : notified.keySet()) {
      if (discarded.containsKey(id)) problem("discarded value notified " + id);
    }
    for (V v : must.values()) {
      if (!notified.containsKey(v.id())) lost.add(v.toString());
    }
    for (Long id : present) {
      if (!notified.containsKey(id)) problem("present value " + id + " not notified at final invalidateAll");
    }
    for (Map.Entry<Long, String> e : selfCleared.entrySet()) {
      if (discarded.containsKey(e.getKey())) continue;   // the weigher rejected it
      RemovalCause rc = notified.get(e.getKey());
      List<RemovalCause> l = rc == null ? null : List.of(rc);
      if (present.contains(e.getKey())) problem("self-cleared result was stored: " + e.getValue() + " id=" + e.getKey());
      if (l == null || l.size() != 1) problem("self-cleared result notified " + l + ": " + e.getValue() + " id=" + e.getKey()
          + " must=" + must.containsKey(e.getKey()) + " maybe=" + maybe.containsKey(e.getKey())
          + " discarded=" + discarded.containsKey(e.getKey()));
      else if (l.get(0) != RemovalCause.EXPLICIT && !(c.expiry && e.getKey() % 5 == 0))
        problem("self-cleared result notified " + l + " not EXPLICIT: " + e.getValue() + " id=" + e.getKey());
    }
    assertThat(dup).as("notified more than once").isEmpty();
    assertThat(lost).as("stored values never notified (lost) out of " + must.size()).isEmpty();
    assertThat(problems).as("problems").isEmpty();
  }
}
