package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.internal.Invariants;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Random operation sequences, replayed on Hourglass and on a plain reference model driven by the
 * same fake ticker. After every step: the visible contents and size agree; the statistics (hits,
 * misses, load successes and failures, evictions) agree; and the removal notifications delivered
 * during the step are exactly those the model predicts (replaced, explicit), or are allowed by it
 * (an expired entry, notified once, at or after its deadline; a size eviction of an entry that was
 * live, the bound then holding); and the internal structures agree ({@link Invariants}: the table,
 * the policy's queues and counters, each node's class, the time structures and the weights). At
 * the end everything timed expires and every value ever stored has been notified exactly once or
 * is still present.
 *
 * <p>The sequences also generate the triggers of the bugs that escaped the other suites: an
 * {@code Expiry} whose reads shorten some lifetimes and lengthen others ({@code EXPIRY_READ});
 * bulk loads whose function throws, whose result throws while it is iterated, or whose values the
 * {@code Expiry} rejects half-way; operations whose ticker reading lags (a writer preempted
 * after reading the clock, or a clock that went back, by up to 3 s or by 30 s); and a listener,
 * run on the calling thread, that calls back into the cache for the key it is told about
 * ({@code computeIfPresent} rewriting the same value, which must never meet the caller's own
 * in-flight marker).
 *
 * <p>{@value #SEEDS_PER_SHAPE} seeds x {@value #STEPS} steps per shape. A failure names its shape
 * and seed; rerun just that one with
 * {@code mvn -pl cache-core test -Dtest=ModelBasedTest -Dhourglass.model.seed=SEED}, or run more
 * seeds with {@code -Dhourglass.model.seeds=N}.
 */
final class ModelBasedTest {
  static final int SEEDS_PER_SHAPE = 2_000;
  static final int STEPS = 60;
  static final int KEYS = 8;
  static final int BOUND = 5;
  static final long TTL = Duration.ofSeconds(10).toNanos();
  static final long ACCESS_TOLERANCE = Math.min(Duration.ofMillis(1).toNanos(), TTL / 64);
  /** The time to live of SIZE_AND_BOTH, beside its idle time TTL. */
  static final long WRITE_TTL = 3 * TTL;
  static final long NEVER = Long.MIN_VALUE;
  /** EXPIRY_READ: a read of an odd value shortens its lifetime to this, of an even one lengthens. */
  static final long SHORT_READ = Duration.ofSeconds(2).toNanos();
  static final long LONG_READ = Duration.ofSeconds(20).toNanos();

  /** The lifetime EXPIRY_READ gives a value on a read. */
  static long readLifetime(Integer value) {
    return ((value & 1) == 1) ? SHORT_READ : LONG_READ;
  }

  /** The Expiry of the expiry shapes; it rejects negative values, which only bulk loads make. */
  static final class ModelExpiry implements Expiry<Integer, Integer> {
    final boolean reads;

    ModelExpiry(boolean reads) {
      this.reads = reads;
    }

    @Override
    public long expireAfterCreate(Integer key, Integer value, long currentTimeNanos) {
      if (value < 0) {
        throw new IllegalArgumentException("poison value " + value);
      }
      return TTL;
    }

    @Override
    public long expireAfterUpdate(Integer key, Integer value, long currentTimeNanos,
        long currentDurationNanos) {
      return expireAfterCreate(key, value, currentTimeNanos);
    }

    @Override
    public long expireAfterRead(Integer key, Integer value, long currentTimeNanos,
        long currentDurationNanos) {
      return reads ? readLifetime(value) : currentDurationNanos;
    }
  }

  enum Shape {
    NONE, EXPIRE_AFTER_WRITE, EXPIRE_AFTER_ACCESS, EXPIRY, SIZE, SIZE_AND_EXPIRY, EXPIRY_READ,
    /** expireAfterWrite (WRITE_TTL) and expireAfterAccess (TTL) together, with a bound. */
    SIZE_AND_BOTH;

    boolean bounded() {
      return (this == SIZE) || (this == SIZE_AND_EXPIRY) || (this == SIZE_AND_BOTH);
    }

    boolean access() {
      return (this == EXPIRE_AFTER_ACCESS) || (this == SIZE_AND_BOTH);
    }

    long ttl() {
      return ((this == NONE) || (this == SIZE)) ? NEVER : TTL;
    }

    /** Whether an {@code Expiry} decides lifetimes (and rejects the negative "poison" values). */
    boolean expiry() {
      return (this == EXPIRY) || (this == SIZE_AND_EXPIRY) || (this == EXPIRY_READ);
    }
  }

  /**
   * The model's entry: a value, its deadline (NEVER for none) and whether the deadline was given
   * by {@code put(key, value, ttl)}, which reads never move.
   */
  record Entry(Integer value, long deadline, boolean custom, long writeDeadline) {
    Entry(Integer value, long deadline) {
      this(value, deadline, false, NEVER);
    }

    Entry(Integer value, long deadline, boolean custom) {
      this(value, deadline, custom, NEVER);
    }

    boolean live(long now) {
      return (deadline == NEVER) || (now - deadline < 0);
    }
  }

  @ParameterizedTest
  @EnumSource(Shape.class)
  void randomSequences_agreeWithTheModel(Shape shape) throws Exception {
    Long only = Long.getLong("hourglass.model.seed");
    long[] seeds = (only != null) ? new long[] {only}
        : LongStream.range(0, Integer.getInteger("hourglass.model.seeds", SEEDS_PER_SHAPE)).toArray();
    for (long seed : seeds) {
      try {
        new Run(shape, seed, false).run();
      } catch (AssertionError e) {
        throw new AssertionError("shape " + shape + ", seed " + seed
            + " (rerun with -Dhourglass.model.seed=" + seed + "): " + e.getMessage(), e);
      }
    }
  }

  /**
   * The same sequences against {@code synchronous()} of an asynchronous cache, whose futures all
   * complete before they are stored (the model has no time for a load in flight): every result,
   * notification, statistic and invariant must be the synchronous cache's.
   */
  @ParameterizedTest
  @EnumSource(Shape.class)
  void randomSequences_overTheAsyncCachesSynchronousView_agreeWithTheModel(Shape shape)
      throws Exception {
    Long only = Long.getLong("hourglass.model.seed");
    long[] seeds = (only != null) ? new long[] {only}
        : LongStream.range(0, Integer.getInteger("hourglass.model.seeds", SEEDS_PER_SHAPE) / 4)
            .toArray();
    for (long seed : seeds) {
      try {
        new Run(shape, seed, true).run();
      } catch (AssertionError e) {
        throw new AssertionError("async, shape " + shape + ", seed " + seed
            + " (rerun with -Dhourglass.model.seed=" + seed + "): " + e.getMessage(), e);
      }
    }
  }

  /** One seeded sequence. */
  static final class Run {
    final Shape shape;
    /** Whether the cache is the synchronous view of an asynchronous cache. */
    final boolean async;
    final Random random;
    final FakeTicker ticker;
    final RecordingListener<Integer, Integer> listener = new RecordingListener<>();
    final Cache<Integer, Integer> cache;
    /** Keys the calling-back listener was told about during the current step. */
    final List<Integer> calledBack = new ArrayList<>();
    /** What the calling-back listener caught: must stay empty. */
    final List<Throwable> callbackFailures = new ArrayList<>();
    final Map<Integer, Entry> model = new HashMap<>();
    /** Values stored at some point and not yet notified. */
    final Set<Integer> stored = new HashSet<>();
    final Set<Integer> notifiedValues = new HashSet<>();
    int seen; // notifications checked so far
    long hits;
    long misses;
    long loadSuccesses;
    long loadFailures;
    long evictions;
    int ids = 1_000;

    Run(Shape shape, long seed, boolean async) {
      this.async = async;
      this.shape = shape;
      this.random = new Random(seed);
      this.ticker = new FakeTicker(random.nextLong() >> 8);
      @SuppressWarnings("unchecked")
      Cache<Integer, Integer>[] self = new Cache[1];
      // Records, then calls back into the cache for even keys, on the thread that removed.
      RemovalListener<Integer, Integer> callingBack = (key, value, cause) -> {
        listener.onRemoval(key, value, cause);
        if ((key & 1) == 0) {
          calledBack.add(key);
          try {
            self[0].asMap().computeIfPresent(key, (k, v) -> v);
          } catch (Throwable t) {
            callbackFailures.add(t);
          }
        }
      };
      CacheBuilder<Integer, Integer> builder = Hourglass.newBuilder().ticker(ticker)
          .executor(Runnable::run).scheduler(Scheduler.disabledScheduler()).recordStats()
          .concurrencyLevel(1 + random.nextInt(4)).removalListener(callingBack);
      switch (shape) {
        case EXPIRE_AFTER_WRITE -> builder.expireAfterWrite(Duration.ofNanos(TTL));
        case EXPIRE_AFTER_ACCESS -> builder.expireAfterAccess(Duration.ofNanos(TTL));
        case SIZE_AND_BOTH -> builder.maximumSize(BOUND).expireAfterWrite(Duration.ofNanos(WRITE_TTL))
            .expireAfterAccess(Duration.ofNanos(TTL));
        case EXPIRY -> builder.expireAfter(new ModelExpiry(false));
        case SIZE -> builder.maximumSize(BOUND);
        case SIZE_AND_EXPIRY -> builder.maximumSize(BOUND).expireAfter(new ModelExpiry(false));
        case EXPIRY_READ -> builder.expireAfter(new ModelExpiry(true));
        default -> { }
      }
      this.cache = async ? builder.<Integer, Integer>buildAsync().synchronous() : builder.build();
      self[0] = cache;
    }

    void run() throws InterruptedException {
      for (int step = 0; step < STEPS; step++) {
        step(step);
        Invariants.check(cache); // table, policy queues, node classes, time structures, weights
      }
      // Everything timed expires; afterwards each stored value was notified once, or is present.
      ticker.advance(Duration.ofDays(1));
      cache.cleanUp();
      checkNotifications("final clean-up", List.of());
      Set<Integer> present = new HashSet<>(cache.asMap().values());
      assertThat(present).as("present values").isEqualTo(stored);
      assertThat(cache.estimatedSize()).isEqualTo(present.size());
      Invariants.check(cache);
    }

    private void step(int step) {
      int op = random.nextInt(12);
      // A lagging ticker reading for the whole operation: a writer preempted after reading the
      // clock, or a clock that went back (30 s is far enough for the timer wheel to rebuild).
      long lag = ((op != 8) && (random.nextInt(8) == 0))
          ? (random.nextBoolean() ? random.nextInt(3_000) * 1_000_000L : Duration.ofSeconds(30).toNanos())
          : 0;
      ticker.advanceNanos(-lag);
      long now = ticker.read();
      Integer key = random.nextInt(KEYS);
      Entry e = model.get(key);
      boolean live = (e != null) && e.live(now);
      String what = "step " + step + " op " + op + " key " + key + (lag > 0 ? " lagging " + lag + " ns" : "");
      if (Boolean.getBoolean("hourglass.model.trace")) {
        System.out.println(shape + " " + what + " at " + now + " model " + model);
      }
      List<Object[]> expected = new ArrayList<>(); // {value, cause} notified during this step
      switch (op) {
        case 0, 1 -> { // put
          Integer v = ++ids;
          assertThat(cache.asMap().put(key, v)).as(what).isEqualTo(live ? e.value() : null);
          replaced(e, live, expected);
          store(key, v, now);
        }
        case 2 -> { // put with its own TTL, sometimes zero
          Integer v = ++ids;
          long ttl = random.nextBoolean() ? 0 : Duration.ofSeconds(1 + random.nextInt(20)).toNanos();
          cache.put(key, v, Duration.ofNanos(ttl));
          replaced(e, live, expected);
          if (ttl == 0) {
            model.remove(key); // dead on arrival: notified expired at once, never stored
            expected.add(new Object[] {v, RemovalCause.EXPIRED});
            evictions++;
          } else {
            model.put(key, new Entry(v, now + ttl, true));
            stored.add(v);
          }
        }
        case 3 -> { // getIfPresent
          assertThat(cache.getIfPresent(key)).as(what).isEqualTo(live ? e.value() : null);
          if (live) {
            hits++;
            touch(key, e, now);
          } else {
            misses++;
          }
        }
        case 4 -> { // invalidate
          cache.invalidate(key);
          if (live) {
            expected.add(new Object[] {e.value(), RemovalCause.EXPLICIT});
            model.remove(key);
          }
        }
        case 5 -> { // compute: replace, or remove
          boolean remove = random.nextInt(3) == 0;
          Integer v = ++ids;
          Integer result = cache.asMap().compute(key, (k, old) -> {
            assertThat(old).as(what + " compute sees").isEqualTo(live ? e.value() : null);
            return remove ? null : v;
          });
          if (remove) {
            assertThat(result).isNull();
            if (live) {
              expected.add(new Object[] {e.value(), RemovalCause.EXPLICIT});
              model.remove(key);
            }
          } else {
            assertThat(result).isEqualTo(v);
            replaced(e, live, expected);
            store(key, v, now);
          }
        }
        case 6 -> { // putIfAbsent
          Integer v = ++ids;
          Integer previous = cache.asMap().putIfAbsent(key, v);
          if (live) {
            assertThat(previous).as(what).isEqualTo(e.value());
            touch(key, e, now);
          } else {
            assertThat(previous).as(what).isNull();
            store(key, v, now);
          }
        }
        case 7 -> { // get with a mapping function; sometimes it returns null (a failed load)
          Integer v = random.nextInt(5) == 0 ? null : ++ids;
          Integer got = cache.get(key, k -> v);
          if (live) {
            assertThat(got).as(what).isEqualTo(e.value());
            hits++;
            touch(key, e, now);
          } else {
            assertThat(got).as(what).isEqualTo(v);
            misses++;
            if (v == null) {
              loadFailures++;
            } else {
              loadSuccesses++;
              store(key, v, now);
            }
          }
        }
        case 8 -> ticker.advance(Duration.ofMillis(random.nextInt(12_000)));
        case 9 -> { // replace
          Integer v = ++ids;
          assertThat(cache.asMap().replace(key, v)).as(what).isEqualTo(live ? e.value() : null);
          if (live) {
            replaced(e, true, expected);
            store(key, v, now);
          }
        }
        case 11 -> getAll(what, now, expected);
        default -> cache.cleanUp();
      }
      checkNotifications(what, expected);
      callBack(what, now);
      ticker.advanceNanos(lag);
      long at = ticker.read();
      Map<Integer, Integer> visible = new HashMap<>();
      model.forEach((k, entry) -> {
        if (entry.live(at)) {
          visible.put(k, entry.value());
        }
      });
      // Iteration, not get(): under expireAfterAccess a get would move deadlines.
      Map<Integer, Integer> contents = new HashMap<>();
      cache.asMap().forEach(contents::put);
      assertThat(contents).as("contents after " + what).isEqualTo(visible);
      assertThat(cache.asMap().size()).as("size after " + what).isEqualTo(visible.size());
      checkNotifications(what + " (reads)", List.of()); // the reads above may clean up too
      callBack(what + " (reads)", at);
      CacheStats stats = cache.stats();
      assertThat(new long[] {stats.hitCount(), stats.missCount(), stats.loadSuccessCount(),
          stats.loadFailureCount(), stats.evictionCount(), stats.evictionWeight()})
          .as("hits, misses, load successes, load failures, evictions, eviction weight after %s", what)
          .containsExactly(hits, misses, loadSuccesses, loadFailures, evictions, evictions);
    }

    private void store(Integer key, Integer v, long now) {
      model.put(key, written(v, now));
      stored.add(v);
    }

    /** The model's entry for a write of {@code v} at {@code now} that follows the settings. */
    private Entry written(Integer v, long now) {
      long ttl = shape.ttl();
      if (shape == Shape.SIZE_AND_BOTH) { // idle time first, capped by the write's lifetime
        return new Entry(v, now + Math.min(TTL, WRITE_TTL), false, now + WRITE_TTL);
      }
      return new Entry(v, (ttl == NEVER) ? NEVER : now + ttl);
    }

    /**
     * A read of a live entry: under expireAfterAccess (unless the entry has its own TTL) it
     * restarts the idle time only if the deadline would end it early, and then adds the
     * documented tolerance, min(1 ms, idle / 64): never early, late by at most the tolerance.
     */
    private void touch(Integer key, Entry e, long now) {
      if (shape.access() && !e.custom() && (now + TTL - e.deadline() > 0)) {
        long next = now + TTL + ACCESS_TOLERANCE;
        if ((e.writeDeadline() != NEVER) && (next - e.writeDeadline() > 0)) {
          next = e.writeDeadline(); // never past the write's own deadline
        }
        if (next - e.deadline() > 0) {
          model.put(key, new Entry(e.value(), next, false, e.writeDeadline()));
        }
      } else if ((shape == Shape.EXPIRY_READ) && !e.custom()) {
        model.put(key, new Entry(e.value(), now + readLifetime(e.value())));
      }
    }

    /**
     * getAll of one to three keys with a bulk function that returns a fresh value per absent key,
     * but sometimes leaves one out, adds an extra key, throws, returns a map whose iteration
     * throws, or (expiry shapes) returns a value the expiry rejects.
     */
    private void getAll(String what, long now, List<Object[]> expected) {
      List<Integer> keys = new ArrayList<>();
      int count = 1 + random.nextInt(3);
      for (int i = 0; i < count; i++) {
        keys.add(random.nextInt(KEYS));
      }
      int fault = random.nextInt(6); // 0 throws, 1 iteration throws, 2 poison, 3 omits one, 4 extra
      Map<Integer, Integer> result = new HashMap<>();
      List<Integer> absent = new ArrayList<>();
      for (Integer k : new java.util.LinkedHashSet<>(keys)) {
        Entry entry = model.get(k);
        if ((entry != null) && entry.live(now)) {
          result.put(k, entry.value());
          hits++;
          touch(k, entry, now);
        } else {
          absent.add(k);
          misses++;
        }
      }
      Map<Integer, Integer> returned = new java.util.LinkedHashMap<>();
      for (Integer k : absent) {
        returned.put(k, ++ids);
      }
      // An asynchronous cache asks the Expiry when a future completes, with no caller to throw to
      // (it logs and drops the entry): the poison fault is the synchronous cache's alone.
      boolean poison = (fault == 2) && shape.expiry() && !absent.isEmpty() && !async;
      if (poison) {
        returned.put(absent.get(absent.size() - 1), -(++ids));
      }
      if ((fault == 3) && !absent.isEmpty()) {
        returned.remove(absent.get(0));
      }
      Integer extraKey = KEYS + random.nextInt(2); // keys outside the usual range
      if ((fault == 4) && !absent.isEmpty()) { // with nothing absent the function is not called
        returned.put(extraKey, ++ids);
      }
      boolean whole = ((fault == 0) || (fault == 1)) && !absent.isEmpty(); // called only if any is absent
      java.util.function.Function<Set<? extends Integer>, Map<Integer, Integer>> function = missing -> {
        assertThat(new HashSet<Integer>(missing)).as(what + " bulk keys").isEqualTo(new HashSet<>(absent));
        if (fault == 0) {
          throw new IllegalStateException("bulk load failed");
        }
        if (fault == 1) {
          return new java.util.AbstractMap<>() {
            @Override
            public Set<Map.Entry<Integer, Integer>> entrySet() {
              return new java.util.AbstractSet<>() {
                @Override
                public java.util.Iterator<Map.Entry<Integer, Integer>> iterator() {
                  java.util.Iterator<Map.Entry<Integer, Integer>> it = returned.entrySet().iterator();
                  return new java.util.Iterator<>() {
                    @Override
                    public boolean hasNext() {
                      return true;
                    }

                    @Override
                    public Map.Entry<Integer, Integer> next() {
                      if (!it.hasNext()) {
                        throw new java.util.ConcurrentModificationException("live view");
                      }
                      return it.next();
                    }
                  };
                }

                @Override
                public int size() {
                  return returned.size();
                }
              };
            }
          };
        }
        return returned;
      };
      Map<Integer, Integer> got;
      try {
        got = cache.getAll(keys, function);
        assertThat(whole || poison).as(what + ": getAll should have thrown").isFalse();
      } catch (IllegalStateException | IllegalArgumentException
          | java.util.ConcurrentModificationException t) {
        assertThat(whole || poison).as(what + ": getAll threw " + t).isTrue();
        got = null;
      }
      if (!absent.isEmpty()) {
        if (whole || poison) {
          loadFailures++;
        } else {
          loadSuccesses++;
        }
      }
      if (!whole) {
        for (Map.Entry<Integer, Integer> r : returned.entrySet()) {
          if ((r.getValue() < 0) || (poison && !absent.contains(r.getKey()))) {
            continue; // rejected, or an extra after a failure: never stored
          }
          Entry before = model.get(r.getKey());
          replaced(before, (before != null) && before.live(now), expected);
          store(r.getKey(), r.getValue(), now);
          if (absent.contains(r.getKey())) {
            result.put(r.getKey(), r.getValue());
          }
        }
      }
      if (got != null) {
        assertThat(got).as(what + " getAll result").isEqualTo(result);
      }
    }

    /**
     * The calling-back listener rewrote every even key it was told about with its own value, as
     * a write at the operation's time: the entry, if live, now has the policy's lifetime from
     * then (and no TTL of its own).
     */
    private void callBack(String what, long now) {
      assertThat(callbackFailures).as("%s: the listener's call back into the cache failed", what)
          .isEmpty();
      for (Integer k : calledBack) {
        Entry entry = model.get(k);
        if ((entry != null) && entry.live(now)) {
          model.put(k, written(entry.value(), now));
        }
      }
      calledBack.clear();
    }

    /** The entry an operation displaces: notified replaced if live; if expired, see below. */
    private static void replaced(Entry e, boolean live, List<Object[]> expected) {
      if ((e != null) && live) {
        expected.add(new Object[] {e.value(), RemovalCause.REPLACED});
      }
    }

    /**
     * The notifications delivered since the last check: the expected ones (replaced, explicit,
     * dead on arrival) exactly, plus any expirations of values whose deadline has passed and size
     * evictions of live values, each at most once.
     */
    private void checkNotifications(String what, List<Object[]> expected) {
      List<RecordingListener.Removal<Integer, Integer>> all = listener.list();
      List<RecordingListener.Removal<Integer, Integer>> fresh = all.subList(seen, all.size());
      seen = all.size();
      long now = ticker.read();
      List<Object[]> unmatched = new ArrayList<>(expected);
      for (RecordingListener.Removal<Integer, Integer> r : fresh) {
        assertThat(notifiedValues.add(r.value())).as("%s: notified twice: %s", what, r).isTrue();
        boolean matched = unmatched.removeIf(x -> x[0].equals(r.value()) && (x[1] == r.cause()));
        if (matched) {
          stored.remove(r.value());
          continue;
        }
        Integer key = r.key();
        Entry entry = model.get(key);
        switch (r.cause()) {
          case EXPIRED -> {
            // An expired value that was still in the cache: the model still has it (expired), or
            // the step replaced or removed it.
            assertThat(stored).as("%s: expired value was stored: %s", what, r).contains(r.value());
            boolean modelExpired = (entry != null) && entry.value().equals(r.value())
                && !entry.live(now);
            if (modelExpired) {
              model.remove(key);
            }
            evictions++;
          }
          case SIZE -> {
            assertThat(shape.bounded()).as("%s: size eviction without a bound", what).isTrue();
            assertThat(entry).as("%s: evicted an absent key: %s", what, r).isNotNull();
            if (async && !entry.value().equals(r.value()) && unmatched.removeIf(
                x -> x[0].equals(r.value()) && (x[1] == RemovalCause.REPLACED))) {
              // An asynchronous bulk load settles its keys one by one, each evicting to the
              // bound at once: a value that an extra entry of the same load was to replace may
              // be evicted first (size, not replaced) and the extra then stored anew.
              evictions++;
              stored.remove(r.value());
              continue;
            }
            assertThat(entry.value()).as("%s: evicted another value", what).isEqualTo(r.value());
            model.remove(key);
            evictions++;
          }
          default -> throw new AssertionError(what + ": unexpected notification " + r
              + "; expected " + describe(expected));
        }
        stored.remove(r.value());
      }
      assertThat(unmatched).as("%s: predicted notifications not delivered: %s", what,
          describe(unmatched)).isEmpty();
      if (shape.bounded()) {
        assertThat(cache.estimatedSize()).as("%s: the bound holds", what).isLessThanOrEqualTo(BOUND);
      }
    }

    private static String describe(List<Object[]> notifications) {
      StringBuilder sb = new StringBuilder("[");
      for (Object[] n : notifications) {
        sb.append(n[0]).append('=').append(n[1]).append(' ');
      }
      return sb.append(']').toString();
    }
  }
}
