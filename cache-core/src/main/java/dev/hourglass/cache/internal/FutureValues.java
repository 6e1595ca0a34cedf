package dev.hourglass.cache.internal;

import dev.hourglass.cache.AsyncCacheLoader;
import dev.hourglass.cache.CacheLoader;
import dev.hourglass.cache.Expiry;
import dev.hourglass.cache.RemovalCause;
import dev.hourglass.cache.RemovalListener;
import dev.hourglass.cache.Weigher;
import java.lang.reflect.Method;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;

/**
 * What an asynchronous cache's engine needs to hold {@link CompletableFuture}s as values: when a
 * future counts as a value ({@link #isReady}), how a caller waits for one, and the user's weigher,
 * {@code Expiry}, removal listener and loader adapted to futures. How the engine stores a future
 * that is not yet a value, and settles it later, is told in {@link StripedCache#async}.
 */
final class FutureValues {
  private FutureValues() {}

  /* ---------------- Futures as values ---------------- */

  /**
   * Whether {@code value}, a future, holds a value: completed normally with non-null. A future
   * still running, failed, cancelled or completed with null is not a value.
   */
  static boolean isReady(Object value) {
    CompletableFuture<?> future = (CompletableFuture<?>) value;
    return future.isDone() && !future.isCompletedExceptionally() && (future.join() != null);
  }

  /** The future's value if it is ready, else null; never waits, never throws. */
  static <V> V valueOf(CompletableFuture<V> future) {
    if ((future == null) || !future.isDone() || future.isCompletedExceptionally()) {
      return null;
    }
    return future.join(); // done normally: returns at once
  }

  /**
   * Waits for the future and returns its value, or null if it failed, was cancelled or completed
   * with null: what a synchronous read of an asynchronous cache answers. An interrupt while
   * waiting is kept on the thread and answers null.
   */
  static <V> V awaitQuietly(CompletableFuture<V> future) {
    if (future == null) {
      return null;
    }
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | CancellationException e) {
      return null;
    }
  }

  /**
   * Waits for the future and returns its value, or rethrows its failure as the synchronous cache
   * would: a {@link RuntimeException} or {@link Error} as it is, a checked exception wrapped in a
   * {@link CompletionException}.
   */
  static <V> V await(CompletableFuture<V> future) {
    try {
      return future.join();
    } catch (CompletionException e) {
      Throwable cause = (e.getCause() == null) ? e : e.getCause();
      if (cause instanceof RuntimeException) {
        throw (RuntimeException) cause;
      } else if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw e;
    }
  }

  /** The values of the futures that hold one, in the map's order, unmodifiable; never waits. */
  static <K, V> Map<K, V> readyValues(Map<K, CompletableFuture<V>> futures) {
    Map<K, V> result = new LinkedHashMap<>();
    futures.forEach((key, future) -> {
      V value = valueOf(future);
      if (value != null) {
        result.put(key, value);
      }
    });
    return Collections.unmodifiableMap(result);
  }

  /** The failure a future completed with, unwrapped from a {@link CompletionException}. */
  static Throwable unwrap(Throwable failure) {
    return ((failure instanceof CompletionException) && (failure.getCause() != null))
        ? failure.getCause() : failure;
  }

  /* ---------------- The user's callbacks, adapted ---------------- */

  /**
   * The settings of an asynchronous cache's engine: the same as {@code spec}'s, over futures. The
   * engine is always weighted when bounded, since a future that is not yet a value weighs 0.
   */
  static <K, V> CacheSpec<K, CompletableFuture<V>> engineSpec(CacheSpec<K, V> spec,
      CacheLoader<K, CompletableFuture<V>> engineLoader, long refreshAfterWriteNanos) {
    Weigher<? super K, ? super V> weigher = spec.weigher();
    Expiry<? super K, ? super V> expiry = spec.expiry();
    RemovalListener<? super K, ? super V> listener = spec.removalListener();
    return new CacheSpec<>(
        spec.initialCapacity(),
        spec.concurrencyLevel(),
        spec.maximum(),
        (spec.maximum() < 0) ? null : weigher(weigher),
        spec.expireAfterWriteNanos(),
        spec.expireAfterAccessNanos(),
        (expiry == null) ? null : new FutureExpiry<>(expiry),
        spec.ticker(),
        spec.executor(),
        spec.scheduler(),
        (listener == null) ? null : removalListener(listener, spec.executor()),
        spec.recordStats(),
        engineLoader,
        refreshAfterWriteNanos);
  }

  /** Weighs a ready future by its value; the engine never asks it about another. */
  private static <K, V> Weigher<K, CompletableFuture<V>> weigher(
      Weigher<? super K, ? super V> weigher) {
    if (weigher == null) {
      return (key, future) -> 1;
    }
    return (key, future) -> weigher.weigh(key, valueOf(future));
  }

  /**
   * Reports a future's value: at once if it has one, when it completes with one if it is still
   * running (an entry removed while loading), and never for a failure.
   */
  private static <K, V> RemovalListener<K, CompletableFuture<V>> removalListener(
      RemovalListener<? super K, ? super V> listener, Executor executor) {
    return (key, future, cause) -> {
      if ((future == null) || future.isDone()) {
        V value = valueOf(future);
        if (value != null) {
          listener.onRemoval(key, value, cause); // the engine logs what it throws
        }
        return;
      }
      future.whenComplete((value, failure) -> {
        if ((value != null) && (failure == null)) {
          Runnable task = () -> notifyLate(listener, key, value, cause);
          try {
            executor.execute(task); // through the cache's executor, as every notification
          } catch (Throwable t) { // rejected, or anything else: deliver here, never lose it
            task.run();
          }
        }
      });
    };
  }

  private static <K, V> void notifyLate(RemovalListener<? super K, ? super V> listener, K key,
      V value, RemovalCause cause) {
    try {
      listener.onRemoval(key, value, cause);
    } catch (Throwable t) { // a listener's failure must never reach the loader's thread
      StripedCache.LOGGER.log(System.Logger.Level.WARNING,
          "Removal listener threw for key " + key + " (" + cause + ")", t);
    }
  }

  /**
   * The user's {@code Expiry} asked about a future's value. The engine asks only about ready
   * futures (one still loading never expires), and a future's first value is a create.
   */
  private static final class FutureExpiry<K, V> implements Expiry<K, CompletableFuture<V>> {
    private final Expiry<? super K, ? super V> expiry;

    FutureExpiry(Expiry<? super K, ? super V> expiry) {
      this.expiry = expiry;
    }

    @Override
    public long expireAfterCreate(K key, CompletableFuture<V> future, long currentTimeNanos) {
      return expiry.expireAfterCreate(key, valueOf(future), currentTimeNanos);
    }

    @Override
    public long expireAfterUpdate(K key, CompletableFuture<V> future, long currentTimeNanos,
        long currentDurationNanos) {
      return expiry.expireAfterUpdate(key, valueOf(future), currentTimeNanos,
          currentDurationNanos);
    }

    @Override
    public long expireAfterRead(K key, CompletableFuture<V> future, long currentTimeNanos,
        long currentDurationNanos) {
      V value = valueOf(future);
      return (value == null) ? currentDurationNanos
          : expiry.expireAfterRead(key, value, currentTimeNanos, currentDurationNanos);
    }
  }

  /* ---------------- Loaders ---------------- */

  /**
   * The engine's loader of an asynchronous loading cache: its values are the futures the user's
   * loader starts, and a reload's future completes with a completed future of the new value, for
   * the engine's {@link Refresher} to install.
   */
  static class FutureLoader<K, V> implements CacheLoader<K, CompletableFuture<V>> {
    final AsyncCacheLoader<? super K, V> loader;
    private final Executor executor;

    FutureLoader(AsyncCacheLoader<? super K, V> loader, Executor executor) {
      this.loader = loader;
      this.executor = executor;
    }

    /**
     * The engine's loader for {@code loader}: one with the bulk reload of a {@code CacheLoader}
     * that has its own {@code reloadAll}, so that {@code refreshAll} reloads in bulk as the
     * synchronous cache does; else one without, which the engine reloads key by key.
     */
    static <K, V> FutureLoader<K, V> of(AsyncCacheLoader<? super K, V> loader, Executor executor) {
      boolean bulkReload = (loader instanceof CacheLoader)
          && (declaringClass(loader, "reloadAll", Map.class) != CacheLoader.class);
      return bulkReload ? new BulkReload<>(loader, executor) : new FutureLoader<>(loader, executor);
    }

    /** Whether the engine's refreshAll reloads in bulk. */
    boolean reloadsInBulk() {
      return false;
    }

    /** Starts a load: the future of the value, failed if the loader throws or returns null. */
    @SuppressWarnings("unchecked") // a future of a V's subtype is read as a future of V
    CompletableFuture<V> start(K key) {
      try {
        CompletableFuture<? extends V> future = loader.asyncLoad(key, executor);
        return (future == null)
            ? CompletableFuture.failedFuture(new NullPointerException(
                "asyncLoad returned a null future for key " + key))
            : (CompletableFuture<V>) future;
      } catch (Throwable t) { // anything: the caller's future carries it
        if (t instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        return CompletableFuture.failedFuture(t);
      }
    }

    @Override
    public CompletableFuture<V> load(K key) {
      return start(key);
    }

    @Override
    public CompletableFuture<? extends CompletableFuture<V>> asyncReload(K key,
        CompletableFuture<V> oldValue, Executor executor) throws Exception {
      V old = valueOf(oldValue);
      CompletableFuture<? extends V> next = (old == null)
          ? start(key) // a future still loading was replaced since the refresh looked: load
          : loader.asyncReload(key, old, executor);
      Objects.requireNonNull(next, "asyncReload returned a null future");
      return next.thenApply(value -> (value == null) ? null : CompletableFuture.completedFuture(value));
    }

    /** Whether the user's loader has a bulk load of its own. */
    boolean hasBulkLoad() {
      Class<?> declaring = declaringClass(loader, "asyncLoadAll", Set.class, Executor.class);
      if (declaring == CacheLoader.class) { // runs loadAll: does the loader have one?
        return declaringClass(loader, "loadAll", Set.class) != CacheLoader.class;
      }
      return declaring != AsyncCacheLoader.class;
    }

    @SuppressWarnings("unchecked") // the loader's keys are the requested K's, or K's it adds
    CompletableFuture<Map<K, V>> startAll(Set<? extends K> keys) throws Exception {
      return (CompletableFuture<Map<K, V>>) (CompletableFuture<?>) loader.asyncLoadAll(keys,
          executor);
    }
  }

  /** A {@link FutureLoader} over a {@code CacheLoader} with a {@code reloadAll} of its own. */
  static final class BulkReload<K, V> extends FutureLoader<K, V> {
    BulkReload(AsyncCacheLoader<? super K, V> loader, Executor executor) {
      super(loader, executor);
    }

    @Override
    boolean reloadsInBulk() {
      return true;
    }

    /** The values of the futures, reloaded by the user's reloadAll, as completed futures. */
    @Override
    @SuppressWarnings("unchecked") // the loader's keys are the requested K's
    public Map<K, CompletableFuture<V>> reloadAll(
        Map<? extends K, ? extends CompletableFuture<V>> oldValues) throws Exception {
      Map<K, V> old = new LinkedHashMap<>();
      oldValues.forEach((key, future) -> {
        V value = valueOf(future);
        if (value != null) {
          old.put(key, value);
        }
      });
      Map<?, ? extends V> reloaded =
          ((CacheLoader<? super K, V>) loader).reloadAll(Collections.unmodifiableMap(old));
      if (reloaded == null) {
        return null; // the engine's Refresher fails every key, as for a synchronous loader
      }
      Map<K, CompletableFuture<V>> result = new LinkedHashMap<>();
      reloaded.forEach((key, value) -> result.put((K) key,
          (value == null) ? null : CompletableFuture.completedFuture(value)));
      return result;
    }
  }

  private static Class<?> declaringClass(Object target, String name, Class<?>... parameters) {
    try {
      Method method = target.getClass().getMethod(name, parameters);
      return method.getDeclaringClass();
    } catch (NoSuchMethodException e) {
      return null;
    }
  }
}
