package dev.hourglass.cache.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheStats;
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
  private final Executor executor;
  private final Scheduler scheduler;
  private final RemovalListener<? super K, ? super V> listener;
  /** Statistics, or null when not recorded. */
  final StatsCounter stats;
  /** Loads and computes. */
  final SingleFlight<K, V> flights;

  private final AtomicBoolean cleanerStarted = new AtomicBoolean();
  private volatile Future<?> cleanerFuture;
  private MapView<K, V> mapView;

  /**
   * Creates a cache from validated settings.
   *
   * @param spec the settings
   */
  @SuppressWarnings("unchecked")
  StripedCache(CacheSpec<K, V> spec) {
    this.expiration = new Expiration<>(spec.expireAfterWriteNanos(),
        spec.expireAfterAccessNanos(), spec.expiry(), spec.ticker());
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
    long perStripe = (spec.initialCapacity() / stripeCount) + 1;
    int tableLength = 4;
    while ((tableLength < (1 << 30)) && (tableLength - (tableLength >>> 2) < perStripe)) {
      tableLength <<= 1;
    }
    // Idle expiration uses the timer wheel, not an access order: only a bound needs a policy.
    boolean bounded = (spec.maximum() >= 0);
    this.eviction = bounded ? new Eviction<>(spec.maximum()) : null;
    EvictionPolicy.Factory<K, V> policies =
        bounded ? LruPolicy.factory(spec.maximum(), stripeCount) : null;
    boolean needsBuffer = bounded || expiration.readsMayShorten();
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
      if (recordAccess && extendsOnRead
          && expiration.extendOnRead(node, value, deadline, now, seq)) {
        // The deadline moved earlier: the wheel must learn it, or the entry leaves memory late.
        int offered = stripe.offerRead(node);
        if (offered != 0) {
          stripe.markWheelStale(); // dropped: the next exact or scheduled pass re-slots the wheel
          if (offered == 1) {
            tryCleanUp(stripe, now);
          }
        }
        return value;
      }
    }
    EvictionPolicy<K, V> policy = stripe.policy;
    if (recordAccess && (policy != null) && policy.worthRecording(node, stripe.count)) {
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
    if (stripe.offerRead(node) == 1) {
      tryCleanUp(stripe, expiration.now());
    }
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

  /**
   * One write of one key, in the steps of the write protocol ({@link #write}): what to do before
   * the lock (the user code the change needs, on the entry as it is then) and what to do under it.
   * A write that ran user code before the lock checks under it that the entry did not change
   * meanwhile, and asks to be run again if it did.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   */
  abstract static class KeyWrite<K, V> {
    final K key;
    final int hash;
    final Stripe<K, V> stripe;
    /** The flight this write installs (its own, not waited for), or null. */
    Flight own;
    /** Whether the write reads the ticker even when nothing can expire (a timed load). */
    boolean readsTicker;
    /** Whether the stripe's maintenance runs after the change (a claim leaves it to the install). */
    boolean maintains = true;
    /** The ticker reading of the latest pass. */
    long now;

    KeyWrite(StripedCache<K, V> cache, K key) {
      this(cache, key, spread(key.hashCode()));
    }

    /** A write of {@code key} under a hash already taken (the one its flight was registered by). */
    KeyWrite(StripedCache<K, V> cache, K key, int hash) {
      this.key = key;
      this.hash = hash;
      this.stripe = cache.stripeFor(hash);
    }

    /** Before the lock, at {@code now}: the user code the change needs. False: done, no lock. */
    boolean prepare(long now) {
      return true;
    }

    /**
     * Under the lock, with no other caller's flight on the key: changes the stripe.
     *
     * @param node the key's node as found under the lock (live, expired or null)
     * @return false to run the write again (the entry changed since {@link #prepare})
     */
    @GuardedBy("stripe")
    abstract boolean apply(Node<K, V> node, long now, Removals<K, V> removals);

    /** Another caller's flight holds the key: true to wait for it and retry, false to stop. */
    boolean waitsFor(Flight flight) {
      return true;
    }
  }

  /**
   * The write protocol, for every write of one key: read the ticker, run the write's user code,
   * lock the key's stripe, look for another caller's flight on the key, and either change the
   * stripe and do its maintenance, or unlock and wait for that flight and start again. No user
   * code but the key's {@code equals} runs under the lock. The caller then evicts and delivers
   * (see afterWrite), in a {@code finally}, so what earlier passes collected is delivered too.
   */
  final void write(KeyWrite<K, V> op, Removals<K, V> removals) {
    for (;;) {
      long now = (op.readsTicker || expiration.timed()) ? ticker.read() : 0;
      op.now = now;
      if (!op.prepare(now)) {
        return;
      }
      Flight other = null;
      boolean done = false;
      op.stripe.lockForWrite(); // guards the stripe's table, policy, time structures and flights
      try {
        Flight flight = op.stripe.flight(op.key, op.hash);
        if ((flight != null) && (flight != op.own)) {
          other = flight;
        } else {
          done = op.apply(op.stripe.findLocked(op.key, op.hash), now, removals);
          if (op.maintains) {
            op.stripe.maintain(now, removals);
          }
        }
      } finally {
        op.stripe.unlock();
      }
      if (other != null) {
        if (!op.waitsFor(other)) {
          return;
        }
        other.await(); // another caller is loading or computing this key: wait, then write
      } else if (done) {
        return;
      }
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

  long weigh(K key, V value) {
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
    Put op = new Put(key, value, weight, ttlNanos, onlyIfAbsent);
    Removals<K, V> removals = newRemovals();
    try {
      write(op, removals);
      return op.previous;
    } finally {
      afterWrite(removals, op.now);
    }
  }

  /** A put: stores a value, or with {@code onlyIfAbsent} keeps a live one. */
  private final class Put extends KeyWrite<K, V> {
    final V value;
    final long weight;
    final long ttlNanos;
    final boolean onlyIfAbsent;
    /** The entry the expiry ran on, and whether it was live then. */
    Node<K, V> seen;
    boolean seenLive;
    long deadline;
    V previous;

    Put(K key, V value, long weight, long ttlNanos, boolean onlyIfAbsent) {
      super(StripedCache.this, key);
      this.value = value;
      this.weight = weight;
      this.ttlNanos = ttlNanos;
      this.onlyIfAbsent = onlyIfAbsent;
      this.readsTicker = (ttlNanos >= 0);
    }

    @Override
    boolean prepare(long now) {
      // Run the expiry outside the lock on what we see now; re-validated under the lock.
      long seenDeadline = Node.NEVER;
      if (expiration.asksExpiryOnWrite(ttlNanos)) {
        seen = stripe.find(key, hash);
        seenDeadline = Expiration.liveDeadline(seen, now);
      }
      seenLive = (seenDeadline != Node.NEVER);
      deadline = expiration.writeDeadline(key, value, seenLive, seenDeadline, now, ttlNanos);
      return true;
    }

    @Override
    @GuardedBy("stripe")
    boolean apply(Node<K, V> node, long now, Removals<K, V> removals) {
      V current = (node == null) ? null : node.value;
      boolean live = (current != null) && !Node.isExpired(node.expiresAtNanos, now);
      if (expiration.asksExpiryOnWrite(ttlNanos) && ((node != seen) || (live != seenLive))) {
        return false; // the entry appeared or vanished since the expiry ran: run it again
      }
      if (onlyIfAbsent && live) {
        previous = current;
      } else if (node == null) {
        Node<K, V> added = new Node<>(key, hash, value);
        added.weight = weight;
        added.initExpiresAt(deadline);
        added.set(Node.CUSTOM_TTL, ttlNanos >= 0);
        stripe.add(added, now, removals);
      } else {
        previous = live ? current : null;
        stripe.update(node, value, weight, deadline, ttlNanos >= 0, now,
            live ? RemovalCause.REPLACED : RemovalCause.EXPIRED, removals);
      }
      return true;
    }
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
    Remove op = new Remove((K) key, expected);
    Removals<K, V> removals = newRemovals();
    try {
      write(op, removals);
      return op.removed;
    } finally {
      deliver(removals); // also what earlier passes collected
    }
  }

  /** A removal, of any value or only of {@code expected}. */
  private final class Remove extends KeyWrite<K, V> {
    final V expected;
    V removed;

    Remove(K key, V expected) {
      super(StripedCache.this, key);
      this.expected = expected;
    }

    @Override
    @GuardedBy("stripe")
    boolean apply(Node<K, V> node, long now, Removals<K, V> removals) {
      if (node != null) {
        V current = node.value;
        if (Node.isExpired(node.expiresAtNanos, now)) {
          stripe.remove(node, RemovalCause.EXPIRED, removals);
        } else if ((expected == null) || (current == expected)) {
          stripe.remove(node, RemovalCause.EXPLICIT, removals);
          removed = current;
        }
      }
      return true;
    }
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
    Replace op = new Replace(key, expected, value, weight);
    Removals<K, V> removals = newRemovals();
    try {
      write(op, removals);
      return op.replaced;
    } finally {
      afterWrite(removals, op.now); // also what earlier passes collected
    }
  }

  /** A replacement of a live value (of any value or only of {@code expected}). */
  private final class Replace extends KeyWrite<K, V> {
    final V expected;
    final V value;
    final long weight;
    Node<K, V> seen;
    long deadline;
    V replaced;

    Replace(K key, V expected, V value, long weight) {
      super(StripedCache.this, key);
      this.expected = expected;
      this.value = value;
      this.weight = weight;
    }

    @Override
    boolean prepare(long now) {
      seen = stripe.find(key, hash);
      if (seen == null) {
        return false;
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
          || ((expected != null) && (seenValue != expected))) {
        return false; // nothing to replace
      }
      deadline = expiration.writeDeadline(key, value, true, seenDeadline, now, Expiration.NO_TTL);
      return true;
    }

    @Override
    @GuardedBy("stripe")
    boolean apply(Node<K, V> node, long now, Removals<K, V> removals) {
      if (node != seen) {
        return false; // another node took the key's place: look again
      }
      V current = node.value;
      if ((current != null) && !Node.isExpired(node.expiresAtNanos, now)
          && ((expected == null) || (current == expected))) {
        stripe.update(node, value, weight, deadline, false, now, RemovalCause.REPLACED, removals);
        replaced = current;
      }
      return true;
    }
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
        + stripes.length + ((eviction != null) ? ", maximum=" + eviction.maximum : "") + "]";
  }
}
