package dev.hourglass.cache.internal;

import dev.hourglass.cache.CacheLoader;
import dev.hourglass.cache.CacheStats;
import dev.hourglass.cache.Expiry;
import dev.hourglass.cache.LoadingCache;
import dev.hourglass.cache.RemovalCause;
import dev.hourglass.cache.RemovalListener;
import dev.hourglass.cache.Scheduler;
import dev.hourglass.cache.Ticker;
import dev.hourglass.cache.Weigher;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The Hourglass cache: a lock-striped hash table with a global size bound, three kinds of
 * expiration and single-flight loading.
 *
 * <h2>Stripes</h2>
 * The table is split into a power of two of {@link Stripe}s, chosen by the high bits of the
 * scrambled key hash; the low bits choose the bin inside the stripe. Each stripe has its own lock
 * ({@link java.util.concurrent.locks.ReentrantLock}, never an intrinsic monitor, so virtual threads
 * are not pinned), its own bins, its own eviction order, its own expiration structures and its own
 * lossy read buffer. Invariants, under the stripe lock: a node is in the table iff it is not
 * {@link Node#RETIRED}; a node in the table is in the policy order iff a policy exists; it is in the
 * write-order queue iff the cache has a fixed time to live and the node has no per-entry deadline,
 * and in the timer wheel iff it has a per-entry deadline; {@code count} and {@code weightedSize}
 * are the sums over the table.
 *
 * <h2>Read path</h2>
 * {@code getIfPresent} hashes, walks the stripe's chain without a lock (see {@link Stripe}),
 * reads the value and, only if the entry can expire, the ticker. On a hit it performs no
 * compare-and-set on a shared counter and allocates nothing: a cache with a policy offers the node
 * to the stripe's bounded read buffer ({@code failFastOffer}: one attempt, dropped under contention
 * or when full). A full buffer makes the reader try the stripe lock ({@code tryLock}, never
 * waiting) and apply the buffered reads. An expired entry is reported absent at once.
 *
 * <h2>Write path</h2>
 * A write computes everything that calls user code first (weigher, expiry), then locks one stripe,
 * changes the table, the policy and the expiration structures, does the stripe's pending
 * maintenance (buffered reads, expired entries) and unlocks. Only then does it evict down to the
 * global bound and hand removal notifications to the executor.
 *
 * <h2>Eviction</h2>
 * The bound is global: one {@link AtomicLong} holds the total weight. A write that leaves it over
 * the maximum evicts, after releasing its own lock, from the stripe whose least recent entry is the
 * oldest (see {@link LruPolicy}), one stripe lock at a time, until the total fits. Skewed keys
 * therefore never leave the cache under-filled, as per-stripe quotas would. An entry heavier than
 * the whole bound is evicted at once.
 *
 * <h2>Expiration</h2>
 * Readers compare a node's deadline with the ticker, so an expired entry is never returned. Memory
 * is reclaimed in O(1) amortized per entry: a fixed time to live keeps a write-order queue (deadline
 * order), idle time uses the access order, and per-entry deadlines use a {@link TimerWheel}. The
 * stripe maintenance expires from these on every write; a {@link Scheduler} task (by default the
 * shared {@code hourglass-cleaner} daemon) does so every second even when nobody touches the cache,
 * so expired entries leave memory within about a second and their listeners hear
 * {@link RemovalCause#EXPIRED}.
 *
 * <h2>Loading and computing</h2>
 * No user function runs under a stripe lock. Per-key atomicity comes from a {@link Flight}
 * registered in the stripe under its lock: the function then runs unlocked, and every other writer
 * of that key (put, remove, compute, load) finds the flight and waits on it, while readers keep
 * seeing the previous value and writers of other keys, even in the same stripe, proceed. A load's
 * waiters share its value or exception. A flight that its own thread waits on means recursion and
 * fails fast with {@link IllegalStateException}.
 *
 * <h2>Time</h2>
 * Deadlines are ticker readings; durations are capped at {@link #MAX_DURATION_NANOS} (about 146
 * years) so that {@code now + duration} cannot overflow, and deadlines are compared by difference,
 * so wrap-around and a ticker that goes backwards break nothing.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
public final class StripedCache<K, V> implements LoadingCache<K, V> {
  static final System.Logger LOGGER = System.getLogger(StripedCache.class.getName());

  /** Longest duration honoured; longer ones are "never" in practice and would overflow. */
  static final long MAX_DURATION_NANOS = Long.MAX_VALUE >> 1;
  /** Period of the scheduled clean-up. */
  static final Duration CLEANUP_PERIOD = Duration.ofSeconds(1);
  static final int READ_BUFFER_SIZE = 64;
  static final int MAX_STRIPES = 1 << 16;

  final Stripe<K, V>[] stripes;
  private final int stripeMask;

  final long maximum;
  private final Weigher<? super K, ? super V> weigher;
  final long expireAfterWriteNanos;
  final long expireAfterAccessNanos;
  private final long accessToleranceNanos;
  private final Expiry<? super K, ? super V> expiry;
  private final Ticker ticker;
  private final Executor executor;
  private final Scheduler scheduler;
  private final RemovalListener<? super K, ? super V> listener;
  private final StatsCounter stats;
  private final CacheLoader<? super K, V> loader;
  private final boolean bulkLoader;

  /** Total weight of all stripes; only maintained when bounded. */
  private final AtomicLong totalWeight = new AtomicLong();
  /** The highest recency stamp a stripe has published (see nextStamp); only used when bounded. */
  private final AtomicInteger clock = new AtomicInteger();
  /** Where victim sampling starts; a racy rotating hint. */
  private int victimCursor;
  private final AtomicBoolean cleanerStarted = new AtomicBoolean();
  private volatile Future<?> cleanerFuture;

  private MapView<K, V> mapView;

  /**
   * Creates a cache from validated settings.
   *
   * @param spec the settings
   */
  @SuppressWarnings("unchecked")
  public StripedCache(CacheSpec<K, V> spec) {
    this.maximum = spec.maximum();
    this.weigher = spec.weigher();
    this.expireAfterWriteNanos = Math.min(spec.expireAfterWriteNanos(), MAX_DURATION_NANOS);
    this.expireAfterAccessNanos = Math.min(spec.expireAfterAccessNanos(), MAX_DURATION_NANOS);
    this.accessToleranceNanos = Math.min(1_000_000L, Math.max(0, expireAfterAccessNanos) >> 6);
    this.expiry = spec.expiry();
    this.ticker = spec.ticker();
    this.executor = spec.executor();
    this.scheduler = spec.scheduler();
    this.listener = spec.removalListener();
    this.stats = spec.recordStats() ? new StatsCounter() : null;
    this.loader = spec.loader();
    this.bulkLoader = (loader != null) && overridesLoadAll(loader);

    int stripeCount = 1;
    while ((stripeCount < spec.concurrencyLevel()) && (stripeCount < MAX_STRIPES)) {
      stripeCount <<= 1;
    }
    this.stripes = (Stripe<K, V>[]) new Stripe<?, ?>[stripeCount];
    this.stripeMask = stripeCount - 1;
    long perStripe = (spec.initialCapacity() / stripeCount) + 1;
    int tableLength = 4;
    while ((tableLength < (1 << 30)) && (tableLength - (tableLength >>> 2) < perStripe)) {
      tableLength <<= 1;
    }
    boolean needsPolicy = (maximum >= 0) || (expireAfterAccessNanos >= 0);
    boolean needsBuffer = needsPolicy || (expiry != null);
    for (int i = 0; i < stripeCount; i++) {
      stripes[i] = new Stripe<>(tableLength, needsPolicy, expireAfterWriteNanos >= 0,
          needsBuffer ? READ_BUFFER_SIZE : 0);
    }
    if ((expireAfterWriteNanos >= 0) || (expireAfterAccessNanos >= 0) || (expiry != null)) {
      startCleaner();
    }
  }

  private static boolean overridesLoadAll(CacheLoader<?, ?> loader) {
    try {
      return loader.getClass().getMethod("loadAll", Set.class).getDeclaringClass()
          != CacheLoader.class;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  /* ---------------- Hashing ---------------- */

  /**
   * Mixes the high bits into the low (bin) bits and clears the sign bit: a negative hash marks a
   * tree bin (see {@link TreeBin#TREE_HASH}).
   */
  static int spread(int h) {
    return (h ^ (h >>> 16)) & 0x7fff_ffff;
  }

  Stripe<K, V> stripeFor(int hash) {
    // Fibonacci hashing takes the stripe from well-mixed high bits, independent of the bin bits.
    return stripes[((hash * 0x9E3779B9) >>> 16) & stripeMask];
  }

  private boolean timed() {
    return (expireAfterWriteNanos >= 0) || (expireAfterAccessNanos >= 0) || (expiry != null)
        || cleanerStarted.get();
  }

  /* ---------------- Read path ---------------- */

  @Override
  public V getIfPresent(K key) {
    Objects.requireNonNull(key, "key");
    V value = read(key, true);
    if (stats != null) {
      if (value == null) {
        stats.recordMisses(1);
      } else {
        stats.recordHits(1);
      }
    }
    return value;
  }

  /** Lock-free lookup; records the access for the policy when {@code recordAccess}. */
  V read(Object key, boolean recordAccess) {
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    Node<K, V> node = stripe.find(key, hash);
    return (node == null) ? null : readValue(stripe, node, recordAccess);
  }

  private V readValue(Stripe<K, V> stripe, Node<K, V> node, boolean recordAccess) {
    // Deadline first, then value (both acquire): writers store them in the opposite order, so an
    // old value is never seen with a newer deadline (ConcurrencyTest.expiredValue_neverReturned_*).
    long deadline = node.expiresAtNanos;
    V value = node.value; // null once removed
    if (value == null) {
      return null;
    }
    if (deadline != Node.NEVER) {
      long now = ticker.read();
      if (now - deadline >= 0) {
        tryCleanUp(stripe, now);
        return null;
      }
      if (recordAccess && extendOnRead(node, value, deadline, now)) {
        offerRead(stripe, node); // the wheel must learn the new deadline
        return value;
      }
    }
    if (recordAccess && (stripe.readBuffer != null)
        && ((stripe.policy == null) || stripe.policy.worthRecording(node, stripe.count))) {
      offerRead(stripe, node);
    }
    return value;
  }

  private void offerRead(Stripe<K, V> stripe, Node<K, V> node) {
    if (stripe.readBuffer != null) {
      // One attempt: 0 = buffered, -1 = lost a race (dropped), 1 = full (apply the buffer).
      if (stripe.readBuffer.failFastOffer(node) == 1) {
        tryCleanUp(stripe, timed() ? ticker.read() : 0);
      }
    }
  }

  /** Moves a deadline for a read; returns whether a per-entry (wheel) deadline changed. */
  private boolean extendOnRead(Node<K, V> node, V value, long deadline, long now) {
    if ((expireAfterAccessNanos >= 0) && !node.has(Node.CUSTOM_TTL)) {
      long next = deadlineOf(now, expireAfterAccessNanos);
      if (next - deadline > accessToleranceNanos) {
        node.casExpiresAt(deadline, next); // loses to a concurrent write, which set its own
      }
    } else if ((expiry != null) && !node.has(Node.CUSTOM_TTL)) {
      long duration = expiry.expireAfterRead(node.key, value, now, deadline - now);
      long next = deadlineOf(now, duration);
      if (next != deadline) {
        return node.casExpiresAt(deadline, next); // the buffered read reschedules it
      }
    }
    return false;
  }

  @Override
  public Map<K, V> getAllPresent(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    Map<K, V> result = new LinkedHashMap<>();
    int hits = 0;
    int misses = 0;
    for (K key : keys) {
      Objects.requireNonNull(key, "key");
      V value = read(key, true);
      if (value == null) {
        misses++;
      } else {
        result.put(key, value);
        hits++;
      }
    }
    if (stats != null) {
      stats.recordHits(hits);
      stats.recordMisses(misses);
    }
    return Collections.unmodifiableMap(result);
  }

  /* ---------------- Write path ---------------- */

  @Override
  public void put(K key, V value) {
    put(key, value, -1, false);
  }

  @Override
  public void put(K key, V value, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative()) {
      throw new IllegalArgumentException("ttl must not be negative: " + ttl);
    }
    startCleaner();
    put(key, value, Math.min(Expiry.toNanosSaturated(ttl), MAX_DURATION_NANOS), false);
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> map) {
    Objects.requireNonNull(map, "map");
    for (Map.Entry<? extends K, ? extends V> e : map.entrySet()) {
      Objects.requireNonNull(e.getKey(), "key");
      Objects.requireNonNull(e.getValue(), "value");
    }
    map.forEach(this::put);
  }

  /**
   * Stores a value; returns the previous live value (or, with {@code onlyIfAbsent}, the present
   * value that was kept).
   *
   * @param ttlNanos a per-entry time to live, or negative to follow the cache's policy
   */
  V put(K key, V value, long ttlNanos, boolean onlyIfAbsent) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    if (onlyIfAbsent) {
      // A present value is read, as by get: lock-free, and an access for the policy and for
      // expireAfterAccess. Only an absent one goes on to the locked write below.
      V present = read(key, true);
      if (present != null) {
        return present;
      }
    }
    long weight = weigh(key, value);
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    boolean needsTime = (ttlNanos >= 0) || timed();
    Removals<K, V> removals = newRemovals();
    for (;;) {
      long now = needsTime ? ticker.read() : 0;
      // Run the expiry outside the lock on what we see now; re-validated under the lock.
      Node<K, V> seen = null;
      V seenValue = null;
      if ((expiry != null) && (ttlNanos < 0)) {
        seen = stripe.find(key, hash);
        seenValue = (seen == null) ? null : seen.value;
        if ((seenValue != null) && Node.isExpired(seen.expiresAtNanos, now)) {
          seenValue = null;
        }
      }
      long deadline = writeDeadline(key, value, seen, seenValue, now, ttlNanos);
      Flight flight;
      V previous = null;
      boolean retry = false;
      stripe.lockForWrite(); // guards the table, policy and expiry structures of this stripe
      try {
        flight = stripe.flight(key);
        if (flight == null) {
          Node<K, V> node = stripe.findLocked(key, hash);
          V current = (node == null) ? null : node.value;
          boolean live = (current != null) && !Node.isExpired(node.expiresAtNanos, now);
          if ((expiry != null) && (ttlNanos < 0)
              && ((node != seen) || (live != (seenValue != null)))) {
            retry = true; // the entry appeared or vanished since the expiry ran: run it again
          } else if (onlyIfAbsent && live) {
            previous = current;
          } else {
            if (node == null) {
              node = new Node<>(key, hash, value, null);
              node.weight = weight;
              node.initExpiresAt(deadline);
              node.set(Node.CUSTOM_TTL, ttlNanos >= 0);
              addNode(stripe, node, now, removals);
            } else {
              previous = live ? current : null;
              updateNode(stripe, node, value, weight, deadline, ttlNanos >= 0, now,
                  live ? RemovalCause.REPLACED : RemovalCause.EXPIRED, removals);
            }
            evictIfHeavier(stripe, node, removals);
          }
          maintain(stripe, now, removals);
        }
      } finally {
        stripe.unlock();
      }
      if (retry) {
        continue;
      }
      if (flight != null) {
        flight.await(); // another caller is loading or computing this key: wait, then write
        continue;
      }
      afterWrite(removals);
      return previous;
    }
  }

  private long writeDeadline(K key, V value, Node<K, V> seen, V seenValue, long now, long ttlNanos) {
    if (ttlNanos >= 0) {
      return deadlineOf(now, ttlNanos);
    } else if (expireAfterWriteNanos >= 0) {
      return deadlineOf(now, expireAfterWriteNanos);
    } else if (expireAfterAccessNanos >= 0) {
      return deadlineOf(now, expireAfterAccessNanos);
    } else if (expiry != null) {
      long duration = (seenValue == null)
          ? expiry.expireAfterCreate(key, value, now)
          : expiry.expireAfterUpdate(key, value, now, seen.expiresAtNanos - now);
      return deadlineOf(now, duration);
    }
    return Node.NEVER;
  }

  static long deadlineOf(long now, long durationNanos) {
    long duration = Math.min(Math.max(durationNanos, 0), MAX_DURATION_NANOS);
    long deadline = now + duration;
    return (deadline == Node.NEVER) ? deadline + 1 : deadline;
  }

  private long weigh(K key, V value) {
    if (weigher == null) {
      return 1;
    }
    long weight = weigher.weigh(key, value);
    if (weight < 0) {
      throw new IllegalArgumentException("weigher returned a negative weight: " + weight
          + " for key " + key);
    }
    return weight;
  }

  /**
   * Adds a new node to the table, the policy and its expiry structure. Under the lock. A node whose
   * deadline has already passed is not stored at all: it is reported expired at once.
   */
  private void addNode(Stripe<K, V> stripe, Node<K, V> node, long now, Removals<K, V> removals) {
    if (Node.isExpired(node.expiresAtNanos, now)) {
      node.set(Node.RETIRED, true);
      if (stats != null) {
        stats.recordEviction(node.weight);
      }
      removals.add(node.key, node.value, RemovalCause.EXPIRED);
      return;
    }
    stripe.insert(node);
    if (stripe.policy != null) {
      stripe.policy.onInsert(node, nextStamp(stripe), stripe.counters, stripe.count);
    }
    placeInTime(stripe, node, now);
    stripe.counters.weightedSize += node.weight;
    if (maximum >= 0) {
      totalWeight.getAndAdd(node.weight); // atomic: other stripes add concurrently
    }
  }

  /**
   * The next recency stamp for a node of {@code stripe}. Under the stripe lock.
   *
   * <p>Each stripe counts its own writes and buffered reads; the cache-wide {@code clock} is the
   * highest count any stripe has published. A stripe that falls behind catches up to it, and a
   * stripe publishes its count every 64 stamps, so stamps of different stripes stay comparable
   * (to within those 64) without a shared write on every operation: the clock's cache line is
   * mostly read. The publication is an opaque store, not a CAS: losing a racing publication only
   * delays the clock a little.
   */
  private int nextStamp(Stripe<K, V> stripe) {
    if (maximum < 0) {
      return 0;
    }
    int global = clock.getOpaque();
    int stamp = (int) stripe.counters.stampClock + 1;
    if (stamp - global < 0) {
      stamp = global;
    }
    stripe.counters.stampClock = stamp;
    if (((stamp & 63) == 0) && (stamp - global > 0)) {
      clock.setOpaque(stamp);
    }
    return stamp;
  }

  /** Gives a node in the table a new value. Under the lock. */
  private void updateNode(Stripe<K, V> stripe, Node<K, V> node, V value, long weight,
      long deadline, boolean customTtl, long now, RemovalCause cause, Removals<K, V> removals) {
    if (Node.isExpired(deadline, now)) {
      // Dead on arrival. Never store it in place: a reader could pair it with the old, live
      // deadline (see readValue). The entry goes, the old value as replaced, the new as expired.
      V old = node.value;
      removeNode(stripe, node, (old == value) ? RemovalCause.EXPIRED : cause, removals);
      if (old != value) {
        if (stats != null) {
          stats.recordEviction(weight);
        }
        removals.add(node.key, value, RemovalCause.EXPIRED);
      }
      return;
    }
    V old = node.value;
    long delta = weight - node.weight;
    node.weight = weight;
    node.set(Node.CUSTOM_TTL, customTtl);
    // Value, then deadline; readers load them in the opposite order (see readValue).
    node.setValueRelease(value);
    if (node.expiresAtNanos != deadline) {
      node.setExpiresAtRelease(deadline);
    }
    if (stripe.policy != null) {
      stripe.policy.onAccess(node, nextStamp(stripe), stripe.counters, stripe.count);
    }
    placeInTime(stripe, node, now);
    stripe.counters.weightedSize += delta;
    if ((maximum >= 0) && (delta != 0)) {
      totalWeight.getAndAdd(delta); // atomic: other stripes add concurrently
    }
    if ((old != value) || (cause != RemovalCause.REPLACED)) {
      if (cause.wasEvicted() && (stats != null)) {
        stats.recordEviction(weight - delta);
      }
      removals.add(node.key, old, cause);
    }
  }

  /** Puts a node in the expiry structure its deadline calls for. Under the lock. */
  private void placeInTime(Stripe<K, V> stripe, Node<K, V> node, long now) {
    boolean perEntry = (node.expiresAtNanos != Node.NEVER)
        && ((expiry != null) || node.has(Node.CUSTOM_TTL));
    if (perEntry) {
      if (node.has(Node.IN_WRITE_QUEUE)) {
        stripe.writeOrder.unlink(node);
      }
      stripe.wheel(now).reschedule(node);
    } else {
      if (node.wheelSlot >= 0) {
        stripe.wheel.remove(node);
      }
      if (stripe.writeOrder != null) {
        if (node.has(Node.IN_WRITE_QUEUE)) {
          stripe.writeOrder.moveToLast(node);
        } else {
          stripe.writeOrder.addLast(node);
        }
      }
    }
  }

  /** Removes a node from every structure and queues its notification. Under the lock. */
  void removeNode(Stripe<K, V> stripe, Node<K, V> node, RemovalCause cause,
      Removals<K, V> removals) {
    V old = node.value;
    node.setValueRelease(null); // readers holding the node now see a miss
    node.set(Node.RETIRED, true);
    stripe.unlink(node);
    if (stripe.policy != null) {
      stripe.policy.onRemove(node);
    }
    if (node.has(Node.IN_WRITE_QUEUE)) {
      stripe.writeOrder.unlink(node);
    } else if (node.wheelSlot >= 0) {
      stripe.wheel.remove(node);
    }
    stripe.counters.weightedSize -= node.weight;
    if (maximum >= 0) {
      totalWeight.getAndAdd(-node.weight); // atomic: other stripes add concurrently
    }
    if (cause.wasEvicted() && (stats != null)) {
      stats.recordEviction(node.weight);
    }
    removals.add(node.key, old, cause);
  }

  private void evictIfHeavier(Stripe<K, V> stripe, Node<K, V> node, Removals<K, V> removals) {
    if ((maximum >= 0) && (node.weight > maximum) && !node.has(Node.RETIRED)) {
      removeNode(stripe, node, RemovalCause.SIZE, removals);
    }
  }

  /** After a write released its lock: evict to the bound, then notify. */
  void afterWrite(Removals<K, V> removals) {
    if (maximum >= 0) {
      evictToBound(removals);
    }
    deliver(removals);
  }

  /* ---------------- Removal ---------------- */

  @Override
  public void invalidate(K key) {
    remove(key, null, false);
  }

  @Override
  public void invalidateAll(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    List<K> list = new ArrayList<>();
    for (K key : keys) {
      list.add(Objects.requireNonNull(key, "key"));
    }
    for (K key : list) {
      remove(key, null, false);
    }
  }

  @Override
  public void invalidateAll() {
    long now = timed() ? ticker.read() : 0;
    for (Stripe<K, V> stripe : stripes) {
      Removals<K, V> removals = newRemovals();
      stripe.lock(); // guards the stripe while it is emptied
      try {
        drainReadBuffer(stripe);
        int count = stripe.count;
        for (Node<K, V> node : Stripe.nodesOf(stripe.clearTable(), count)) {
          V old = node.value;
          node.setValueRelease(null); // readers holding the node see a miss
          node.set(Node.RETIRED, true);
          if (maximum >= 0) {
            totalWeight.getAndAdd(-node.weight); // atomic: other stripes add concurrently
          }
          boolean expired = Node.isExpired(node.expiresAtNanos, now);
          if (expired && (stats != null)) {
            stats.recordEviction(node.weight);
          }
          removals.add(node.key, old, expired ? RemovalCause.EXPIRED : RemovalCause.EXPLICIT);
        }
        stripe.counters.weightedSize = 0;
        if (stripe.policy != null) {
          stripe.policy.clear();
        }
        if (stripe.writeOrder != null) {
          stripe.writeOrder.clear();
        }
        if (stripe.wheel != null) {
          stripe.wheel.clear();
        }
      } finally {
        stripe.unlock();
      }
      deliver(removals);
    }
  }

  /**
   * Removes {@code key}, if mapped (to a value identical to {@code expected}, when given).
   *
   * @return the removed value, or null
   */
  V remove(Object key, V expected, boolean matchValue) {
    Objects.requireNonNull(key, "key");
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    Removals<K, V> removals = newRemovals();
    for (;;) {
      long now = timed() ? ticker.read() : 0;
      Flight flight;
      V removed = null;
      stripe.lockForWrite(); // guards the table, policy and expiry structures of this stripe
      try {
        flight = stripe.flight(key);
        if (flight == null) {
          Node<K, V> node = stripe.findLocked(key, hash);
          if (node != null) {
            V current = node.value;
            if (Node.isExpired(node.expiresAtNanos, now)) {
              removeNode(stripe, node, RemovalCause.EXPIRED, removals);
            } else if (!matchValue || (current == expected)) {
              removeNode(stripe, node, RemovalCause.EXPLICIT, removals);
              removed = current;
            }
          }
          maintain(stripe, now, removals);
        }
      } finally {
        stripe.unlock();
      }
      if (flight != null) {
        flight.await(); // the key is being loaded or computed: remove what that leaves
        continue;
      }
      deliver(removals);
      return removed;
    }
  }

  /**
   * Replaces the value of a present {@code key} (only if it is identical to {@code expected}, when
   * given).
   *
   * @return the replaced value, or null if nothing was replaced
   */
  V replace(K key, V expected, V value, boolean matchValue) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    long weight = weigh(key, value);
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    Removals<K, V> removals = newRemovals();
    for (;;) {
      long now = timed() ? ticker.read() : 0;
      Node<K, V> seen = stripe.find(key, hash);
      V seenValue = (seen == null) ? null : seen.value;
      if ((seenValue == null) || Node.isExpired(seen.expiresAtNanos, now)
          || (matchValue && (seenValue != expected))) {
        return null;
      }
      long deadline = writeDeadline(key, value, seen, seenValue, now, -1);
      Flight flight;
      V replaced = null;
      boolean retry = false;
      stripe.lockForWrite(); // guards the table, policy and expiry structures of this stripe
      try {
        flight = stripe.flight(key);
        if (flight == null) {
          Node<K, V> node = stripe.findLocked(key, hash);
          if (node != seen) {
            retry = true;
          } else {
            V current = node.value;
            if ((current != null) && !Node.isExpired(node.expiresAtNanos, now)
                && (!matchValue || (current == expected))) {
              updateNode(stripe, node, value, weight, deadline, false, now,
                  RemovalCause.REPLACED, removals);
              evictIfHeavier(stripe, node, removals);
              replaced = current;
            }
          }
          maintain(stripe, now, removals);
        }
      } finally {
        stripe.unlock();
      }
      if (retry) {
        continue;
      }
      if (flight != null) {
        flight.await();
        continue;
      }
      afterWrite(removals);
      return replaced;
    }
  }

  /* ---------------- Loading and computing ---------------- */

  @Override
  public V get(K key, Function<? super K, ? extends V> mappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return computeIfAbsent(key, mappingFunction, true);
  }

  @Override
  public V get(K key) {
    Objects.requireNonNull(key, "key");
    return computeIfAbsent(key, this::loadOne, true);
  }

  private V loadOne(K key) {
    try {
      return loader.load(key);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CompletionException(e);
    } catch (Exception e) {
      throw new CompletionException(e);
    }
  }

  /** Returns the present value, or loads it single-flight. */
  V computeIfAbsent(K key, Function<? super K, ? extends V> function, boolean recordStats) {
    V present = read(key, true);
    if (present != null) {
      recordHit(recordStats);
      return present;
    }
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    for (;;) {
      long now = timed() ? ticker.read() : 0;
      Removals<K, V> removals = newRemovals();
      Flight flight;
      Flight mine = null;
      V found = null;
      stripe.lockForWrite(); // guards the table and the in-flight markers of this stripe
      try {
        flight = stripe.flight(key);
        if (flight == null) {
          Node<K, V> node = liveNode(stripe, key, hash, now, removals);
          if (node != null) {
            found = node.value;
          } else {
            mine = new Flight(key, true);
            stripe.addFlight(mine);
          }
        }
      } finally {
        stripe.unlock();
      }
      deliver(removals);
      if (found != null) {
        recordHit(recordStats);
        return found;
      }
      if (flight != null) {
        flight.await();
        if (flight.isLoad) {
          recordHit(recordStats); // shares the load that was already running
          @SuppressWarnings("unchecked")
          V shared = (V) flight.result();
          return shared;
        }
        continue; // a compute landed: look again
      }
      if (recordStats && (stats != null)) {
        stats.recordMisses(1);
      }
      return runFlight(stripe, key, hash, mine, null, (k, unused) -> function.apply(k),
          ComputeKind.IF_ABSENT, recordStats);
    }
  }

  private void recordHit(boolean recordStats) {
    if (recordStats && (stats != null)) {
      stats.recordHits(1);
    }
  }

  /** The node of {@code key} if present and unexpired; an expired one is removed. Under the lock. */
  private Node<K, V> liveNode(Stripe<K, V> stripe, Object key, int hash, long now,
      Removals<K, V> removals) {
    Node<K, V> node = stripe.findLocked(key, hash);
    if ((node != null) && Node.isExpired(node.expiresAtNanos, now)) {
      removeNode(stripe, node, RemovalCause.EXPIRED, removals);
      return null;
    }
    return node;
  }

  enum ComputeKind { IF_ABSENT, IF_PRESENT, COMPUTE }

  /**
   * Atomically computes a new mapping for {@code key} with {@code function} run outside the lock.
   * Serves {@code compute}, {@code computeIfPresent} and {@code merge}.
   */
  V compute(K key, BiFunction<? super K, ? super V, ? extends V> function, ComputeKind kind) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(function, "remappingFunction");
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    for (;;) {
      long now = timed() ? ticker.read() : 0;
      Removals<K, V> removals = newRemovals();
      Flight flight;
      Flight mine = null;
      V old = null;
      stripe.lockForWrite(); // guards the table and the in-flight markers of this stripe
      try {
        flight = stripe.flight(key);
        if (flight == null) {
          Node<K, V> node = liveNode(stripe, key, hash, now, removals);
          old = (node == null) ? null : node.value;
          if ((kind != ComputeKind.IF_PRESENT) || (old != null)) {
            mine = new Flight(key, false);
            stripe.addFlight(mine);
          }
        }
      } finally {
        stripe.unlock();
      }
      deliver(removals);
      if (flight != null) {
        flight.await(); // per-key atomicity: wait for the running computation, then retry
        continue;
      }
      if (mine == null) {
        return null; // computeIfPresent on an absent key
      }
      return runFlight(stripe, key, hash, mine, old, function, kind, false);
    }
  }

  /**
   * Runs a registered flight's function outside the lock, then installs its result and lands the
   * flight. Every exit removes the flight, so waiters never hang.
   */
  private V runFlight(Stripe<K, V> stripe, K key, int hash, Flight flight, V old,
      BiFunction<? super K, ? super V, ? extends V> function, ComputeKind kind,
      boolean recordStats) {
    long start = (recordStats && (stats != null)) ? ticker.read() : 0;
    V value;
    long weight;
    try {
      value = function.apply(key, old);
      weight = (value == null) ? 0 : weigh(key, value);
    } catch (Throwable t) {
      if (recordStats && (stats != null)) {
        stats.recordLoadFailure(ticker.read() - start);
      }
      stripe.lock(); // guards the in-flight markers
      try {
        stripe.removeFlight(flight);
      } finally {
        stripe.unlock();
      }
      flight.fail(t);
      throw t;
    }
    if (recordStats && (stats != null)) {
      long elapsed = ticker.read() - start;
      if (value == null) {
        stats.recordLoadFailure(elapsed);
      } else {
        stats.recordLoadSuccess(elapsed);
      }
    }
    Removals<K, V> removals = newRemovals();
    try {
      install(stripe, key, hash, flight, old, value, weight, removals);
    } catch (Throwable t) { // an Expiry or a key's equals threw: nothing was installed
      abandon(flight, t);
      throw t;
    }
    flight.complete(value);
    afterWrite(removals);
    return value;
  }

  /** Installs a flight's result and unregisters the flight. The expiry runs before locking. */
  private void install(Stripe<K, V> stripe, K key, int hash, Flight flight, V old, V value,
      long weight, Removals<K, V> removals) {
    long now = timed() ? ticker.read() : 0;
    long deadline = Node.NEVER;
    if (value != null) {
      if (expiry != null) {
        // Writers of this key wait on our flight, so old is still the entry's value (unless the
        // cache evicted it meanwhile; then the update counts as a create).
        long duration;
        if (old == null) {
          duration = expiry.expireAfterCreate(key, value, now);
        } else {
          Node<K, V> seen = stripe.find(key, hash);
          long remaining = (seen == null) ? 0 : seen.expiresAtNanos - now;
          duration = expiry.expireAfterUpdate(key, value, now, remaining);
        }
        deadline = deadlineOf(now, duration);
      } else {
        deadline = writeDeadline(key, value, null, null, now, -1);
      }
    }
    stripe.lockForWrite(); // guards the table, policy, expiry structures and in-flight markers
    try {
      stripe.removeFlight(flight);
      Node<K, V> node = liveNode(stripe, key, hash, now, removals);
      if (value == null) {
        if (node != null) {
          removeNode(stripe, node, RemovalCause.EXPLICIT, removals);
        }
      } else if (node == null) {
        node = new Node<>(key, hash, value, null);
        node.weight = weight;
        node.initExpiresAt(deadline);
        addNode(stripe, node, now, removals);
        evictIfHeavier(stripe, node, removals);
      } else {
        updateNode(stripe, node, value, weight, deadline, false, now, RemovalCause.REPLACED,
            removals);
        evictIfHeavier(stripe, node, removals);
      }
      maintain(stripe, now, removals);
    } finally {
      stripe.unlock();
    }
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> mappingFunction) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return loadAll(keys, mappingFunction);
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    if (!bulkLoader) {
      Set<K> unique = new LinkedHashSet<>();
      for (K key : keys) {
        unique.add(Objects.requireNonNull(key, "key"));
      }
      Map<K, V> result = new LinkedHashMap<>();
      for (K key : unique) {
        V value = get(key);
        if (value != null) {
          result.put(key, value);
        }
      }
      return Collections.unmodifiableMap(result);
    }
    return loadAll(keys, this::bulkLoad);
  }

  @SuppressWarnings("unchecked") // the loader's keys are the requested K's, or K's it adds
  private Map<? extends K, ? extends V> bulkLoad(Set<? extends K> keys) {
    try {
      return (Map<? extends K, ? extends V>) (Map<?, ?>) loader.loadAll(keys);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CompletionException(e);
    } catch (Exception e) {
      throw new CompletionException(e);
    }
  }

  private Map<K, V> loadAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> function) {
    Set<K> unique = new LinkedHashSet<>();
    for (K key : keys) {
      unique.add(Objects.requireNonNull(key, "key"));
    }
    Map<K, V> found = new LinkedHashMap<>();
    Map<K, Flight> mine = new LinkedHashMap<>();
    Map<K, Flight> others = new LinkedHashMap<>();
    long now = timed() ? ticker.read() : 0;
    for (K key : unique) {
      V value = read(key, true);
      if (value != null) {
        found.put(key, value);
        continue;
      }
      int hash = spread(key.hashCode());
      Stripe<K, V> stripe = stripeFor(hash);
      Removals<K, V> removals = newRemovals();
      stripe.lockForWrite(); // guards the table and the in-flight markers of this stripe
      try {
        Node<K, V> node = liveNode(stripe, key, hash, now, removals);
        Flight flight = stripe.flight(key);
        if (node != null) {
          found.put(key, node.value);
        } else if (flight != null) {
          others.put(key, flight);
        } else {
          Flight registered = new Flight(key, true);
          stripe.addFlight(registered);
          mine.put(key, registered);
        }
      } finally {
        stripe.unlock();
      }
      deliver(removals);
    }
    if (stats != null) {
      stats.recordHits(found.size() + others.size());
      stats.recordMisses(mine.size());
    }
    if (!mine.isEmpty()) {
      runBulkFlights(mine, function, found);
    }
    for (Map.Entry<K, Flight> e : others.entrySet()) {
      Flight flight = e.getValue();
      flight.await();
      @SuppressWarnings("unchecked")
      V value = flight.isLoad ? (V) flight.result() : read(e.getKey(), false);
      if (value != null) {
        found.put(e.getKey(), value);
      }
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

  private void runBulkFlights(Map<K, Flight> mine,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> function,
      Map<K, V> found) {
    long start = (stats != null) ? ticker.read() : 0;
    Map<? extends K, ? extends V> loaded;
    try {
      loaded = function.apply(Collections.unmodifiableSet(mine.keySet()));
      Objects.requireNonNull(loaded, "mappingFunction returned null");
      for (Map.Entry<? extends K, ? extends V> e : loaded.entrySet()) {
        Objects.requireNonNull(e.getKey(), "mappingFunction returned a null key");
        Objects.requireNonNull(e.getValue(), "mappingFunction returned a null value");
      }
    } catch (Throwable t) {
      if (stats != null) {
        stats.recordLoadFailure(ticker.read() - start);
      }
      for (Flight flight : mine.values()) {
        abandon(flight, t);
      }
      throw t;
    }
    if (stats != null) {
      stats.recordLoadSuccess(ticker.read() - start);
    }
    Map<K, V> extras = new LinkedHashMap<>();
    Throwable failure = null;
    for (Map.Entry<? extends K, ? extends V> e : loaded.entrySet()) {
      K key = e.getKey();
      V value = e.getValue();
      Flight flight = mine.remove(key);
      if (flight == null) {
        extras.put(key, value);
        continue;
      }
      try {
        int hash = spread(key.hashCode());
        Removals<K, V> removals = newRemovals();
        install(stripeFor(hash), key, hash, flight, null, value, weigh(key, value), removals);
        flight.complete(value);
        found.put(key, value);
        afterWrite(removals);
      } catch (Throwable t) {
        abandon(flight, t);
        failure = (failure == null) ? t : failure;
      }
    }
    for (Flight flight : mine.values()) {
      abandon(flight, null); // requested but not returned: absent
    }
    if (failure != null) {
      Throwables.sneakyThrow(failure);
    }
    extras.forEach(this::put);
  }

  /** Unregisters a flight that will not install anything, and lands it. */
  private void abandon(Flight flight, Throwable failure) {
    @SuppressWarnings("unchecked")
    K key = (K) flight.key;
    Stripe<K, V> stripe = stripeFor(spread(key.hashCode()));
    stripe.lock(); // guards the in-flight markers
    try {
      stripe.removeFlight(flight);
    } finally {
      stripe.unlock();
    }
    if (failure == null) {
      flight.complete(null);
    } else {
      flight.fail(failure);
    }
  }

  /* ---------------- Eviction ---------------- */

  /** Evicts least recently used entries until the total weight is within the bound. */
  private void evictToBound(Removals<K, V> removals) {
    while (totalWeight.get() > maximum) {
      Stripe<K, V> chosen = chooseVictimStripe();
      if ((chosen == null) || !evictFrom(chosen, removals)) {
        boolean evicted = false;
        for (Stripe<K, V> stripe : stripes) {
          if (evictFrom(stripe, removals)) {
            evicted = true;
            break;
          }
        }
        if (!evicted) {
          return; // only zero-weight entries are left
        }
      }
    }
  }

  private boolean evictFrom(Stripe<K, V> stripe, Removals<K, V> removals) {
    stripe.lockForWrite(); // guards the stripe's policy and table while its victim is removed
    try {
      drainReadBuffer(stripe);
      Node<K, V> victim = stripe.policy.victim();
      if (victim == null) {
        return false;
      }
      removeNode(stripe, victim, RemovalCause.SIZE, removals);
      return true;
    } finally {
      stripe.unlock();
    }
  }

  /** Picks, from a sample of stripes, the one whose least recent entry is oldest. */
  private Stripe<K, V> chooseVictimStripe() {
    int n = stripes.length;
    int samples = Math.min(n, 16);
    int start = victimCursor; // racy hint: any value spreads the sampling
    victimCursor = start + 1;
    Stripe<K, V> best = null;
    int bestStamp = 0;
    for (int i = 0; i < samples; i++) {
      Stripe<K, V> stripe = stripes[(start + i) & stripeMask];
      Node<K, V> eldest = stripe.policy.eldestHint();
      if (eldest != null) {
        int stamp = eldest.stamp; // racy read, a hint only
        if ((best == null) || (stamp - bestStamp < 0)) {
          best = stripe;
          bestStamp = stamp;
        }
      }
    }
    return best;
  }

  /* ---------------- Maintenance and expiration ---------------- */

  /** Applies buffered reads and removes expired entries. Under the lock. */
  void maintain(Stripe<K, V> stripe, long now, Removals<K, V> removals) {
    drainReadBuffer(stripe);
    if (timed()) {
      expire(stripe, now, removals);
    }
  }

  private void drainReadBuffer(Stripe<K, V> stripe) {
    if (stripe.readBuffer == null) {
      return;
    }
    int stamp = -1;
    for (Node<K, V> node; (node = stripe.readBuffer.relaxedPoll()) != null; ) {
      if (node.has(Node.RETIRED)) {
        continue;
      }
      if (stripe.policy != null) {
        if (stamp == -1) {
          stamp = nextStamp(stripe); // one stamp for the whole batch of buffered reads
        }
        stripe.policy.onAccess(node, stamp, stripe.counters, stripe.count);
      }
      if ((node.wheelSlot >= 0) && (expiry != null)) {
        stripe.wheel.reschedule(node); // a read may have moved its deadline
      }
    }
  }

  private void expire(Stripe<K, V> stripe, long now, Removals<K, V> removals) {
    expire(stripe, now, removals, false);
  }

  /**
   * The regular expiration pass; when {@code exact}, the access order is scanned whole (see
   * expireExactly) instead of stopping at the first live node.
   */
  private void expire(Stripe<K, V> stripe, long now, Removals<K, V> removals, boolean exact) {
    if (stripe.writeOrder != null) {
      for (Node<K, V> node; ((node = stripe.writeOrder.head) != null)
          && Node.isExpired(node.expiresAtNanos, now); ) {
        removeNode(stripe, node, RemovalCause.EXPIRED, removals);
      }
    }
    if ((expireAfterAccessNanos >= 0) && (stripe.policy != null)) {
      // Idle deadlines grow along the access order, so the scan stops at the first live node.
      // Nodes with a per-entry TTL are out of that order (the wheel expires them); a few are
      // skipped, but never an unbounded number, which would make the scan O(n).
      int skipBudget = 16;
      Node<K, V> node = stripe.policy.order.head;
      while (node != null) {
        Node<K, V> next = node.accessNext;
        if (Node.isExpired(node.expiresAtNanos, now)) {
          removeNode(stripe, node, RemovalCause.EXPIRED, removals);
        } else if (!exact && (!node.has(Node.CUSTOM_TTL) || (--skipBudget < 0))) {
          break;
        }
        node = next;
      }
    }
    // Checked first so that the common case (no bucket completed) allocates no lambda.
    if ((stripe.wheel != null) && (stripe.wheel.size() > 0) && stripe.wheel.hasDueBuckets(now)) {
      stripe.wheel.advance(now, node -> removeNode(stripe, node, RemovalCause.EXPIRED, removals));
    }
  }

  /**
   * Expiration that leaves nothing expired behind, for answers that must be exact: the regular
   * pass, then the timer wheel's current bucket (see TimerWheel.expireCurrentBucket). Under the
   * lock.
   *
   * <p>With expireAfterAccess this visits every node of the stripe: a read moves its node's
   * deadline at once but its place in the access order only if the read buffer took it (a full or
   * contended buffer drops it, and a node moved very recently is not moved again), so an expired
   * node can sit behind a live one. Found by ModelBasedTest (size counted such a node).
   */
  private void expireExactly(Stripe<K, V> stripe, long now, Removals<K, V> removals) {
    expire(stripe, now, removals, true);
    if ((stripe.wheel != null) && (stripe.wheel.size() > 0)) {
      stripe.wheel.expireCurrentBucket(now,
          node -> removeNode(stripe, node, RemovalCause.EXPIRED, removals));
    }
  }

  /** Maintenance from a reader or the cleaner: never waits for the lock. */
  private void tryCleanUp(Stripe<K, V> stripe, long now) {
    if (stripe.tryLock()) { // never blocks a reader; whoever holds the lock does maintenance
      Removals<K, V> removals = newRemovals();
      try {
        maintain(stripe, now, removals);
      } finally {
        stripe.unlock();
      }
      deliver(removals);
    }
  }

  @Override
  public void cleanUp() {
    long now = timed() ? ticker.read() : 0;
    Removals<K, V> removals = newRemovals();
    for (Stripe<K, V> stripe : stripes) {
      stripe.lock(); // guards the stripe during its maintenance
      try {
        drainReadBuffer(stripe);
        if (timed()) {
          expireExactly(stripe, now, removals);
        }
      } finally {
        stripe.unlock();
      }
    }
    afterWrite(removals);
  }

  /** The scheduled clean-up: expires what is due in every stripe that is not busy. */
  void cleanUpExpired() {
    long now = ticker.read();
    for (Stripe<K, V> stripe : stripes) {
      if (stripe.mayHaveTimedEntries()) {
        tryCleanUp(stripe, now);
      }
    }
  }

  private void startCleaner() {
    if (!cleanerStarted.get() && cleanerStarted.compareAndSet(false, true)) { // schedule once
      try {
        CleanupTask task = new CleanupTask(this);
        Future<?> future = scheduler.scheduleWithFixedDelay(task, CLEANUP_PERIOD);
        task.future = future;
        cleanerFuture = future;
      } catch (RuntimeException e) {
        LOGGER.log(System.Logger.Level.WARNING,
            "Scheduler " + scheduler + " failed; expired entries will be removed on access", e);
      }
    }
  }

  /** Holds the cache weakly, so a scheduled task never keeps an abandoned cache alive. */
  static final class CleanupTask implements Runnable {
    private final WeakReference<StripedCache<?, ?>> cache;
    volatile Future<?> future;

    CleanupTask(StripedCache<?, ?> cache) {
      this.cache = new WeakReference<>(cache);
    }

    @Override
    public void run() {
      StripedCache<?, ?> target = cache.get();
      if (target == null) {
        Future<?> f = future;
        if (f != null) {
          f.cancel(false);
        }
        return;
      }
      try {
        target.cleanUpExpired();
      } catch (Throwable t) { // keep the periodic task alive whatever happens
        LOGGER.log(System.Logger.Level.WARNING, "Scheduled clean-up failed", t);
      }
    }
  }

  /* ---------------- Notifications ---------------- */

  Removals<K, V> newRemovals() {
    return (listener == null) ? Removals.discarding() : new Removals<>();
  }

  /** Hands removals to the listener through the executor; runs them here if it rejects. */
  void deliver(Removals<K, V> removals) {
    if ((listener == null) || removals.isEmpty()) {
      return;
    }
    Runnable task = () -> removals.deliverTo(listener);
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      task.run();
    }
  }

  /* ---------------- Size, stats, views ---------------- */

  @Override
  public long estimatedSize() {
    long size = 0;
    for (Stripe<K, V> stripe : stripes) {
      size += stripe.count;
    }
    return size;
  }

  /** The global weight counter, for invariant checks; bounded caches only keep it. */
  long totalWeight() {
    return totalWeight.get();
  }

  /** The exact number of unexpired entries, expiring what is due first. */
  long exactSize() {
    long now = timed() ? ticker.read() : 0;
    long size = 0;
    Removals<K, V> removals = newRemovals();
    for (Stripe<K, V> stripe : stripes) {
      stripe.lock(); // count and expire consistently
      try {
        if (timed()) {
          expireExactly(stripe, now, removals);
        }
        size += stripe.count;
      } finally {
        stripe.unlock();
      }
    }
    deliver(removals);
    return size;
  }

  @Override
  public CacheStats stats() {
    return (stats == null) ? CacheStats.empty() : stats.snapshot();
  }

  @Override
  public ConcurrentMap<K, V> asMap() {
    MapView<K, V> view = mapView;
    if (view == null) {
      view = new MapView<>(this); // benign race: views are stateless
      mapView = view;
    }
    return view;
  }

  Ticker ticker() {
    return ticker;
  }

  boolean isTimed() {
    return timed();
  }

  /** Whether the scheduled clean-up was started (for tests). */
  boolean cleanerScheduled() {
    return cleanerFuture != null;
  }

  @Override
  public String toString() {
    return "StripedCache[estimatedSize=" + estimatedSize() + ", stripes=" + stripes.length
        + ((maximum >= 0) ? ", maximum=" + maximum : "") + "]";
  }
}
