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
 * oldest among a sample of 16 non-empty stripes (see evictToBound and {@link LruPolicy}), one
 * stripe lock at a time, until the total fits. Skewed keys
 * therefore never leave the cache under-filled, as per-stripe quotas would. An entry heavier than
 * the whole bound is evicted at once.
 *
 * <h2>Expiration</h2>
 * Readers compare a node's deadline with the ticker, so an expired entry is never returned; they
 * read the deadline, the value and the deadline again, and writers store the two in an order that
 * makes every pair a reader accepts one that was true (see {@link Node}). Memory is reclaimed in
 * O(1) amortized per entry: a fixed time to live keeps a write-order queue, kept in deadline order
 * (a write whose ticker reading lags the queue's tail, or went back, goes to the wheel instead);
 * idle time and per-entry deadlines use a {@link TimerWheel}, which tolerates deadlines that move
 * later without being told (an idle entry that was read), while a read that moves a deadline
 * earlier reschedules its node. The stripe maintenance expires from these on every write; a
 * {@link Scheduler} task (by default the shared {@code hourglass-cleaner}) does so every second
 * even when nobody touches the cache, so expired entries leave memory within about a second and
 * their listeners hear {@link RemovalCause#EXPIRED}.
 *
 * <h2>Loading and computing</h2>
 * No user function runs under a stripe lock. Per-key atomicity comes from a {@link Flight}
 * registered in the stripe under its lock: the function then runs unlocked, and every other writer
 * of that key (put, remove, compute, load) finds the flight and waits on it, while readers keep
 * seeing the previous value and writers of other keys, even in the same stripe, proceed. A load's
 * waiters share its value or exception. A flight that its own thread waits on means recursion and
 * fails fast with {@link IllegalStateException}. From its registration on, a flight's whole life
 * (user function, weigher, expiry, ticker, install) is inside one {@code try}, so every exit lands
 * it; notifications collected meanwhile are delivered only after it landed, so a listener running
 * on the caller's thread can use the key. {@code invalidateAll} does not wait for flights: a
 * flight registered before it installs nothing (its value is reported {@link
 * RemovalCause#EXPLICIT}, as if stored and then invalidated).
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
  /**
   * Most stripes a cache has, whatever its concurrency level: each costs about a kilobyte even
   * when empty (lock, read buffer, padded counters, a small table), and far more stripes than
   * writing threads buy nothing.
   */
  static final int MAX_STRIPES = 1 << 12;
  /**
   * A ticker reading this far behind the timer wheel's time is a clock that went back, not a
   * writer that lagged: the wheel is rebuilt at the new time (about 17 s).
   */
  static final long WHEEL_REBUILD_BACKWARDS_NANOS = 1L << TimerWheel.SHIFTS[1];

  final Stripe<K, V>[] stripes;
  private final int stripeMask;

  final long maximum;
  private final Weigher<? super K, ? super V> weigher;
  final long expireAfterWriteNanos;
  final long expireAfterAccessNanos;
  /**
   * How late an idle entry may expire, to spare readers a write: a read restarts the idle time
   * only when the current deadline would end it early, and then sets it this much later than
   * required, so reads closer together than this write the deadline once. Never early; late by at
   * most min(1 ms, idle time / 64).
   */
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
  /**
   * A stripe publishes its stamp to {@code clock} when its low bits are zero: every 64 stamps for
   * a cache that holds many entries per stripe, every stamp for a small one, where stamps from
   * stripes that drifted apart would make the global order meaningless (see nextStamp).
   */
  private final int publishMask;
  /** Where victim sampling starts; a racy rotating hint. */
  private int victimCursor;
  private final AtomicBoolean cleanerStarted = new AtomicBoolean();
  /** How many times invalidateAll has begun; a bulk load compares it before and after. */
  private final AtomicInteger clears = new AtomicInteger();
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
    // Idle expiration uses the timer wheel, not the access order: only a bound needs a policy.
    boolean needsPolicy = (maximum >= 0);
    boolean needsBuffer = needsPolicy || (expiry != null);
    long perStripeBound = (maximum < 0) ? Long.MAX_VALUE : (maximum / stripeCount) >> 4;
    this.publishMask = (int) Math.min(63, Long.highestOneBit(Math.max(1, perStripeBound)) - 1);
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
    long deadline;
    V value;
    int seq;
    do { // a pair that was true at once: see Node, "Value and deadline"
      seq = node.writeSeqAcquire();
      deadline = node.expiresAtNanos;
      value = node.value;
    } while (!node.unchangedSince(seq, deadline));
    if (value == null) {
      return null;
    }
    if (deadline != Node.NEVER) {
      long now = ticker.read();
      if (now - deadline >= 0) {
        tryCleanUp(stripe, now);
        return null;
      }
      if (recordAccess && extendOnRead(node, value, deadline, now, seq)) {
        // The deadline moved earlier: the wheel must learn it, or the entry leaves memory late.
        int offered = stripe.readBuffer.failFastOffer(node);
        if (offered != 0) {
          stripe.wheelStale = true; // dropped: the next exact or scheduled pass re-slots the wheel
          if (offered == 1) {
            tryCleanUp(stripe, now);
          }
        }
        return value;
      }
    }
    if (recordAccess && (stripe.policy != null) && stripe.policy.worthRecording(node, stripe.count)) {
      offerRead(stripe, node);
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
      deadline = node.expiresAtNanos;
      value = node.value;
    } while (!node.unchangedSince(seq, deadline));
    if ((value == null) || ((deadline != Node.NEVER) && (ticker.read() - deadline >= 0))) {
      return null;
    }
    return value;
  }

  private void offerRead(Stripe<K, V> stripe, Node<K, V> node) {
    // One attempt: 0 = buffered, -1 = lost a race (dropped), 1 = full (apply the buffer).
    if (stripe.readBuffer.failFastOffer(node) == 1) {
      tryCleanUp(stripe, timed() ? ticker.read() : 0);
    }
  }

  /**
   * Moves a deadline for a read. Returns whether it moved a per-entry deadline earlier, which the
   * caller must make known to the wheel; a deadline that moved later needs nothing (see
   * TimerWheel).
   */
  private boolean extendOnRead(Node<K, V> node, V value, long deadline, long now, int seq) {
    if (node.has(Node.CUSTOM_TTL)) { // racy read of the flags: a stale answer is caught below
      return false;
    }
    long next;
    if (expireAfterAccessNanos >= 0) {
      // Restart only if the current deadline would end the idle time early, and then with the
      // tolerance added: never early, late by at most the tolerance, one write per tolerance.
      if (deadlineOf(now, expireAfterAccessNanos) - deadline <= 0) {
        return false;
      }
      next = deadlineOf(now, expireAfterAccessNanos + accessToleranceNanos);
    } else if (expiry != null) {
      next = deadlineOf(now, expiry.expireAfterRead(node.key, value, now, deadline - now));
      if (next == deadline) {
        return false;
      }
    } else {
      return false;
    }
    return moveDeadlineForRead(node, seq, deadline, next) && (next - deadline < 0);
  }

  /**
   * Moves a deadline for a read of the value that the pair {@code (seq, deadline)} was read with.
   * The CAS compares the deadline only, and a write of another value may have kept the same
   * deadline (a stuck ticker, an expiry that keeps it on update, or a put with its own TTL): so
   * the write count is checked before (a write that came while the expiry ran), and after (a
   * write that landed between that check and the CAS, whose deadline is then put back). Returns
   * whether the deadline moved.
   */
  private static boolean moveDeadlineForRead(Node<?, ?> node, int seq, long deadline, long next) {
    if (!node.unchangedSince(seq, deadline)) {
      return false; // the value read is no longer there: its read extends nothing
    }
    if (!node.casExpiresAt(deadline, next)) {
      return false; // a writer or another reader moved it first
    }
    if (node.writeSeqAcquire() != seq) { // the CAS is a full fence: a write begun before it shows
      node.casExpiresAt(next, deadline); // undo, unless that write stored its own deadline since
      return false;
    }
    return true;
  }

  @Override
  public Map<K, V> getAllPresent(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    Set<K> unique = new LinkedHashSet<>();
    for (K key : keys) {
      unique.add(Objects.requireNonNull(key, "key"));
    }
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
    long now = 0;
    try {
      for (;;) {
        now = needsTime ? ticker.read() : 0;
        // Run the expiry outside the lock on what we see now; re-validated under the lock.
        Node<K, V> seen = null;
        long seenDeadline = Node.NEVER;
        if ((expiry != null) && (ttlNanos < 0)) {
          seen = stripe.find(key, hash);
          seenDeadline = liveDeadline(seen, now);
        }
        boolean seenLive = (seenDeadline != Node.NEVER);
        long deadline = writeDeadline(key, value, seenLive, seenDeadline, now, ttlNanos);
        Flight flight;
        V previous = null;
        boolean retry = false;
        stripe.lockForWrite(); // guards the table, policy and expiry structures of this stripe
        try {
          flight = stripe.flight(key, hash);
          if (flight == null) {
            Node<K, V> node = stripe.findLocked(key, hash);
            V current = (node == null) ? null : node.value;
            boolean live = (current != null) && !Node.isExpired(node.expiresAtNanos, now);
            if ((expiry != null) && (ttlNanos < 0) && ((node != seen) || (live != seenLive))) {
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
        return previous;
      }
    } finally {
      afterWrite(removals, now); // also what earlier passes of the loop collected
    }
  }

  /**
   * For a write that runs the {@code Expiry} before locking: the deadline of {@code node} if it
   * holds a live value at {@code now} (read as a consistent pair, see Node), or {@link Node#NEVER}
   * if it is absent, removed or expired. NEVER is free to mean "not live" here because a cache
   * with an {@code Expiry} gives every entry a finite deadline ({@link #deadlineOf} never returns
   * NEVER).
   */
  private static long liveDeadline(Node<?, ?> node, long now) {
    if (node == null) {
      return Node.NEVER;
    }
    long deadline;
    Object value;
    int seq;
    do { // a pair that was true at once: see Node, "Value and deadline"
      seq = node.writeSeqAcquire();
      deadline = node.expiresAtNanos;
      value = node.value;
    } while (!node.unchangedSince(seq, deadline));
    return ((value == null) || Node.isExpired(deadline, now)) ? Node.NEVER : deadline;
  }

  /**
   * The deadline of a write at {@code now}: a per-entry TTL, the cache's fixed expiration, or the
   * expiry's answer for a create (no live entry seen) or an update of the entry seen.
   */
  private long writeDeadline(K key, V value, boolean seenLive, long seenDeadline, long now,
      long ttlNanos) {
    if (ttlNanos >= 0) {
      return deadlineOf(now, ttlNanos);
    } else if (expireAfterWriteNanos >= 0) {
      return deadlineOf(now, expireAfterWriteNanos);
    } else if (expireAfterAccessNanos >= 0) {
      return deadlineOf(now, expireAfterAccessNanos);
    } else if (expiry != null) {
      long duration = seenLive
          ? expiry.expireAfterUpdate(key, value, now, seenDeadline - now)
          : expiry.expireAfterCreate(key, value, now);
      return deadlineOf(now, duration);
    }
    return Node.NEVER;
  }

  /**
   * {@code now + duration}, the duration clamped to [0, MAX_DURATION_NANOS]. The one deadline that
   * collides with {@link Node#NEVER} moves a nanosecond: later for a positive duration, earlier
   * (so it has passed at {@code now}) for a zero one.
   */
  static long deadlineOf(long now, long durationNanos) {
    long duration = Math.min(Math.max(durationNanos, 0), MAX_DURATION_NANOS);
    long deadline = now + duration;
    if (deadline == Node.NEVER) {
      return (duration == 0) ? deadline - 1 : deadline + 1;
    }
    return deadline;
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
   * highest count any stripe has published. A stripe that falls behind catches up to just past
   * it, and a stripe publishes its count whenever its low bits ({@code publishMask}) are zero, so
   * stamps of different stripes stay comparable (to within the publication interval) without a
   * shared write on every operation of a large cache: the clock's cache line is mostly read. A
   * small cache publishes every stamp, so its stamps are a global order. The publication is an
   * opaque store, not a CAS: losing a racing publication only delays the clock a little.
   */
  private int nextStamp(Stripe<K, V> stripe) {
    if (maximum < 0) {
      return 0;
    }
    int global = clock.getOpaque(); // a hint; no ordering needed
    int stamp = (int) stripe.counters.stampClock + 1;
    if (stamp - global <= 0) {
      stamp = global + 1; // strictly after everything published, so never a tie with it
    }
    stripe.counters.stampClock = stamp;
    if ((stamp & publishMask) == 0) {
      clock.setOpaque(stamp); // no ordering needed: readers only compare
    }
    return stamp;
  }

  /** Gives a node in the table a new value. Under the lock. */
  private void updateNode(Stripe<K, V> stripe, Node<K, V> node, V value, long weight,
      long deadline, boolean customTtl, long now, RemovalCause cause, Removals<K, V> removals) {
    if (Node.isExpired(deadline, now)) {
      // Dead on arrival. The entry goes, the old value as replaced, the new as expired.
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
    node.setValueAndDeadline(value, deadline);
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

  /**
   * Puts a node in the expiry structure its deadline calls for. Under the lock.
   *
   * <p>A fixed time to live appends to the write-order queue, which expiration pops from the head
   * and which must therefore stay in deadline order. Lock order is not deadline order: a writer
   * preempted between reading the ticker and locking, or a ticker that went back, brings a
   * deadline earlier than the tail's; such a node goes to the timer wheel instead, which takes
   * any order. Per-entry and idle deadlines always go to the wheel.
   */
  private void placeInTime(Stripe<K, V> stripe, Node<K, V> node, long now) {
    long deadline = node.expiresAtNanos;
    WriteOrderDeque<K, V> queue = stripe.writeOrder;
    if (node.has(Node.IN_WRITE_QUEUE)) {
      queue.unlink(node);
    }
    if (deadline == Node.NEVER) {
      if (node.wheelSlot >= 0) {
        stripe.wheel.remove(node);
      }
      return;
    }
    if ((queue != null) && !node.has(Node.CUSTOM_TTL)) {
      Node<K, V> tail = queue.tail;
      if ((tail == null) || (deadline - tail.expiresAtNanos >= 0)) {
        if (node.wheelSlot >= 0) {
          stripe.wheel.remove(node);
        }
        queue.addLast(node);
        return;
      }
    }
    stripe.wheel(now).reschedule(node);
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

  /**
   * After a write released its lock: evict to the bound, then notify. Calls no user code but the
   * executor, whose failures {@link #deliver} absorbs, so it never throws after a write committed.
   *
   * @param now the write's ticker reading, for telling expired victims from live ones
   */
  void afterWrite(Removals<K, V> removals, long now) {
    try {
      if (maximum >= 0) {
        evictToBound(now, removals);
      }
    } finally {
      deliver(removals);
    }
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

  /**
   * Empties every stripe without waiting for loads and computes in flight: each stripe's clear
   * count moves on, so a flight registered before it installs nothing (see install).
   */
  @Override
  public void invalidateAll() {
    clears.incrementAndGet(); // before any stripe is cleared: bulk loads running now see it
    long now = timed() ? ticker.read() : 0;
    for (Stripe<K, V> stripe : stripes) {
      Removals<K, V> removals = newRemovals();
      stripe.lock(); // guards the stripe while it is emptied
      try {
        stripe.generation++;
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
    long now = 0;
    try {
      for (;;) {
        now = timed() ? ticker.read() : 0;
        Flight flight;
        V removed = null;
        stripe.lockForWrite(); // guards the table, policy and expiry structures of this stripe
        try {
          flight = stripe.flight(key, hash);
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
        return removed;
      }
    } finally {
      deliver(removals); // also what earlier passes of the loop collected
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
    long now = 0;
    try {
      for (;;) {
        now = timed() ? ticker.read() : 0;
        Node<K, V> seen = stripe.find(key, hash);
        if (seen == null) {
          return null;
        }
        long seenDeadline;
        V seenValue;
        int seq;
        do { // a pair that was true at once: see Node, "Value and deadline"
          seq = seen.writeSeqAcquire();
          seenDeadline = seen.expiresAtNanos;
          seenValue = seen.value;
        } while (!seen.unchangedSince(seq, seenDeadline));
        if ((seenValue == null) || Node.isExpired(seenDeadline, now)
            || (matchValue && (seenValue != expected))) {
          return null; // the finally delivers what earlier passes collected
        }
        long deadline = writeDeadline(key, value, true, seenDeadline, now, -1);
        Flight flight;
        V replaced = null;
        boolean retry = false;
        stripe.lockForWrite(); // guards the table, policy and expiry structures of this stripe
        try {
          flight = stripe.flight(key, hash);
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
        return replaced;
      }
    } finally {
      afterWrite(removals, now); // also what earlier passes of the loop collected
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
      recordHits(recordStats, 1);
      return present;
    }
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    // Collected across passes, delivered once our flight (if any) has landed: a listener on this
    // thread may then use the key.
    Removals<K, V> removals = newRemovals();
    Flight mine = null;
    long now = 0;
    try {
      for (;;) {
        now = timed() ? ticker.read() : 0;
        Claim<V> claim = claimLoad(stripe, key, hash, now, removals);
        if (claim.value != null) {
          recordHits(recordStats, 1);
          return claim.value;
        }
        Flight flight = claim.other;
        mine = claim.mine;
        if (flight != null) {
          flight.await();
          if (!flight.isLoad || flight.cancelled()) {
            continue; // a compute landed, or a load gave up: look again
          }
          return sharedResult(flight, recordStats);
        }
        if (recordStats && (stats != null)) {
          stats.recordMisses(1);
        }
        return runFlight(stripe, key, hash, mine, null, (k, unused) -> function.apply(k),
            recordStats, removals);
      }
    } finally {
      afterWrite(removals, (mine == null) ? now : mine.installedAtNanos);
    }
  }

  /** What a load found for its key under the stripe lock: exactly one field is set. */
  private static final class Claim<V> {
    V value;
    Flight other;
    Flight mine;
  }

  /**
   * Under the stripe lock: the key's live value, or another caller's flight to wait for, or else
   * a new load flight of ours, registered (an expired entry met on the way is removed).
   */
  private Claim<V> claimLoad(Stripe<K, V> stripe, K key, int hash, long now,
      Removals<K, V> removals) {
    Claim<V> claim = new Claim<>();
    stripe.lockForWrite(); // guards the table and the in-flight markers of this stripe
    try {
      claim.other = stripe.flight(key, hash);
      if (claim.other == null) {
        Node<K, V> node = liveNode(stripe, key, hash, now, removals);
        if (node != null) {
          claim.value = node.value;
        } else {
          claim.mine = new Flight(key, hash, true, now);
          stripe.addFlight(claim.mine);
        }
      }
    } finally {
      stripe.unlock();
    }
    return claim;
  }

  /**
   * After waiting for another caller's load: its value (a hit: the caller got a value without
   * loading it), or its exception or absence (a miss).
   */
  private V sharedResult(Flight flight, boolean recordStats) {
    @SuppressWarnings("unchecked")
    V value = flight.failed() ? null : (V) flight.result();
    if (value == null) {
      if (recordStats && (stats != null)) {
        stats.recordMisses(1);
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
    if (recordStats && (stats != null)) {
      stats.recordHits(count);
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

  enum ComputeKind { IF_PRESENT, COMPUTE }

  /**
   * Atomically computes a new mapping for {@code key} with {@code function} run outside the lock.
   * Serves {@code compute}, {@code computeIfPresent} and {@code merge}.
   */
  V compute(K key, BiFunction<? super K, ? super V, ? extends V> function, ComputeKind kind) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(function, "remappingFunction");
    int hash = spread(key.hashCode());
    Stripe<K, V> stripe = stripeFor(hash);
    Removals<K, V> removals = newRemovals(); // delivered once our flight has landed
    Flight mine = null;
    long now = 0;
    try {
      for (;;) {
        now = timed() ? ticker.read() : 0;
        Flight flight;
        V old = null;
        stripe.lockForWrite(); // guards the table and the in-flight markers of this stripe
        try {
          flight = stripe.flight(key, hash);
          if (flight == null) {
            Node<K, V> node = liveNode(stripe, key, hash, now, removals);
            old = (node == null) ? null : node.value;
            if ((kind != ComputeKind.IF_PRESENT) || (old != null)) {
              mine = new Flight(key, hash, false, now);
              stripe.addFlight(mine);
            }
          }
        } finally {
          stripe.unlock();
        }
        if (flight != null) {
          flight.await(); // per-key atomicity: wait for the running computation, then retry
          continue;
        }
        if (mine == null) {
          return null; // computeIfPresent on an absent key
        }
        return runFlight(stripe, key, hash, mine, old, function, false, removals);
      }
    } finally {
      afterWrite(removals, (mine == null) ? now : mine.installedAtNanos);
    }
  }

  /**
   * Runs a registered flight to its end: the function outside the lock, then the install. The
   * whole of it is one {@code try}, so every exit (the function, the weigher, the expiry, the
   * ticker or a key's {@code equals} throwing) unregisters and lands the flight; waiters never
   * hang. The caller delivers {@code removals} afterwards.
   */
  private V runFlight(Stripe<K, V> stripe, K key, int hash, Flight flight, V old,
      BiFunction<? super K, ? super V, ? extends V> function, boolean recordStats,
      Removals<K, V> removals) {
    boolean timeLoad = recordStats && (stats != null);
    long start = 0;
    FlightScope scope = enterFlight();
    try {
      start = timeLoad ? ticker.read() : 0;
      V value = function.apply(key, old);
      long weight = (value == null) ? 0 : weigh(key, value);
      install(stripe, key, hash, flight, value, weight, removals, timeLoad);
      if (timeLoad) {
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
      if (timeLoad) {
        stats.recordLoadFailure(elapsedSince(start));
      }
      land(stripe, flight, t, false);
      throw t;
    } finally {
      exitFlight(scope); // after the flight landed: notifications deferred meanwhile go out
    }
  }

  /** Load time for statistics after a failure; a ticker that throws again counts zero. */
  private long elapsedSince(long start) {
    try {
      return ticker.read() - start;
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /**
   * Installs a flight's result and unregisters the flight. The expiry runs before locking, on the
   * entry as it is then, and is run again if that entry changed before the lock was taken: an
   * entry evicted, expired or invalidated while the function ran makes the result a create, not
   * an update of nothing. A flight registered before an {@code invalidateAll} of its stripe
   * installs nothing; its value is reported {@link RemovalCause#EXPLICIT}, as if stored and then
   * invalidated. Records the ticker reading used in {@code flight.installedAtNanos}.
   */
  private void install(Stripe<K, V> stripe, K key, int hash, Flight flight, V value,
      long weight, Removals<K, V> removals, boolean timeLoad) {
    for (;;) {
      long now = (timed() || timeLoad) ? ticker.read() : 0;
      flight.installedAtNanos = now;
      Node<K, V> seen = null;
      boolean seenLive = false;
      long deadline = Node.NEVER;
      if (value != null) {
        long seenDeadline = Node.NEVER;
        if (expiry != null) {
          seen = stripe.find(key, hash);
          seenDeadline = liveDeadline(seen, now);
          seenLive = (seenDeadline != Node.NEVER);
        }
        deadline = writeDeadline(key, value, seenLive, seenDeadline, now, -1);
      }
      stripe.lockForWrite(); // guards the table, policy, expiry structures and in-flight markers
      try {
        Node<K, V> node = stripe.findLocked(key, hash);
        boolean live = (node != null) && !Node.isExpired(node.expiresAtNanos, now);
        if ((expiry != null) && (value != null) && ((node != seen) || (live != seenLive))) {
          continue; // the entry changed since the expiry ran: run it again (unlocks first)
        }
        stripe.removeFlight(flight);
        if (flight.generation != stripe.generation) {
          if (value != null) {
            removals.add(key, value, RemovalCause.EXPLICIT); // loaded before an invalidateAll
          }
        } else {
          if ((node != null) && !live) {
            removeNode(stripe, node, RemovalCause.EXPIRED, removals);
            node = null;
          }
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
        }
        maintain(stripe, now, removals);
        return;
      } finally {
        stripe.unlock();
      }
    }
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> mappingFunction) {
    Objects.requireNonNull(keys, "keys");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return loadAll(keys, mappingFunction, false);
  }

  @Override
  public Map<K, V> getAll(Iterable<? extends K> keys) {
    Objects.requireNonNull(keys, "keys");
    if (!bulkLoader) {
      return loadEach(keys);
    }
    return loadAll(keys, this::bulkLoad, true);
  }

  /** getAll of a loader without a bulk form: one single-flight load per absent key. */
  private Map<K, V> loadEach(Iterable<? extends K> keys) {
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

  /**
   * getAll with a bulk function. First every key is read without registering anything (the
   * reads run user code: an {@code Expiry}, keys' {@code equals}); then a flight is registered
   * for each absent key, and from the first registration on everything is inside one
   * {@code try} whose exits land every flight still registered.
   */
  private Map<K, V> loadAll(Iterable<? extends K> keys,
      Function<? super Set<? extends K>, ? extends Map<? extends K, ? extends V>> function,
      boolean fromLoader) {
    Set<K> unique = new LinkedHashSet<>();
    for (K key : keys) {
      unique.add(Objects.requireNonNull(key, "key"));
    }
    Map<K, V> found = new LinkedHashMap<>();
    List<K> absent = new ArrayList<>();
    for (K key : unique) {
      V value = read(key, true);
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
    Removals<K, V> removals = newRemovals(); // delivered once every flight of ours has landed
    // Read before anything is registered; the loop reads again per key. Eviction afterwards
    // judges expired victims by the latest reading, never by a made-up time.
    long now = timed() ? ticker.read() : 0;
    FlightScope scope = enterFlight();
    try {
      for (K key : absent) {
        int hash = spread(key.hashCode());
        Stripe<K, V> stripe = stripeFor(hash);
        now = timed() ? ticker.read() : 0; // per key: a reading from before the loop goes stale
        Claim<V> claim = claimLoad(stripe, key, hash, now, removals);
        if (claim.mine != null) {
          registered.add(claim.mine);
          mine.put(key, claim.mine);
        } else if (claim.other != null) {
          others.put(key, claim.other);
        } else {
          found.put(key, claim.value);
          hits++;
        }
      }
      misses = mine.size();
      if (!mine.isEmpty()) {
        List<K> unsupported = new ArrayList<>();
        now = runBulkFlights(mine, function, fromLoader, found, removals, unsupported, now);
        if (!unsupported.isEmpty()) {
          // The loader has no bulk form after all: load key by key, each load a flight of its
          // own, so a load() that asks for another key of the batch simply loads it.
          misses -= unsupported.size(); // each get counts its own hit or miss
          for (K key : unsupported) {
            V value = get(key);
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
        found.putAll(loadAll(retry, function, fromLoader)); // counts its own statistics
      }
    } catch (Throwable t) {
      for (Flight flight : registered) {
        land(flight, null, true); // gave up for a reason that may not be this key's: waiters retry
      }
      throw t;
    } finally {
      if (stats != null) {
        stats.recordHits(hits);
        stats.recordMisses(misses);
      }
      afterWrite(removals, now);
      exitFlight(scope);
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
    int clearsBefore = clears.get();
    long start = 0;
    List<Map.Entry<? extends K, ? extends V>> loaded;
    try {
      start = (stats != null) ? ticker.read() : 0;
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
        Stripe<K, V> stripe = stripeFor(flight.hash);
        install(stripe, key, flight.hash, flight, value, weigh(key, value), removals, false);
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
      extras.forEach(this::weigh);
      extras.forEach(this::put);
      return null;
    } catch (Throwable t) {
      return t;
    }
  }

  /** The bulk function failed as a whole: every flight shares the failure. */
  private void failAll(Map<K, Flight> mine, Throwable t, long start) {
    if (stats != null) {
      stats.recordLoadFailure(elapsedSince(start));
    }
    for (Flight flight : mine.values()) {
      land(flight, t, false);
    }
    mine.clear();
  }

  /**
   * Unregisters a flight that installs nothing and lands it: with {@code failure} if given, else
   * cancelled (its waiters look again) or absent (its waiters share the absence).
   */
  private void land(Flight flight, Throwable failure, boolean cancel) {
    land(stripeFor(flight.hash), flight, failure, cancel);
  }

  private void land(Stripe<K, V> stripe, Flight flight, Throwable failure, boolean cancel) {
    stripe.lock(); // guards the in-flight markers; removal by identity runs no user code
    try {
      stripe.removeFlight(flight);
    } finally {
      stripe.unlock();
    }
    if (failure != null) {
      flight.fail(failure);
    } else if (cancel) {
      flight.cancel();
    } else {
      flight.complete(null);
    }
  }

  /* ---------------- Eviction ---------------- */

  /** What one attempt to evict from a stripe did. */
  private enum Evicted { ONE, NONE, NEWER }

  /**
   * Whether the total weight exceeds the bound. Weights are never negative, so a negative total
   * can only be a sum that overflowed {@code long}: that is over any bound too.
   */
  private boolean overBound() {
    long total = totalWeight.get();
    return (total > maximum) || (total < 0);
  }

  /** Non-empty stripes compared per eviction round. */
  private static final int VICTIM_SAMPLES = 16;

  /**
   * Evicts until the total weight is within the bound. Each round samples up to 16 non-empty
   * stripes and picks the one whose least recent entry has the oldest stamp. Stamps only reflect the reads
   * already applied, so under the chosen stripe's lock its buffered reads are applied first; if
   * its eldest entry is then newer than the runner-up's, the choice is made again. Each such round
   * applies one sampled stripe's reads, so at most as many rounds as samples are needed; past that
   * (a stream of new reads) the choice stands, so reads cannot starve eviction.
   */
  private void evictToBound(long now, Removals<K, V> removals) {
    int rechosen = 0;
    while (overBound()) {
      // Up to every stripe, to find the samples: a sparse cache (fewer non-empty stripes than
      // samples) is compared whole. A full one finds them in the first 16 it visits.
      int visits = stripes.length;
      int start = victimCursor; // racy hint: any value spreads the sampling
      victimCursor = start + 1;
      Stripe<K, V> best = null;
      int bestStamp = 0;
      boolean hasRunnerUp = false;
      int runnerUpStamp = 0;
      int sampled = 0;
      for (int i = 0; (i < visits) && (sampled < VICTIM_SAMPLES); i++) {
        Stripe<K, V> stripe = stripes[(start + i) & stripeMask];
        Node<K, V> eldest = stripe.policy.eldestHint();
        if (eldest != null) {
          sampled++;
          int stamp = eldest.stamp; // racy read, a hint only
          if ((best == null) || (stamp - bestStamp < 0)) {
            if (best != null) {
              hasRunnerUp = true;
              runnerUpStamp = bestStamp;
            }
            best = stripe;
            bestStamp = stamp;
          } else if (!hasRunnerUp || (stamp - runnerUpStamp < 0)) {
            hasRunnerUp = true;
            runnerUpStamp = stamp;
          }
        }
      }
      Evicted outcome = (best == null) ? Evicted.NONE
          : evictFrom(best, now, removals, hasRunnerUp && (rechosen < VICTIM_SAMPLES),
              runnerUpStamp);
      if (outcome == Evicted.NEWER) {
        rechosen++;
        continue;
      }
      rechosen = 0;
      if (outcome == Evicted.NONE) {
        boolean evicted = false;
        for (Stripe<K, V> stripe : stripes) {
          if (evictFrom(stripe, now, removals, false, 0) == Evicted.ONE) {
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

  /**
   * Under the stripe's lock: applies its buffered reads and removes its expired entries (which
   * may be enough), then evicts its least recent entry, reported {@link RemovalCause#EXPIRED} if
   * it has expired and {@link RemovalCause#SIZE} otherwise. With {@code bounded}, gives up
   * ({@link Evicted#NEWER}) if that entry turns out newer than {@code limitStamp}.
   */
  private Evicted evictFrom(Stripe<K, V> stripe, long now, Removals<K, V> removals,
      boolean bounded, int limitStamp) {
    stripe.lockForWrite(); // guards the stripe's policy and table while its victim is removed
    try {
      drainReadBuffer(stripe);
      if (timed()) {
        long before = stripe.count;
        expire(stripe, now, removals);
        if ((stripe.count != before) && !overBound()) {
          return Evicted.ONE;
        }
      }
      Node<K, V> victim = stripe.policy.victim();
      if (victim == null) {
        return Evicted.NONE;
      }
      if (bounded && (victim.stamp - limitStamp > 0)) {
        return Evicted.NEWER;
      }
      boolean expired = Node.isExpired(victim.expiresAtNanos, now);
      removeNode(stripe, victim, expired ? RemovalCause.EXPIRED : RemovalCause.SIZE, removals);
      return Evicted.ONE;
    } finally {
      stripe.unlock();
    }
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
        stripe.wheel.reschedule(node); // a read may have moved its deadline earlier
      }
    }
  }

  /**
   * The regular expiration pass: pops expired nodes off the write-order queue, advances the timer
   * wheel, and expires the wheel's current bucket when its lower bound says something there is
   * due (so nothing expired is left behind, also when the ticker lags the wheel). O(1) amortized
   * per expired node. Under the lock.
   */
  private void expire(Stripe<K, V> stripe, long now, Removals<K, V> removals) {
    WriteOrderDeque<K, V> queue = stripe.writeOrder;
    if (queue != null) {
      for (Node<K, V> node; ((node = queue.head) != null)
          && Node.isExpired(node.expiresAtNanos, now); ) {
        removeNode(stripe, node, RemovalCause.EXPIRED, removals);
      }
    }
    TimerWheel<K, V> wheel = stripe.wheel;
    if (wheel != null) {
      if (now - wheel.nanos() < -WHEEL_REBUILD_BACKWARDS_NANOS) {
        wheel.rebuild(now); // the ticker went far back: do not wait for it to catch up
      }
      // Checked first so that the common case (nothing due) allocates no lambda.
      if ((wheel.size() > 0) && wheel.hasDueBuckets(now)) {
        wheel.advance(now, node -> removeNode(stripe, node, RemovalCause.EXPIRED, removals));
      }
      if ((wheel.size() > 0) && wheel.currentBucketMayHaveExpired(now)) {
        wheel.expireCurrentBucket(now,
            node -> removeNode(stripe, node, RemovalCause.EXPIRED, removals));
      }
    }
  }

  /**
   * Re-slots the wheel if a reader moved a deadline earlier and its read was dropped (see
   * Stripe.wheelStale). O(wheel size), and only on the scheduled and the exact paths, so it costs
   * at most once a second per stripe under load. Under the lock.
   */
  private void resettleWheel(Stripe<K, V> stripe) {
    if (stripe.wheelStale) { // volatile read: sees the deadline CAS that preceded the store
      stripe.wheelStale = false;
      if (stripe.wheel != null) {
        stripe.wheel.rebuild(stripe.wheel.nanos());
      }
    }
  }

  /**
   * Expiration that leaves nothing expired behind, for answers that must be exact: applies the
   * buffered reads (a read that shortened a deadline reschedules its node), re-slots the wheel if
   * such a read was dropped, then runs the regular pass, which leaves no expired node in the
   * write-order queue's head nor in the wheel. Under the lock.
   */
  private void expireExactly(Stripe<K, V> stripe, long now, Removals<K, V> removals) {
    drainReadBuffer(stripe);
    resettleWheel(stripe);
    expire(stripe, now, removals);
  }

  /** Maintenance from a reader: never waits for the lock. */
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
    try {
      for (Stripe<K, V> stripe : stripes) {
        stripe.lock(); // guards the stripe during its maintenance
        try {
          if (timed()) {
            expireExactly(stripe, now, removals);
          } else {
            drainReadBuffer(stripe);
          }
        } finally {
          stripe.unlock();
        }
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
          drainReadBuffer(stripe);
          resettleWheel(stripe);
          expire(stripe, now, removals);
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

  /**
   * Per thread: how many flights (loads and computes, of any cache) it is running, and the
   * notifications produced meanwhile by what its user code called (a nested put, an
   * invalidateAll from inside a compute). They are delivered when its outermost flight has
   * landed: a listener on this thread must never meet a flight of its own, which would read as
   * recursion. Thread-confined: no ordering needed.
   */
  private static final class FlightScope {
    int depth;
    ArrayList<Runnable> deferred;

    void defer(Runnable delivery) {
      if (deferred == null) {
        deferred = new ArrayList<>();
      }
      deferred.add(delivery);
    }
  }

  private static final ThreadLocal<FlightScope> FLIGHT_SCOPE =
      ThreadLocal.withInitial(FlightScope::new);

  private static FlightScope enterFlight() {
    FlightScope scope = FLIGHT_SCOPE.get();
    scope.depth++;
    return scope;
  }

  /** Leaves a flight; the outermost one delivers what was deferred (deliveries never throw). */
  private static void exitFlight(FlightScope scope) {
    if ((--scope.depth == 0) && (scope.deferred != null)) {
      ArrayList<Runnable> deliveries = scope.deferred;
      scope.deferred = null;
      for (Runnable delivery : deliveries) {
        delivery.run();
      }
    }
  }

  Removals<K, V> newRemovals() {
    return (listener == null) ? Removals.discarding() : new Removals<>();
  }

  /**
   * Hands removals to the listener through the executor. An executor that rejects the task, or
   * throws anything else (logged), leaves it to run here: no notification is lost and the write
   * that caused it does not fail after it committed. The task delivers once, even if an executor
   * both runs it and throws.
   */
  void deliver(Removals<K, V> removals) {
    if ((listener == null) || removals.isEmpty()) {
      return;
    }
    FlightScope scope = FLIGHT_SCOPE.get();
    if (scope.depth > 0) {
      scope.defer(() -> dispatch(removals)); // this thread owns a flight: after it lands
      return;
    }
    dispatch(removals);
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
    return totalWeight.get();
  }

  /** The exact number of unexpired entries, expiring what is due first. */
  long exactSize() {
    long now = timed() ? ticker.read() : 0;
    long size = 0;
    Removals<K, V> removals = newRemovals();
    try {
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
