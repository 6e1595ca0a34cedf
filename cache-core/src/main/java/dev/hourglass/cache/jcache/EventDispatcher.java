package dev.hourglass.cache.jcache;

import java.io.Closeable;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantLock;
import javax.cache.Cache;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.Factory;
import javax.cache.event.CacheEntryCreatedListener;
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
 * <h2>Delivery</h2>
 * An operation publishes its events after its change is made and with no lock held. A
 * synchronous registration gets each event on the publishing thread, before the operation
 * returns; its listener's or filter's exception reaches the caller as a
 * {@link CacheEntryListenerException}, after the change. An asynchronous registration gets its
 * events on the executor, in the order they were published (one chain of tasks per
 * registration), and its exceptions are logged.
 *
 * <h2>Concurrency</h2>
 * Registrations live in a copy-on-write list: publishing reads it without a lock. Each
 * asynchronous registration appends to its chain under its own lock, which orders the tasks.
 */
final class EventDispatcher<K, V> {
  private static final System.Logger LOGGER = System.getLogger(EventDispatcher.class.getName());

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

  /** Closes every registration's listener and filter. */
  void close() {
    for (Registration<K, V> registration : registrations) {
      registration.close();
    }
    registrations.clear();
  }

  /**
   * Delivers one event to every registration that listens for its type and whose filter takes
   * it. For REMOVED and EXPIRED events {@code value} is the value removed.
   *
   * @throws CacheEntryListenerException if a synchronous listener or filter threw
   */
  void publish(Cache<K, V> source, EventType type, K key, V value, V oldValue) {
    CacheEntryListenerException failure = null;
    for (Registration<K, V> registration : registrations) {
      if (!registration.listensFor(type)) {
        continue;
      }
      boolean hasOld = (type != EventType.CREATED) && registration.oldValueRequired;
      // A removal's or expiry's value is the old one: shown only where old values are asked for.
      boolean gone = (type == EventType.REMOVED) || (type == EventType.EXPIRED);
      JCacheEvent<K, V> event = new JCacheEvent<>(source, type, key,
          (gone && !hasOld) ? null : value, hasOld ? oldValue : null, hasOld);
      if (registration.synchronous) {
        try {
          registration.deliver(event);
        } catch (RuntimeException e) {
          CacheEntryListenerException wrapped = (e instanceof CacheEntryListenerException)
              ? (CacheEntryListenerException) e : new CacheEntryListenerException(e);
          if (failure == null) {
            failure = wrapped;
          } else {
            failure.addSuppressed(wrapped);
          }
        }
      } else {
        registration.deliverLater(event, executor);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /** One listener configuration: its listener, its filter and its order of async tasks. */
  private static final class Registration<K, V> {
    final CacheEntryListenerConfiguration<K, V> configuration;
    final CacheEntryListener<? super K, ? super V> listener;
    final CacheEntryEventFilter<? super K, ? super V> filter;
    final boolean synchronous;
    final boolean oldValueRequired;
    /** Guards {@code tail}: orders this registration's asynchronous deliveries. */
    private final ReentrantLock lock = new ReentrantLock();
    private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

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

    @SuppressWarnings("unchecked") // the listener takes events of this cache's types
    void deliver(JCacheEvent<K, V> event) {
      if ((filter != null) && !filter.evaluate(event)) {
        return;
      }
      List<javax.cache.event.CacheEntryEvent<? extends K, ? extends V>> events = List.of(event);
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
    }

    void deliverLater(JCacheEvent<K, V> event, Executor executor) {
      lock.lock(); // orders this registration's tasks: each runs after the one before
      try {
        tail = tail.thenRunAsync(() -> {
          try {
            deliver(event);
          } catch (RuntimeException e) {
            LOGGER.log(System.Logger.Level.WARNING,
                "asynchronous cache entry listener " + listener + " threw on " + event, e);
          }
        }, executor);
      } finally {
        lock.unlock();
      }
    }

    void close() {
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
