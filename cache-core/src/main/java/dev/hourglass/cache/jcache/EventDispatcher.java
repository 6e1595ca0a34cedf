package dev.hourglass.cache.jcache;

import java.io.Closeable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import javax.cache.Cache;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.Factory;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.CacheEntryEventFilter;
import javax.cache.event.CacheEntryExpiredListener;
import javax.cache.event.CacheEntryListener;
import javax.cache.event.CacheEntryListenerException;
import javax.cache.event.CacheEntryRemovedListener;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.event.EventType;

/**
 * Delivers a JCache's entry events to its registered listeners (JSR-107 chapter 8).
 *
 * <h2>Order</h2>
 * A key's events reach each listener in the order its changes were made, synchronous or not.
 * An operation makes its events while it still holds its key (inside the store's compute, see
 * {@link Pending}), which fixes their order: each event is chained, per registration and per
 * key, after the one before it. It is not delivered then, though: the chain waits at a gate that
 * the operation opens once the change is in the store and the key is released. Opening the gate
 * delivers a synchronous listener's event on the operation's own thread, unless an earlier event
 * of the key is still being delivered, in which case the thread that finishes that one goes on
 * with this one; either way the operation waits for its synchronous deliveries before it
 * returns, and a listener's or filter's exception reaches its caller as a
 * {@link CacheEntryListenerException}, after the change. An asynchronous registration's events
 * run on the executor, one after the other per key; its exceptions are logged.
 *
 * <h2>Calls back in</h2>
 * A listener may call the cache, even for the key of its event. Such a call does not wait for
 * its own synchronous deliveries (they are chained behind the delivery that is running, on this
 * very thread: waiting would wait for itself); they follow as soon as the listener returns.
 *
 * <h2>Concurrency</h2>
 * Registrations live in a copy-on-write list: making events reads it without a lock. Each
 * registration keeps the tails of its per-key chains in a concurrent map, whose compute orders
 * the appends of one key; a tail leaves the map when it completes and is still the tail. A
 * closed registration starts no delivery more, queued events included; a delivery already
 * running when it closes is not interrupted.
 */
final class EventDispatcher<K, V> {
  private static final System.Logger LOGGER = System.getLogger(EventDispatcher.class.getName());
  /** How deep the current thread is in deliveries: a call from a listener does not wait. */
  private static final ThreadLocal<int[]> DELIVERING = ThreadLocal.withInitial(() -> new int[1]);

  private final List<Registration<K, V>> registrations = new CopyOnWriteArrayList<>();
  private final Executor executor;

  EventDispatcher(Executor executor) {
    this.executor = executor;
  }

  /** Registers {@code configuration}, creating its listener and filter now. */
  void register(CacheEntryListenerConfiguration<K, V> configuration) {
    registrations.add(new Registration<>(configuration));
  }

  /** Deregisters {@code configuration}, closing its listener and filter if they are Closeable. */
  void deregister(CacheEntryListenerConfiguration<K, V> configuration) {
    for (Registration<K, V> registration : registrations) {
      if (registration.configuration.equals(configuration)) {
        registrations.remove(registration);
        registration.close();
      }
    }
  }

  boolean hasListeners() {
    return !registrations.isEmpty();
  }

  /** Closes every registration: nothing more is delivered, and the listeners are closed. */
  void close() {
    for (Registration<K, V> registration : registrations) {
      registration.close();
    }
    registrations.clear();
  }

  /**
   * Makes one event for every registration that listens for its type, chained behind the key's
   * earlier events; delivered when {@code pending} is released. Called while the key is held.
   * For REMOVED and EXPIRED events {@code value} is the value removed.
   */
  void enqueue(Pending pending, Cache<K, V> source, EventType type, K key, V value, V oldValue) {
    enqueue(pending, type, key, hasOld -> event(source, type, key, value, oldValue, hasOld));
  }

  private void enqueue(Pending pending, EventType type, Object chainKey,
      java.util.function.Function<Boolean, JCacheEvent<K, V>> event) {
    for (Registration<K, V> registration : registrations) {
      if (!registration.listensFor(type)) {
        continue;
      }
      boolean hasOld = (type != EventType.CREATED) && registration.oldValueRequired;
      CompletableFuture<Void> gate = new CompletableFuture<>();
      CompletableFuture<Void> delivery = registration.chain(chainKey, gate,
          () -> event.apply(hasOld), executor);
      pending.gates.add(gate);
      if (registration.synchronous) {
        pending.synchronous.add(delivery);
      }
    }
  }

  private static <K, V> JCacheEvent<K, V> event(Cache<K, V> source, EventType type, K key,
      V value, V oldValue, boolean hasOld) {
    // A removal's or expiry's value is the old one: shown only where old values are asked for.
    boolean gone = (type == EventType.REMOVED) || (type == EventType.EXPIRED);
    return new JCacheEvent<>(source, type, key, (gone && !hasOld) ? null : value,
        hasOld ? oldValue : null, hasOld);
  }

  /**
   * Makes and releases one event at once, waiting for nobody: an expiry the store made, after
   * it let the key go. The event takes its place in the key's order first, and copies its key
   * and value ({@code copy}: user code, which may be slow) only when it is delivered, so that no
   * write of the key that follows can have its event delivered first. A synchronous listener's
   * failure has no caller to reach, so it is logged.
   */
  void publishUnattended(Cache<K, V> source, EventType type, K key, V value,
      java.util.function.UnaryOperator<Object> copy) {
    Pending pending = new Pending();
    enqueue(pending, type, key, hasOld -> {
      @SuppressWarnings("unchecked") // copies of this cache's key and value
      K keyCopy = (K) copy.apply(key);
      @SuppressWarnings("unchecked")
      V valueCopy = (V) copy.apply(value);
      return event(source, type, keyCopy, valueCopy, valueCopy, hasOld);
    });
    pending.open();
    pending.logFailures();
  }

  /**
   * The events of one operation, made while it held its key and delivered once it has let go.
   * Not thread-safe: used by the operation's thread only.
   */
  static final class Pending {
    final List<CompletableFuture<Void>> gates = new ArrayList<>(2);
    final List<CompletableFuture<Void>> synchronous = new ArrayList<>(2);

    boolean isEmpty() {
      return gates.isEmpty();
    }

    /** Opens the gates, in registration order; synchronous deliveries may run here. */
    void open() {
      for (CompletableFuture<Void> gate : gates) {
        gate.complete(null);
      }
    }

    /** The operation failed after making its events: they are dropped, and the chains go on. */
    void abandon() {
      for (CompletableFuture<Void> gate : gates) {
        gate.cancel(false);
      }
    }

    /** Logs the failures of synchronous deliveries nobody waits for, when they complete. */
    void logFailures() {
      for (CompletableFuture<Void> delivery : synchronous) {
        delivery.whenComplete((ignored, failure) -> {
          if ((failure != null) && !(failure instanceof java.util.concurrent.CancellationException)
              && !(failure.getCause() instanceof java.util.concurrent.CancellationException)) {
            LOGGER.log(System.Logger.Level.WARNING, "synchronous cache entry listener threw on"
                + " an event with no caller to report it to", (failure.getCause() == null)
                    ? failure : failure.getCause());
          }
        });
      }
    }

    /**
     * Opens the gates and waits for the synchronous deliveries, unless called from a synchronous
     * listener, whose own delivery may be the one they wait behind; their failures are then
     * logged.
     *
     * @throws CacheEntryListenerException if a synchronous listener or filter threw
     */
    void release() {
      open();
      if (DELIVERING.get()[0] > 0) {
        logFailures(); // no caller waits: a failure is logged, not lost
        return; // called by a listener: its events follow the delivery running on this thread
      }
      CacheEntryListenerException failure = null;
      for (CompletableFuture<Void> delivery : synchronous) {
        try {
          delivery.join();
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
          Throwable cause = (e.getCause() == null) ? e : e.getCause();
          CacheEntryListenerException wrapped = (cause instanceof CacheEntryListenerException)
              ? (CacheEntryListenerException) cause : new CacheEntryListenerException(cause);
          if (failure == null) {
            failure = wrapped;
          } else if (failure != wrapped) {
            failure.addSuppressed(wrapped);
          }
        }
      }
      if (failure != null) {
        throw failure;
      }
    }
  }

  /** One listener configuration: its listener, its filter and its per-key delivery chains. */
  private static final class Registration<K, V> {
    final CacheEntryListenerConfiguration<K, V> configuration;
    final CacheEntryListener<? super K, ? super V> listener;
    final CacheEntryEventFilter<? super K, ? super V> filter;
    final boolean synchronous;
    final boolean oldValueRequired;
    /** The last delivery of each key with one under way; the map's compute orders appends. */
    private final ConcurrentMap<Object, CompletableFuture<Void>> tails =
        new ConcurrentHashMap<>();
    private volatile boolean closed;

    Registration(CacheEntryListenerConfiguration<K, V> configuration) {
      this.configuration = configuration;
      Factory<CacheEntryListener<? super K, ? super V>> listenerFactory =
          configuration.getCacheEntryListenerFactory();
      if (listenerFactory == null) {
        throw new IllegalArgumentException("the listener configuration has no listener factory: "
            + configuration);
      }
      this.listener = listenerFactory.create();
      Factory<CacheEntryEventFilter<? super K, ? super V>> filterFactory =
          configuration.getCacheEntryEventFilterFactory();
      this.filter = (filterFactory == null) ? null : filterFactory.create();
      this.synchronous = configuration.isSynchronous();
      this.oldValueRequired = configuration.isOldValueRequired();
    }

    boolean listensFor(EventType type) {
      if (closed) {
        return false;
      }
      switch (type) {
        case CREATED:
          return listener instanceof CacheEntryCreatedListener;
        case UPDATED:
          return listener instanceof CacheEntryUpdatedListener;
        case REMOVED:
          return listener instanceof CacheEntryRemovedListener;
        case EXPIRED:
          return listener instanceof CacheEntryExpiredListener;
        default:
          return false;
      }
    }

    /**
     * Chains the delivery of {@code event} behind the key's last one (failed or not) and behind
     * {@code gate}: synchronous ones run on the thread that completes the later of the two,
     * asynchronous ones on the executor.
     */
    CompletableFuture<Void> chain(Object key, CompletableFuture<Void> gate,
        java.util.function.Supplier<JCacheEvent<K, V>> event, Executor executor) {
      @SuppressWarnings("unchecked") // a holder for the delivery made inside the compute
      CompletableFuture<Void>[] made = new CompletableFuture[1];
      tails.compute(key, (k, tail) -> { // orders this key's appends against each other
        CompletableFuture<Void> ready = (tail == null) ? gate
            : tail.handle((ignored, failure) -> (Void) null).thenCombine(gate, (a, b) -> a);
        made[0] = synchronous ? ready.thenRun(() -> deliver(event.get()))
            : ready.thenRunAsync(() -> deliverLogged(event), executor);
        return made[0];
      });
      CompletableFuture<Void> delivery = made[0];
      delivery.whenComplete((ignored, failure) -> tails.remove(key, delivery));
      return delivery;
    }

    private void deliverLogged(java.util.function.Supplier<JCacheEvent<K, V>> event) {
      try {
        deliver(event.get());
      } catch (RuntimeException | Error e) {
        LOGGER.log(System.Logger.Level.WARNING,
            "asynchronous cache entry listener " + listener + " failed on an event", e);
        if (e instanceof VirtualMachineError) {
          throw (VirtualMachineError) e; // logged, but not swallowed: the JVM is in trouble
        }
      }
    }

    @SuppressWarnings("unchecked") // the listener takes events of this cache's types
    private void deliver(JCacheEvent<K, V> event) {
      if (closed) {
        return; // closed since the event was made: JSR-107, close
      }
      // Only a synchronous delivery marks the thread: its writes must not wait behind it. An
      // asynchronous listener's writes wait for their synchronous listeners, as any caller's.
      int[] depth = synchronous ? DELIVERING.get() : null;
      if (depth != null) {
        depth[0]++;
      }
      try {
        if ((filter != null) && !filter.evaluate(event)) {
          return;
        }
        List<CacheEntryEvent<? extends K, ? extends V>> events = List.of(event);
        switch (event.getEventType()) {
          case CREATED:
            ((CacheEntryCreatedListener<K, V>) listener).onCreated(events);
            break;
          case UPDATED:
            ((CacheEntryUpdatedListener<K, V>) listener).onUpdated(events);
            break;
          case REMOVED:
            ((CacheEntryRemovedListener<K, V>) listener).onRemoved(events);
            break;
          case EXPIRED:
            ((CacheEntryExpiredListener<K, V>) listener).onExpired(events);
            break;
          default:
            throw new AssertionError(event.getEventType());
        }
      } finally {
        if (depth != null) {
          depth[0]--;
        }
      }
    }

    void close() {
      closed = true; // before the listener closes: no delivery starts after this
      closeQuietly(listener);
      closeQuietly(filter);
    }
  }

  static void closeQuietly(Object resource) {
    if (resource instanceof Closeable) {
      try {
        ((Closeable) resource).close();
      } catch (Exception e) {
        LOGGER.log(System.Logger.Level.WARNING, "closing " + resource + " failed", e);
      }
    }
  }
}
