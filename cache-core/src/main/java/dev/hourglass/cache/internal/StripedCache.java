package dev.hourglass.cache.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheStats;
import dev.hourglass.cache.Policy;
import dev.hourglass.cache.Expiry;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * The engine, and the cache that {@code build()} returns: the read path and the write protocol
 * over an array of {@link Stripe}s. {@link StripedLoadingCache} adds a loader; the design, and
 * where each concern lives, is told once in {@code docs/design.md}.
 *
 * <ul>
 *   <li><b>Read path</b> ({@link #read}, {@link #readValue}): hashes, walks the stripe's chain
 *       without a lock, reads value and deadline as a consistent pair (see {@link Node}) and, only
 *       if the entry can expire, the ticker. A hit takes no lock and allocates nothing; it offers
 *       the node to the stripe's read buffer only if the policy finds it worth recording.
 *   <li><b>Write protocol</b> ({@link #write}), written once for every write of one key: user
 *       code first (weigher, expiry), then one stripe lock; a flight of another caller on the key
 *       is waited for (unlocked) and the write retried; the change itself is a method of the
 *       stripe; after the unlock, eviction to the bound ({@link Eviction}) and the notifications.
 *   <li><b>Loading and computing</b>: {@link SingleFlight}.
 *   <li><b>Maintenance</b>: the stripes' own ({@link Stripe#maintain}), run by writes, by a reader
 *       that fills a read buffer or meets an expired entry (never waiting for the lock), and every
 *       second by the {@link Scheduler} ({@link #cleanUpExpired}).
 * </ul>
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
class StripedCache<K, V> implements Cache<K, V> {
  static final System.Logger LOGGER = System.getLogger(StripedCache.class.getName());

  /** Period of the scheduled clean-up. */
  static final Duration CLEANUP_PERIOD = Duration.ofSeconds(1);
  static final int READ_BUFFER_SIZE = 64;
  /** The most entries {@code initialCapacity} sizes the tables for up front. */
  static final long MAX_PRESIZED = 1L << 24;
  /**
   * Most stripes a cache has, whatever its concurrency level: each costs about a kilobyte even
   * when empty (lock, read buffer, padded counters, a small table), and far more stripes than
   * writing threads buy nothing.
   */
  static final int MAX_STRIPES = 1 << 12;

  final Stripe<K, V>[] stripes;
  private final int stripeMask;
  /** The expiration rules. */
  final Expiration<K, V> expiration;
  /** The time source, also held here so that a hit of an expiring entry loads no other object. */
  private final Ticker ticker;
  /** Whether a read may move a deadline, decided once (see Expiration#extendOnRead). */
  private final boolean extendsOnRead;
  /** The size bound, or null when there is none. */
  final Eviction<K, V> eviction;
  private final Weigher<? super K, ? super V> weigher;
  /**
   * The {@link Nodes} shape of this cache's nodes; a node that gets its own time to live in a
   * cache without configured expiry adds {@link Nodes#TIMED}.
   */
  final int nodeShape;
  final Executor executor;
  private final Scheduler scheduler;
  /**
   * How old an entry is when a read refreshes it, or -1; read on every hit of a cache that
   * refreshes, so held here (see {@link Refresher}).
   */
  private final long refreshAfterNanos;
  /**
   * The durations as built (time to live, idle time, refresh interval; -1 when unset), before the
   * rules capped them: what {@link #policy()} reports. Plain longs, not the spec record, which
   * the Lincheck agent cannot walk.
   */
  final long builtWriteNanos;
  final long builtAccessNanos;
  final long builtRefreshNanos;
  /** Runs the refreshes of a loading cache; null for a cache without a loader. */
  final Refresher<K, V> refresher;
  private final RemovalListener<? super K, ? super V> listener;
  /** Statistics, or null when not recorded. */
  final StatsCounter stats;
  /** Loads and computes. */
  final SingleFlight<K, V> flights;
  /**
   * Whether this is the engine of an asynchronous cache, whose values are
   * {@code CompletableFuture}s: a future that is not yet a value is stored {@link Node#PENDING},
   * weighing 0 and never expiring, and settled when it completes ({@link Op#SETTLE}).
   */
  final boolean async;

  private final AtomicBoolean cleanerStarted = new AtomicBoolean();
  private volatile Future<?> cleanerFuture;
  private MapView<K, V> mapView;
  private PolicyView<K, V> policyView;

  /**
   * Creates a cache from validated settings.
   *
   * @param spec the settings
   */
  StripedCache(CacheSpec<K, V> spec) {
    this(spec, false);
  }

  /**
   * Creates a cache from validated settings.
   *
   * @param spec the settings
   * @param async whether this is the engine of an asynchronous cache (see {@link #async})
   */
  @SuppressWarnings("unchecked")
  StripedCache(CacheSpec<K, V> spec, boolean async) {
    this.async = async;
    this.builtWriteNanos = spec.expireAfterWriteNanos();
    this.builtAccessNanos = spec.expireAfterAccessNanos();
    this.builtRefreshNanos = spec.refreshAfterWriteNanos();
    this.expiration = new Expiration<>(spec.expireAfterWriteNanos(),
        spec.expireAfterAccessNanos(), spec.expiry(), spec.ticker(),
        spec.refreshAfterWriteNanos() > 0);
    this.refreshAfterNanos = (spec.refreshAfterWriteNanos() > 0)
        ? Math.min(spec.refreshAfterWriteNanos(), Expiration.MAX_DURATION_NANOS) : -1;
    this.refresher = (spec.loader() == null) ? null
        : new Refresher<>(this, spec.loader(), refreshAfterNanos);
    this.ticker = spec.ticker();
    this.extendsOnRead = expiration.extendsOnRead();
    this.weigher = spec.weigher();
    this.executor = spec.executor();
    this.scheduler = spec.scheduler();
    this.listener = spec.removalListener();
    this.stats = spec.recordStats() ? new StatsCounter() : null;
    this.flights = new SingleFlight<>(this);

    int stripeCount = 1;
    while ((stripeCount < spec.concurrencyLevel()) && (stripeCount < MAX_STRIPES)) {
      stripeCount <<= 1;
    }
    this.stripes = (Stripe<K, V>[]) new Stripe<?, ?>[stripeCount];
    this.stripeMask = stripeCount - 1;
    // In long: a capacity near Integer.MAX_VALUE must not wrap. The hint pre-sizes at most
    // MAX_PRESIZED entries in all: past that, a huge hint would allocate before any entry exists
    // (2^31 slots, for one), and the tables grow as entries come.
    long perStripe = (Math.min((long) spec.initialCapacity(), MAX_PRESIZED) / stripeCount) + 1;
    int tableLength = 4;
    while ((tableLength < (1 << 30)) && (tableLength - (tableLength >>> 2) < perStripe)) {
      tableLength <<= 1;
    }
    // Idle expiration uses the timer wheel, not an access order: only a bound needs a policy.
    boolean bounded = (spec.maximum() >= 0);
    java.util.concurrent.atomic.AtomicLongArray weights = Eviction.newWeights();
    EvictionPolicy.Factory<K, V> policies =
        bounded ? TinyLfuPolicy.factory(spec.maximum(), stripeCount, weights) : null;
    this.eviction = bounded ? new Eviction<>(spec.maximum(), policies, weights) : null;
    this.nodeShape = (bounded ? Nodes.BOUNDED : 0) | ((weigher != null) ? Nodes.WEIGHTED : 0)
        | (expiration.configured() ? Nodes.TIMED : 0)
        | (((refreshAfterNanos > 0) || expiration.needsWriteTime())
            ? (Nodes.WRITE_TIME | Nodes.TIMED) : 0);
    // The policy is told of hits directly; only reads that may move a deadline earlier need
    // the lock afterwards, to re-slot the node in the timer wheel.
    boolean needsBuffer = expiration.readsMayShorten();
    for (int i = 0; i < stripeCount; i++) {
      stripes[i] = new Stripe<>(tableLength, expiration, eviction,
          bounded ? policies.newStripePolicy() : null, stats, needsBuffer ? READ_BUFFER_SIZE : 0);
    }
    if (expiration.configured()) {
      startCleaner();
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
    if (!node.timed()) {
      // No deadline to pair with: the value's one volatile load is the answer.
      V value = node.value;
      if ((value == null) && node.has(Node.MOVED)) {
        return read(node.key, recordAccess); // a timed copy replaced the node: read that
      }
      EvictionPolicy<K, V> policy = stripe.policy;
      if ((value != null) && recordAccess && (policy != null)) {
        policy.onHit(node); // writes at most the node's own counter, and only below its cap
      }
      return value;
    }
    long deadline;
    V value;
    int seq;
    do { // a pair that was true at once: see Node, "Value and deadline"
      seq = node.writeSeqAcquire();
      deadline = node.expiresAt();
      value = node.value;
    } while (!node.unchangedSince(seq, deadline));
    if (value == null) {
      return null;
    }
    long now = 0;
    if (deadline != Node.NEVER) {
      now = ticker.read();
      if (now - deadline >= 0) {
        tryCleanUp(stripe, now);
        return null;
      }
      if (recordAccess && extendsOnRead
          && expiration.extendOnRead(node, value, deadline, now, seq)) {
        // The deadline moved earlier: the wheel must learn it, or the entry leaves memory late.
        int offered = stripe.offerRead((TimedNode<K, V>) node); // only timed nodes move
        if (offered != 0) {
          stripe.markWheelStale(); // dropped: the next exact or scheduled pass re-slots the wheel
          if (offered == 1) {
            tryCleanUp(stripe, now);
          }
        }
      }
    }
    EvictionPolicy<K, V> policy = stripe.policy;
    if (recordAccess && (policy != null)) {
      policy.onHit(node); // writes at most the node's own counter, and only below its cap
    }
    if (recordAccess && (refreshAfterNanos > 0)) {
      if (deadline == Node.NEVER) {
        now = ticker.read();
      }
      if (now - node.writtenAtNanos() >= refreshAfterNanos) {
        refresher.refreshDue(node, value, now); // returns at once: the reload runs elsewhere
      }
    }
    return value;
  }

  /** The node's value if it is live now, read as readers do but recording nothing. */
  V peekValue(Node<K, V> node) {
    long deadline;
    V value;
    int seq;
    do { // a pair that was true at once: see Node, "Value and deadline"
      seq = node.writeSeqAcquire();
      deadline = node.expiresAt();
      value = node.value;
    } while (!node.unchangedSince(seq, deadline));
    if ((value == null) && node.has(Node.MOVED)) {
      Node<K, V> copy = stripeFor(node.hash).find(node.key, node.hash); // see Node#MOVED
      return (copy == null) ? null : peekValue(copy);
    }
    if ((value == null) || ((deadline != Node.NEVER) && (ticker.read() - deadline >= 0))) {
      return null;
    }
    return value;
  }

  /** Maintenance from a reader: never waits for the lock. */
  private void tryCleanUp(Stripe<K, V> stripe, long now) {
    if (stripe.tryLock()) { // never blocks a reader; whoever holds the lock does maintenance
      Removals<K, V> removals = newRemovals(); // only now: a reader that lost allocates nothing
      try {
        stripe.maintain(now, removals);
      } finally {
        stripe.unlock();
      }
      deliver(removals);
    }
  }

  @Override
  public Map<K, V> getAllPresent(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    Set<K> unique = uniqueKeys(keys);
    Map<K, V> result = new LinkedHashMap<>();
    for (K key : unique) {
      V value = read(key, true);
      if (value != null) {
        result.put(key, value);
      }
    }
    if (stats != null) {
      stats.recordHits(result.size());
      stats.recordMisses(unique.size() - result.size());
    }
    return Collections.unmodifiableMap(result);
  }

  /** The keys in order, once each; a null key fails before anything is done. */
  static <K> Set<K> uniqueKeys(Iterable<? extends K> keys) {
    Set<K> unique = new LinkedHashSet<>();
    for (K key : keys) {
      unique.add(Objects.requireNonNull(key, "key"));
    }
    return unique;
  }

  /* ---------------- The write protocol ---------------- */

  /** The kinds of write of one key: each is one case of the write protocol ({@link #write}). */
  enum Op {
    /** Stores the value; returns the previous live value. */
    PUT,
    /** Stores the value unless a live one is present; returns the live value kept, or null. */
    PUT_IF_ABSENT,
    /** Replaces a live value (only {@code expected}, if not null); returns the replaced value. */
    REPLACE,
    /** Removes the key (only from {@code expected}, if not null); returns the removed value. */
    REMOVE,
    /**
     * A load's claim: returns the live value, or else finds another caller's flight (left in
     * {@code flight.blockedBy} for the caller to wait on and share) or registers {@code flight}.
     */
    CLAIM_LOAD,
    /** A compute's claim: registers {@code flight} and returns the live value it starts from. */
    CLAIM_COMPUTE,
    /** computeIfPresent's claim: registers {@code flight} only if a live value is present. */
    CLAIM_IF_PRESENT,
    /** Installs {@code flight}'s result ({@code value}, or null to remove) and unregisters it. */
    INSTALL,
    /**
     * Installs a refresh's result: replaces the live value {@code expected} only while the node
     * still carries the refresh's token (a node that cannot carry one: while it holds
     * {@code expected}). Returns the replaced value, or null if the result was dropped. Never
     * waits for a flight: a load or compute of the key is a write, and wins.
     */
    REFRESH,
    /**
     * Gives the live entry the deadline {@code ttlNanos} from now, as its own, keeping its value
     * ({@code Policy.VarExpiration.setExpiresAfter}); returns the value kept, or null if there
     * was no live entry. Delivers, as a removal does: a passed deadline expires the entry.
     */
    RETIME,
    /**
     * Asynchronous caches: settles the entry holding the future {@code expected}, stored while
     * not yet a value ({@link Node#PENDING}), now that it completed: weighs it and gives it its
     * deadline as a value created now, or removes it if it failed, completed with null, or
     * {@code value} is null (it could not be weighed). Never waits for a flight: one holding the
     * key is marked to settle it once it has landed ({@link Flight#settleAfter}).
     */
    SETTLE;

    /** Whether the write carries a value to store, which an asynchronous cache weighs itself. */
    boolean carriesValue() {
      return stores() || (this == REPLACE) || (this == REFRESH) || (this == SETTLE);
    }

    /** Whether a write that returned {@code result} stored its value. */
    boolean storedValue(Object result) {
      switch (this) {
        case PUT:
        case INSTALL:
          return true;
        case PUT_IF_ABSENT:
          return result == null;
        case REPLACE:
        case REFRESH:
          return result != null;
        default:
          return false;
      }
    }

    /** Whether the stripe's maintenance runs after the change (a claim leaves it to the install). */
    boolean maintains() {
      return (this != CLAIM_LOAD) && (this != CLAIM_COMPUTE) && (this != CLAIM_IF_PRESENT)
          && (this != SETTLE); // a settle may have no time to maintain with; the next write has
    }

    /** Whether the write stores a value given by the caller, so its deadline comes first. */
    boolean stores() {
      return (this == PUT) || (this == PUT_IF_ABSENT) || (this == INSTALL);
    }

    /**
     * Whether the write itself evicts to the bound and delivers; a removal only delivers, and a
     * claim or an install leaves both to its flight's owner.
     */
    boolean evicts() {
      return (this == PUT) || (this == PUT_IF_ABSENT) || (this == REPLACE) || (this == REFRESH)
          || (this == SETTLE);
    }
  }

  /**
   * The write protocol, written once for every write of one key; it allocates nothing.
   * <ol>
   *   <li>Read the ticker, then run the user code the write needs, with no lock held: the
   *       {@code Expiry}, on the entry as seen lock-free (the weigher ran before).
   *   <li>Lock the key's stripe. If another caller's flight holds the key, unlock, wait for it and
   *       start again (a load's claim hands it to its caller instead, to share its result).
   *   <li>Otherwise find the node and make the change, a method of the stripe; if the entry
   *       changed since the expiry ran, unlock and start again, so the expiry sees the truth.
   *       Then the stripe's maintenance (buffered reads, expired entries), and unlock.
   *   <li>After the unlock ({@code finally}, so what every pass collected goes out): a put or a
   *       replace evicts to the bound and delivers, a removal delivers; a claim or an install
   *       leaves both to its flight's owner, who delivers once the flight landed.
   * </ol>
   * No user code but the key's {@code equals} (and {@code compareTo} in a tree bin) runs under
   * the lock.
   *
   * @param expected for REPLACE and REMOVE, the only value to change, or null for any
   * @param weight the weight of {@code value}, weighed by the caller
   * @param ttlNanos a per-entry time to live, or {@link Expiration#NO_TTL}
   * @param flight the claim's new flight, or the flight an INSTALL lands; null otherwise. Its
   *     {@code installedAtNanos} records the ticker reading of the last pass.
   * @param refresh for REFRESH, the refresh's token on the node, or null if it has none
   * @return what the {@link Op} says
   */
  final V write(Op op, K key, int hash, V value, V expected, long weight, long ttlNanos,
      Flight flight, Refresh refresh, Removals<K, V> removals) {
    Stripe<K, V> stripe = stripeFor(hash);
    boolean readsTicker = (ttlNanos >= 0) || ((flight != null) && flight.timed);
    // A settle that drops its entry needs no time: a ticker that keeps failing cannot leave it
    // pending (weightless and timeless) for good.
    boolean timeless = (op == Op.SETTLE) && (value == null);
    long now = 0;
    try {
      for (;;) {
        // 1. User code first, on the entry as it is now; re-validated under the lock. The entry
        // is looked up before the clock is read, so that the reading is no older than anything
        // the write saw: a write that finds another's value reads a time no earlier than that
        // write's (else it could date itself before a tick that write came after).
        Node<K, V> seen = null;
        boolean storesWithExpiry = (value != null) && op.stores()
            && expiration.asksExpiryOnWrite(ttlNanos);
        if ((op == Op.REPLACE) || (op == Op.REFRESH) || storesWithExpiry) {
          seen = stripe.find(key, hash);
        }
        now = (!timeless && (readsTicker || expiration.timed())) ? ticker.read() : 0;
        if (flight != null) {
          flight.installedAtNanos = now;
        }
        boolean seenLive = false;
        boolean validate = false; // whether the change must find the entry as seen here
        long deadline = Node.NEVER;
        // An asynchronous cache weighs here, once per pass, with the deadline: a future that is
        // not yet a value weighs 0 and never expires until it settles (see Op#SETTLE).
        boolean pending = false;
        if (async && (value != null) && op.carriesValue()) {
          pending = !FutureValues.isReady(value);
          if (weigher != null) { // bounded: every bounded asynchronous engine weighs
            weight = pending ? 0 : weighNow(key, value);
          }
        }
        if ((op == Op.REPLACE) || (op == Op.REFRESH)) {
          validate = true;
          long seenDeadline = Expiration.liveDeadline(seen, expected, now);
          if (seenDeadline == Expiration.NOT_LIVE) {
            if ((seen != null) && seen.has(Node.MOVED)) {
              continue; // a timed copy replaced the node read: look again (see Node#MOVED)
            }
            return null; // nothing to replace; the finally delivers what earlier passes collected
          }
          seenLive = true;
          deadline = pending ? Node.NEVER
              : expiration.writeDeadline(key, value, true, seenDeadline, now, ttlNanos);
        } else if (op == Op.RETIME) {
          deadline = Expiration.deadlineOf(now, ttlNanos);
        } else if (op == Op.SETTLE) {
          if ((value != null) && !pending) { // a settled future is created now, as a value
            deadline = expiration.writeDeadline(key, value, false, Expiration.NOT_LIVE, now,
                Expiration.NO_TTL);
          }
        } else if ((value != null) && op.stores()) {
          long seenDeadline = Expiration.NOT_LIVE;
          if (storesWithExpiry) {
            validate = true;
            seenDeadline = Expiration.liveDeadline(seen, null, now);
          }
          seenLive = (seenDeadline != Expiration.NOT_LIVE);
          deadline = pending ? Node.NEVER
              : expiration.writeDeadline(key, value, seenLive, seenDeadline, now, ttlNanos);
        }
        // 2. One stripe lock: wait for another caller's flight, or change the stripe.
        Flight other = null;
        boolean changed = false;
        V result = null;
        stripe.lockForWrite(); // guards the stripe's table, policy, time structures and flights
        try {
          Flight registered = stripe.flight(key, hash);
          if ((registered != null) && (op == Op.REFRESH)) {
            return null; // a load or compute of the key is running: it writes, and wins
          } else if ((registered != null) && (op == Op.SETTLE)) {
            registered.settleAfter = true; // under the lock that unregisters it: see Flight
            return null; // never waits: the flight's owner settles the key once it has landed
          } else if ((registered != null) && (registered != flight)) {
            other = registered;
          } else {
            Node<K, V> node = stripe.findLocked(key, hash);
            if (validate && ((node != seen) || (isLive(node, now) != seenLive))) {
              changed = true; // the entry changed since the expiry ran on it: run it again
            } else {
              result = change(op, stripe, node, key, hash, value, expected, weight, deadline,
                  ttlNanos, flight, refresh, pending, now, removals);
            }
            if (op.maintains()) {
              stripe.maintain(now, removals);
            }
          }
        } finally {
          stripe.unlock();
        }
        if (other != null) {
          if (op == Op.CLAIM_LOAD) {
            flight.blockedBy = other; // the caller waits, and shares a load's result
            return null;
          }
          other.await(); // another caller is loading or computing this key: wait, then again
        } else if (!changed) {
          if (pending && op.storedValue(result)) {
            watch(key, hash, value); // settles the entry when the future completes
          }
          return result;
        }
      }
    } finally {
      // 4. After the unlock; what every pass collected.
      if (op.evicts()) {
        afterWrite(removals, now);
      } else if ((op == Op.REMOVE) || (op == Op.RETIME)) {
        deliver(removals);
      }
    }
  }

  private static boolean isLive(Node<?, ?> node, long now) {
    return (node != null) && (node.value != null) && !Node.isExpired(node.expiresAt(), now);
  }

  /**
   * Step 3 of the write protocol: the change itself, under the stripe lock, with no other
   * caller's flight on the key.
   *
   * @param node the key's node as found under the lock: live, expired or null
   */
  @GuardedBy("stripe")
  private V change(Op op, Stripe<K, V> stripe, Node<K, V> node, K key, int hash, V value,
      V expected, long weight, long deadline, long ttlNanos, Flight flight, Refresh refresh,
      boolean pending, long now, Removals<K, V> removals) {
    boolean live = isLive(node, now);
    switch (op) {
      case PUT:
      case PUT_IF_ABSENT: {
        if ((op == Op.PUT_IF_ABSENT) && live) {
          return node.value;
        }
        V previous = live ? node.value : null;
        store(stripe, node, key, hash, value, weight, deadline, ttlNanos >= 0, pending, now,
            live ? RemovalCause.REPLACED : RemovalCause.EXPIRED, removals);
        recordPut();
        return previous;
      }
      case REPLACE: {
        V current = node.value;
        if (live && ((expected == null) || (current == expected))) {
          store(stripe, node, key, hash, value, weight, deadline, false, pending, now,
              RemovalCause.REPLACED, removals);
          recordPut();
          return current;
        }
        return null;
      }
      case SETTLE: {
        // Only the very future stored as pending: a write since then replaced it, and settled.
        if (!live || (node.value != expected) || !node.has(Node.PENDING)) {
          return null;
        }
        if ((value == null) || pending) { // failed, completed with null, or could not be weighed
          // Never a value of the cache: nothing to report (the failure was logged, if any).
          stripe.remove(node, RemovalCause.EXPLICIT, Removals.discarding());
          return null;
        }
        store(stripe, node, key, hash, value, weight, deadline, false, false, now,
            RemovalCause.REPLACED, removals); // the same value: nothing is reported
        return value;
      }
      case REFRESH: {
        V current = node.value;
        // The token is cleared by every write of the node, so finding it means none came since.
        boolean ours = (refresh == null) ? (current == expected)
            : (refresh.node != null) // a node without a token: unchanged since the refresh read it
                ? ((node == refresh.node) && (node.writeSeqAcquire() == refresh.seq))
                : (node.refreshAcquire() == refresh);
        if (live && ours && (current == expected)) {
          stripe.update(node, value, weight, deadline, false, now, RemovalCause.REPLACED,
              removals);
          return current;
        }
        return null;
      }
      case RETIME: {
        if (!live || node.has(Node.PENDING)) { // a future still loading has no lifetime yet
          return null;
        }
        V current = node.value;
        stripe.retime(node, deadline, now, removals);
        return current;
      }
      case REMOVE: {
        if (node == null) {
          return null;
        }
        V current = node.value;
        if (!live) {
          stripe.remove(node, RemovalCause.EXPIRED, removals);
        } else if ((expected == null) || (current == expected)) {
          stripe.remove(node, RemovalCause.EXPLICIT, removals);
          return current;
        }
        return null;
      }
      case CLAIM_LOAD:
      case CLAIM_COMPUTE:
      case CLAIM_IF_PRESENT: {
        Node<K, V> present = stripe.removeIfExpired(node, now, removals);
        V old = (present == null) ? null : present.value;
        if ((op == Op.CLAIM_LOAD) && (old != null)) {
          return old; // a hit after all
        }
        if ((op != Op.CLAIM_IF_PRESENT) || (old != null)) {
          stripe.addFlight(flight);
        }
        return old;
      }
      case INSTALL: {
        stripe.removeFlight(flight);
        if (stripe.clearedSince(flight)) {
          if ((value != null) && (value != flight.base)) {
            removals.add(key, value, RemovalCause.EXPLICIT); // loaded before an invalidateAll
          } // else a compute kept the value the invalidateAll already removed and reported
          return null;
        }
        Node<K, V> present = stripe.removeIfExpired(node, now, removals);
        if (value != null) {
          store(stripe, present, key, hash, value, weight, deadline, false, pending, now,
              RemovalCause.REPLACED, removals);
          if (!flight.isLoad && (value != flight.base)) {
            recordPut(); // a compute or merge that stored a new value; a load counts as a load
          }
        } else if (present != null) {
          stripe.remove(present, RemovalCause.EXPLICIT, removals);
        }
        return null;
      }
      default:
        throw new AssertionError(op);
    }
  }

  /** Counts one value stored by a write, when statistics are kept. */
  private void recordPut() {
    if (stats != null) {
      stats.recordPut(); // a striped adder: no shared CAS, even under the stripe lock
    }
  }

  /** Adds a node for the key, or gives its node a new value, reporting the old with {@code cause}. */
  @GuardedBy("stripe")
  private void store(Stripe<K, V> stripe, Node<K, V> node, K key, int hash, V value, long weight,
      long deadline, boolean customTtl, boolean pending, long now, RemovalCause cause,
      Removals<K, V> removals) {
    if (node == null) {
      int shape = (deadline == Node.NEVER) ? nodeShape : (nodeShape | Nodes.TIMED);
      Node<K, V> added = Nodes.create(shape, key, hash, value);
      added.setWeight(weight);
      added.initExpiresAt(deadline);
      added.set(Node.CUSTOM_TTL, customTtl);
      added.set(Node.PENDING, pending);
      stripe.add(added, now, removals);
    } else {
      if (async) {
        node.set(Node.PENDING, pending); // before update, which may copy the node
      }
      stripe.update(node, value, weight, deadline, customTtl, now, cause, removals);
    }
  }

  /**
   * After a write released its lock: evict to the bound, then notify. Calls no user code but the
   * executor, whose failures {@link #deliver} absorbs, so it never throws after a write committed.
   *
   * @param now the write's ticker reading, for telling expired victims from live ones
   */
  void afterWrite(Removals<K, V> removals, long now) {
    try {
      if (eviction != null) {
        eviction.evictToBound(stripes, now, removals);
      }
    } finally {
      deliver(removals);
    }
  }

  /**
   * The weight of a value about to be written, weighed by the caller before the write; an
   * asynchronous cache answers 0 here and weighs in the write itself, where it also decides
   * whether the future is a value yet.
   */
  long weigh(K key, V value) {
    return (async && (weigher != null)) ? 0 : weighNow(key, value);
  }

  private long weighNow(K key, V value) {
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

  /* ---------------- Writes ---------------- */

  @Override
  public void put(K key, V value) {
    put(key, value, Expiration.NO_TTL, false);
  }

  @Override
  public void put(K key, V value, Duration ttl) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative()) {
      throw new IllegalArgumentException("ttl must not be negative: " + ttl);
    }
    expiration.perEntryTtlUsed();
    startCleaner();
    put(key, value, Math.min(Expiry.toNanosSaturated(ttl), Expiration.MAX_DURATION_NANOS), false);
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> map) {
    requireNoNulls(map);
    map.forEach(this::put);
  }

  /** Checks a map for {@code putAll} before anything is stored: no null map, key or value. */
  static void requireNoNulls(Map<?, ?> map) {
    Objects.requireNonNull(map, "map");
    for (Map.Entry<?, ?> e : map.entrySet()) {
      Objects.requireNonNull(e.getKey(), "key");
      Objects.requireNonNull(e.getValue(), "value");
    }
  }

  /**
   * Stores a value; returns the previous live value (or, with {@code onlyIfAbsent}, the present
   * value that was kept).
   *
   * @param ttlNanos a per-entry time to live, or {@link Expiration#NO_TTL} to follow the rules
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
    return write(onlyIfAbsent ? Op.PUT_IF_ABSENT : Op.PUT, key, spread(key.hashCode()), value,
        null, weight, ttlNanos, null, null, newRemovals());
  }

  /**
   * Gives the live entry for {@code key} a deadline of its own, {@code ttlNanos} from now, keeping
   * its value (see {@link Op#RETIME}).
   *
   * @return whether there was a live entry
   */
  boolean retime(K key, long ttlNanos) {
    expiration.perEntryTtlUsed();
    startCleaner();
    return write(Op.RETIME, key, spread(key.hashCode()), null, null, 0, ttlNanos, null, null,
        newRemovals()) != null;
  }

  /* ---------------- Futures of an asynchronous cache ---------------- */

  /**
   * Settles the entry of {@code future}, stored pending, once it completes; with the key's hash
   * as stored, so that the settle calls no {@code hashCode} that might fail.
   */
  private void watch(K key, int hash, V future) {
    ((CompletableFuture<?>) future).whenComplete((result, failure) -> settle(key, hash, future));
  }

  /**
   * Settles the entry holding {@code future}, which completed (see {@link Op#SETTLE}); runs on
   * the thread that completed it. A weigher, expiry, key or ticker that throws here has no
   * caller to reach: it is logged and the entry removed, since it cannot be weighed or timed.
   */
  void settle(K key, int hash, V future) {
    try {
      write(Op.SETTLE, key, hash, future, future, 1, Expiration.NO_TTL, null, null,
          newRemovals());
      return;
    } catch (Throwable t) { // anything: there is no caller to throw to
      LOGGER.log(System.Logger.Level.WARNING, "Could not settle the completed value of key "
          + key + "; removing the entry", t);
    }
    try {
      write(Op.SETTLE, key, hash, null, future, 0, Expiration.NO_TTL, null, null,
          newRemovals());
    } catch (Throwable t) {
      LOGGER.log(System.Logger.Level.WARNING, "Could not remove the entry of key " + key, t);
    }
  }

  /**
   * Settles the key's entry if it holds a completed future still stored pending: called by a
   * flight's owner that an {@link Op#SETTLE} found holding the key (see Flight#settleAfter).
   */
  void settleKey(K key, int hash) {
    V value;
    try {
      Node<K, V> node = stripeFor(hash).find(key, hash);
      // Racy read of the flags: a hint only, which the SETTLE checks again under the lock.
      value = ((node == null) || !node.has(Node.PENDING)) ? null : node.value;
    } catch (Throwable t) {
      LOGGER.log(System.Logger.Level.WARNING, "Could not look up key " + key + " to settle it", t);
      return;
    }
    if ((value != null) && ((CompletableFuture<?>) value).isDone()) {
      settle(key, hash, value);
    }
  }

  /** Changes the size bound and evicts down to it before returning. */
  void setMaximum(long maximum) {
    eviction.setMaximum(maximum);
    Removals<K, V> removals = newRemovals();
    afterWrite(removals, expiration.now());
  }

  @Override
  public Policy<K, V> policy() {
    PolicyView<K, V> view = policyView;
    if (view == null) {
      view = new PolicyView<>(this); // racy: a duplicate view is harmless, it holds no state
      policyView = view;
    }
    return view;
  }

  @Override
  public void invalidate(K key) {
    remove(key, null);
  }

  @Override
  public void invalidateAll(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    List<K> list = new ArrayList<>();
    for (K key : keys) {
      list.add(Objects.requireNonNull(key, "key"));
    }
    for (K key : list) {
      remove(key, null);
    }
  }

  /**
   * Empties every stripe without waiting for loads and computes in flight: each stripe's clear
   * count moves on, so a flight registered before it installs nothing (see SingleFlight).
   */
  @Override
  public void invalidateAll() {
    flights.clearing(); // before any stripe is cleared: bulk loads running now see it
    long now = expiration.now();
    for (Stripe<K, V> stripe : stripes) {
      Removals<K, V> removals = newRemovals();
      stripe.clear(now, removals);
      deliver(removals);
    }
  }

  /**
   * Removes {@code key}, if mapped (to a value identical to {@code expected}, when not null).
   *
   * @return the removed value, or null
   */
  @SuppressWarnings("unchecked") // a key of any type may be asked for; only an equal K matches
  V remove(Object key, V expected) {
    Objects.requireNonNull(key, "key");
    return write(Op.REMOVE, (K) key, spread(key.hashCode()), null, expected, 0,
        Expiration.NO_TTL, null, null, newRemovals());
  }

  /**
   * Replaces the value of a present {@code key} (only if it is identical to {@code expected}, when
   * not null).
   *
   * @return the replaced value, or null if nothing was replaced
   */
  V replace(K key, V expected, V value) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    long weight = weigh(key, value);
    return write(Op.REPLACE, key, spread(key.hashCode()), value, expected, weight,
        Expiration.NO_TTL, null, null, newRemovals());
  }

  /* ---------------- Loading and computing: see SingleFlight ---------------- */

  @Override
  public V get(K key, Function<? super K, ? extends V> mappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return flights.computeIfAbsent(key, mappingFunction, true);
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> mappingFunction) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return flights.loadAll(keys, mappingFunction, null);
  }

  /* ---------------- Maintenance ---------------- */

  @Override
  public void cleanUp() {
    long now = expiration.now();
    Removals<K, V> removals = newRemovals();
    try {
      for (Stripe<K, V> stripe : stripes) {
        stripe.cleanUp(now, removals);
      }
    } finally {
      afterWrite(removals, now);
    }
  }

  /**
   * The scheduled clean-up: in every stripe that is not busy, applies buffered reads, re-slots a
   * stale wheel and expires what is due; then hands the notifications to the executor.
   */
  void cleanUpExpired() {
    long now = ticker.read();
    for (Stripe<K, V> stripe : stripes) {
      if (stripe.mayHaveTimedEntries() && stripe.tryLock()) { // never waits for a busy stripe
        Removals<K, V> removals = newRemovals();
        try {
          stripe.expireExactly(now, removals);
        } finally {
          stripe.unlock();
        }
        deliver(removals);
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

  /**
   * Hands removals to the listener through the executor. While this thread runs a flight, they
   * wait until its outermost flight has landed (see SingleFlight#deferWhileInFlight). An executor
   * that rejects the task, or throws anything else (logged), leaves it to run here: no
   * notification is lost and the write that caused it does not fail after it committed. The task
   * delivers once, even if an executor both runs it and throws.
   */
  void deliver(Removals<K, V> removals) {
    if ((listener == null) || removals.isEmpty()) {
      return;
    }
    if (!SingleFlight.deferWhileInFlight(() -> dispatch(removals))) {
      dispatch(removals);
    }
  }

  /** Hands removals to the executor, or runs them here if it fails (see deliver). */
  private void dispatch(Removals<K, V> removals) {
    Runnable task = () -> removals.deliverTo(listener);
    try {
      executor.execute(task);
    } catch (RejectedExecutionException e) {
      task.run();
    } catch (Throwable t) { // anything at all, checked exceptions thrown sneakily included
      LOGGER.log(System.Logger.Level.WARNING, "Executor " + executor
          + " failed to run removal notifications; running them on the calling thread", t);
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
    return (eviction == null) ? 0 : eviction.totalWeight();
  }

  /** The exact number of unexpired entries, expiring what is due first. */
  long exactSize() {
    long now = expiration.now();
    long size = 0;
    Removals<K, V> removals = newRemovals();
    try {
      for (Stripe<K, V> stripe : stripes) {
        size += stripe.exactCount(now, removals);
      }
    } finally {
      deliver(removals);
    }
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

  /** The refresh interval, or -1 for a cache that does not refresh. */
  long refreshAfterNanos() {
    return refreshAfterNanos;
  }

  boolean isWeighted() {
    return weigher != null;
  }

  Ticker ticker() {
    return ticker;
  }

  boolean isTimed() {
    return expiration.timed();
  }

  /** Whether the scheduled clean-up was started (for tests). */
  boolean cleanerScheduled() {
    return cleanerFuture != null;
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[estimatedSize=" + estimatedSize() + ", stripes="
        + stripes.length + ((eviction != null) ? ", maximum=" + eviction.maximum() : "") + "]";
  }
}
