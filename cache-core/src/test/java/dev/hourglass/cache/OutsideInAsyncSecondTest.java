package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hourglass.cache.RecordingListener.Removal;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;

/**
 * A second, independent outside-in attack on the asynchronous caches, through the public API
 * only, on angles {@link OutsideInAsyncTest} and {@link AsyncCacheTest} leave out: virtual and
 * platform threads over overlapping keys, hostile keys (colliding hashes, odd {@code compareTo},
 * {@code hashCode} that throws at the wrong moment), a seeded differential test of the
 * synchronous view against the plain {@link LoadingCache}, the policy while futures are pending,
 * {@code expireAfterAccess}, extreme {@code Expiry} and weigher results, an executor that runs
 * tasks only when drained, cancelling or completing the returned future from outside, and
 * interrupted callers. Fake ticker, latches, bounded waits: a hang fails, never blocks. Tests
 * marked {@link Disabled} reproduce a defect against a documented promise.
 */
final class OutsideInAsyncSecondTest {
  private static final Duration TTL = Duration.ofMinutes(1);
  private static final long WAIT = 30;

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final RecordingListener<String, String> listener = new RecordingListener<>();
  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stopThreads() {
    threads.shutdownNow();
  }

  private CacheBuilder<String, String> builder() {
    return Hourglass.newBuilder().ticker(ticker).scheduler(scheduler).executor(Runnable::run)
        .<String, String>removalListener(listener);
  }

  private static CompletableFuture<String> done(String value) {
    return CompletableFuture.completedFuture(value);
  }

  /* ---------------- Virtual and platform threads over overlapping keys ---------------- */

  @Test
  @EnabledForJreRange(min = JRE.JAVA_21)
  void virtualThreads_getAndGetAllOnOverlappingKeys_loadEachKeyOnce() throws Exception {
    ExecutorService virtualThreads;
    try {
      virtualThreads = (ExecutorService) Executors.class
          .getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
    } catch (NoSuchMethodException e) {
      assumeTrue(false, "virtual threads need JDK 21+");
      return;
    }
    try {
      overlappingKeys_loadEachKeyOnce(virtualThreads, 2_000);
    } finally {
      virtualThreads.shutdownNow();
    }
  }

  @Test
  void platformThreads_getAndGetAllOnOverlappingKeys_loadEachKeyOnce() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      overlappingKeys_loadEachKeyOnce(pool, 400);
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * {@code callers} tasks call get/getAll (bulk and single) over 64 overlapping keys while the
   * loads complete on two other platform threads, released only once every caller is submitted.
   * Each key is loaded exactly once (no bound, no expiry), every caller sees the right values.
   */
  private static void overlappingKeys_loadEachKeyOnce(ExecutorService callersPool, int callers)
      throws Exception {
    int keys = 64;
    ExecutorService loaderPool = Executors.newFixedThreadPool(2);
    CountDownLatch release = new CountDownLatch(1);
    Map<Integer, AtomicInteger> loads = new ConcurrentHashMap<>();
    try {
      AsyncLoadingCache<Integer, Integer> cache = Hourglass.newBuilder()
          .scheduler(Scheduler.disabledScheduler()).executor(loaderPool).recordStats()
          .buildAsync(new AsyncCacheLoader<Integer, Integer>() {
            @Override
            public CompletableFuture<Integer> asyncLoad(Integer key, Executor executor) {
              loads.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
              return CompletableFuture.supplyAsync(() -> {
                awaitQuietly(release);
                return key * 10;
              }, loaderPool);
            }

            @Override
            public CompletableFuture<Map<Integer, Integer>> asyncLoadAll(
                Set<? extends Integer> absent, Executor executor) {
              for (Integer key : absent) {
                loads.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
              }
              List<Integer> copy = List.copyOf(absent);
              return CompletableFuture.supplyAsync(() -> {
                awaitQuietly(release);
                Map<Integer, Integer> values = new HashMap<>();
                copy.forEach(k -> values.put(k, k * 10));
                return values;
              }, loaderPool);
            }
          });
      List<Future<CompletableFuture<?>>> submitted = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        int n = i;
        submitted.add(callersPool.submit(() -> {
          int key = (n * 7) % keys;
          if ((n % 3) == 0) {
            List<Integer> wanted = List.of(key, (key + 1) % keys, (key + 5) % keys);
            return cache.getAll(wanted).thenAccept(map -> {
              for (Integer k : wanted) {
                if (!Integer.valueOf(k * 10).equals(map.get(k))) {
                  throw new AssertionError("getAll " + wanted + " gave " + map);
                }
              }
            });
          }
          return cache.get(key).thenAccept(v -> {
            if (v != key * 10) {
              throw new AssertionError("get " + key + " gave " + v);
            }
          });
        }));
      }
      List<CompletableFuture<?>> results = new ArrayList<>();
      for (Future<CompletableFuture<?>> f : submitted) {
        results.add(f.get(WAIT, TimeUnit.SECONDS)); // no caller blocks on a load
      }
      release.countDown();
      for (CompletableFuture<?> result : results) {
        result.get(WAIT, TimeUnit.SECONDS);
      }
      assertThat(loads).hasSize(keys);
      assertThat(loads.values()).as("each key loaded once").allMatch(n -> n.get() == 1);
      assertThat(cache.synchronous().estimatedSize()).isEqualTo(keys);
      CacheStats stats = cache.synchronous().stats();
      assertThat(stats.missCount()).isEqualTo(keys);
      assertThat(stats.loadFailureCount()).isZero();
      for (int k = 0; k < keys; k++) {
        assertThat(cache.synchronous().getIfPresent(k)).isEqualTo(k * 10);
      }
    } finally {
      release.countDown();
      loaderPool.shutdownNow();
    }
  }

  /* ---------------- Hostile keys ---------------- */

  /** Every key hashes alike; compareTo per {@code mode}; equals by id. */
  static final class Colliding implements Comparable<Colliding> {
    static final int CONSISTENT = 0;
    static final int ALL_EQUAL = 1;   // legal: compareTo inconsistent with equals
    static final int COARSE = 2;      // legal total preorder: ids compare by id / 4
    static final int THROWS_ODD = 3;  // compareTo throws when either id is odd (documented)
    final int id;
    final int mode;

    Colliding(int id, int mode) {
      this.id = id;
      this.mode = mode;
    }

    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public boolean equals(Object o) {
      return (o instanceof Colliding) && (((Colliding) o).id == id);
    }

    @Override
    public int compareTo(Colliding o) {
      switch (mode) {
        case ALL_EQUAL:
          return 0;
        case COARSE:
          return Integer.compare(id / 4, o.id / 4);
        case THROWS_ODD:
          if (((id | o.id) & 1) != 0) {
            throw new IllegalStateException("no order for " + id + " and " + o.id);
          }
          return Integer.compare(id, o.id);
        default:
          return Integer.compare(id, o.id);
      }
    }

    @Override
    public String toString() {
      return "C" + id;
    }
  }

  @Test
  void collidingKeys_consistentCompareTo_asyncOpsAgreeWithAModel() {
    collidingKeysAgreeWithAModel(id -> new Colliding(id, Colliding.CONSISTENT));
  }

  @Test
  void collidingKeys_compareToAlwaysZero_asyncOpsAgreeWithAModel() {
    collidingKeysAgreeWithAModel(id -> new Colliding(id, Colliding.ALL_EQUAL));
  }

  @Test
  void collidingKeys_coarseCompareTo_asyncOpsAgreeWithAModel() {
    collidingKeysAgreeWithAModel(id -> new Colliding(id, Colliding.COARSE));
  }

  @Test
  void collidingKeys_compareToThatThrows_asyncOpsAgreeWithAModel() {
    collidingKeysAgreeWithAModel(id -> new Colliding(id, Colliding.THROWS_ODD));
  }

  /**
   * A seeded random walk of the async cache's writes and reads over 48 colliding keys (so their
   * bin grows into a tree and shrinks back), with completed futures only, checked against a plain
   * map after every step: getIfPresent agrees, and the value map, asMap of futures and
   * estimatedSize after cleanUp agree with it.
   */
  private void collidingKeysAgreeWithAModel(IntFunction<Colliding> keyOf) {
    AsyncCache<Colliding, String> cache = Hourglass.newBuilder().ticker(ticker)
        .scheduler(scheduler).executor(Runnable::run).<Colliding, String>buildAsync();
    Map<Integer, String> model = new HashMap<>(); // by id: the model never compares keys
    Random random = new Random(20261207);
    for (int step = 0; step < 4_000; step++) {
      Colliding key = keyOf.apply(random.nextInt(48));
      String value = "v" + step;
      switch (random.nextInt(9)) {
        case 0 -> {
          cache.put(key, done(value));
          model.put(key.id, value);
        }
        case 1 -> {
          String got = cache.get(key, k -> value).join();
          assertThat(got).isEqualTo(model.computeIfAbsent(key.id, k -> value));
        }
        case 2 -> {
          String got = cache.get(key, (k, e) -> done(value)).join();
          assertThat(got).isEqualTo(model.computeIfAbsent(key.id, k -> value));
        }
        case 3 -> {
          List<Colliding> wanted = List.of(key, keyOf.apply(random.nextInt(48)),
              keyOf.apply(random.nextInt(48)));
          Map<Colliding, String> got = cache.getAll(wanted, absent -> {
            Map<Colliding, String> loaded = new HashMap<>();
            absent.forEach(k -> loaded.put(k, value));
            return loaded;
          }).join();
          for (Colliding k : wanted) {
            model.putIfAbsent(k.id, value);
            assertThat(got.get(k)).isEqualTo(model.get(k.id));
          }
        }
        case 4 -> {
          CompletableFuture<String> removed = cache.asMap().remove(key);
          String expected = model.remove(key.id);
          assertThat((removed == null) ? null : removed.join()).isEqualTo(expected);
        }
        case 5 -> {
          cache.asMap().compute(key, (k, old) -> done(value));
          model.put(key.id, value);
        }
        case 6 -> {
          cache.synchronous().invalidate(key);
          model.remove(key.id);
        }
        case 7 -> {
          cache.asMap().putIfAbsent(key, done(value));
          model.putIfAbsent(key.id, value);
        }
        default -> {
          CompletableFuture<String> f = cache.getIfPresent(key);
          assertThat((f == null) ? null : f.join()).as("step %d, key %s", step, key)
              .isEqualTo(model.get(key.id));
        }
      }
      if ((step % 97) == 0) {
        checkAgainstModel(cache, model);
      }
    }
    checkAgainstModel(cache, model);
    for (int id = 0; id < 48; id++) {
      assertThat(cache.synchronous().policy().getIfPresentQuietly(keyOf.apply(id)))
          .isEqualTo(model.get(id));
    }
  }

  private static void checkAgainstModel(AsyncCache<Colliding, String> cache,
      Map<Integer, String> model) {
    cache.synchronous().cleanUp();
    Map<Integer, String> values = new TreeMap<>();
    cache.synchronous().asMap().forEach((k, v) -> assertThat(values.put(k.id, v)).isNull());
    assertThat(values).isEqualTo(new TreeMap<>(model));
    assertThat(cache.asMap()).hasSameSizeAs(model);
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(model.size());
  }

  /** A key whose hashCode throws while armed (a count of throws). */
  static final class Fragile {
    final String name;
    final AtomicInteger throwsLeft = new AtomicInteger();

    Fragile(String name) {
      this.name = name;
    }

    @Override
    public int hashCode() {
      if (throwsLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new IllegalStateException("hashCode of " + name);
      }
      return name.hashCode();
    }

    @Override
    public boolean equals(Object o) {
      return (o instanceof Fragile) && ((Fragile) o).name.equals(name);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /**
   * User guide, Errors: "a key whose hashCode or equals throws | the exception reaches the caller;
   * the cache is unchanged and its locks released".
   */
  @Test
  void keyWhoseHashCodeThrows_reachesTheCaller_ofEveryAsyncOperation_andChangesNothing() {
    AsyncCache<Fragile, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).<Fragile, String>buildAsync();
    Fragile key = new Fragile("k");
    AtomicInteger calls = new AtomicInteger();
    key.throwsLeft.set(1);
    assertThatThrownBy(() -> cache.get(key, k -> "v" + calls.incrementAndGet()))
        .isInstanceOf(IllegalStateException.class);
    key.throwsLeft.set(1);
    assertThatThrownBy(() -> cache.get(key, (k, e) -> done("v" + calls.incrementAndGet())))
        .isInstanceOf(IllegalStateException.class);
    key.throwsLeft.set(1);
    assertThatThrownBy(() -> cache.put(key, done("v"))).isInstanceOf(IllegalStateException.class);
    key.throwsLeft.set(1);
    assertThatThrownBy(() -> cache.getIfPresent(key)).isInstanceOf(IllegalStateException.class);
    key.throwsLeft.set(1);
    assertThatThrownBy(() -> cache.asMap().put(key, done("v")))
        .isInstanceOf(IllegalStateException.class);
    assertThat(calls).hasValue(0);
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.synchronous().estimatedSize()).isZero();
    assertThat(cache.get(key, k -> "fine").join()).isEqualTo("fine");
  }

  /**
   * The key's hashCode throws while its future completes, on the completing thread (no caller):
   * the entry must not be left holding a completed future that is never weighed, timed nor
   * evicted. AsyncCache: "on completion it is weighed and given its lifetime as a value written
   * then"; user guide: "In every case the cache stays consistent".
   */
  @Test
  void keyWhoseHashCodeThrowsWhileItsFutureCompletes_leavesNoImmortalEntry() {
    AsyncCache<Fragile, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).maximumSize(1).expireAfterWrite(TTL)
        .<Fragile, String>buildAsync();
    Fragile key = new Fragile("k");
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put(key, loading);
    key.throwsLeft.set(2); // the settle must not need the key's hashCode (it has the stored hash)
    try (CapturedLog log = new CapturedLog()) {
      loading.complete("v");
      assertThat(log.records).as("settled without asking the key").isEmpty();
    }
    assertThat(key.throwsLeft).as("hashCode not called").hasValue(2);
    key.throwsLeft.set(0);
    ticker.advance(TTL.multipliedBy(2));
    for (int i = 0; i < 3; i++) {
      cache.synchronous().put(new Fragile("other" + i), "o");
    }
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().getIfPresent(key)).as("expired, or evicted, or gone").isNull();
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(1);
  }

  /** The settle uses the hash stored with the entry: a key's hashCode failing then changes nothing. */
  @Test
  void keyWhoseHashCodeThrowsOnceWhileItsFutureCompletes_isSettledAnyway() {
    AsyncCache<Fragile, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).expireAfterWrite(TTL).<Fragile, String>buildAsync();
    Fragile key = new Fragile("k");
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put(key, loading);
    key.throwsLeft.set(1);
    try (CapturedLog log = new CapturedLog()) {
      loading.complete("v");
      assertThat(log.records).isEmpty();
    }
    key.throwsLeft.set(0);
    assertThat(cache.synchronous().getIfPresent(key)).isEqualTo("v");
    assertThat(cache.synchronous().policy().expireAfterWrite().orElseThrow().ageOf(key))
        .as("its lifetime began at completion").hasValue(Duration.ZERO);
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(1);
  }

  /* ---------------- The synchronous view against the plain LoadingCache ---------------- */

  /** A deterministic loader whose outcomes depend only on the key and how often it was loaded. */
  static class VersionedLoader implements CacheLoader<Integer, String> {
    final Map<Integer, Integer> versions = new HashMap<>();
    final List<String> calls = new ArrayList<>();

    @Override
    public String load(Integer key) throws Exception {
      int v = versions.merge(key, 1, Integer::sum);
      calls.add("load " + key);
      if ((key % 7) == 0) {
        return null;
      }
      if (((key % 5) == 0) && ((v % 2) == 0)) {
        throw new IOException("checked " + key);
      }
      if (((key % 11) == 0) && ((v % 3) == 0)) {
        throw new IllegalStateException("unchecked " + key);
      }
      return key + "v" + v;
    }
  }

  /** The same, with a bulk load that leaves out the keys it has no value for. */
  static final class BulkVersionedLoader extends VersionedLoader {
    @Override
    public Map<Integer, String> loadAll(Set<? extends Integer> keys) throws Exception {
      calls.add("loadAll " + new java.util.TreeSet<Integer>(keys));
      Map<Integer, String> values = new LinkedHashMap<>();
      for (Integer key : keys) {
        int v = versions.merge(key, 1, Integer::sum);
        if ((key % 7) != 0) {
          values.put(key, key + "b" + v);
        }
      }
      return values;
    }
  }

  @Test
  void synchronousView_matchesThePlainLoadingCache_onARandomSequence() {
    differential(new VersionedLoader(), new VersionedLoader(), 1);
  }

  @Test
  void synchronousView_withABulkLoader_matchesThePlainLoadingCache_onARandomSequence() {
    differential(new BulkVersionedLoader(), new BulkVersionedLoader(), 2);
  }

  @SuppressWarnings("try") // the log is captured to keep the build output clean, not read
  private void differential(VersionedLoader forSync, VersionedLoader forAsync, long seed) {
    FakeTicker clock = new FakeTicker();
    RecordingListener<Integer, String> heardSync = new RecordingListener<>();
    RecordingListener<Integer, String> heardAsync = new RecordingListener<>();
    LoadingCache<Integer, String> plain = Hourglass.newBuilder().ticker(clock)
        .scheduler(Scheduler.disabledScheduler()).executor(Runnable::run).recordStats()
        .expireAfterWrite(TTL).<Integer, String>removalListener(heardSync).build(forSync);
    LoadingCache<Integer, String> view = Hourglass.newBuilder().ticker(clock)
        .scheduler(Scheduler.disabledScheduler()).executor(Runnable::run).recordStats()
        .expireAfterWrite(TTL).<Integer, String>removalListener(heardAsync).buildAsync(forAsync)
        .synchronous();
    Random random = new Random(seed);
    try (CapturedLog log = new CapturedLog()) {
      for (int step = 0; step < 1_500; step++) {
        int key = random.nextInt(16);
        List<Integer> keys = List.of(key, random.nextInt(16), random.nextInt(16));
        // getAll over keys whose load never throws: see getAll_whereOneKeyFails_* below
        List<Integer> safeKeys = List.of(SAFE[random.nextInt(SAFE.length)],
            SAFE[random.nextInt(SAFE.length)], SAFE[random.nextInt(SAFE.length)]);
        int op = random.nextInt(10);
        String what = "step " + step + " op " + op + " key " + key + " keys " + keys;
        switch (op) {
          case 0, 1 -> assertThat(outcome(() -> view.get(key))).as(what)
              .isEqualTo(outcome(() -> plain.get(key)));
          case 2 -> assertThat(outcome(() -> view.getAll(safeKeys))).as(what)
              .isEqualTo(outcome(() -> plain.getAll(safeKeys)));
          case 3 -> assertThat(outcome(view.refresh(key))).as(what)
              .isEqualTo(outcome(plain.refresh(key)));
          case 4 -> assertThat(outcome(view.refreshAll(keys))).as(what)
              .isEqualTo(outcome(plain.refreshAll(keys)));
          case 5 -> {
            view.invalidate(key);
            plain.invalidate(key);
          }
          case 6 -> assertThat(view.getIfPresent(key)).as(what).isEqualTo(plain.getIfPresent(key));
          case 7 -> {
            view.put(key, "p" + step);
            plain.put(key, "p" + step);
          }
          case 8 -> clock.advance(TTL.dividedBy(1 + random.nextInt(4)));
          default -> assertThat(view.getAllPresent(keys)).as(what)
              .isEqualTo(plain.getAllPresent(keys));
        }
        assertThat(new TreeMap<>(view.asMap())).as(what).isEqualTo(new TreeMap<>(plain.asMap()));
        assertThat(forAsync.calls).as(what).isEqualTo(forSync.calls);
        assertThat(withoutEvictions(view.stats())).as(what)
            .isEqualTo(withoutEvictions(plain.stats()));
        assertThat(heardAsync.list()).as(what).isEqualTo(heardSync.list());
      }
    }
    view.cleanUp();
    plain.cleanUp();
    assertThat(view.stats()).isEqualTo(plain.stats());
    assertThat(view.estimatedSize()).isEqualTo(plain.estimatedSize());
  }

  /** Keys whose load never throws (multiples of 7 load null). */
  private static final Integer[] SAFE = {1, 2, 3, 4, 6, 7, 8, 9, 12, 13, 14};

  private static CacheStats withoutEvictions(CacheStats s) {
    return new CacheStats(s.hitCount(), s.missCount(), s.loadSuccessCount(),
        s.loadFailureCount(), s.totalLoadTimeNanos(), 0, 0);
  }

  private static String outcome(java.util.concurrent.Callable<?> call) {
    try {
      return "value " + call.call();
    } catch (Throwable t) {
      return describe(t);
    }
  }

  private static String outcome(CompletableFuture<?> future) {
    if (!future.isDone()) {
      return "pending";
    }
    try {
      return "value " + future.getNow(null);
    } catch (Throwable t) {
      return describe(t instanceof CompletionException && t.getCause() != null ? t.getCause() : t);
    }
  }

  private static String describe(Throwable t) {
    Throwable cause = ((t instanceof CompletionException) && (t.getCause() != null))
        ? t.getCause() : t;
    return t.getClass().getSimpleName() + "(" + cause.getClass().getSimpleName() + ": "
        + cause.getMessage() + ")";
  }

  /**
   * User guide, Statistics: getAll counts hits and misses "once per distinct key of a bulk call".
   * With a loader without loadAll whose load throws for the first key, the synchronous view
   * (as AsyncLoadingCache.getAll) asks every key, and loads and stores the others; the plain
   * LoadingCache stops at the failing key: the later ones are neither counted nor loaded.
   */
  @Test
  @Disabled("defect (plain LoadingCache, found by the differential): getAll without loadAll stops "
      + "at the first key whose load throws; later keys are not counted, unlike the async view")
  void getAll_whereTheFirstKeyFails_countsEveryKey_inTheViewAndThePlainCacheAlike() {
    CacheLoader<String, String> loader = key -> {
      if (key.equals("bad")) {
        throw new IllegalStateException("bad");
      }
      return key.toUpperCase();
    };
    LoadingCache<String, String> view = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(scheduler).recordStats().<String, String>buildAsync(loader).synchronous();
    LoadingCache<String, String> plain = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(scheduler).recordStats().<String, String>build(loader);
    for (LoadingCache<String, String> cache : List.of(view, plain)) {
      assertThatThrownBy(() -> cache.getAll(List.of("bad", "good")))
          .isInstanceOf(IllegalStateException.class);
    }
    assertThat(view.stats().missCount()).as("view").isEqualTo(2);
    assertThat(view.asMap()).containsOnlyKeys("good");
    assertThat(plain.stats().missCount()).as("plain").isEqualTo(2);
    assertThat(plain.asMap()).as("plain, as the view").isEqualTo(view.asMap());
  }

  /**
   * LoadingCache.refreshAll: "present entries with one call of CacheLoader#reloadAll when the
   * loader has a bulk form"; AsyncLoadingCache.synchronous() is "a synchronous LoadingCache".
   */
  @Test
  void synchronousRefreshAll_withACacheLoaderThatHasReloadAll_usesIt_asThePlainCacheDoes() {
    List<String> plainCalls = new ArrayList<>();
    List<String> viewCalls = new ArrayList<>();
    LoadingCache<String, String> plain = builder().build(bulkReloader(plainCalls));
    LoadingCache<String, String> view = builder().buildAsync(bulkReloader(viewCalls))
        .synchronous();
    for (LoadingCache<String, String> cache : List.of(plain, view)) {
      cache.getAll(List.of("a", "b"));
      assertThat(cache.refreshAll(List.of("a", "b")).join())
          .containsExactly(Map.entry("a", "a!"), Map.entry("b", "b!"));
    }
    assertThat(plainCalls).containsExactly("load a", "load b", "reloadAll [a, b]");
    assertThat(viewCalls).as("the view, as the plain cache").isEqualTo(plainCalls);
  }

  private static CacheLoader<String, String> bulkReloader(List<String> calls) {
    return new CacheLoader<>() {
      @Override
      public String load(String key) {
        calls.add("load " + key);
        return key;
      }

      @Override
      public String reload(String key, String old) {
        calls.add("reload " + key);
        return key + "!";
      }

      @Override
      public Map<String, String> reloadAll(Map<? extends String, ? extends String> old) {
        calls.add("reloadAll " + old.keySet());
        Map<String, String> values = new LinkedHashMap<>();
        old.keySet().forEach(k -> values.put(k, k + "!"));
        return values;
      }
    };
  }

  /**
   * User guide, Errors: "a bulk function that returns null, a null key or a null value |
   * NullPointerException naming its source (mappingFunction or CacheLoader.loadAll); nothing is
   * stored" — as the plain LoadingCache.getAll does.
   */
  @Test
  void synchronousGetAll_loadAllWithANullValue_throwsNpe_andStoresNothing_asThePlainCache() {
    CacheLoader<String, String> loader = new CacheLoader<>() {
      @Override
      public String load(String key) {
        return key;
      }

      @Override
      public Map<String, String> loadAll(Set<? extends String> keys) {
        Map<String, String> values = new HashMap<>();
        keys.forEach(k -> values.put(k, k.equals("b") ? null : k.toUpperCase()));
        return values;
      }
    };
    LoadingCache<String, String> plain = builder().build(loader);
    assertThatThrownBy(() -> plain.getAll(List.of("a", "b")))
        .isInstanceOf(NullPointerException.class);
    assertThat(plain.asMap()).isEmpty();

    LoadingCache<String, String> view = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(scheduler).<String, String>buildAsync(loader).synchronous();
    assertThatThrownBy(() -> view.getAll(List.of("a", "b")))
        .isInstanceOf(NullPointerException.class);
    assertThat(view.asMap()).isEmpty();
  }

  /**
   * Cache.put: "replacing any previous value (whose removal is reported as REPLACED)". Writing
   * the very value object that is held: the plain cache reports nothing, the synchronous view
   * reports REPLACED. Pinned here as observed (see the report: the difference is undocumented).
   */
  @Test
  void putOfTheSameValueObject_plainCacheReportsNothing_synchronousViewReportsReplaced() {
    RecordingListener<String, String> heardPlain = new RecordingListener<>();
    Cache<String, String> plain = Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(scheduler).<String, String>removalListener(heardPlain).build();
    Cache<String, String> view = builder().buildAsync().synchronous();
    String value = new String("v");
    for (Cache<String, String> cache : List.of(plain, view)) {
      cache.put("k", value);
      cache.put("k", value);
    }
    assertThat(heardPlain.list()).isEmpty();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.REPLACED));
  }

  /* ---------------- policy() of the synchronous view while futures are pending ---------------- */

  /**
   * Policy.Eviction.coldest: "up to limit entries the policy rates least worth keeping"; user
   * guide: "coldest(10); // next to go". A pending entry is never evicted, and the view leaves it
   * out; the settled entries must still fill the limit.
   */
  @Test
  void synchronousPolicy_coldestAndHottest_fillTheLimitWithSettledEntries_pastPendingOnes() {
    // Pending entries read often (the hottest) and never read (the coldest), five settled ones.
    assertThat(List.of(snapshotSizes(20), snapshotSizes(0)))
        .as("sizes of hottest(2), coldest(2): pending hot, then pending cold")
        .containsExactly(List.of(2, 2), List.of(2, 2));
  }

  private List<Integer> snapshotSizes(int readsOfEachPending) {
    AsyncCache<String, String> cache = builder().maximumSize(100).buildAsync();
    for (int i = 0; i < 5; i++) {
      cache.put("r" + i, done("R" + i));
      for (int reads = 0; reads < 20 - readsOfEachPending; reads++) {
        cache.getIfPresent("r" + i);
      }
    }
    List<CompletableFuture<String>> loading = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      loading.add(f);
      cache.put("l" + i, f);
      for (int reads = 0; reads < readsOfEachPending; reads++) {
        cache.getIfPresent("l" + i);
      }
    }
    cache.synchronous().cleanUp();
    Policy.Eviction<String, String> eviction =
        cache.synchronous().policy().eviction().orElseThrow();
    List<Integer> sizes = List.of(eviction.hottest(2).size(), eviction.coldest(2).size());
    loading.forEach(f -> f.complete("L"));
    return sizes;
  }

  /**
   * weightOf, ageOf and getExpiresAfter of a pending entry, and of the same entry once settled:
   * the entry never expires while loading (getExpiresAfter is "never"), and its age and lifetime
   * count from its completion.
   */
  @Test
  void synchronousPolicy_ofAPendingEntry_neverExpires_andAgesFromCompletion() {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).expireAfterWrite(TTL).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    Policy<String, String> policy = cache.synchronous().policy();
    ticker.advance(TTL.multipliedBy(3));
    assertThat(policy.expireVariably().orElseThrow().getExpiresAfter("k"))
        .hasValue(Duration.ofNanos(Long.MAX_VALUE));
    assertThat(policy.eviction().orElseThrow().weightedSize()).hasValue(0);
    assertThat(policy.getIfPresentQuietly("k")).isNull();

    loading.complete("abcd");
    assertThat(policy.eviction().orElseThrow().weightOf("k")).hasValue(4);
    assertThat(policy.eviction().orElseThrow().weightedSize()).hasValue(4);
    assertThat(policy.expireAfterWrite().orElseThrow().ageOf("k")).hasValue(Duration.ZERO);
    assertThat(policy.expireVariably().orElseThrow().getExpiresAfter("k")).hasValue(TTL);
    ticker.advance(Duration.ofSeconds(10));
    assertThat(policy.expireAfterWrite().orElseThrow().ageOf("k"))
        .hasValue(Duration.ofSeconds(10));
  }

  @Test
  void synchronousPolicy_setMaximumShrinking_withPendingEntries_evictsSettledOnly_thenFits() {
    AsyncCache<String, String> cache = builder().maximumSize(20).buildAsync();
    List<CompletableFuture<String>> loading = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      loading.add(f);
      cache.put("l" + i, f);
      cache.put("r" + i, done("R" + i));
    }
    cache.synchronous().policy().eviction().orElseThrow().setMaximum(3);
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(3)
        .allSatisfy(r -> assertThat(r.key()).startsWith("r"));
    for (int i = 0; i < 6; i++) {
      assertThat(cache.getIfPresent("l" + i)).isSameAs(loading.get(i));
    }
    for (int i = 0; i < 6; i++) {
      loading.get(i).complete("L" + i);
    }
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(3);
    assertThat(cache.synchronous().asMap()).hasSize(3);
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(9)
        .extracting(Removal::key).doesNotHaveDuplicates();
  }

  /**
   * VarExpiration.setExpiresAfter on a settled entry: its own deadline, which reads do not
   * extend (expireAfterAccess), and under which the idle age is empty.
   */
  @Test
  void setExpiresAfter_onASettledEntry_isItsOwnDeadline_readsDoNotExtendIt() {
    AsyncCache<String, String> cache = builder().expireAfterAccess(TTL).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    Policy<String, String> policy = cache.synchronous().policy();
    assertThat(policy.expireVariably().orElseThrow()
        .setExpiresAfter("k", Duration.ofSeconds(5))).as("pending: left alone").isFalse();
    loading.complete("v");
    assertThat(policy.expireVariably().orElseThrow()
        .setExpiresAfter("k", Duration.ofSeconds(5))).isTrue();
    assertThat(policy.expireAfterAccess().orElseThrow().ageOf("k")).isEmpty();
    ticker.advance(Duration.ofSeconds(4));
    assertThat(cache.getIfPresent("k")).isSameAs(loading);
    assertThat(cache.get("k", k -> "other").join()).isEqualTo("v");
    ticker.advance(Duration.ofSeconds(1));
    assertThat(cache.getIfPresent("k")).isNull();
    cache.synchronous().cleanUp();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }

  /* ---------------- expireAfterAccess ---------------- */

  /**
   * Reads through the asynchronous API (getIfPresent, get hits, getAll hits) extend a settled
   * entry's idle time; reads of a pending one do not start it: it starts at completion.
   */
  @Test
  void expireAfterAccess_asyncReadsOfASettledEntryExtend_readsWhilePendingDoNotCount() {
    AsyncCache<String, String> cache = builder().expireAfterAccess(TTL).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    ticker.advance(TTL.multipliedBy(5));
    assertThat(cache.getIfPresent("k")).isSameAs(loading);
    ticker.advance(TTL.multipliedBy(5));
    loading.complete("v");
    Policy.FixedExpiration<String, String> idle =
        cache.synchronous().policy().expireAfterAccess().orElseThrow();
    assertThat(idle.ageOf("k")).hasValue(Duration.ZERO);
    ticker.advance(TTL.minusSeconds(1));
    assertThat(cache.getIfPresent("k")).isSameAs(loading);
    ticker.advance(TTL.minusSeconds(1));
    assertThat(cache.get("k", k -> "other")).isSameAs(loading);
    ticker.advance(TTL.minusSeconds(1));
    assertThat(cache.getAll(List.of("k"), keys -> Map.of()).join()).containsEntry("k", "v");
    ticker.advance(TTL.minusSeconds(1));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    ticker.advance(TTL.plusSeconds(1));
    assertThat(cache.getIfPresent("k")).isNull();
    cache.synchronous().cleanUp();
    assertThat(listener.list()).containsExactly(new Removal<>("k", "v", RemovalCause.EXPIRED));
  }

  /* ---------------- Extreme Expiry and weigher results ---------------- */

  @Test
  void expiryReturningNegativeOrMinValue_onCompletion_expiresAtOnce_reportedOnce() {
    AsyncCache<String, String> cache = builder().expireAfter(new Expiry<String, String>() {
      @Override
      public long expireAfterCreate(String key, String value, long now) {
        return value.equals("min") ? Long.MIN_VALUE : -1;
      }
    }).buildAsync();
    CompletableFuture<String> a = new CompletableFuture<>();
    CompletableFuture<String> b = new CompletableFuture<>();
    cache.put("a", a);
    cache.put("b", b);
    a.complete("neg");
    b.complete("min");
    assertThat(cache.getIfPresent("a")).isNull();
    assertThat(cache.synchronous().getIfPresent("b")).isNull();
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isZero();
    assertThat(listener.list()).containsExactlyInAnyOrder(
        new Removal<>("a", "neg", RemovalCause.EXPIRED),
        new Removal<>("b", "min", RemovalCause.EXPIRED));
  }

  @Test
  void expiryReturningLongMax_onCompletion_neverExpires() {
    AsyncCache<String, String> cache = builder().expireAfter(new Expiry<String, String>() {
      @Override
      public long expireAfterCreate(String key, String value, long now) {
        return Long.MAX_VALUE;
      }
    }).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    loading.complete("v");
    Duration left = cache.synchronous().policy().expireVariably().orElseThrow()
        .getExpiresAfter("k").orElseThrow();
    assertThat(left).isGreaterThan(Duration.ofDays(365 * 100));
    ticker.advance(Duration.ofDays(365 * 100));
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("v");
    assertThat(listener.list()).isEmpty();
  }

  /**
   * An Expiry that throws for some completed values: that entry is removed and logged; others
   * settle normally. User guide, asynchronous caches: "A failure caches nothing ... removed ...
   * with no removal reported"; removal listeners: EXPLICIT is "invalidate, remove, a compute that
   * returned null". Nothing was stored, so nothing may be reported.
   */
  @Test
  void expiryThatThrowsForSomeValues_onCompletion_storesNothing_andReportsNothing() {
    AsyncCache<String, String> cache = builder().expireAfter(Expiry.<String, String>creating(
        (k, v) -> {
          if (v.startsWith("bad")) {
            throw new IllegalStateException("no lifetime for " + k);
          }
          return TTL;
        })).buildAsync();
    CompletableFuture<String> bad = new CompletableFuture<>();
    CompletableFuture<String> good = new CompletableFuture<>();
    cache.put("bad", bad);
    cache.put("good", good);
    try (CapturedLog log = new CapturedLog()) {
      bad.complete("bad-value");
      good.complete("good-value");
      assertThat(log.records).hasSize(1);
    }
    assertThat(cache.getIfPresent("bad")).isNull();
    assertThat(cache.synchronous().getIfPresent("good")).isEqualTo("good-value");
    assertThat(listener.list()).as("nothing was stored, nothing removed").isEmpty();
  }

  /**
   * Weigher: "a negative weight fails the write with an IllegalArgumentException and leaves the
   * cache unchanged". On completion there is no write to fail: the entry goes, logged. The
   * listener must stay silent (see the Expiry case above).
   */
  @Test
  void weigherReturningNegative_forACompletedValue_removesTheEntry_andReportsNothing() {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.equals("neg") ? -1 : 1).buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    try (CapturedLog log = new CapturedLog()) {
      loading.complete("neg");
      assertThat(log.records).hasSize(1);
    }
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightedSize()).hasValue(0);
    assertThat(listener.list()).isEmpty();
  }

  /** The weigher's documented IAE, through the synchronous view and a completed future's put. */
  @Test
  void weigherReturningNegative_onAWriteOfAValue_throwsIae_andLeavesTheCacheUnchanged() {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.equals("neg") ? -1 : 1).buildAsync();
    cache.synchronous().put("k", "old");
    assertThatThrownBy(() -> cache.synchronous().put("k", "neg"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> cache.put("k", done("neg")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("old");
    assertThat(cache.synchronous().policy().eviction().orElseThrow().weightedSize()).hasValue(1);
    assertThat(listener.list()).isEmpty();
  }

  /* ---------------- An executor that runs tasks only when drained ---------------- */

  @Test
  void queuedExecutor_getWithFunction_staysPendingUntilDrained_andNotificationsWait() {
    QueueExecutor executor = new QueueExecutor();
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(executor).recordStats().<String, String>removalListener(listener).buildAsync();
    AtomicInteger runs = new AtomicInteger();
    CompletableFuture<String> a = cache.get("a", k -> "A" + runs.incrementAndGet());
    CompletableFuture<String> shared = cache.get("a", k -> "never" + runs.incrementAndGet());
    assertThat(shared).isSameAs(a);
    assertThat(a).isNotDone();
    assertThat(runs).hasValue(0);
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(1);

    cache.synchronous().put("b", "B");
    cache.synchronous().put("b", "B2");
    cache.synchronous().invalidate("b");
    assertThat(listener.list()).as("queued, not delivered").isEmpty();

    executor.drain();
    assertThat(a).isCompletedWithValue("A1");
    assertThat(runs).hasValue(1);
    assertThat(listener.list()).containsExactly(
        new Removal<>("b", "B", RemovalCause.REPLACED),
        new Removal<>("b", "B2", RemovalCause.EXPLICIT));
    assertThat(cache.synchronous().asMap()).containsExactly(Map.entry("a", "A1"));
    assertThat(cache.synchronous().stats().loadSuccessCount()).isEqualTo(1);

    cache.synchronous().invalidate("a");
    assertThat(listener.list()).hasSize(2);
    executor.drain();
    assertThat(listener.list()).hasSize(3).last()
        .isEqualTo(new Removal<>("a", "A1", RemovalCause.EXPLICIT));
    assertThat(executor.drain()).isZero();
  }

  /**
   * An entry removed while its (queued) load waits: the load's late value is reported through the
   * executor, once; nothing is lost or stored after draining.
   */
  @Test
  void queuedExecutor_entryInvalidatedWhileItsLoadIsQueued_reportsTheValueAfterDraining() {
    QueueExecutor executor = new QueueExecutor();
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(executor).<String, String>removalListener(listener).buildAsync();
    CompletableFuture<String> a = cache.get("a", k -> "A");
    cache.synchronous().invalidate("a");
    assertThat(cache.getIfPresent("a")).isNull();
    while (executor.drain() > 0) {
      // the load, then the notification it queues
    }
    assertThat(a).isCompletedWithValue("A");
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).containsExactly(new Removal<>("a", "A", RemovalCause.EXPLICIT));
  }

  /**
   * refreshAfterWrite with a queued executor: the read that finds the entry due answers the old
   * value at once; the reload runs only when drained; a write before the drain wins; an explicit
   * refresh's future completes after the drain.
   */
  @Test
  void queuedExecutor_refreshes_waitForTheDrain_andAWriteBeforeItWins() {
    QueueExecutor executor = new QueueExecutor();
    AtomicInteger version = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker)
        .scheduler(scheduler).executor(executor).refreshAfterWrite(TTL)
        .<String, String>removalListener(listener)
        .buildAsync((String key) -> key + version.incrementAndGet());
    CompletableFuture<String> first = cache.get("k");
    assertThat(first).isNotDone();
    executor.drain();
    assertThat(first).isCompletedWithValue("k1");

    ticker.advance(TTL);
    assertThat(cache.get("k").join()).isEqualTo("k1"); // starts the reload, queued
    assertThat(version).hasValue(1);
    executor.drain();
    assertThat(version).hasValue(2);
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("k2");

    ticker.advance(TTL);
    assertThat(cache.get("k").join()).isEqualTo("k2"); // another reload, queued
    cache.synchronous().put("k", "written");
    while (executor.drain() > 0) {
      // the reload, then notifications
    }
    assertThat(cache.synchronous().getIfPresent("k")).as("the write wins").isEqualTo("written");

    CompletableFuture<String> explicit = cache.synchronous().refresh("k");
    assertThat(explicit).isNotDone();
    while (executor.drain() > 0) {
      // the reload, then notifications
    }
    assertThat(explicit).isCompletedWithValue("k4");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("k4");
    assertThat(listener.list()).extracting(Removal::value)
        .containsExactly("k1", "k2", "written");
  }

  /* ---------------- Cancelling or completing the returned future from outside ---------------- */

  /**
   * get(key, Function) returns the stored future itself: cancelling it cancels it for every
   * caller, removes the entry, and the function never runs; the next get starts again.
   */
  @Test
  void cancelOfTheReturnedFuture_ofAQueuedFunction_sharesTheCancellation_andNeverRunsIt() {
    QueueExecutor executor = new QueueExecutor();
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(executor).recordStats().<String, String>removalListener(listener).buildAsync();
    AtomicInteger runs = new AtomicInteger();
    CompletableFuture<String> mine = cache.get("k", k -> "v" + runs.incrementAndGet());
    CompletableFuture<String> theirs = cache.get("k", k -> "w" + runs.incrementAndGet());
    assertThat(cache.getIfPresent("k")).isSameAs(mine).isSameAs(theirs);
    assertThat(mine.cancel(true)).isTrue();
    assertThatThrownBy(theirs::join).isInstanceOf(CancellationException.class);
    assertThat(cache.getIfPresent("k")).isNull();
    executor.drain();
    assertThat(runs).as("a cancelled future's function does not run").hasValue(0);
    assertThat(cache.synchronous().estimatedSize()).isZero();
    assertThat(listener.list()).isEmpty();
    CompletableFuture<String> again = cache.get("k", k -> "x" + runs.incrementAndGet());
    executor.drain();
    assertThat(again).isCompletedWithValue("x1");
  }

  /** The same for an AsyncLoadingCache's get(key) over a CacheLoader. */
  @Test
  void cancelOfTheFutureOfALoad_removesIt_andOtherCallersSeeTheCancellation() throws Exception {
    QueueExecutor executor = new QueueExecutor();
    AtomicInteger loads = new AtomicInteger();
    AsyncLoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker)
        .scheduler(scheduler).executor(executor)
        .buildAsync((String key) -> key + loads.incrementAndGet());
    CompletableFuture<String> mine = cache.get("k");
    CompletableFuture<Map<String, String>> all = cache.getAll(List.of("k", "j"));
    mine.cancel(false);
    executor.drain();
    assertThat(all).isCompletedExceptionally();
    assertThatThrownBy(all::join).hasCauseInstanceOf(CancellationException.class);
    assertThat(cache.synchronous().asMap()).containsOnlyKeys("j");
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(1);
    CompletableFuture<String> again = cache.get("k");
    executor.drain();
    assertThat(again.get(WAIT, TimeUnit.SECONDS)).startsWith("k");
  }

  /**
   * Completing the returned future from outside before the queued function runs settles the
   * entry with that value (weighed and timed then); the function then never runs.
   */
  @Test
  void completeOfTheReturnedFuture_fromOutside_settlesThatValue_andTheFunctionNeverRuns() {
    QueueExecutor executor = new QueueExecutor();
    AsyncCache<String, String> cache = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(executor).maximumWeight(100).weigher((String k, String v) -> v.length())
        .expireAfterWrite(TTL).buildAsync();
    AtomicInteger runs = new AtomicInteger();
    CompletableFuture<String> returned = cache.get("k", k -> "computed" + runs.incrementAndGet());
    ticker.advance(TTL.multipliedBy(2));
    assertThat(returned.complete("mine")).isTrue();
    executor.drain();
    assertThat(runs).hasValue(0);
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("mine");
    Policy<String, String> policy = cache.synchronous().policy();
    assertThat(policy.eviction().orElseThrow().weightOf("k")).hasValue(4);
    assertThat(policy.expireVariably().orElseThrow().getExpiresAfter("k")).hasValue(TTL);
    ticker.advance(TTL);
    assertThat(cache.getIfPresent("k")).isNull();
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isZero();
  }

  /**
   * obtrudeValue on a future already settled: the cache holds that very future, so the value
   * served changes, with no removal reported and the weight and lifetime of the first value
   * kept. Pinned as observed (undocumented; CompletableFuture calls obtrude* error recovery).
   */
  @Test
  void obtrudeValue_onASettledFuture_changesWhatIsServed_butNotItsWeightOrLifetime() {
    AsyncCache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).expireAfterWrite(TTL).buildAsync();
    CompletableFuture<String> returned = cache.get("k", (k, e) -> done("abc"));
    ticker.advance(Duration.ofSeconds(10));
    returned.obtrudeValue("abcdefgh");
    assertThat(cache.synchronous().getIfPresent("k")).isEqualTo("abcdefgh");
    Policy<String, String> policy = cache.synchronous().policy();
    assertThat(policy.eviction().orElseThrow().weightOf("k")).hasValue(3);
    assertThat(policy.expireVariably().orElseThrow().getExpiresAfter("k"))
        .hasValue(TTL.minusSeconds(10));
    assertThat(listener.list()).isEmpty();
  }

  /**
   * obtrudeException on a settled future: the entry stays, holding a failed future; the
   * synchronous view answers null, and a later get(key, function) shares the failure instead of
   * computing again. Pinned as observed; consistency holds (size, map views agree).
   */
  @Test
  void obtrudeException_onASettledFuture_leavesAFailedFutureHeld_consistently() {
    AsyncCache<String, String> cache = builder().buildAsync();
    CompletableFuture<String> returned = cache.get("k", (k, e) -> done("v"));
    returned.obtrudeException(new IOException("late"));
    assertThat(cache.getIfPresent("k")).isSameAs(returned);
    assertThat(cache.synchronous().getIfPresent("k")).isNull();
    assertThat(cache.get("k", k -> "again")).isSameAs(returned);
    cache.synchronous().cleanUp();
    assertThat(cache.synchronous().estimatedSize()).isEqualTo(1);
    assertThat(cache.asMap()).hasSize(1);
    assertThat(cache.synchronous().asMap()).isEmpty();
    assertThat(listener.list()).isEmpty();
    cache.synchronous().invalidate("k");
    assertThat(cache.asMap()).isEmpty();
    assertThat(listener.list()).isEmpty();
  }

  /* ---------------- Interrupted callers ---------------- */

  /**
   * A thread interrupted before it reads a pending entry through the synchronous view: getIfPresent
   * answers null at once (the entry stays, the interrupt stays set); the entry is then served
   * normally once it completes.
   */
  @Test
  void interruptedCaller_synchronousGetIfPresent_ofAPendingEntry_answersNull_keepsTheInterrupt()
      throws Exception {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    CompletableFuture<String> loading = new CompletableFuture<>();
    cache.put("k", loading);
    Future<String[]> read = threads.submit(() -> {
      Thread.currentThread().interrupt();
      String value = cache.synchronous().getIfPresent("k");
      boolean stillInterrupted = Thread.interrupted();
      return new String[] {value, String.valueOf(stillInterrupted)};
    });
    assertThat(read.get(WAIT, TimeUnit.SECONDS)).containsExactly(null, "true");
    assertThat(cache.getIfPresent("k")).isSameAs(loading);
    loading.complete("v");
    Future<String[]> again = threads.submit(() -> {
      Thread.currentThread().interrupt();
      String value = cache.synchronous().getIfPresent("k");
      return new String[] {value, String.valueOf(Thread.interrupted())};
    });
    assertThat(again.get(WAIT, TimeUnit.SECONDS)).containsExactly("v", "true");
  }

  /**
   * An interrupted thread's synchronous get(key) / get(key, function) of a key still loading:
   * waits for the load regardless (join does not answer interrupts), returns its value, and the
   * interrupt stays set. Pinned as observed.
   */
  @Test
  void interruptedCaller_synchronousGet_ofAPendingEntry_waitsForTheValue_keepsTheInterrupt()
      throws Exception {
    CompletableFuture<String> loading = new CompletableFuture<>();
    AsyncLoadingCache<String, String> cache = builder()
        .buildAsync((String k, Executor e) -> loading);
    cache.get("k");
    CountDownLatch started = new CountDownLatch(2);
    Future<String> viaLoader = threads.submit(() -> {
      Thread.currentThread().interrupt();
      started.countDown();
      String value = cache.synchronous().get("k");
      return value + ":" + Thread.interrupted();
    });
    Future<String> viaFunction = threads.submit(() -> {
      Thread.currentThread().interrupt();
      started.countDown();
      String value = cache.synchronous().get("k", k -> "computed");
      return value + ":" + Thread.interrupted();
    });
    assertThat(started.await(WAIT, TimeUnit.SECONDS)).isTrue();
    loading.complete("v");
    assertThat(viaLoader.get(WAIT, TimeUnit.SECONDS)).isEqualTo("v:true");
    assertThat(viaFunction.get(WAIT, TimeUnit.SECONDS)).isEqualTo("v:true");
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      if (!latch.await(WAIT, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
