package dev.hourglass.cache.internal;

import dev.hourglass.cache.AsyncCache;
import dev.hourglass.cache.Cache;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The cache that {@code buildAsync()} returns: a facade over an engine ({@link StripedCache})
 * whose values are the futures. The engine does the storing: it keeps a future that is not yet a
 * value weightless and timeless, and settles or removes it when it completes (see
 * {@link StripedCache#async}). This class starts computations, single flight through the
 * engine's {@link SingleFlight}, and keeps the statistics of hits, misses and loads, a load being
 * timed from its start to its future's completion.
 *
 * <h2>Where user code runs</h2>
 * A mapping function runs on the caller's thread inside the key's flight, with no lock held; it
 * only starts the computation, so the callers it makes wait are those of its own key, briefly. A
 * function that throws or returns null fails the future returned, which is stored and removed
 * like any failed future, so concurrent callers share the failure. A bulk function runs once for
 * all the absent keys, after a future for each of them was stored ({@link #getAll}).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
class StripedAsyncCache<K, V> implements AsyncCache<K, V> {
  /** The engine; its values are this cache's futures. */
  final StripedCache<K, CompletableFuture<V>> engine;
  /** Whether the user gave a weigher (the engine always has one when bounded). */
  final boolean weighted;
  private final Executor executor;
  private final StatsCounter stats;
  private final SyncView<K, V> synchronous;

  StripedAsyncCache(StripedCache<K, CompletableFuture<V>> engine, boolean weighted) {
    this.engine = engine;
    this.weighted = weighted;
    this.executor = engine.executor;
    this.stats = engine.stats;
    this.synchronous = newSynchronousView();
  }

  /** The synchronous view; a loading cache's is a {@code LoadingCache}. */
  SyncView<K, V> newSynchronousView() {
    return new SyncView<>(this);
  }

  /* ---------------- One key ---------------- */

  @Override
  public CompletableFuture<V> getIfPresent(K key) {
    Objects.requireNonNull(key, "key");
    CompletableFuture<V> future = engine.read(key, true);
    if (stats != null) {
      if (future == null) {
        stats.recordMisses(1);
      } else {
        stats.recordHits(1);
      }
    }
    return future;
  }

  @Override
  public CompletableFuture<V> get(K key, Function<? super K, ? extends V> mappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    CompletableFuture<V> present = hit(key);
    return (present != null) ? present
        : load(key, (k, runOn) -> CompletableFuture.supplyAsync(() -> mappingFunction.apply(k),
            runOn));
  }

  @Override
  public CompletableFuture<V> get(K key,
      BiFunction<? super K, ? super Executor, ? extends CompletableFuture<? extends V>> mappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    CompletableFuture<V> present = hit(key);
    return (present != null) ? present : load(key, mappingFunction);
  }

  /** The future held for the key, counted as a hit; null (and nothing counted) if none. */
  final CompletableFuture<V> hit(K key) {
    CompletableFuture<V> present = engine.read(key, true);
    if ((present != null) && (stats != null)) {
      stats.recordHits(1);
    }
    return present;
  }

  /**
   * A miss: stores the future {@code starter} starts, single flight; a caller that finds another's
   * future stored meanwhile shares it (a hit).
   */
  final CompletableFuture<V> load(K key,
      BiFunction<? super K, ? super Executor, ? extends CompletableFuture<? extends V>> starter) {
    boolean[] started = new boolean[1];
    for (;;) {
      CompletableFuture<V> future = engine.flights.computeIfAbsent(key, k -> {
        started[0] = true;
        return start(k, starter);
      }, false);
      if (future != null) {
        if (stats != null) {
          if (started[0]) {
            stats.recordMisses(1);
          } else {
            stats.recordHits(1);
          }
        }
        return future;
      } // a flight we joined gave up without a future (an invalidateAll): look again
    }
  }

  /**
   * Runs the starter for one key: never throws, never returns null. With statistics, the load is
   * timed until the future completes.
   */
  @SuppressWarnings("unchecked") // a future of a V's subtype is read as a future of V
  private CompletableFuture<V> start(K key,
      BiFunction<? super K, ? super Executor, ? extends CompletableFuture<? extends V>> starter) {
    long startNanos = (stats == null) ? 0 : readTicker();
    CompletableFuture<V> future;
    try {
      future = (CompletableFuture<V>) starter.apply(key, executor);
      if (future == null) {
        future = CompletableFuture.failedFuture(new NullPointerException(
            "the mapping function returned a null future for key " + key));
      }
    } catch (Throwable t) { // anything: the returned future carries it to every caller
      future = CompletableFuture.failedFuture(t);
    }
    timeLoad(future, startNanos);
    return future;
  }

  /** Counts a load, success or failure, when {@code future} completes. */
  final void timeLoad(CompletableFuture<?> future, long startNanos) {
    if (stats != null) {
      future.whenComplete((value, failure) -> {
        long elapsed = Math.max(0, readTicker() - startNanos);
        if ((failure == null) && (value != null)) {
          stats.recordLoadSuccess(elapsed);
        } else {
          stats.recordLoadFailure(elapsed);
        }
      });
    }
  }

  /** The ticker for load times; one that throws counts the time as zero. */
  final long readTicker() {
    try {
      return engine.ticker().read();
    } catch (RuntimeException e) {
      return 0;
    }
  }

  @Override
  public void put(K key, CompletableFuture<? extends V> valueFuture) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(valueFuture, "valueFuture");
    @SuppressWarnings("unchecked") // a future of a V's subtype is read as a future of V
    CompletableFuture<V> future = (CompletableFuture<V>) valueFuture;
    engine.put(key, future);
  }

  /* ---------------- Many keys ---------------- */

  @Override
  public CompletableFuture<Map<K, V>> getAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> mappingFunction) {
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return getAll(keys, (absent, runOn) -> CompletableFuture.supplyAsync(
        () -> mappingFunction.apply(absent), runOn));
  }

  @Override
  public CompletableFuture<Map<K, V>> getAll(Iterable<? extends K> keys,
      BiFunction<? super Set<? extends K>, ? super Executor,
          ? extends CompletableFuture<? extends Map<? extends K, ? extends V>>> mappingFunction) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    Set<K> unique = StripedCache.uniqueKeys(keys);
    Map<K, CompletableFuture<V>> futures = new LinkedHashMap<>();
    Map<K, CompletableFuture<V>> mine = reserve(unique, futures);
    if (!mine.isEmpty()) {
      startAll(mine, mappingFunction);
    }
    return collect(futures);
  }

  /**
   * Finds each key's future, or stores a new, incomplete one for it (single flight): fills
   * {@code futures} in the keys' order and returns the futures it stored, for the caller to
   * complete. Counts the hits and misses.
   */
  final Map<K, CompletableFuture<V>> reserve(Set<K> keys,
      Map<K, CompletableFuture<V>> futures) {
    Map<K, CompletableFuture<V>> mine = new LinkedHashMap<>();
    for (K key : keys) {
      CompletableFuture<V> present = engine.read(key, true);
      while (present == null) {
        CompletableFuture<V> reserved = new CompletableFuture<>();
        present = engine.flights.computeIfAbsent(key, k -> reserved, false);
        if (present == reserved) {
          mine.put(key, reserved);
        }
      }
      futures.put(key, present);
    }
    if (stats != null) {
      stats.recordHits(keys.size() - mine.size());
      stats.recordMisses(mine.size());
    }
    return mine;
  }

  /**
   * Runs a bulk function for the keys of {@code mine} and completes their futures with its
   * result: a key it leaves out completes with null (removed), extra entries are stored, a
   * failure fails them all. Never throws.
   */
  final void startAll(Map<K, CompletableFuture<V>> mine,
      BiFunction<? super Set<? extends K>, ? super Executor,
          ? extends CompletableFuture<? extends Map<? extends K, ? extends V>>> function) {
    long startNanos = (stats == null) ? 0 : readTicker();
    int clearsBefore = engine.flights.clearCount(); // before the function: see complete
    CompletableFuture<? extends Map<? extends K, ? extends V>> loading;
    try {
      loading = function.apply(Collections.unmodifiableSet(mine.keySet()), executor);
      if (loading == null) {
        loading = CompletableFuture.failedFuture(
            new NullPointerException("the mapping function returned a null future"));
      }
    } catch (Throwable t) { // anything: every key's future carries it
      loading = CompletableFuture.failedFuture(t);
    }
    timeLoad(loading, startNanos);
    loading.whenComplete((loaded, failure) -> complete(mine, loaded, failure, clearsBefore));
  }

  /**
   * Completes the reserved futures with a bulk result, then stores its extra entries, unless an
   * {@code invalidateAll} began since the load started (it stores nothing then, as the
   * synchronous cache's bulk load; the reserved futures were removed by it already).
   */
  final void complete(Map<K, CompletableFuture<V>> mine, Map<? extends K, ? extends V> loaded,
      Throwable failure, int clearsBefore) {
    if ((failure != null) || (loaded == null)) {
      Throwable cause = (failure != null) ? FutureValues.unwrap(failure)
          : new NullPointerException("the bulk function completed with a null map");
      mine.values().forEach(future -> future.completeExceptionally(cause));
      return;
    }
    Map<K, V> extra = new LinkedHashMap<>();
    try {
      loaded.forEach((key, value) -> {
        if ((key == null) || (value == null)) {
          return; // nothing to store
        }
        CompletableFuture<V> reserved = mine.get(key);
        if (reserved != null) {
          reserved.complete(value);
        } else {
          extra.put(key, value);
        }
      });
    } catch (RuntimeException e) { // a key's equals or hashCode, or a broken map
      mine.values().forEach(future -> future.completeExceptionally(e));
      return;
    }
    mine.values().forEach(future -> future.complete(null)); // left out: removed, no value
    if (engine.flights.clearCount() != clearsBefore) {
      return; // an invalidateAll began meanwhile: extra entries are not stored
    }
    extra.forEach((key, value) -> {
      try {
        engine.put(key, CompletableFuture.completedFuture(value));
      } catch (RuntimeException e) { // a weigher that throws: the extra entry is not stored
        StripedCache.LOGGER.log(System.Logger.Level.WARNING,
            "Could not store the extra entry for key " + key + " of a bulk load", e);
      }
    });
  }

  /**
   * One future of the map of the keys' values, in their order, leaving out keys without one;
   * it fails if any key's future fails.
   */
  final CompletableFuture<Map<K, V>> collect(Map<K, CompletableFuture<V>> futures) {
    if (futures.isEmpty()) {
      return CompletableFuture.completedFuture(Collections.emptyMap());
    }
    List<CompletableFuture<V>> all = new ArrayList<>(futures.values());
    return CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]))
        .thenApply(done -> FutureValues.readyValues(futures));
  }

  /* ---------------- Views ---------------- */

  @Override
  public ConcurrentMap<K, CompletableFuture<V>> asMap() {
    return engine.asMap();
  }

  @Override
  public Cache<K, V> synchronous() {
    return synchronous;
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + engine + "]";
  }
}
