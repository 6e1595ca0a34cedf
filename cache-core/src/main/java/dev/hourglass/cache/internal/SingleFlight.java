package dev.hourglass.cache.internal;

import dev.hourglass.cache.RemovalCause;
import dev.hourglass.cache.internal.StripedCache.Op;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Loading and computing, single flight: a {@link Flight} registered in the key's stripe under its
 * lock makes the user function the only writer of its key while it runs unlocked. Claiming,
 * awaiting, landing and abandoning a flight are written here once; the claims and the install go
 * through the engine's write protocol ({@link StripedCache#write}, {@link Op}).
 *
 * <h2>The rules</h2>
 * No user function runs under a stripe lock. Every other writer of the key (put, remove, compute,
 * load) finds the flight and waits on it, while readers keep seeing the previous value and writers
 * of other keys, even in the same stripe, proceed. A load's waiters share its value or exception.
 * A flight that its own thread waits on means recursion and fails fast with
 * {@link IllegalStateException}. From its registration on, a flight's whole life (user function,
 * weigher, expiry, ticker, install) is inside one {@code try}, so every exit lands it;
 * notifications collected meanwhile are delivered only after it landed, so a listener running on
 * the caller's thread can use the key ({@link FlightScope}). {@code invalidateAll} does not wait
 * for flights: a flight registered before it installs nothing (its value is reported
 * {@link RemovalCause#EXPLICIT}, as if stored and then invalidated).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class SingleFlight<K, V> {
  private final StripedCache<K, V> cache;
  /** How many times invalidateAll has begun; a bulk load compares it before and after. */
  private final AtomicInteger clears = new AtomicInteger();

  SingleFlight(StripedCache<K, V> cache) {
    this.cache = cache;
  }

  /** How many times invalidateAll has begun, for a bulk load that compares before and after. */
  int clearCount() {
    return clears.get();
  }

  /** An invalidateAll begins: bulk loads running now store none of their extra entries. */
  void clearing() {
    clears.incrementAndGet(); // ordered before any stripe is cleared
  }

  /* ---------------- One key ---------------- */

  /** Returns the present value, or loads it single-flight. */
  V computeIfAbsent(K key, Function<? super K, ? extends V> function, boolean recordStats) {
    V present = cache.read(key, true);
    if (present != null) {
      recordHits(recordStats, 1);
      return present;
    }
    int hash = StripedCache.spread(key.hashCode());
    // Collected across passes, delivered once our flight (if any) has landed: a listener on this
    // thread may then use the key.
    Removals<K, V> removals = cache.newRemovals();
    Flight claim = null;
    try {
      for (;;) {
        claim = new Flight(key, hash, true);
        V value = cache.write(Op.CLAIM_LOAD, key, hash, null, null, 0, Expiration.NO_TTL, claim,
            null, removals);
        if (value != null) {
          recordHits(recordStats, 1);
          return value;
        }
        Flight other = claim.blockedBy;
        if (other != null) {
          other.await();
          if (!other.isLoad || other.cancelled()) {
            continue; // a compute landed, or a load gave up: look again
          }
          return sharedResult(other, recordStats);
        }
        if (recordStats && (cache.stats != null)) {
          cache.stats.recordMisses(1);
        }
        return runFlight(key, claim, null, (k, unused) -> function.apply(k), recordStats,
            removals);
      }
    } finally {
      cache.afterWrite(removals, (claim == null) ? 0 : claim.installedAtNanos);
    }
  }

  /** The kinds of {@link #compute}. */
  enum ComputeKind { IF_PRESENT, COMPUTE }

  /**
   * Atomically computes a new mapping for {@code key} with {@code function} run outside the lock.
   * Serves {@code compute}, {@code computeIfPresent} and {@code merge}.
   */
  V compute(K key, BiFunction<? super K, ? super V, ? extends V> function, ComputeKind kind) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(function, "remappingFunction");
    Removals<K, V> removals = cache.newRemovals(); // delivered once our flight has landed
    Flight mine = null;
    try {
      int hash = StripedCache.spread(key.hashCode());
      mine = new Flight(key, hash, false);
      Op claim = (kind == ComputeKind.IF_PRESENT) ? Op.CLAIM_IF_PRESENT : Op.CLAIM_COMPUTE;
      V old = cache.write(claim, key, hash, null, null, 0, Expiration.NO_TTL, mine, null,
          removals);
      if ((kind == ComputeKind.IF_PRESENT) && (old == null)) {
        return null; // computeIfPresent on an absent key: nothing was registered
      }
      mine.base = old;
      return runFlight(key, mine, old, function, false, removals);
    } finally {
      cache.afterWrite(removals, (mine == null) ? 0 : mine.installedAtNanos);
    }
  }

  /**
   * After waiting for another caller's load: its value (a hit: the caller got a value without
   * loading it), or its exception or absence (a miss).
   */
  private V sharedResult(Flight flight, boolean recordStats) {
    @SuppressWarnings("unchecked")
    V value = flight.failed() ? null : (V) flight.result();
    if (value == null) {
      if (recordStats && (cache.stats != null)) {
        cache.stats.recordMisses(1);
      }
      if (flight.failed()) {
        flight.result(); // rethrows the load's exception
      }
    } else {
      recordHits(recordStats, 1);
    }
    return value;
  }

  private void recordHits(boolean recordStats, int count) {
    if (recordStats && (cache.stats != null)) {
      cache.stats.recordHits(count);
    }
  }

  /**
   * Runs a registered flight to its end: the function outside the lock, then the install. The
   * whole of it is one {@code try}, so every exit (the function, the weigher, the expiry, the
   * ticker or a key's {@code equals} throwing) unregisters and lands the flight; waiters never
   * hang. The caller delivers {@code removals} afterwards.
   */
  private V runFlight(K key, Flight flight, V old,
      BiFunction<? super K, ? super V, ? extends V> function, boolean recordStats,
      Removals<K, V> removals) {
    StatsCounter stats = recordStats ? cache.stats : null;
    long start = 0;
    FlightScope scope = FlightScope.enter();
    try {
      start = (stats != null) ? cache.ticker().read() : 0;
      V value = function.apply(key, old);
      long weight = (value == null) ? 0 : cache.weigh(key, value);
      install(key, flight, value, weight, removals, stats != null);
      if (stats != null) {
        long elapsed = flight.installedAtNanos - start;
        if (value == null) {
          stats.recordLoadFailure(elapsed);
        } else {
          stats.recordLoadSuccess(elapsed);
        }
      }
      flight.complete(value);
      return value;
    } catch (Throwable t) {
      if (stats != null) {
        stats.recordLoadFailure(elapsedSince(start));
      }
      land(flight, t, false);
      throw t;
    } finally {
      FlightScope.exit(scope); // after the flight landed: notifications deferred meanwhile go out
    }
  }

  /** Load time for statistics after a failure; a ticker that throws again counts zero. */
  private long elapsedSince(long start) {
    try {
      return cache.ticker().read() - start;
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /**
   * Installs a flight's result (a null value removes the entry) and unregisters the flight,
   * through the write protocol ({@link Op#INSTALL}). The expiry runs before locking, on the entry
   * as it is then, and again if that entry changed before the lock was taken: an entry evicted,
   * expired or invalidated while the function ran makes the result a create, not an update of
   * nothing. A flight registered before an {@code invalidateAll} of its stripe installs nothing;
   * its value is reported {@link RemovalCause#EXPLICIT}, as if stored and then invalidated.
   * Records the ticker reading used in {@code flight.installedAtNanos}.
   */
  private void install(K key, Flight flight, V value, long weight, Removals<K, V> removals,
      boolean timeLoad) {
    flight.timed = timeLoad;
    cache.write(Op.INSTALL, key, flight.hash, value, null, weight, Expiration.NO_TTL, flight,
        null, removals);
  }

  /**
   * Unregisters a flight that installs nothing and lands it: with {@code failure} if given, else
   * cancelled (its waiters look again) or absent (its waiters share the absence).
   */
  private void land(Flight flight, Throwable failure, boolean cancel) {
    cache.stripeFor(flight.hash).unregister(flight);
    if (failure != null) {
      flight.fail(failure);
    } else if (cancel) {
      flight.cancel();
    } else {
      flight.complete(null);
    }
    if (flight.settleAfter) { // ordered by unregister's lock: see Flight#settleAfter
      @SuppressWarnings("unchecked") // a flight's key is its cache's
      K key = (K) flight.key;
      cache.settleKey(key, flight.hash); // a future that completed while this flight held it
    }
  }

  /* ---------------- Many keys ---------------- */

  /**
   * getAll with a bulk function. First every key is read without registering anything (the
   * reads run user code: an {@code Expiry}, keys' {@code equals}); then a flight is registered
   * for each absent key, and from the first registration on everything is inside one
   * {@code try} whose exits land every flight still registered.
   *
   * @param loadOne for a {@code CacheLoader.loadAll}, the loader's single load, used if
   *     {@code loadAll} turns out to be unsupported; null for a mapping function
   */
  Map<K, V> loadAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> function,
      Function<? super K, ? extends V> loadOne) {
    Set<K> unique = StripedCache.uniqueKeys(keys);
    Map<K, V> found = new LinkedHashMap<>();
    List<K> absent = new ArrayList<>();
    for (K key : unique) {
      V value = cache.read(key, true);
      if (value != null) {
        found.put(key, value);
      } else {
        absent.add(key);
      }
    }
    int hits = found.size();
    int misses = 0;
    // Every flight we registered, listed before any user code can run (hashing into the map
    // below calls the key's hashCode): whatever fails, the catch lands them all (landing twice
    // is harmless).
    List<Flight> registered = new ArrayList<>();
    Map<K, Flight> mine = new LinkedHashMap<>();
    Map<K, Flight> others = new LinkedHashMap<>();
    Removals<K, V> removals = cache.newRemovals(); // delivered once every flight of ours landed
    // Read before anything is registered; each claim reads again. Eviction afterwards judges
    // expired victims by the latest reading, never by a made-up time.
    long now = cache.expiration.now();
    FlightScope scope = FlightScope.enter();
    try {
      for (K key : absent) {
        int hash = StripedCache.spread(key.hashCode());
        Flight claim = new Flight(key, hash, true);
        // The claim reads the ticker per key: a reading from before the loop goes stale.
        V value = cache.write(Op.CLAIM_LOAD, key, hash, null, null, 0, Expiration.NO_TTL, claim,
            null, removals);
        now = claim.installedAtNanos;
        if (value != null) {
          found.put(key, value);
          hits++;
        } else if (claim.blockedBy != null) {
          others.put(key, claim.blockedBy);
        } else {
          registered.add(claim);
          mine.put(key, claim);
        }
      }
      misses = mine.size();
      if (!mine.isEmpty()) {
        List<K> unsupported = new ArrayList<>();
        now = runBulkFlights(mine, function, loadOne != null, found, removals, unsupported, now);
        if (!unsupported.isEmpty()) {
          // The loader has no bulk form after all: load key by key, each load a flight of its
          // own, so a load() that asks for another key of the batch simply loads it.
          misses -= unsupported.size(); // each load counts its own hit or miss
          for (K key : unsupported) {
            V value = computeIfAbsent(key, loadOne, true);
            if (value != null) {
              found.put(key, value);
            }
          }
        }
      }
      List<K> retry = new ArrayList<>();
      for (Map.Entry<K, Flight> e : others.entrySet()) {
        Flight flight = e.getValue();
        flight.await();
        if (flight.cancelled() || !flight.isLoad) {
          retry.add(e.getKey());
          continue;
        }
        V value = sharedResult(flight, true); // counts its hit or miss; rethrows a failure
        if (value != null) {
          found.put(e.getKey(), value);
        }
      }
      if (!retry.isEmpty()) {
        found.putAll(loadAll(retry, function, loadOne)); // counts its own statistics
      }
    } catch (Throwable t) {
      for (Flight flight : registered) {
        land(flight, null, true); // gave up for a reason that may not be this key's: waiters retry
      }
      throw t;
    } finally {
      if (cache.stats != null) {
        cache.stats.recordHits(hits);
        cache.stats.recordMisses(misses);
      }
      cache.afterWrite(removals, now);
      FlightScope.exit(scope);
    }
    Map<K, V> result = new LinkedHashMap<>();
    for (K key : unique) {
      V value = found.get(key);
      if (value != null) {
        result.put(key, value);
      }
    }
    return Collections.unmodifiableMap(result);
  }

  /**
   * Runs the bulk function for our flights and installs what it returns, landing each flight as it
   * goes; keys it did not return land as absent. The function receives a copy of the keys, and
   * its map is copied before anything is installed, so a map that is a live view of its argument,
   * or one whose iteration throws, changes nothing half-way. An install that fails (a weigher, an
   * expiry or a returned key's {@code hashCode} throws) fails that key's flight; the others still
   * install, and the first failure is rethrown at the end. A loader whose {@code loadAll} throws
   * {@link UnsupportedOperationException} is loaded key by key instead.
   *
   * @param registeredAtNanos the ticker reading under which the flights were registered
   * @return the last ticker reading used by an install, for the eviction pass
   */
  private long runBulkFlights(Map<K, Flight> mine,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> function,
      boolean fromLoader, Map<K, V> found, Removals<K, V> removals, List<K> unsupported,
      long registeredAtNanos) {
    String source = fromLoader ? "CacheLoader.loadAll" : "mappingFunction";
    StatsCounter stats = cache.stats;
    int clearsBefore = clears.get();
    long start = 0;
    List<Map.Entry<? extends K, ? extends V>> loaded;
    try {
      start = (stats != null) ? cache.ticker().read() : 0;
      Map<? extends K, ? extends V> map =
          function.apply(Collections.unmodifiableSet(new LinkedHashSet<>(mine.keySet())));
      Objects.requireNonNull(map, () -> source + " returned null");
      loaded = new ArrayList<>(map.size());
      for (Map.Entry<? extends K, ? extends V> e : map.entrySet()) {
        K key = Objects.requireNonNull(e.getKey(), () -> source + " returned a null key");
        V value = Objects.requireNonNull(e.getValue(),
            () -> source + " returned a null value for key " + key);
        loaded.add(Map.entry(key, value));
      }
    } catch (UnsupportedOperationException e) {
      if (!fromLoader) {
        failAll(mine, e, start);
        throw e;
      }
      unsupported.addAll(mine.keySet()); // the caller loads them one by one
      for (Flight flight : mine.values()) {
        land(flight, null, true); // not loaded: waiters look again
      }
      mine.clear();
      return registeredAtNanos;
    } catch (Throwable t) {
      failAll(mine, t, start);
      throw t;
    }
    Map<K, V> extras = new LinkedHashMap<>();
    Throwable failure = null;
    long now = registeredAtNanos;
    for (Map.Entry<? extends K, ? extends V> e : loaded) {
      K key = e.getKey();
      V value = e.getValue();
      Flight flight = null;
      try {
        flight = mine.remove(key); // the returned key's hashCode and equals: user code
        if (flight == null) {
          extras.put(key, value);
          continue;
        }
        install(key, flight, value, cache.weigh(key, value), removals, false);
        now = flight.installedAtNanos;
        flight.complete(value);
        found.put(key, value);
      } catch (Throwable t) {
        if (flight != null) {
          land(flight, t, false);
        }
        failure = (failure == null) ? t : failure;
      }
    }
    for (Flight flight : mine.values()) {
      land(flight, null, false); // requested but not returned: absent, shared with its waiters
    }
    mine.clear();
    if (failure == null) {
      failure = storeExtras(extras, clearsBefore, removals);
    }
    if (stats != null) {
      long elapsed = elapsedSince(start);
      if (failure == null) {
        stats.recordLoadSuccess(elapsed);
      } else {
        stats.recordLoadFailure(elapsed);
      }
    }
    if (failure != null) {
      Throwables.sneakyThrow(failure);
    }
    return now;
  }

  /**
   * Stores a bulk function's extra entries, once every requested one is stored. All are weighed
   * first, so a weigher that rejects one stores none; an expiry that throws stops the rest.
   * After an invalidateAll that ran while the function did, none is stored: like the requested
   * keys, they are reported as if stored and then invalidated. Returns the failure, or null.
   */
  private Throwable storeExtras(Map<K, V> extras, int clearsBefore, Removals<K, V> removals) {
    if (clears.get() != clearsBefore) {
      extras.forEach((key, value) -> removals.add(key, value, RemovalCause.EXPLICIT));
      return null;
    }
    try {
      extras.forEach(cache::weigh);
      extras.forEach(cache::put);
      return null;
    } catch (Throwable t) {
      return t;
    }
  }

  /** The bulk function failed as a whole: every flight shares the failure. */
  private void failAll(Map<K, Flight> mine, Throwable t, long start) {
    if (cache.stats != null) {
      cache.stats.recordLoadFailure(elapsedSince(start));
    }
    for (Flight flight : mine.values()) {
      land(flight, t, false);
    }
    mine.clear();
  }

  /* ---------------- Per-thread flight scope ---------------- */

  /**
   * If this thread is running a flight, defers {@code delivery} until its outermost flight has
   * landed and returns true; otherwise returns false and the caller delivers now.
   */
  static boolean deferWhileInFlight(Runnable delivery) {
    FlightScope scope = FlightScope.SCOPE.get();
    if (scope.depth == 0) {
      return false;
    }
    scope.defer(delivery); // this thread owns a flight: after it lands
    return true;
  }

  /**
   * Per thread: how many flights (loads and computes, of any cache) it is running, and the
   * notifications produced meanwhile by what its user code called (a nested put, an
   * invalidateAll from inside a compute). They are delivered when its outermost flight has
   * landed: a listener on this thread must never meet a flight of its own, which would read as
   * recursion. Thread-confined: no ordering needed.
   */
  private static final class FlightScope {
    static final ThreadLocal<FlightScope> SCOPE = ThreadLocal.withInitial(FlightScope::new);

    int depth;
    ArrayList<Runnable> deferred;

    static FlightScope enter() {
      FlightScope scope = SCOPE.get();
      scope.depth++;
      return scope;
    }

    /** Leaves a flight; the outermost one delivers what was deferred (deliveries never throw). */
    static void exit(FlightScope scope) {
      if ((--scope.depth == 0) && (scope.deferred != null)) {
        ArrayList<Runnable> deliveries = scope.deferred;
        scope.deferred = null;
        for (Runnable delivery : deliveries) {
          delivery.run();
        }
      }
    }

    void defer(Runnable delivery) {
      if (deferred == null) {
        deferred = new ArrayList<>();
      }
      deferred.add(delivery);
    }
  }
}
