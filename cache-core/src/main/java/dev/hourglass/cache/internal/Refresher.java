package dev.hourglass.cache.internal;

import dev.hourglass.cache.CacheLoader;
import dev.hourglass.cache.internal.StripedCache.Op;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The refreshes of one loading cache: automatic ones, which a read of an entry older than
 * {@code refreshAfterWrite} starts, and {@code refresh(key)}/{@code refreshAll(keys)}.
 *
 * <h2>The rules</h2>
 * <ul>
 *   <li>No reader waits: the read that finds its entry due claims the node's refresh token
 *       ({@link Refresh}, a CAS, so concurrent readers start one reload), calls
 *       {@link CacheLoader#asyncReload}, which returns a future at once, and returns the current
 *       value. The reload's completion installs the result, on whichever thread completes it.
 *   <li>A write wins: the result is installed through the write protocol ({@link Op#REFRESH})
 *       only while the node still carries the token, which every write clears under the lock;
 *       and only while the entry is live, so an entry that expired or was removed meanwhile is
 *       not brought back. A load or compute of the key that is running is a write too: the
 *       result is dropped, never waited for.
 *   <li>A failure keeps the old value: a reload that throws, returns null, or cannot be started
 *       (an executor that rejects it) leaves the entry as it is, counts as a failed load, is
 *       logged once, and stays on the node as a failed refresh, so that reads start the next one
 *       only a refresh interval later.
 * </ul>
 *
 * <h2>Nodes without a token</h2>
 * Only a cache built with {@code refreshAfterWrite} has nodes that carry a refresh token
 * ({@link Nodes.Stamped}). On another loading cache, the running explicit refreshes are kept
 * by key in a side map ({@code untokened}), so that concurrent calls for one key share one
 * reload; and a refresh remembers the node and its write count when it read the value
 * ({@link Refresh#node}, {@link Refresh#seq}), which the install checks instead of a token: any
 * write since (the same value object rewritten included) or a removal drops the result.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class Refresher<K, V> {
  private final StripedCache<K, V> cache;
  private final CacheLoader<? super K, V> loader;
  /** How old an entry is when a read refreshes it, or -1 for explicit refreshes only. */
  private final long intervalNanos;
  /**
   * The explicit refreshes running on nodes that cannot carry a token (a loading cache without
   * {@code refreshAfterWrite}), by key, so that a second {@code refresh(key)} joins the first.
   * A concurrent map: its own locks order the claims; keys' {@code equals} runs in it, no cache
   * lock held.
   */
  private final ConcurrentHashMap<Object, Refresh> untokened = new ConcurrentHashMap<>();
  /** Whether the loader has a bulk reload of its own; otherwise refreshAll reloads key by key. */
  private final boolean bulkReload;

  Refresher(StripedCache<K, V> cache, CacheLoader<? super K, V> loader, long intervalNanos) {
    this.cache = cache;
    this.loader = loader;
    this.intervalNanos = intervalNanos;
    this.bulkReload = overridesReloadAll(loader);
  }

  private static boolean overridesReloadAll(CacheLoader<?, ?> loader) {
    try {
      return loader.getClass().getMethod("reloadAll", Map.class).getDeclaringClass()
          != CacheLoader.class;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  /* ---------------- From the read path ---------------- */

  /**
   * A read at {@code now} found {@code node}, holding {@code value}, due for a refresh. Starts one
   * unless one is running, or failed less than an interval ago. Never waits.
   */
  void refreshDue(Node<K, V> node, V value, long now) {
    if (cache.async && !FutureValues.isReady(value)) {
      return; // a future still loading (or failed, about to be removed) is not refreshed
    }
    Refresh current = node.refreshAcquire();
    if ((current != null) && !current.retryable(now, intervalNanos)) {
      return; // running, or backing off after a failure
    }
    Refresh refresh = new Refresh(now);
    if (node.casRefresh(current, refresh)) { // one reader wins the claim; the others go on
      start(node.key, node.hash, value, refresh, true);
    }
  }

  /* ---------------- Explicit refreshes ---------------- */

  /** {@code LoadingCache.refresh}: see there. */
  @SuppressWarnings("unchecked") // a refresh's future holds this cache's values
  CompletableFuture<V> refresh(K key) {
    Objects.requireNonNull(key, "key");
    int hash = StripedCache.spread(key.hashCode());
    for (;;) {
      Node<K, V> node = cache.stripeFor(hash).find(key, hash);
      int seq = (node == null) ? 0 : node.writeSeqAcquire(); // before the value: see Refresh#seq
      V value = (node == null) ? null : cache.peekValue(node);
      if (value == null) {
        return loadAbsent(key);
      }
      if (!carriesToken(node)) {
        Refresh running = untokened.get(key);
        if ((running != null) && (running.node == node) && !running.future.isDone()) {
          return (CompletableFuture<V>) (CompletableFuture<?>) running.future; // join it
        }
        Refresh refresh = new Refresh(cache.ticker().read(), node, seq);
        boolean claimed = (running == null) ? (untokened.putIfAbsent(key, refresh) == null)
            : untokened.replace(key, running, refresh);
        if (!claimed) {
          continue; // another caller claimed it first: join that one
        }
        start(key, hash, value, refresh, false);
        return (CompletableFuture<V>) (CompletableFuture<?>) refresh.future;
      }
      Refresh current = node.refreshAcquire();
      if ((current != null) && !current.failed()) {
        return (CompletableFuture<V>) (CompletableFuture<?>) current.future; // join it
      }
      Refresh refresh = new Refresh(cache.ticker().read());
      boolean tokened = node.casRefresh(current, refresh);
      if (!tokened && (node.refreshAcquire() != current)) {
        continue; // another caller claimed it first: join that one
      }
      start(key, hash, value, refresh, tokened);
      return (CompletableFuture<V>) (CompletableFuture<?>) refresh.future;
    }
  }

  /**
   * An explicit refresh of an absent key: {@code get(key)} on the executor, so a load of the key
   * that is running is joined (single flight), and it counts as a miss and a load.
   */
  private CompletableFuture<V> loadAbsent(K key) {
    @SuppressWarnings("unchecked") // only a loading cache has a refresher
    StripedLoadingCache<K, V> loading = (StripedLoadingCache<K, V>) cache;
    try {
      return CompletableFuture.supplyAsync(() -> loading.get(key), cache.executor);
    } catch (Throwable t) { // an executor that rejects: the future says so
      return CompletableFuture.failedFuture(t);
    }
  }

  /** {@code LoadingCache.refreshAll}: see there. */
  CompletableFuture<Map<K, V>> refreshAll(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    Set<K> unique = StripedCache.uniqueKeys(keys);
    Map<K, CompletableFuture<V>> futures = new LinkedHashMap<>();
    if (bulkReload) {
      reloadPresentInBulk(unique, futures);
    }
    Map<K, CompletableFuture<V>> ordered = new LinkedHashMap<>(); // the result is in keys' order
    for (K key : unique) {
      CompletableFuture<V> bulk = futures.get(key);
      ordered.put(key, (bulk != null) ? bulk : refresh(key));
    }
    CompletableFuture<?>[] all = ordered.values().toArray(new CompletableFuture<?>[0]);
    return CompletableFuture.allOf(all).thenApply(unused -> {
      Map<K, V> result = new LinkedHashMap<>();
      ordered.forEach((key, future) -> {
        V value = future.join();
        if (value != null) {
          result.put(key, value);
        }
      });
      return Collections.unmodifiableMap(result);
    });
  }

  /**
   * Claims every present key of {@code keys} whose node has no refresh running and reloads them
   * with one call of {@link CacheLoader#reloadAll} on the executor, adding their futures. Keys it
   * did not claim are left to {@link #refresh}.
   */
  @SuppressWarnings("unchecked") // a refresh's future holds this cache's values
  private void reloadPresentInBulk(Set<K> keys, Map<K, CompletableFuture<V>> futures) {
    Map<K, V> oldValues = new LinkedHashMap<>();
    List<Claim<K, V>> claims = new ArrayList<>();
    long now = cache.ticker().read();
    for (K key : keys) {
      int hash = StripedCache.spread(key.hashCode());
      Node<K, V> node = cache.stripeFor(hash).find(key, hash);
      int seq = (node == null) ? 0 : node.writeSeqAcquire(); // before the value: see Refresh#seq
      V value = (node == null) ? null : cache.peekValue(node);
      if (value == null) {
        continue;
      }
      Refresh refresh;
      boolean tokened;
      if (carriesToken(node)) {
        Refresh current = node.refreshAcquire();
        if ((current != null) && !current.failed()) {
          continue; // running: refresh(key) joins it
        }
        refresh = new Refresh(now);
        tokened = node.casRefresh(current, refresh);
        if (!tokened) {
          continue; // another caller claimed it first: refresh(key) joins it
        }
      } else {
        refresh = new Refresh(now, node, seq);
        tokened = false;
        if (untokened.putIfAbsent(key, refresh) != null) {
          continue; // running (or just finished): refresh(key) joins it or starts anew
        }
      }
      oldValues.put(key, value);
      claims.add(new Claim<>(key, hash, value, refresh, tokened));
      futures.put(key, (CompletableFuture<V>) (CompletableFuture<?>) refresh.future);
    }
    if (claims.isEmpty()) {
      return;
    }
    Map<K, V> request = Collections.unmodifiableMap(oldValues);
    CompletableFuture<Map<?, ? extends V>> bulk;
    try {
      bulk = CompletableFuture.supplyAsync(() -> {
        try {
          return loader.reloadAll(request);
        } catch (RuntimeException e) {
          throw e;
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      }, cache.executor);
    } catch (Throwable t) { // an executor that rejects
      for (Claim<K, V> claim : claims) {
        finish(claim.key, claim.hash, claim.oldValue, claim.refresh, claim.tokened, null, t);
      }
      return;
    }
    bulk.whenComplete((values, failure) -> {
      if (unwrap(failure) instanceof UnsupportedOperationException) {
        // A reloadAll without a bulk form after all (a delegating loader over one without it):
        // each claimed entry is reloaded on its own, as with no reloadAll.
        for (Claim<K, V> claim : claims) {
          start(claim.key, claim.hash, claim.oldValue, claim.refresh, claim.tokened);
        }
        return;
      }
      for (Claim<K, V> claim : claims) {
        V value = null;
        Throwable error = failure;
        if ((error == null) && (values != null)) {
          try {
            value = values.get(claim.key);
          } catch (RuntimeException e) { // a hostile map, or a key whose equals throws
            error = e;
          }
        } else if (error == null) {
          error = new NullPointerException("CacheLoader.reloadAll returned null");
        }
        if ((error == null) && (value == null)) {
          leftOut(claim);
        } else {
          finish(claim.key, claim.hash, claim.oldValue, claim.refresh, claim.tokened, value,
              error);
        }
      }
    });
  }

  /** A key that reloadAll left out keeps its value, with no failure: the token goes. */
  private void leftOut(Claim<K, V> claim) {
    forget(claim.key, claim.refresh);
    clearToken(claim.key, claim.hash, claim.refresh, claim.tokened);
    claim.refresh.future.complete(null);
  }

  /** A key claimed for a bulk reload. */
  private static final class Claim<K, V> {
    final K key;
    final int hash;
    final V oldValue;
    final Refresh refresh;
    final boolean tokened;

    Claim(K key, int hash, V oldValue, Refresh refresh, boolean tokened) {
      this.key = key;
      this.hash = hash;
      this.oldValue = oldValue;
      this.refresh = refresh;
      this.tokened = tokened;
    }
  }

  /* ---------------- Reload and install ---------------- */

  /**
   * Starts the reload of a claimed entry. The loader's {@code asyncReload} runs on this thread
   * (it is to return at once); its result is installed when it completes.
   *
   * @param tokened whether {@code refresh} is the node's token (else the install compares values)
   */
  private void start(K key, int hash, V oldValue, Refresh refresh, boolean tokened) {
    CompletableFuture<? extends V> reload;
    try {
      reload = loader.asyncReload(key, oldValue, cache.executor);
      if (reload == null) {
        throw new NullPointerException("CacheLoader.asyncReload returned null");
      }
    } catch (Throwable t) { // a loader that throws, an executor that rejects
      finish(key, hash, oldValue, refresh, tokened, null, t);
      return;
    }
    reload.whenComplete((value, failure) ->
        finish(key, hash, oldValue, refresh, tokened, value, failure));
  }

  /**
   * A reload completed, with {@code value} or {@code failure}: installs a value unless a write
   * came first, or keeps the old one, and completes the refresh's future. Never throws: it may
   * run on the loader's or the executor's thread, where nobody would see it.
   */
  private void finish(K key, int hash, V oldValue, Refresh refresh, boolean tokened, V value,
      Throwable failure) {
    forget(key, refresh); // a refresh(key) from now on starts anew
    StatsCounter stats = cache.stats;
    long now;
    try {
      now = cache.ticker().read();
    } catch (RuntimeException e) { // a ticker that throws: no load time, no back-off time
      now = refresh.startedAtNanos;
    }
    if ((failure == null) && (value != null)) {
      try {
        long weight = cache.weigh(key, value); // user code, before the lock
        cache.write(Op.REFRESH, key, hash, value, oldValue, weight, Expiration.NO_TTL, null,
            (tokened || (refresh.node != null)) ? refresh : null, cache.newRemovals());
        if (stats != null) {
          stats.recordLoadSuccess(Math.max(0, now - refresh.startedAtNanos));
        }
        clearToken(key, hash, refresh, tokened); // a dropped result leaves its token behind
        refresh.future.complete(value);
        return;
      } catch (Throwable t) { // a weigher or expiry that throws: the old value stays
        failure = t;
      }
    }
    if (stats != null) {
      stats.recordLoadFailure(Math.max(0, now - refresh.startedAtNanos));
    }
    refresh.fail(now); // before the future completes: readers back off from now
    Throwable cause = unwrap(failure);
    StripedCache.LOGGER.log(System.Logger.Level.WARNING, (cause == null)
        ? "Refresh of key " + key + " returned null; the entry keeps its value"
        : "Refresh of key " + key + " failed; the entry keeps its value", cause);
    if (cause == null) {
      refresh.future.complete(null);
    } else {
      refresh.future.completeExceptionally(cause);
    }
  }

  /** A failure as thrown by the loader: without the future's CompletionException around it. */
  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException) && (t.getCause() != null)) {
      t = t.getCause();
    }
    return t;
  }

  /**
   * Takes the refresh's token off the node, if it is still there: after an install (which
   * cleared it already) or a dropped result, so that a later read may refresh again.
   */
  /** Whether the node has a refresh token field ({@link Nodes.Stamped}). */
  private static boolean carriesToken(Node<?, ?> node) {
    return (node.shape() & Nodes.WRITE_TIME) != 0;
  }

  /** Drops a finished refresh of a node without a token from the running ones. */
  private void forget(K key, Refresh refresh) {
    if (refresh.node == null) {
      return;
    }
    try {
      untokened.remove(key, refresh); // only our own: a newer claim stays
    } catch (RuntimeException e) { // a key whose equals or hashCode throws now
      StripedCache.LOGGER.log(System.Logger.Level.DEBUG, "Refresh of key " + key
          + " left among the running ones", e);
    }
  }

  private void clearToken(K key, int hash, Refresh refresh, boolean tokened) {
    if (!tokened) {
      return;
    }
    try {
      Node<K, V> node = cache.stripeFor(hash).find(key, hash);
      if (node != null) {
        node.casRefresh(refresh, null); // only our own token: a newer claim stays
      }
    } catch (RuntimeException e) { // a key whose equals throws now: the token is harmless
      StripedCache.LOGGER.log(System.Logger.Level.DEBUG, "Refresh token left on key " + key, e);
    }
  }
}
