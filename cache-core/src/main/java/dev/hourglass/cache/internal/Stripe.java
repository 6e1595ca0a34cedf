package dev.hourglass.cache.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.hourglass.cache.RemovalCause;
import java.util.function.Consumer;
import org.jctools.queues.atomic.MpscAtomicArrayQueue;

/**
 * One stripe of the cache: its lock and everything the lock guards. The table and the lock come
 * from {@link StripeTable}; this class adds the stripe's eviction policy, its time structures
 * (write-order queue and timer wheel), its lossy read buffer, its in-flight markers and its weight,
 * and every mutation of them: add, update and remove a node, place it in time, re-slot nodes
 * whose deadline a read moved, expire, evict one entry, clear. The engine ({@link StripedCache})
 * decides what to write and takes the lock; the stripe changes its own state.
 *
 * <h2>Invariants, under the lock</h2>
 * A node is in the table iff it is not {@link Node#RETIRED}; a node in the table is known to the
 * policy iff the cache has a bound; it is in the write-order queue iff {@link Node#IN_WRITE_QUEUE},
 * and in the timer wheel iff its {@code wheelSlot} is set, and in one of them iff its deadline is
 * not {@link Node#NEVER}; {@code count} and {@code weightedSize} are the sums over the table, and
 * the cache's global weight ({@link Eviction}) the sum over the stripes.
 *
 * <h2>Read buffer</h2>
 * Only a cache whose reads may move a deadline earlier ({@code Expiry.expireAfterRead}) has one: such
 * a hit is offered to the bounded read buffer ({@code failFastOffer}: one attempt; when it is
 * dropped the wheel is marked stale instead), and whoever holds the lock next re-slots the node in
 * the timer wheel ({@link #drainReads}). The eviction policy needs no buffer: a hit tells it
 * directly, writing at most the node's own counter ({@link EvictionPolicy#onHit}).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@SuppressWarnings("serial") // never serialized
final class Stripe<K, V> extends StripeTable<K, V> {
  /**
   * A ticker reading this far behind the timer wheel's time is a clock that went back, not a
   * writer that lagged: the wheel is rebuilt at the new time (about 17 s).
   */
  static final long WHEEL_REBUILD_BACKWARDS_NANOS = 1L << TimerWheel.SHIFTS[1];

  /**
   * What one attempt to evict from a stripe did: evicted one node, nothing, stopped at a newer
   * rank, only moved nodes to main for room, or (a contest's candidate) admitted it to main.
   */
  enum Evicted { ONE, NONE, NEWER, MOVED, ADMITTED }

  /** The eviction policy, or null when the cache has no size bound. Read by the read path. */
  final EvictionPolicy<K, V> policy;
  /** Lossy buffer of hits waiting to be applied, or null when nothing needs them. */
  final MpscAtomicArrayQueue<TimedNode<K, V>> readBuffer;
  /** The stripe's weight, on a padded line of its own: written on every write. */
  @GuardedBy("this")
  private final Counters counters = new Counters();
  /** Write order for a fixed time to live, or null. */
  @GuardedBy("this")
  final WriteOrderDeque<K, V> writeOrder;
  /** Per-entry, idle and out-of-order deadlines; created on first use. */
  @GuardedBy("this")
  TimerWheel<K, V> wheel;
  /**
   * In-flight loads and computes: a small chained hash table by the keys' spread hashes, created
   * on first use.
   */
  @GuardedBy("this")
  private Flight[] flights;
  @GuardedBy("this")
  private int flightCount;
  /**
   * How many times {@code invalidateAll} has emptied this stripe. A flight registered under an
   * older count installs nothing: its load began before the invalidation.
   */
  @GuardedBy("this")
  private int generation;
  /**
   * Set by a reader whose {@code Expiry.expireAfterRead} moved a deadline earlier but whose read
   * the lossy buffer dropped: the wheel then holds the node in a bucket that is too late, until
   * the next exact or scheduled pass re-slots the wheel ({@link #resettleWheel}). Volatile: the
   * reader's deadline CAS happens before this store, so whoever reads {@code true} (under the
   * lock) also sees the new deadline.
   */
  private volatile boolean wheelStale;

  private final Expiration<K, V> expiration;
  /** The cache's bound, or null when it has none. */
  private final Eviction<K, V> eviction;
  /** Statistics, or null when not recorded. */
  private final StatsCounter stats;

  /**
   * The stripe's write-hot counter, padded on both sides, so that writes do not invalidate the
   * line readers load ({@code table}, {@code policy}, {@code readBuffer}). HotSpot lays out fields
   * of one size in declaration order, so the long padding surrounds it. Guarded by the lock.
   */
  static final class Counters {
    long p0, p1, p2, p3, p4, p5, p6, p7;
    /** Sum of the entries' weights. */
    long weightedSize;
    long q0, q1, q2, q3, q4, q5, q6, q7;
  }

  Stripe(int initialTableLength, Expiration<K, V> expiration, Eviction<K, V> eviction,
      EvictionPolicy<K, V> policy, StatsCounter stats, int readBufferSize) {
    super(initialTableLength);
    this.expiration = expiration;
    this.eviction = eviction;
    this.policy = policy;
    this.stats = stats;
    this.writeOrder = expiration.usesWriteOrder() ? new WriteOrderDeque<>() : null;
    this.readBuffer = (readBufferSize > 0) ? new MpscAtomicArrayQueue<>(readBufferSize) : null;
  }

  /* ---------------- Entries, under the lock ---------------- */

  /** {@code node} if it is there and unexpired; an expired one is removed, and null returned. */
  @GuardedBy("this")
  Node<K, V> removeIfExpired(Node<K, V> node, long now, Removals<K, V> removals) {
    if ((node != null) && Node.isExpired(node.expiresAt(), now)) {
      remove(node, RemovalCause.EXPIRED, removals);
      return null;
    }
    return node;
  }

  /**
   * Adds a new node to the table, the policy and its time structure, and evicts it at once if it
   * alone exceeds the bound. A node whose deadline has already passed is not stored at all: it is
   * reported expired at once.
   */
  @GuardedBy("this")
  void add(Node<K, V> node, long now, Removals<K, V> removals) {
    if (Node.isExpired(node.expiresAt(), now)) {
      node.set(Node.RETIRED, true);
      if (stats != null) {
        stats.recordEviction(node.weight());
      }
      removals.add(node.key, node.value, RemovalCause.EXPIRED);
      return;
    }
    node.setWrittenAtNanos(now); // before the insert's release store publishes the node
    insert(node);
    if (policy != null) {
      policy.onInsert(node, count);
    }
    placeInTime(node, now);
    counters.weightedSize += node.weight();
    if (eviction != null) {
      eviction.addWeight(node.weight());
    }
    evictIfHeavier(node, removals);
  }

  /**
   * Gives a node in the table a new value, reporting the old one with {@code cause}, and evicts it
   * at once if it alone exceeds the bound. A value already dead at {@code now} removes the entry.
   */
  @GuardedBy("this")
  void update(Node<K, V> node, V value, long weight, long deadline, boolean customTtl, long now,
      RemovalCause cause, Removals<K, V> removals) {
    if ((deadline != Node.NEVER) && !node.timed()) {
      node = withTime(node);
    }
    if (Node.isExpired(deadline, now)) {
      // Dead on arrival. The entry goes, the old value as replaced, the new as expired.
      V old = node.value;
      remove(node, (old == value) ? RemovalCause.EXPIRED : cause, removals);
      if (old != value) {
        if (stats != null) {
          stats.recordEviction(weight);
        }
        removals.add(node.key, value, RemovalCause.EXPIRED);
      }
      return;
    }
    V old = node.value;
    long delta = weight - node.weight();
    node.setWeight(weight);
    node.set(Node.CUSTOM_TTL, customTtl);
    node.setWrittenAtNanos(now); // before the value: a reader of the new value sees it not due
    node.clearRefresh(); // a refresh running now installs nothing: this write wins
    node.setValueAndDeadline(value, deadline);
    if (policy != null) {
      policy.onUpdate(node, delta);
    }
    placeInTime(node, now);
    counters.weightedSize += delta;
    if ((eviction != null) && (delta != 0)) {
      eviction.addWeight(delta);
    }
    if ((old != value) || (cause != RemovalCause.REPLACED)) {
      if (cause.wasEvicted() && (stats != null)) {
        stats.recordEviction(weight - delta);
      }
      removals.add(node.key, old, cause);
    }
    evictIfHeavier(node, removals);
  }

  /**
   * Gives a live node a deadline of its own ({@code Policy.VarExpiration.setExpiresAfter}),
   * keeping its value, weight, use and refresh state; a deadline already passed removes it as
   * expired. Calls no user code.
   */
  @GuardedBy("this")
  void retime(Node<K, V> node, long deadline, long now, Removals<K, V> removals) {
    if (Node.isExpired(deadline, now)) {
      remove(node, RemovalCause.EXPIRED, removals);
      return;
    }
    if (!node.timed()) {
      node = withTime(node); // Expiration.deadlineOf never gives NEVER: the node needs a deadline
    }
    node.set(Node.CUSTOM_TTL, true); // plain: published by the value's release store below
    node.setValueAndDeadline(node.value, deadline); // readers take the same value, new deadline
    placeInTime(node, now);
  }

  /**
   * Offers each live node to {@code sink} with the policy's rating of it, for the hottest and
   * coldest snapshots. Under the lock; calls no user code.
   */
  @GuardedBy("this")
  void rateLive(long now, PolicyView.RatingSink<K, V> sink) {
    for (Node<K, V> node : nodesOf(table, count)) {
      V value = node.value;
      if ((value != null) && !Node.isExpired(node.expiresAt(), now)) {
        sink.accept(node.key, value, policy.retention(node), policy.rank(node));
      }
    }
  }

  /** Removes a node from every structure and queues its notification. */
  @GuardedBy("this")
  void remove(Node<K, V> node, RemovalCause cause, Removals<K, V> removals) {
    V old = node.value;
    node.setValueRelease(null); // readers holding the node now see a miss
    node.set(Node.RETIRED, true);
    unlink(node);
    if (policy != null) {
      policy.onRemove(node);
    }
    if (node.has(Node.IN_WRITE_QUEUE)) {
      writeOrder.unlink((TimedNode<K, V>) node);
    } else if (node.wheelSlot() >= 0) {
      wheel.remove((TimedNode<K, V>) node);
    }
    counters.weightedSize -= node.weight();
    if (eviction != null) {
      eviction.addWeight(-node.weight());
    }
    if (cause.wasEvicted() && (stats != null)) {
      stats.recordEviction(node.weight());
    }
    removals.add(node.key, old, cause);
  }

  /**
   * Replaces an untimed node, which is about to get a deadline (a {@code put} with its own time to
   * live in a cache without configured expiry), by a timed copy in the same places: its bin and
   * its policy queue. Readers walking the chain through the old node go on past it (its next link
   * stays). The old node is then marked {@link Node#MOVED} and its value cleared: a lock-free
   * reader that already holds it (a lookup, an iterator's snapshot, a write's look before it
   * locks) and finds the value gone looks the key up again and finds the copy, so it never
   * reports a miss for a present key nor shows a value after the copy expired or was removed.
   * Calls no user code.
   */
  @GuardedBy("this")
  private Node<K, V> withTime(Node<K, V> node) {
    Node<K, V> fresh = Nodes.create(node.shape() | Nodes.TIMED, node.key, node.hash, node.value);
    fresh.copyStateFrom(node);
    if (policy != null) {
      policy.onReplace(node, fresh);
    }
    replace(node, fresh); // release: the copy is in the bin before the old value is cleared
    node.set(Node.RETIRED, true); // buffered reads of the old node are ignored
    node.set(Node.MOVED, true); // plain: published by the release store below
    node.setValueRelease(null); // a reader that loads this null sees MOVED, and the copy
    return fresh;
  }

  @GuardedBy("this")
  private void evictIfHeavier(Node<K, V> node, Removals<K, V> removals) {
    if ((eviction != null) && eviction.heavierThanBound(node.weight()) && !node.has(Node.RETIRED)) {
      remove(node, RemovalCause.SIZE, removals);
    }
  }

  /**
   * Puts a node in the time structure its deadline calls for (see Expiration, "Rules").
   *
   * <p>The write-order queue is popped from the head by expiration and must therefore stay in
   * deadline order. Lock order is not deadline order: a writer preempted between reading the
   * ticker and locking, or a ticker that went back, brings a deadline earlier than the tail's;
   * such a node goes to the timer wheel instead, which takes any order.
   */
  @GuardedBy("this")
  private void placeInTime(Node<K, V> untyped, long now) {
    if (!untyped.timed()) {
      return; // never expires, and never did: in no time structure
    }
    TimedNode<K, V> node = (TimedNode<K, V>) untyped;
    long deadline = node.expiresAtNanos;
    WriteOrderDeque<K, V> queue = writeOrder;
    if (node.has(Node.IN_WRITE_QUEUE)) {
      queue.unlink(node);
    }
    if (deadline == Node.NEVER) {
      if (node.wheelSlot >= 0) {
        wheel.remove(node);
      }
      return;
    }
    if ((queue != null) && !node.has(Node.CUSTOM_TTL)) {
      TimedNode<K, V> tail = queue.tail;
      if ((tail == null) || (deadline - tail.expiresAtNanos >= 0)) {
        if (node.wheelSlot >= 0) {
          wheel.remove(node);
        }
        queue.addLast(node);
        return;
      }
    }
    wheel(now).reschedule(node);
  }

  /** Sum of the entries' weights (for invariant checks). */
  @GuardedBy("this")
  long weightedSize() {
    return counters.weightedSize;
  }

  /* ---------------- Maintenance, under the lock ---------------- */

  /** Applies buffered reads and removes expired entries. */
  @GuardedBy("this")
  void maintain(long now, Removals<K, V> removals) {
    drainReads();
    if (expiration.timed()) {
      expire(now, removals);
    }
  }

  /** Re-slots in the timer wheel the nodes whose deadline a buffered read moved earlier. */
  @GuardedBy("this")
  void drainReads() {
    if (readBuffer == null) {
      return;
    }
    for (TimedNode<K, V> node; (node = readBuffer.relaxedPoll()) != null; ) {
      if (!node.has(Node.RETIRED) && (node.wheelSlot >= 0)) {
        wheel.reschedule(node); // a read moved its deadline earlier
      }
    }
  }

  /**
   * The regular expiration pass: pops expired nodes off the write-order queue, advances the timer
   * wheel, and expires the wheel's current bucket when its lower bound says something there is
   * due (so nothing expired is left behind, also when the ticker lags the wheel). O(1) amortized
   * per expired node.
   */
  @GuardedBy("this")
  private void expire(long now, Removals<K, V> removals) {
    WriteOrderDeque<K, V> queue = writeOrder;
    if (queue != null) {
      for (TimedNode<K, V> node; ((node = queue.head) != null)
          && Node.isExpired(node.expiresAtNanos, now); ) {
        remove(node, RemovalCause.EXPIRED, removals);
      }
    }
    TimerWheel<K, V> timers = wheel;
    if (timers != null) {
      if (now - timers.nanos() < -WHEEL_REBUILD_BACKWARDS_NANOS) {
        timers.rebuild(now); // the ticker went far back: do not wait for it to catch up
      }
      // Checked first so that the common case (nothing due) allocates no lambda.
      if ((timers.size() > 0) && timers.hasDueBuckets(now)) {
        timers.advance(now, expiring(removals));
      }
      if ((timers.size() > 0) && timers.currentBucketMayHaveExpired(now)) {
        timers.expireCurrentBucket(now, expiring(removals));
      }
    }
  }

  /**
   * The wheel's callback for the nodes it finds expired. The check cannot see that the wheel calls
   * it synchronously, inside {@link #expire}, which holds the lock; nothing keeps it for later.
   */
  @SuppressWarnings("GuardedBy")
  private Consumer<TimedNode<K, V>> expiring(Removals<K, V> removals) {
    return node -> remove(node, RemovalCause.EXPIRED, removals);
  }

  /**
   * Re-slots the wheel if a reader moved a deadline earlier and its read was dropped (see
   * wheelStale). O(wheel size), and only on the scheduled and the exact paths, so it costs at
   * most once a second per stripe under load.
   */
  @GuardedBy("this")
  private void resettleWheel() {
    if (wheelStale) { // volatile read: sees the deadline CAS that preceded the store
      wheelStale = false;
      if (wheel != null) {
        wheel.rebuild(wheel.nanos());
      }
    }
  }

  /**
   * Expiration that leaves nothing expired behind, for answers that must be exact: applies the
   * buffered reads (a read that shortened a deadline reschedules its node), re-slots the wheel if
   * such a read was dropped, then runs the regular pass, which leaves no expired node in the
   * write-order queue's head nor in the wheel.
   */
  @GuardedBy("this")
  void expireExactly(long now, Removals<K, V> removals) {
    drainReads();
    resettleWheel();
    expire(now, removals);
  }

  @GuardedBy("this")
  TimerWheel<K, V> wheel(long now) {
    if (wheel == null) {
      wheel = new TimerWheel<>(now);
    }
    return wheel;
  }

  /* ---------------- Maintenance that takes the lock itself ---------------- */

  /** {@code cleanUp()} of this stripe: exact expiration when timed, else the buffered reads. */
  void cleanUp(long now, Removals<K, V> removals) {
    lock(); // guards the stripe during its maintenance
    try {
      if (expiration.timed()) {
        expireExactly(now, removals);
      } else {
        drainReads();
      }
    } finally {
      unlock();
    }
  }

  /** The exact number of unexpired entries, expiring what is due first. */
  int exactCount(long now, Removals<K, V> removals) {
    lock(); // count and expire consistently
    try {
      if (expiration.timed()) {
        expireExactly(now, removals);
      }
      return count;
    } finally {
      unlock();
    }
  }

  /**
   * Empties the stripe without waiting for loads and computes in flight: its clear count moves
   * on, so a flight registered before it installs nothing (see StripedCache.Op#INSTALL).
   */
  void clear(long now, Removals<K, V> removals) {
    lock(); // guards the stripe while it is emptied
    try {
      generation++;
      drainReads();
      for (Node<K, V> node : nodesOf(clearTable(), count)) {
        V old = node.value;
        node.setValueRelease(null); // readers holding the node see a miss
        node.set(Node.RETIRED, true);
        if (eviction != null) {
          eviction.addWeight(-node.weight());
        }
        boolean expired = Node.isExpired(node.expiresAt(), now);
        if (expired && (stats != null)) {
          stats.recordEviction(node.weight());
        }
        removals.add(node.key, old, expired ? RemovalCause.EXPIRED : RemovalCause.EXPLICIT);
      }
      counters.weightedSize = 0;
      if (policy != null) {
        policy.clear();
      }
      if (writeOrder != null) {
        writeOrder.clear();
      }
      if (wheel != null) {
        wheel.clear();
      }
    } finally {
      unlock();
    }
  }

  /**
   * Under the lock: removes expired entries (which may be enough), then evicts the policy's
   * victim, from its admission segment if {@code admission} and it has one there, reported
   * {@link RemovalCause#EXPIRED} if it has expired and {@link RemovalCause#SIZE} otherwise. With
   * {@code bounded}, gives up ({@link Evicted#NEWER}) once the policy's candidates rank after
   * {@code limitRank} (see {@link EvictionPolicy#victim}); {@link Evicted#MOVED} when the policy
   * only moved nodes to its main segment, for room.
   *
   * <p>{@link Evicted#NONE}, touching nothing, when the calling thread already holds this
   * stripe's lock: a key's {@code equals} or {@code compareTo}, run under this lock, wrote into
   * another stripe and that write is evicting. Taking the lock again would fail that write
   * after it committed; instead eviction uses the other stripes, and the outer write, once it
   * releases this lock, evicts down to the bound itself. The contest's steps below do the same.
   */
  Evicted evictOne(long now, Removals<K, V> removals, boolean admission, boolean mainHasRoom,
      boolean bounded, int limitRank) {
    if (isHeldByCurrentThread()) {
      return Evicted.NONE; // see heldByCaller
    }
    lockForWrite(); // guards the stripe's policy and table while its victim is removed
    try {
      drainReads();
      if (expiration.timed()) {
        long before = count;
        expire(now, removals);
        if ((count != before) && !eviction.overBound()) {
          return Evicted.ONE;
        }
      }
      Node<K, V> victim = policy.victim(admission, mainHasRoom, bounded, limitRank);
      if (victim == null) {
        return policy.rotated() ? Evicted.NEWER
            : policy.moved() ? Evicted.MOVED : Evicted.NONE;
      }
      return evict(victim, now, removals);
    } finally {
      unlock();
    }
  }

  /**
   * A contest across stripes, step one, in the victim's stripe: see
   * {@link EvictionPolicy#prepareVictim}.
   */
  int prepareVictim(boolean bounded, int limitRank) {
    if (isHeldByCurrentThread()) {
      return -1; // see evictOne
    }
    lockForWrite(); // guards the policy's queues and sketch
    try {
      return policy.prepareVictim(bounded, limitRank);
    } finally {
      unlock();
    }
  }

  /**
   * Step two, in the candidate's stripe, given the frequency of main's victim from step one (-1
   * when there is none): prepares the candidate ({@link EvictionPolicy#prepareAdmission}) and
   * settles the contest in one hold of the lock. A candidate that loses is evicted at once
   * ({@link Evicted#ONE}), so the common outcome takes two locks in all; one that wins is moved to
   * main ({@link Evicted#ADMITTED}), and the caller then evicts main's victim in its stripe.
   * {@link Evicted#MOVED} when it only moved nodes to main for room, {@link Evicted#NONE} when
   * there was nothing to contest.
   */
  Evicted settleCandidate(boolean mainHasRoom, int victimFreq, long now,
      Removals<K, V> removals) {
    if (isHeldByCurrentThread()) {
      return Evicted.NONE; // see evictOne
    }
    lockForWrite(); // guards the policy's queues and sketch, and the table the loser leaves
    try {
      int candidateFreq = policy.prepareAdmission(mainHasRoom);
      if (candidateFreq < 0) {
        return mainHasRoom ? Evicted.MOVED : Evicted.NONE;
      }
      if ((victimFreq >= 0) && eviction.admits(candidateFreq, victimFreq)) {
        policy.admitHead();
        return Evicted.ADMITTED;
      }
      return evictHeadLocked(true, now, removals);
    } finally {
      unlock();
    }
  }

  /**
   * The last step when the candidate won: evicts the node now at the old end of a segment, if it
   * has a positive weight. Another writer may have changed the stripe since the step that
   * measured it; the node at that end is then still the one the policy would give up.
   */
  Evicted evictHead(boolean admission, long now, Removals<K, V> removals) {
    if (isHeldByCurrentThread()) {
      return Evicted.NONE; // see evictOne
    }
    lockForWrite(); // guards the policy and table while the node is removed
    try {
      return evictHeadLocked(admission, now, removals);
    } finally {
      unlock();
    }
  }

  @GuardedBy("this")
  private Evicted evictHeadLocked(boolean admission, long now, Removals<K, V> removals) {
    Node<K, V> victim = policy.head(admission);
    if ((victim == null) || (victim.weight() == 0)) {
      return Evicted.NONE;
    }
    return evict(victim, now, removals);
  }

  /** Removes an eviction's victim, reported EXPIRED if it has expired and SIZE otherwise. */
  @GuardedBy("this")
  private Evicted evict(Node<K, V> victim, long now, Removals<K, V> removals) {
    boolean expired = Node.isExpired(victim.expiresAt(), now);
    remove(victim, expired ? RemovalCause.EXPIRED : RemovalCause.SIZE, removals);
    return Evicted.ONE;
  }

  /* ---------------- The read path's entry points, without the lock ---------------- */

  /**
   * Offers a hit to the read buffer: one attempt, never waiting. Returns 0 if buffered, -1 if it
   * lost a race (dropped), 1 if the buffer is full (the caller then tries to apply it).
   */
  int offerRead(TimedNode<K, V> node) {
    return readBuffer.failFastOffer(node);
  }

  /** A read that moved a deadline earlier was dropped: the wheel must be re-slotted. */
  void markWheelStale() {
    wheelStale = true; // volatile: after the reader's deadline CAS (see wheelStale)
  }

  /** Whether anything in this stripe may expire; read by the cleaner before taking the lock. */
  boolean mayHaveTimedEntries() {
    return count > 0;
  }

  /* ---------------- In-flight markers ---------------- */

  /**
   * Looks up the flight of {@code key}. Calls the key's {@code equals}, which may throw: nothing is
   * registered or changed by a lookup, so a throw leaves nothing behind.
   */
  @GuardedBy("this")
  Flight flight(Object key, int hash) {
    Flight[] tab = flights;
    if (flightCount == 0) {
      return null;
    }
    for (Flight f = tab[hash & (tab.length - 1)]; f != null; f = f.next) {
      if ((f.hash == hash) && ((f.key == key) || key.equals(f.key))) {
        return f;
      }
    }
    return null;
  }

  /** Registers a flight, stamping it with the stripe's current clear count. Calls no user code. */
  @GuardedBy("this")
  void addFlight(Flight flight) {
    Flight[] tab = flights;
    if (tab == null) {
      tab = flights = new Flight[8];
    } else if (flightCount >= tab.length - (tab.length >>> 2)) {
      tab = flights = growFlights(tab);
    }
    int index = flight.hash & (tab.length - 1);
    flight.next = tab[index];
    tab[index] = flight;
    flightCount++;
    flight.generation = generation;
  }

  private static Flight[] growFlights(Flight[] old) {
    Flight[] tab = new Flight[old.length << 1];
    for (Flight head : old) {
      for (Flight f = head; f != null; ) {
        Flight next = f.next;
        int index = f.hash & (tab.length - 1);
        f.next = tab[index];
        tab[index] = f;
        f = next;
      }
    }
    return tab;
  }

  /**
   * Unregisters a flight by identity, using only its stored hash: no user code runs, so this
   * cannot fail. Removing a flight that is not registered does nothing.
   */
  @GuardedBy("this")
  void removeFlight(Flight flight) {
    Flight[] tab = flights;
    if (tab == null) {
      return;
    }
    int index = flight.hash & (tab.length - 1);
    Flight prev = null;
    for (Flight f = tab[index]; f != null; prev = f, f = f.next) {
      if (f == flight) {
        if (prev == null) {
          tab[index] = f.next;
        } else {
          prev.next = f.next;
        }
        f.next = null;
        flightCount--;
        return;
      }
    }
  }

  /** In-flight loads and computes of this stripe; under the lock (for invariant checks). */
  @GuardedBy("this")
  int flightCount() {
    return flightCount;
  }

  /** Whether an {@code invalidateAll} emptied this stripe since {@code flight} was registered. */
  @GuardedBy("this")
  boolean clearedSince(Flight flight) {
    return flight.generation != generation;
  }

  /** Unregisters a flight that installs nothing; removal by identity runs no user code. */
  void unregister(Flight flight) {
    lock(); // guards the in-flight markers
    try {
      removeFlight(flight);
    } finally {
      unlock();
    }
  }
}
