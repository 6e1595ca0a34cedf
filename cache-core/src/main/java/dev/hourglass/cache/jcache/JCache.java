package dev.hourglass.cache.jcache;

import dev.hourglass.cache.CacheBuilder;
import dev.hourglass.cache.Expiry;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.RemovalCause;
import dev.hourglass.cache.Ticker;
import dev.hourglass.cache.Weigher;
import dev.hourglass.cache.internal.SpecString;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.Factory;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.event.EventType;
import javax.cache.expiry.Duration;
import javax.cache.expiry.EternalExpiryPolicy;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.expiry.ModifiedExpiryPolicy;
import javax.cache.expiry.TouchedExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheLoaderException;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriterException;
import javax.cache.integration.CompletionListener;
import javax.cache.processor.EntryProcessor;
import javax.cache.processor.EntryProcessorException;
import javax.cache.processor.EntryProcessorResult;

/**
 * A JSR-107 cache over an Hourglass cache (the store).
 *
 * <h2>Reading map</h2>
 * Construction (the store, built from the configuration and its spec); time and expiry (JCache's
 * {@code ExpiryPolicy} mapped onto the store's own deadlines); reads; writes; bulk operations;
 * loading; entry processors; listeners, configuration and life cycle.
 *
 * <h2>Design</h2>
 * The store maps each key (a copy, for store-by-value) to an {@link Expirable}: the value (a
 * copy) and its JCache deadline. Every single-key write runs in the store's {@code compute} for
 * that key, so the operation, with the writer, loader or entry processor it calls, is atomic
 * per key, and, as everywhere in Hourglass, runs with no lock held: a slow writer stalls its key,
 * not the others. The bulk writes ({@code putAll}, {@code removeAll}) call the writer's batch
 * method once, before any key, then change each key in its compute: JSR-107 does not make bulk
 * operations atomic, and a single-key write of one of their keys may interleave with them.
 * The operation's outcome is carried out of the compute; its events are made at the end of the
 * compute, which fixes their order among the key's events, and delivered after it
 * ({@link EventDispatcher}).
 *
 * <h2>Expiry</h2>
 * Each operation asks the {@code ExpiryPolicy} as JSR-107 says (creation, update, access) and
 * stores the deadline in the Expirable; the store's {@link Expiry} reads it back when the
 * Expirable is written, so the store's deadline is exactly JCache's. An access that moves the
 * deadline sets it on the Expirable and writes the same Expirable again ({@code replace(k, e, e)}),
 * which re-reads it. A creation duration of zero stores nothing. Operations check the deadline
 * themselves too, before and again after the user code they run (the writer may be slow): an
 * entry found past it is removed by the operation, in the key's compute. An entry the store
 * expires on its own is published from the store's removal listener, which runs on the thread
 * that removes it. Whichever of the two first marks the Expirable expired publishes EXPIRED:
 * once per entry. An entry the store evicts (a spec's {@code maximumSize}) is counted, and an
 * operation that finds it gone after its user code ran creates the key anew. A policy that
 * throws is logged and taken as "no change" (eternal for a creation).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class JCache<K, V> implements Cache<K, V> {
  private static final System.Logger LOGGER = System.getLogger(JCache.class.getName());

  private final String name;
  private final JCacheManager manager;
  private final HourglassConfiguration<K, V> configuration;
  private final dev.hourglass.cache.Cache<K, Expirable<V>> store;
  private final ConcurrentMap<K, Expirable<V>> map;
  private final Ticker ticker = Ticker.systemTicker();
  private final Executor executor = ForkJoinPool.commonPool();
  private final CacheLoader<K, V> loader;
  /** Null unless write-through; typed as the cache's own: a writer of supertypes takes them. */
  private final CacheWriter<K, V> writer;
  private final ExpiryPolicy expiry;
  private final Copier copier;
  private final EventDispatcher<K, V> dispatcher = new EventDispatcher<>(executor);
  private final JCacheStatistics statistics = new JCacheStatistics();
  private final JCacheMXBean mxBean = new JCacheMXBean(this);
  /** Guards the configuration's listener set (a HashSet) against concurrent registrations. */
  private final java.util.concurrent.locks.ReentrantLock listenersLock =
      new java.util.concurrent.locks.ReentrantLock();
  private volatile boolean closed;

  /* ---------------- Construction ---------------- */

  JCache(String name, JCacheManager manager, HourglassConfiguration<K, V> configuration) {
    this.name = name;
    this.manager = manager;
    this.configuration = configuration;
    Map<String, String> settings = SpecString.settings(configuration.getSpec());
    // Checked before any callback is made, so that a refusal leaves nothing to close.
    if (settings.containsKey("maximumWeight") != (configuration.getWeigherFactory() != null)) {
      throw new IllegalArgumentException((configuration.getWeigherFactory() == null)
          ? "spec '" + configuration.getSpec() + "': setting 'maximumWeight="
              + settings.get("maximumWeight") + "': needs a weigher:"
              + " HourglassConfiguration.setWeigherFactory"
          : "a weigher needs maximumWeight in the spec '" + configuration.getSpec() + "'");
    }
    this.expiry = expiryPolicy(configuration, settings);
    if (!(expiry instanceof EternalExpiryPolicy) && (settings.containsKey("expireAfterWrite")
        || settings.containsKey("expireAfterAccess"))) {
      // The configuration shows the policy the spec's duration stands for.
      configuration.setExpiryPolicyFactory(new FactoryBuilder.SingletonFactory<>(expiry));
    }
    if (settings.containsKey("recordStats")) {
      configuration.setStatisticsEnabled(true); // the spec's word for JCache's statistics
    }
    Factory<CacheLoader<K, V>> loaderFactory = configuration.getCacheLoaderFactory();
    this.loader = (loaderFactory == null) ? null : loaderFactory.create();
    Factory<CacheWriter<? super K, ? super V>> writerFactory =
        configuration.getCacheWriterFactory();
    @SuppressWarnings("unchecked") // a writer of K's and V's supertypes writes K's and V's
    CacheWriter<K, V> typedWriter = (configuration.isWriteThrough() && (writerFactory != null))
        ? (CacheWriter<K, V>) writerFactory.create() : null;
    this.writer = typedWriter;
    Factory<Copier> copierFactory = configuration.getCopierFactory();
    this.copier = !configuration.isStoreByValue() ? Copier.identity()
        : (copierFactory == null) ? Copier.serializing() : copierFactory.create();
    settings.remove("expireAfterWrite");
    settings.remove("expireAfterAccess");
    Factory<Weigher<? super K, ? super V>> weigherFactory = configuration.getWeigherFactory();
    try {
      Expiry<K, Expirable<V>> deadlines = new Expiry<>() {
        @Override
        public long expireAfterCreate(K key, Expirable<V> value, long currentTimeNanos) {
          return value.remainingNanos(currentTimeNanos);
        }

        @Override
        public long expireAfterUpdate(K key, Expirable<V> value, long currentTimeNanos,
            long currentDurationNanos) {
          return value.remainingNanos(currentTimeNanos);
        }
      };
      CacheBuilder<K, Expirable<V>> builder =
          SpecString.apply(SpecString.join(settings), Hourglass.newBuilder()).expireAfter(deadlines);
      if (weigherFactory != null) {
        Weigher<? super K, ? super V> weigher = weigherFactory.create();
        builder = builder.weigher((K key, Expirable<V> expirable) ->
            weigher.weigh(key, expirable.value));
      }
      this.store = builder.ticker(ticker)
          .executor(Runnable::run) // removals are published on the thread that makes them
          .removalListener(this::onStoreRemoval)
          .build();
      for (CacheEntryListenerConfiguration<K, V> listener
          : configuration.getCacheEntryListenerConfigurations()) {
        dispatcher.register(listener);
      }
    } catch (RuntimeException | Error e) {
      // Created whole or not at all: what was made so far is closed, as close() would.
      EventDispatcher.closeQuietly(loader);
      EventDispatcher.closeQuietly(writer);
      EventDispatcher.closeQuietly(expiry);
      EventDispatcher.closeQuietly(copier);
      dispatcher.close();
      throw e;
    }
    this.map = store.asMap();
    statistics.setEnabled(configuration.isStatisticsEnabled());
  }

  /** The JCache policy: the configured one, or one the spec's durations stand for. */
  private static ExpiryPolicy expiryPolicy(CompleteConfiguration<?, ?> configuration,
      Map<String, String> settings) {
    ExpiryPolicy configured = configuration.getExpiryPolicyFactory().create();
    String write = settings.get("expireAfterWrite");
    String access = settings.get("expireAfterAccess");
    if ((write == null) && (access == null)) {
      return configured;
    }
    ExpiryPolicy standIn = standInPolicy(write, access, configuration);
    if (configured.equals(standIn)) {
      return configured; // the configuration of a cache made from this spec: the same policy
    }
    if (!(configured instanceof EternalExpiryPolicy)) {
      throw new IllegalArgumentException("spec '" + ((HourglassConfiguration<?, ?>) configuration)
          .getSpec() + "': its expiration and the configuration's ExpiryPolicy (" + configured
          + ") exclude each other: set one");
    }
    return standIn;
  }

  /** The policy the spec's duration stands for. */
  private static ExpiryPolicy standInPolicy(String write, String access,
      CompleteConfiguration<?, ?> configuration) {
    if ((write != null) && (access != null)) {
      throw new IllegalArgumentException("spec '" + ((HourglassConfiguration<?, ?>) configuration)
          .getSpec() + "': expireAfterWrite and expireAfterAccess together have no JCache"
          + " ExpiryPolicy: set one, or an ExpiryPolicy");
    }
    java.time.Duration duration = SpecString.duration((write != null) ? write : access);
    // JCache's durations are whole milliseconds at the finest: a finer one is rounded up, so
    // that no entry expires before the spec says.
    long nanos = saturatedNanos(duration);
    long millis = (nanos / 1_000_000L) + (((nanos % 1_000_000L) == 0) ? 0 : 1);
    Duration jcache = duration.isZero() ? Duration.ZERO
        : new Duration(java.util.concurrent.TimeUnit.MILLISECONDS, millis);
    return (write != null) ? new ModifiedExpiryPolicy(jcache) : new TouchedExpiryPolicy(jcache);
  }

  private static long saturatedNanos(java.time.Duration duration) {
    try {
      return duration.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** The store's removals: those it makes on its own are expirations and evictions. */
  private void onStoreRemoval(K key, Expirable<V> expirable, RemovalCause cause) {
    if ((cause == RemovalCause.EXPIRED) && expirable.claimExpired()) {
      if (dispatcher.hasListeners()) {
        // Copied when delivered: the event takes its place in the key's order at once.
        dispatcher.publishUnattended(this, EventType.EXPIRED, key, expirable.value,
            this::copyOut);
      }
    } else if ((cause == RemovalCause.SIZE) && expirable.claimEvicted()) {
      statistics.recordEvictions(1);
    }
  }

  /* ---------------- Time and expiry ---------------- */

  private long now() {
    return ticker.read();
  }

  /** The deadline {@code duration} after {@code now}; {@link Expirable#ETERNAL} for eternal. */
  private static long deadline(long now, Duration duration) {
    if (duration.isEternal()) {
      return Expirable.ETERNAL;
    }
    if (duration.isZero()) {
      return now;
    }
    long nanos = duration.getTimeUnit().toNanos(duration.getDurationAmount());
    long deadline = now + nanos;
    boolean overflow = ((now ^ deadline) & (nanos ^ deadline)) < 0;
    return (overflow || (deadline == Expirable.ETERNAL)) ? Expirable.ETERNAL : deadline;
  }

  /** The creation deadline, or {@code now} if the entry is not to be created. */
  private long creationDeadline(long now) {
    try {
      Duration duration = expiry.getExpiryForCreation();
      return (duration == null) ? Expirable.ETERNAL : deadline(now, duration);
    } catch (RuntimeException e) {
      LOGGER.log(System.Logger.Level.WARNING, "ExpiryPolicy " + expiry
          + " threw on creation; the entry does not expire", e);
      return Expirable.ETERNAL;
    }
  }

  /** The deadline after an update of {@code current}: its own if the policy leaves it. */
  private long updateDeadline(long now, Expirable<V> current) {
    try {
      Duration duration = expiry.getExpiryForUpdate();
      return (duration == null) ? current.expiresAtNanos() : deadline(now, duration);
    } catch (RuntimeException e) {
      LOGGER.log(System.Logger.Level.WARNING, "ExpiryPolicy " + expiry
          + " threw on update; the deadline is kept", e);
      return current.expiresAtNanos();
    }
  }

  /** The deadline after an access, or null where the policy leaves it as it is. */
  private Long accessDeadline(long now) {
    try {
      Duration duration = expiry.getExpiryForAccess();
      return (duration == null) ? null : deadline(now, duration);
    } catch (RuntimeException e) {
      LOGGER.log(System.Logger.Level.WARNING, "ExpiryPolicy " + expiry
          + " threw on access; the deadline is kept", e);
      return null;
    }
  }

  /**
   * Applies access expiry to {@code expirable}, read for {@code key} outside a compute: its
   * deadline, then the store entry's, through {@code setExpiresAfter}, which moves a deadline
   * without a write (no weigher, no put counted). If a write replaced the entry between the look
   * below and the move, the move lands on the new entry, as an access just after that write
   * would; the new Expirable keeps its own deadline, which the operations check as well.
   */
  private void accessed(K key, Expirable<V> expirable, long now) {
    Long deadline = accessDeadline(now);
    if ((deadline != null) && (deadline != expirable.expiresAtNanos())) {
      expirable.setExpiresAtNanos(deadline);
      if (map.get(key) == expirable) {
        store.policy().expireVariably().ifPresent(variable -> variable.setExpiresAfter(key,
            java.time.Duration.ofNanos(expirable.remainingNanos(now()))));
      }
    }
  }

  /**
   * The live entry for {@code key}. One found past its deadline is removed in the key's compute,
   * which orders its EXPIRED event with the key's others, and delivered before this returns.
   */
  private Expirable<V> lookup(K key, long now) {
    Expirable<V> expirable = map.get(key);
    if ((expirable != null) && expirable.isGone()) {
      return null; // let go by the store meanwhile (expired and published, or evicted)
    }
    if ((expirable != null) && expirable.isExpired(now)) {
      Outcome<V> outcome = new Outcome<>();
      compute(key, outcome, (k, current) -> {
        if (current == expirable) {
          outcome.expired = current;
          enqueue(key, outcome);
          return null;
        }
        return current;
      });
      outcome.pending.release();
      return null;
    }
    return expirable;
  }

  /**
   * Applies access expiry to {@code current} inside its key's compute: the policy (user code)
   * first, then the entry is looked at again, so that one that expired or was let go meanwhile
   * is not put back. Returns what the compute is to keep.
   */
  private Expirable<V> accessedInCompute(Expirable<V> current, Outcome<V> outcome) {
    if (live(current, now(), outcome) == null) {
      return null; // nothing was accessed: the policy is not asked
    }
    Long deadline = accessDeadline(now());
    Expirable<V> still = live(current, now(), outcome);
    if ((still != null) && (deadline != null)) {
      still.setExpiresAtNanos(deadline);
    }
    return still;
  }

  /**
   * Before a write's compute: an entry of the key that is past its deadline is expired now, its
   * event made and released, so that it comes before the write's own. (The store hides an
   * expired entry from a compute and reports its removal only after the compute, which would
   * put EXPIRED after the events the compute made.)
   */
  private void expireFirst(K key) {
    lookup(key, now());
  }

  /**
   * The entry {@code current} as it stands at {@code now}: null if it is past its deadline (it
   * is then noted for the EXPIRED event) or the store let it go while user code ran.
   */
  private static <V> Expirable<V> live(Expirable<V> current, long now, Outcome<V> outcome) {
    if (current == null) {
      return null;
    }
    if (current.isGone()) {
      return null; // expired (and published) or evicted by the store meanwhile
    }
    if (current.isExpired(now)) {
      outcome.expired = current;
      return null;
    }
    return current;
  }

  /* ---------------- Reads ---------------- */

  @Override
  public V get(K key) {
    requireOpen();
    requireKey(key);
    long start = statistics.isEnabled() ? now() : 0L;
    V value = getAndAccess(key);
    if (value == null && configuration.isReadThrough() && (loader != null)) {
      value = loadOne(key);
    }
    if (statistics.isEnabled()) {
      statistics.recordGetTime(now() - start);
    }
    return value;
  }

  /** A present value, copied out, with its hit or miss counted and access expiry applied. */
  private V getAndAccess(K key) {
    long now = now();
    Expirable<V> expirable = lookup(key, now);
    if (expirable == null) {
      statistics.recordMisses(1);
      return null;
    }
    statistics.recordHits(1);
    accessed(key, expirable, now);
    return copyOut(expirable.value);
  }

  @Override
  public Map<K, V> getAll(Set<? extends K> keys) {
    requireOpen();
    requireKeys(keys);
    long start = statistics.isEnabled() ? now() : 0L;
    Map<K, V> result = new LinkedHashMap<>();
    Set<K> missing = new LinkedHashSet<>();
    for (K key : keys) {
      V value = getAndAccess(key);
      if (value != null) {
        result.put(key, value);
      } else {
        missing.add(key);
      }
    }
    if (!missing.isEmpty() && configuration.isReadThrough() && (loader != null)) {
      Map<K, V> loaded = loadMany(missing, false);
      for (Map.Entry<K, V> entry : loaded.entrySet()) {
        result.put(entry.getKey(), entry.getValue());
      }
    }
    if (statistics.isEnabled()) {
      statistics.recordGetTime(now() - start);
    }
    return result;
  }

  @Override
  public boolean containsKey(K key) {
    requireOpen();
    requireKey(key);
    Expirable<V> expirable = map.get(key);
    return (expirable != null) && !expirable.isGone() && !expirable.isExpired(now());
  }

  /* ---------------- Writes ---------------- */

  /**
   * What one key's operation did, carried out of the store's compute, with its events: made at
   * the end of the compute, while the key is held, so that they keep the key's order
   * ({@link EventDispatcher}), and released after it.
   */
  private static final class Outcome<V> {
    final EventDispatcher.Pending pending = new EventDispatcher.Pending();
    Expirable<V> expired;
    Expirable<V> old;
    Expirable<V> stored;
    boolean created;
    boolean updated;
    /** The value was replaced, though the update's duration of zero expired it at once. */
    boolean replaced;
    boolean removed;
    boolean hit;
    Object result;
  }

  /**
   * Runs {@code function} in the store's compute of {@code key}; if the compute fails, the
   * events it made are dropped.
   */
  private void compute(K key, Outcome<V> outcome,
      java.util.function.BiFunction<? super K, ? super Expirable<V>, ? extends Expirable<V>>
          function) {
    try {
      map.compute(key, function);
    } catch (RuntimeException | Error e) {
      outcome.pending.abandon();
      throw e;
    }
  }

  /** Makes the events of {@code outcome}; called last in the compute, the key still held. */
  private void enqueue(K key, Outcome<V> outcome) {
    if (!dispatcher.hasListeners()) {
      if (outcome.expired != null) {
        outcome.expired.claimExpired(); // no event to make, but the store's must not follow
      }
      return;
    }
    // Every copy first (a copier may throw): the expiry is claimed only once its event is made.
    K eventKey = copyOut(key);
    V expiredValue = (outcome.expired == null) ? null : copyOut(outcome.expired.value);
    if ((outcome.expired != null) && outcome.expired.claimExpired()) {
      dispatcher.enqueue(outcome.pending, this, EventType.EXPIRED, eventKey, expiredValue,
          expiredValue);
    }
    if (outcome.created) {
      dispatcher.enqueue(outcome.pending, this, EventType.CREATED, eventKey,
          copyOut(outcome.stored.value), null);
    } else if (outcome.updated) {
      dispatcher.enqueue(outcome.pending, this, EventType.UPDATED, eventKey,
          copyOut(outcome.stored.value), copyOut(outcome.old.value));
    } else if (outcome.removed) {
      V gone = copyOut(outcome.old.value);
      dispatcher.enqueue(outcome.pending, this, EventType.REMOVED, eventKey, gone, gone);
    }
  }

  @Override
  public void put(K key, V value) {
    writeCounted(key, value, WriteMode.ALWAYS, false, false);
  }

  @Override
  public V getAndPut(K key, V value) {
    Outcome<V> outcome = writeCounted(key, value, WriteMode.ALWAYS, true, true);
    return (outcome.old == null) ? null : copyOut(outcome.old.value);
  }

  @Override
  public boolean putIfAbsent(K key, V value) {
    return writeCounted(key, value, WriteMode.IF_ABSENT, true, false).created;
  }

  @Override
  public boolean replace(K key, V value) {
    return writeCounted(key, value, WriteMode.IF_PRESENT, true, false).replaced;
  }

  @Override
  public V getAndReplace(K key, V value) {
    Outcome<V> outcome = writeCounted(key, value, WriteMode.IF_PRESENT, true, true);
    return (outcome.old == null) ? null : copyOut(outcome.old.value);
  }

  /**
   * The single-key writes of the API ({@code put}, {@code putIfAbsent}, {@code replace} and
   * their {@code getAnd} forms): the checks, the write, then its statistics (a lookup, hit when a
   * value was there, where the operation reads one; its time as a put, and as a get too for the
   * {@code getAnd} forms), then its events.
   */
  private Outcome<V> writeCounted(K key, V value, WriteMode mode, boolean looksUp,
      boolean alsoGets) {
    requireOpen();
    requireKey(key);
    requireValue(value);
    long start = statistics.isEnabled() ? now() : 0L;
    Outcome<V> outcome = write(key, value, mode, true);
    if (looksUp) {
      statistics.recordLookup(outcome.old != null);
    }
    if (statistics.isEnabled()) {
      long elapsed = now() - start;
      statistics.recordPutTime(elapsed);
      if (alsoGets) {
        statistics.recordGetTime(elapsed);
      }
    }
    finish(outcome);
    return outcome;
  }

  @Override
  public boolean replace(K key, V oldValue, V newValue) {
    requireOpen();
    requireKey(key);
    requireValue(oldValue);
    requireValue(newValue);
    long start = statistics.isEnabled() ? now() : 0L;
    Outcome<V> outcome = new Outcome<>();
    K storedKey = copyIn(key);
    V storedValue = copyIn(newValue);
    expireFirst(storedKey);
    compute(storedKey, outcome, (k, found) -> {
      long now = now();
      Expirable<V> current = live(found, now, outcome);
      if (current != null) {
        outcome.hit = true;
        if (!Objects.equals(current.value, oldValue)) {
          current = accessedInCompute(current, outcome);
        } else {
          writeThrough(key, newValue);
          current = replacing(current, storedValue, outcome);
          outcome.replaced = true;
        }
      }
      enqueue(key, outcome);
      return current;
    });
    statistics.recordLookup(outcome.hit);
    if (statistics.isEnabled()) {
      statistics.recordPutTime(now() - start);
    }
    finish(outcome);
    return outcome.replaced;
  }

  private enum WriteMode { ALWAYS, IF_ABSENT, IF_PRESENT }

  /**
   * One key's write, atomic in the store's compute: the writer first, then the entry as it
   * stands once the writer has returned (expired or evicted meanwhile: a create), with the time
   * it returned; events are made before the compute ends and released by {@link #finish}.
   */
  private Outcome<V> write(K key, V value, WriteMode mode, boolean writeThrough) {
    Outcome<V> outcome = new Outcome<>();
    K storedKey = copyIn(key);
    V storedValue = copyIn(value);
    expireFirst(storedKey);
    compute(storedKey, outcome, (k, found) -> {
      Expirable<V> current = live(found, now(), outcome);
      if ((current == null) ? (mode == WriteMode.IF_PRESENT) : (mode == WriteMode.IF_ABSENT)) {
        outcome.old = current;
        enqueue(key, outcome);
        return current;
      }
      if (writeThrough) {
        writeThrough(key, value);
      }
      Expirable<V> next = replacing(current, storedValue, outcome);
      if (mode == WriteMode.IF_PRESENT) {
        outcome.replaced = true;
        outcome.old = (outcome.old == null) ? current : outcome.old;
      }
      enqueue(key, outcome);
      return next;
    });
    return outcome;
  }

  /**
   * The Expirable that replaces {@code current} (a create if it is gone), once the user code of
   * the write has run. The expiry policy (user code too) is asked first, and the entry is looked
   * at after it, with a fresh reading: one that expired while the policy ran is then created
   * anew (and published EXPIRED first), never updated, so the store finds no expired entry
   * under it to report after this write's events.
   */
  private Expirable<V> replacing(Expirable<V> current, V storedValue, Outcome<V> outcome) {
    for (;;) {
      long now = now();
      Expirable<V> still = live(current, now, outcome);
      if (still == null) {
        return created(storedValue, now, outcome);
      }
      long deadline = updateDeadline(now, still);
      if (live(still, now(), outcome) == still) {
        return updatedWith(still, storedValue, now, deadline, outcome);
      }
      current = null; // expired while the policy ran: a create, asked of the policy afresh
    }
  }

  private Expirable<V> created(V storedValue, long now, Outcome<V> outcome) {
    long deadline = creationDeadline(now);
    if (deadline == now) {
      return null; // a creation duration of zero: the entry is not created
    }
    outcome.created = true;
    outcome.stored = new Expirable<>(storedValue, deadline);
    return outcome.stored;
  }

  private Expirable<V> updatedWith(Expirable<V> current, V storedValue, long now,
      long deadline, Outcome<V> outcome) {
    outcome.old = current;
    if (deadline == now) {
      outcome.expired = current; // an update duration of zero expires the entry
      return null;
    }
    outcome.updated = true;
    outcome.stored = new Expirable<>(storedValue, deadline);
    return outcome.stored;
  }

  /** Counts what a write did, then delivers its events (waiting for synchronous listeners). */
  private void finish(Outcome<V> outcome) {
    if (outcome.created || outcome.updated) {
      statistics.recordPuts(1);
    }
    if (outcome.removed) {
      statistics.recordRemovals(1);
    }
    outcome.pending.release();
  }

  @Override
  public boolean remove(K key) {
    requireOpen();
    requireKey(key);
    long start = statistics.isEnabled() ? now() : 0L;
    Outcome<V> outcome = removeOne(key);
    if (statistics.isEnabled()) {
      statistics.recordRemoveTime(now() - start);
    }
    finish(outcome);
    return outcome.removed;
  }

  @Override
  public boolean remove(K key, V oldValue) {
    requireOpen();
    requireKey(key);
    requireValue(oldValue);
    long start = statistics.isEnabled() ? now() : 0L;
    Outcome<V> outcome = new Outcome<>();
    K storedKey = copyIn(key);
    expireFirst(storedKey);
    compute(storedKey, outcome, (k, found) -> {
      long now = now();
      Expirable<V> current = live(found, now, outcome);
      if (current != null) {
        outcome.hit = true;
        if (!Objects.equals(current.value, oldValue)) {
          current = accessedInCompute(current, outcome);
        } else {
          deleteThrough(key);
          Expirable<V> still = live(current, now(), outcome);
          if (still != null) {
            outcome.old = still;
            outcome.removed = true;
          }
          current = null;
        }
      }
      enqueue(key, outcome);
      return current;
    });
    statistics.recordLookup(outcome.hit);
    if (statistics.isEnabled()) {
      statistics.recordRemoveTime(now() - start);
    }
    finish(outcome);
    return outcome.removed;
  }

  @Override
  public V getAndRemove(K key) {
    requireOpen();
    requireKey(key);
    long start = statistics.isEnabled() ? now() : 0L;
    Outcome<V> outcome = removeOne(key);
    statistics.recordLookup(outcome.removed);
    if (statistics.isEnabled()) {
      long elapsed = now() - start;
      statistics.recordRemoveTime(elapsed);
      statistics.recordGetTime(elapsed);
    }
    finish(outcome);
    return outcome.removed ? copyOut(outcome.old.value) : null;
  }

  /** Removes the key, calling the writer whether or not it is present (it may be elsewhere). */
  private Outcome<V> removeOne(K key) {
    Outcome<V> outcome = new Outcome<>();
    K storedKey = copyIn(key);
    expireFirst(storedKey);
    compute(storedKey, outcome, (k, found) -> {
      Expirable<V> current = live(found, now(), outcome);
      deleteThrough(key);
      Expirable<V> still = live(current, now(), outcome);
      if (still != null) {
        outcome.old = still;
        outcome.removed = true;
      }
      enqueue(key, outcome);
      return null;
    });
    return outcome;
  }

  /* ---------------- Bulk operations ---------------- */

  /**
   * {@inheritDoc}
   *
   * <p>With write-through, the writer's {@code writeAll} is called once, before the cache
   * changes, and only what it wrote is stored. As JSR-107 allows for bulk operations, this is
   * atomic per key for the cache's own change, not together with the writer: a single-key write
   * of one of the keys that runs at the same time may reach the writer and the cache in
   * different orders.
   */
  @Override
  public void putAll(Map<? extends K, ? extends V> entries) {
    requireOpen();
    Objects.requireNonNull(entries, "entries");
    for (Map.Entry<? extends K, ? extends V> entry : entries.entrySet()) {
      requireKey(entry.getKey());
      requireValue(entry.getValue());
    }
    long start = statistics.isEnabled() ? now() : 0L;
    // Copied before the writer sees anything: a value the copier refuses fails the whole call.
    Map<K, V> toStore = new LinkedHashMap<>();
    for (Map.Entry<? extends K, ? extends V> entry : entries.entrySet()) {
      copyIn(entry.getKey());
      copyIn(entry.getValue());
      toStore.put(entry.getKey(), entry.getValue());
    }
    CacheWriterException failure = null;
    if (writer != null && !entries.isEmpty()) {
      Collection<Cache.Entry<? extends K, ? extends V>> batch = new ArrayList<>();
      for (Map.Entry<? extends K, ? extends V> entry : entries.entrySet()) {
        batch.add(new JCacheEntry<>(entry.getKey(), entry.getValue()));
      }
      try {
        writer.writeAll(batch);
      } catch (RuntimeException e) {
        failure = asWriterException(e);
        for (Cache.Entry<? extends K, ? extends V> unwritten : batch) {
          toStore.remove(unwritten.getKey()); // the writer leaves what it did not write
        }
      }
    }
    RuntimeException listenerFailure = null;
    for (Map.Entry<K, V> entry : toStore.entrySet()) {
      try {
        finish(write(entry.getKey(), entry.getValue(), WriteMode.ALWAYS, false));
      } catch (RuntimeException e) {
        listenerFailure = (listenerFailure == null) ? e : listenerFailure;
      }
    }
    if (statistics.isEnabled()) {
      statistics.recordPutTime(now() - start);
    }
    if (failure != null) {
      throw failure;
    }
    if (listenerFailure != null) {
      throw listenerFailure;
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>With write-through, the writer's {@code deleteAll} is called once, before the cache
   * changes, and only what it deleted is removed; atomic per key as {@link #putAll} says.
   */
  @Override
  public void removeAll(Set<? extends K> keys) {
    requireOpen();
    requireKeys(keys);
    removeKeys(new LinkedHashSet<>(keys));
  }

  @Override
  public void removeAll() {
    requireOpen();
    removeKeys(new LinkedHashSet<>(map.keySet()));
  }

  private void removeKeys(Set<K> keys) {
    long start = statistics.isEnabled() ? now() : 0L;
    CacheWriterException failure = null;
    Set<K> toRemove = new LinkedHashSet<>(keys);
    if ((writer != null) && !keys.isEmpty()) {
      Collection<Object> batch = new ArrayList<>(keys);
      try {
        writer.deleteAll(batch);
      } catch (RuntimeException e) {
        failure = asWriterException(e);
        toRemove.removeAll(batch); // the writer leaves what it did not delete
      }
    }
    RuntimeException listenerFailure = null;
    for (K key : toRemove) {
      Outcome<V> outcome = new Outcome<>();
      compute(key, outcome, (k, found) -> {
        Expirable<V> current = live(found, now(), outcome);
        if (current != null) {
          outcome.old = current;
          outcome.removed = true;
        }
        enqueue(key, outcome);
        return null;
      });
      try {
        finish(outcome);
      } catch (RuntimeException e) {
        listenerFailure = (listenerFailure == null) ? e : listenerFailure;
      }
    }
    if (statistics.isEnabled()) {
      statistics.recordRemoveTime(now() - start);
    }
    if (failure != null) {
      throw failure;
    }
    if (listenerFailure != null) {
      throw listenerFailure;
    }
  }

  @Override
  public void clear() {
    requireOpen();
    store.invalidateAll(); // no writer, no events, no statistics: JSR-107 section 4.2
  }

  /* ---------------- Loading ---------------- */

  /** Read-through of one key: loads it in the key's compute, so a concurrent load shares it. */
  private V loadOne(K key) {
    Outcome<V> outcome = new Outcome<>();
    compute(copyIn(key), outcome, (k, found) -> {
      Expirable<V> current = live(found, now(), outcome);
      if (current != null) {
        outcome.result = current.value; // another caller loaded or wrote it meanwhile
        enqueue(key, outcome);
        return current;
      }
      V loaded = load(key);
      Expirable<V> next = null;
      if (loaded != null) {
        outcome.result = loaded;
        next = created(copyIn(loaded), now(), outcome);
      }
      enqueue(key, outcome);
      return next;
    });
    finish(outcome);
    @SuppressWarnings("unchecked") // a value of this cache, or null
    V value = (V) outcome.result;
    return (value == null) ? null : copyOut(value);
  }

  private V load(K key) {
    V value;
    try {
      value = loader.load(key);
    } catch (CacheLoaderException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new CacheLoaderException("loader " + loader + " failed on key " + key, e);
    }
    if (value != null) {
      requireValueType(value);
    }
    return value;
  }

  /** Loads {@code keys} with one loadAll and stores the values; returns them, copied out. */
  private Map<K, V> loadMany(Set<K> keys, boolean replaceExisting) {
    Map<K, V> loaded;
    try {
      loaded = loader.loadAll(keys);
    } catch (CacheLoaderException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new CacheLoaderException("loader " + loader + " failed on keys " + keys, e);
    }
    Map<K, V> result = new LinkedHashMap<>();
    if (loaded == null) {
      return result;
    }
    for (Map.Entry<K, V> entry : loaded.entrySet()) {
      if ((entry.getKey() != null) && (entry.getValue() != null) && keys.contains(entry.getKey())) {
        requireValueType(entry.getValue()); // as a single load checks it, before storing any
      }
    }
    RuntimeException listenerFailure = null;
    for (Map.Entry<K, V> entry : loaded.entrySet()) {
      K key = entry.getKey();
      V value = entry.getValue();
      if ((key == null) || (value == null) || !keys.contains(key)) {
        continue;
      }
      Outcome<V> outcome = write(key, value,
          replaceExisting ? WriteMode.ALWAYS : WriteMode.IF_ABSENT, false);
      try {
        finish(outcome); // first: nothing may stand between a write and its events' release
      } catch (RuntimeException e) {
        listenerFailure = (listenerFailure == null) ? e : listenerFailure;
      }
      // The value the cache keeps: the loaded one, or one a write stored meanwhile.
      Expirable<V> kept = (outcome.stored != null) ? outcome.stored : outcome.old;
      if (kept != null) {
        result.put(key, copyOut(kept.value));
      }
    }
    if (listenerFailure != null) {
      throw listenerFailure;
    }
    return result;
  }

  @Override
  public void loadAll(Set<? extends K> keys, boolean replaceExistingValues,
      CompletionListener completionListener) {
    requireOpen();
    requireKeys(keys);
    CompletionListener listener = (completionListener == null)
        ? NO_COMPLETION_LISTENER : completionListener;
    if (loader == null) {
      listener.onCompletion();
      return;
    }
    Set<K> wanted = new LinkedHashSet<>(keys);
    try {
      executor.execute(() -> {
        try {
          Set<K> toLoad = new LinkedHashSet<>();
          for (K key : wanted) {
            if (replaceExistingValues || !containsKey(key)) {
              toLoad.add(key);
            }
          }
          if (!toLoad.isEmpty()) {
            loadMany(toLoad, replaceExistingValues);
          }
        } catch (Exception e) {
          notify(listener, e);
          return;
        }
        notify(listener, null); // outside the try: its own exception is not a load's failure
      });
    } catch (RuntimeException e) {
      listener.onException(e); // a rejecting executor: the load never ran
    }
  }

  /** Tells a loadAll's listener how it ended; an exception it throws is logged, not lost. */
  private static void notify(CompletionListener listener, Exception failure) {
    try {
      if (failure == null) {
        listener.onCompletion();
      } else {
        listener.onException(failure);
      }
    } catch (RuntimeException e) {
      LOGGER.log(System.Logger.Level.WARNING, "loadAll's completion listener " + listener
          + " threw", e);
    }
  }

  private static final CompletionListener NO_COMPLETION_LISTENER = new CompletionListener() {
    @Override
    public void onCompletion() {}

    @Override
    public void onException(Exception e) {
      LOGGER.log(System.Logger.Level.WARNING, "loadAll failed", e);
    }
  };

  /* ---------------- Writer ---------------- */

  private void writeThrough(K key, V value) {
    if (writer == null) {
      return;
    }
    try {
      writer.write(new JCacheEntry<>(key, value));
    } catch (RuntimeException e) {
      throw asWriterException(e);
    }
  }

  private void deleteThrough(K key) {
    if (writer == null) {
      return;
    }
    try {
      writer.delete(key);
    } catch (RuntimeException e) {
      throw asWriterException(e);
    }
  }

  private static CacheWriterException asWriterException(RuntimeException e) {
    return (e instanceof CacheWriterException) ? (CacheWriterException) e
        : new CacheWriterException("writer failed: " + e, e);
  }

  /* ---------------- Entry processors ---------------- */

  @Override
  public <T> T invoke(K key, EntryProcessor<K, V, T> entryProcessor, Object... arguments) {
    requireOpen();
    requireKey(key);
    Objects.requireNonNull(entryProcessor, "entryProcessor");
    Outcome<V> outcome = new Outcome<>();
    ProcessorEntry<K, V> entry = new ProcessorEntry<>(this, key);
    K storedKey = copyIn(key);
    expireFirst(storedKey);
    try {
      compute(storedKey, outcome, (k, found) -> {
        Expirable<V> current = live(found, now(), outcome);
        entry.start(current);
        T result;
        try {
          result = entryProcessor.process(entry, arguments);
        } catch (EntryProcessorException e) {
          throw e;
        } catch (RuntimeException e) {
          throw new EntryProcessorException(e);
        }
        outcome.result = result;
        Expirable<V> next = entry.commit(current, outcome);
        enqueue(key, outcome);
        return next;
      });
    } catch (CacheWriterException e) {
      throw new EntryProcessorException(e);
    } catch (CacheLoaderException e) {
      throw new EntryProcessorException(e);
    }
    // JSR-107 counts the lookup of the key itself, whatever the processor does with it.
    statistics.recordLookup(entry.existedBefore);
    finish(outcome);
    @SuppressWarnings("unchecked") // what the processor returned
    T result = (T) outcome.result;
    return result;
  }

  @Override
  public <T> Map<K, EntryProcessorResult<T>> invokeAll(Set<? extends K> keys,
      EntryProcessor<K, V, T> entryProcessor, Object... arguments) {
    requireOpen();
    requireKeys(keys);
    Objects.requireNonNull(entryProcessor, "entryProcessor");
    Map<K, EntryProcessorResult<T>> results = new LinkedHashMap<>();
    for (K key : keys) {
      try {
        T result = invoke(key, entryProcessor, arguments);
        if (result != null) {
          results.put(key, () -> result);
        }
      } catch (EntryProcessorException e) {
        results.put(key, () -> {
          throw e;
        });
      } catch (RuntimeException e) {
        EntryProcessorException wrapped = new EntryProcessorException(e);
        results.put(key, () -> {
          throw wrapped;
        });
      }
    }
    return results;
  }

  /**
   * The entry an entry processor works on: its reads and changes are applied to the store only
   * when the processor returns ({@link #commit}), as one write of the key (JSR-107 section 9.3).
   */
  private static final class ProcessorEntry<K, V>
      implements javax.cache.processor.MutableEntry<K, V> {
    private enum Change { NONE, LOADED, SET, REMOVED }

    private final JCache<K, V> cache;
    private final K key;
    private V value;
    private boolean exists;
    boolean existedBefore;
    private Change change = Change.NONE;
    private boolean read;
    private boolean active;

    ProcessorEntry(JCache<K, V> cache, K key) {
      this.cache = cache;
      this.key = key;
    }

    void start(Expirable<V> current) {
      active = true;
      existedBefore = (current != null);
      exists = existedBefore;
      value = existedBefore ? cache.copyOut(current.value) : null;
      change = Change.NONE;
      read = false;
    }

    private void requireActive() {
      if (!active) {
        throw new IllegalStateException("the entry is used after its processor returned");
      }
    }

    @Override
    public K getKey() {
      return key;
    }

    @Override
    public V getValue() {
      requireActive();
      read = true;
      if (!exists && (change == Change.NONE) && cache.configuration.isReadThrough()
          && (cache.loader != null)) {
        V loaded = cache.load(key);
        if (loaded != null) {
          value = loaded;
          exists = true;
          change = Change.LOADED;
        }
      }
      return exists ? value : null;
    }

    @Override
    public boolean exists() {
      requireActive();
      return exists;
    }

    @Override
    public void remove() {
      requireActive();
      // A removal goes to the writer even for an absent key (the writer's store may hold it);
      // removing what this processor itself created (set or loaded) undoes it: no change at all.
      boolean undoesCreation = !existedBefore && ((change == Change.SET)
          || (change == Change.LOADED));
      change = undoesCreation ? Change.NONE : Change.REMOVED;
      exists = false;
      value = null;
    }

    @Override
    public void setValue(V newValue) {
      requireActive();
      cache.requireValue(newValue);
      value = newValue;
      exists = true;
      change = Change.SET;
    }

    /**
     * Applies the processor's net change to the store, with the entry as it stands once the
     * processor has returned; returns the key's new Expirable.
     */
    Expirable<V> commit(Expirable<V> current, Outcome<V> outcome) {
      active = false;
      switch (change) {
        case NONE:
          return read ? cache.accessedInCompute(current, outcome)
              : live(current, cache.now(), outcome);
        case LOADED: {
          long now = cache.now();
          Expirable<V> still = live(current, now, outcome);
          return (still != null) ? still : cache.created(cache.copyIn(value), now, outcome);
        }
        case SET: {
          V stored = cache.copyIn(value); // before the writer: a value it cannot copy fails here
          cache.writeThrough(key, value);
          return cache.replacing(current, stored, outcome);
        }
        case REMOVED: {
          cache.deleteThrough(key);
          Expirable<V> still = live(current, cache.now(), outcome);
          if (still != null) {
            outcome.old = still;
            outcome.removed = true;
          }
          return null;
        }
        default:
          throw new AssertionError(change);
      }
    }

    @Override
    public <T> T unwrap(Class<T> clazz) {
      if (clazz.isInstance(this)) {
        return clazz.cast(this);
      }
      throw new IllegalArgumentException("cannot unwrap a mutable entry to " + clazz);
    }
  }

  /* ---------------- Iteration ---------------- */

  @Override
  public Iterator<Cache.Entry<K, V>> iterator() {
    requireOpen();
    Iterator<Map.Entry<K, Expirable<V>>> delegate = map.entrySet().iterator();
    return new Iterator<>() {
      private Cache.Entry<K, V> next;
      private K lastKey;

      @Override
      public boolean hasNext() {
        requireOpen();
        while ((next == null) && delegate.hasNext()) {
          Map.Entry<K, Expirable<V>> candidate = delegate.next();
          long now = now();
          Expirable<V> expirable = candidate.getValue();
          if (expirable.isExpired(now)) {
            continue;
          }
          statistics.recordHits(1);
          accessed(candidate.getKey(), expirable, now);
          next = new JCacheEntry<>(copyOut(candidate.getKey()), copyOut(expirable.value));
        }
        return next != null;
      }

      @Override
      public Cache.Entry<K, V> next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        Cache.Entry<K, V> result = next;
        next = null;
        lastKey = result.getKey();
        return result;
      }

      @Override
      public void remove() {
        requireOpen();
        if (lastKey == null) {
          throw new IllegalStateException("next() was not called, or remove() already was");
        }
        K key = lastKey;
        lastKey = null;
        JCache.this.remove(key);
      }
    };
  }

  /* ---------------- Listeners, configuration, life cycle ---------------- */

  @Override
  public void registerCacheEntryListener(
      CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    requireOpen();
    Objects.requireNonNull(listenerConfiguration, "listenerConfiguration");
    listenersLock.lock(); // the configuration's set of listeners is a plain HashSet
    try {
      for (CacheEntryListenerConfiguration<K, V> registered
          : configuration.getCacheEntryListenerConfigurations()) {
        if (registered.equals(listenerConfiguration)) {
          throw new IllegalArgumentException("a cache entry listener configuration equal to "
              + listenerConfiguration + " is already registered");
        }
      }
      dispatcher.register(listenerConfiguration); // first: a factory that throws leaves no trace
      configuration.addCacheEntryListenerConfiguration(listenerConfiguration);
    } finally {
      listenersLock.unlock();
    }
  }

  @Override
  public void deregisterCacheEntryListener(
      CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    requireOpen();
    Objects.requireNonNull(listenerConfiguration, "listenerConfiguration");
    listenersLock.lock(); // the configuration's set of listeners is a plain HashSet
    try {
      configuration.removeCacheEntryListenerConfiguration(listenerConfiguration);
      dispatcher.deregister(listenerConfiguration);
    } finally {
      listenersLock.unlock();
    }
  }

  @Override
  public <C extends Configuration<K, V>> C getConfiguration(Class<C> clazz) {
    Objects.requireNonNull(clazz, "clazz");
    ConfigurationSnapshot<K, V> snapshot;
    listenersLock.lock(); // a copy of the listeners' set, not while it changes
    try {
      snapshot = new ConfigurationSnapshot<>(configuration);
    } finally {
      listenersLock.unlock();
    }
    if (clazz.isInstance(snapshot)) {
      return clazz.cast(snapshot);
    }
    throw new IllegalArgumentException("the configuration is a " + configuration.getClass()
        .getName() + ", not a " + clazz.getName());
  }

  CompleteConfiguration<K, V> configuration() {
    return configuration;
  }

  JCacheStatistics statistics() {
    return statistics;
  }

  JCacheMXBean mxBean() {
    return mxBean;
  }

  void setStatisticsEnabled(boolean enabled) {
    configuration.setStatisticsEnabled(enabled);
    statistics.setEnabled(enabled);
  }

  void setManagementEnabled(boolean enabled) {
    configuration.setManagementEnabled(enabled);
  }

  @Override
  public String getName() {
    return name;
  }

  @Override
  public CacheManager getCacheManager() {
    return manager;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    manager.closed(this);
    EventDispatcher.closeQuietly(loader);
    EventDispatcher.closeQuietly(writer);
    EventDispatcher.closeQuietly(expiry);
    EventDispatcher.closeQuietly(copier);
    dispatcher.close();
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  /**
   * {@inheritDoc}
   *
   * <p>{@code unwrap(dev.hourglass.cache.Cache.class)} returns the Hourglass cache underneath, a
   * {@code Cache<K, Expirable<V>>}, for inspection: its {@code stats()} (with a spec's
   * {@code recordStats}), {@code estimatedSize()}, {@code policy()} (the bound, its eviction
   * order) and {@code cleanUp()}. A write through it skips the JCache writer, listeners, expiry
   * policy and statistics.
   */
  @Override
  public <T> T unwrap(Class<T> clazz) {
    Objects.requireNonNull(clazz, "clazz");
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    if (clazz.isInstance(store)) {
      return clazz.cast(store);
    }
    throw new IllegalArgumentException("cannot unwrap an Hourglass JCache to " + clazz.getName());
  }

  @Override
  public String toString() {
    return "JCache{" + name + ", " + manager.getURI() + "}";
  }

  /* ---------------- Checks and copies ---------------- */

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("cache " + name + " is closed");
    }
  }

  private void requireKey(K key) {
    if (key == null) {
      throw new NullPointerException("key");
    }
    Class<K> keyType = configuration.getKeyType();
    if ((keyType != Object.class) && !keyType.isInstance(key)) {
      throw new ClassCastException("key " + key + " is a " + key.getClass().getName()
          + ", not the cache's key type " + keyType.getName());
    }
  }

  private void requireKeys(Set<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    for (K key : keys) {
      requireKey(key);
    }
  }

  void requireValue(V value) {
    if (value == null) {
      throw new NullPointerException("value");
    }
    requireValueType(value);
  }

  private void requireValueType(V value) {
    Class<V> valueType = configuration.getValueType();
    if ((valueType != Object.class) && !valueType.isInstance(value)) {
      throw new ClassCastException("value " + value + " is a " + value.getClass().getName()
          + ", not the cache's value type " + valueType.getName());
    }
  }

  <T> T copyIn(T object) {
    return copier.copy(object, manager.getClassLoader());
  }

  <T> T copyOut(T object) {
    return copier.copy(object, manager.getClassLoader());
  }
}
