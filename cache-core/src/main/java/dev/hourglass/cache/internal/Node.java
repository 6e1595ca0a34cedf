package dev.hourglass.cache.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One cache entry: a link in its stripe's bucket chain and, depending on the cache's shape, in its
 * eviction policy's queues and in one expiration structure (the write-order queue or a timer-wheel
 * bucket).
 *
 * <h2>One class per shape</h2>
 * A node carries only the fields its cache uses. This class is the whole node of a cache with no
 * bound and no expiry (key, hash, value, next link and four bytes of state); the subclasses add
 * the rest ({@link Nodes#create} picks one):
 * <ul>
 *   <li>{@link TimedNode}: a deadline, time links and a wheel slot, for entries that may expire;
 *   <li>{@link Nodes.Bounded}, {@link Nodes.BoundedTimed}: the policy's links and rank, for a
 *       bounded cache;
 *   <li>{@link Nodes.Weighted}, {@link Nodes.WeightedTimed}: and a stored weight, for a weigher;
 *   <li>{@link Nodes.Stamped}: every field, and the write time and refresh state, for a cache
 *       that refreshes ({@code refreshAfterWrite}) or expires after both a write and an access,
 *       whatever its other settings.
 * </ul>
 * The fields a class lacks read as their neutral value through the accessors below (no
 * deadline, weight 1, no wheel slot); the policy's links exist only on bounded nodes. A cache
 * without configured expiry may still be given a time to live per entry ({@code put(key, value,
 * ttl)}): a new node for it is timed, and an untimed node that gets one is replaced under the
 * lock by a timed copy ({@link Stripe#update}).
 *
 * <h2>Concurrency</h2>
 * {@code key} and {@code hash} are final. {@code value} and {@code next} are volatile: readers walk
 * bucket chains and read values without a lock, and a node published into a bucket with a release
 * store is seen whole. A removed node has its value set to {@code null} before it is unlinked, so a
 * reader that still holds it sees a miss. A timed node's deadline is volatile because readers
 * check it and, for idle-time expiration, push it forward. Every other field is guarded by the stripe
 * lock, except {@code policyFreq}, which readers raise without it (see EvictionPolicy#onHit),
 * {@code policyRank}, which eviction reads without the lock as a hint only, and
 * {@code flags}, which readers read racily as a hint: a byte read never tears, and a stale
 * {@code CUSTOM_TTL} is caught by the write count before a reader acts on it, a stale
 * {@code RETIRED} by the drain under the lock.
 *
 * <h2>Value and deadline</h2>
 * The two are separate fields, written by one writer under the lock and read by any number of
 * readers without it. A write brackets its two stores with {@code writeSeq}, odd while it is
 * under way (a seqlock). A reader loads the count, the deadline, the value, the deadline again and
 * the count again, and accepts the pair only if the count was even and both loads of each agree;
 * otherwise it loads again (a write is a few stores, so this ends at once). Readers that move a
 * deadline for a read (idle time, {@code expireAfterRead}) CAS it without the count, from the
 * deadline of the value they read, so either deadline pairs correctly with that value; since a
 * write may keep the same deadline for another value, they check the count before the CAS and
 * again after it, and put the deadline back if a write slipped in between
 * ({@code Expiration.moveDeadlineForRead}; what remains is a window of a few instructions, no
 * user code, in which another reader whose clock reaches that very deadline could see the
 * extension). The count
 * alone would be enough but for its wrap-around (a timed node's count is 16 bits: 32,768 writes
 * while one reader stalls between two loads); the deadline check alone
 * would be enough but for a deadline that comes back to an earlier value (a stuck or coarse
 * ticker, or an {@code Expiry} that computes absolute deadlines, writing long, short, long: a
 * reader could take the first long deadline, the short value and the second long deadline).
 * A wrong pair would need both at once. The writer also orders its two stores by the direction of
 * the change ({@link #setValueAndDeadline}), so that even a pair read across a write gives the
 * answer of the old pair or of the new:
 * <ul>
 *   <li>Deadline later (or unchanged): value first, then deadline. A reader may see the new value
 *       with the old, earlier deadline: it then expires the new value early, at a time when the
 *       old one had expired too, which is the answer "the write has not happened yet" gives.
 *       It can never see the old value with the new deadline, which would return a value past
 *       its own deadline.
 *   <li>Deadline earlier: deadline first, then value. A reader may see the old value with the new
 *       deadline: before that deadline the old value was live anyway, after it the answer is the
 *       new value's (expired). The new value with the old deadline, which would return a value
 *       past its own short lifetime, cannot pass the check: a reader that loaded the new value
 *       loads the new deadline (or a later one) in its second load, which then differs from its
 *       first.
 * </ul>
 *
 * <h2>Memory</h2>
 * One object per entry (no separate map node). With compressed references: 32 bytes unbounded,
 * 48 bounded, 56 bounded with a weigher, 56 timed, 64 bounded and timed, 72 weighted and timed
 * (the bench module's {@code MemoryFootprint} measures the whole structure per entry).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
class Node<K, V> {
  private static final VarHandle VALUE;
  private static final VarHandle NEXT;
  private static final VarHandle WRITE_SEQ;
  private static final VarHandle FREQ;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      VALUE = lookup.findVarHandle(Node.class, "value", Object.class);
      NEXT = lookup.findVarHandle(Node.class, "next", Node.class);
      WRITE_SEQ = lookup.findVarHandle(Node.class, "writeSeq", byte.class);
      FREQ = lookup.findVarHandle(Node.class, "policyFreq", byte.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** The deadline of an entry that never expires; readers then skip the ticker. */
  static final long NEVER = Long.MIN_VALUE;

  /** Flag: the node sits in its stripe's write-order queue. */
  static final byte IN_WRITE_QUEUE = 1;
  /** Flag: the node's deadline was set by {@code put(key, value, ttl)} and reads do not move it. */
  static final byte CUSTOM_TTL = 2;
  /** Flag: the node was removed from the table; buffered reads of it are ignored. */
  static final byte RETIRED = 4;
  /** Flag, the policy's: the node is in its main queue (else in its admission queue). */
  static final byte IN_MAIN = 8;
  /**
   * Flag: a timed copy replaced the node (see Stripe#withTime), whose value was then cleared. A
   * lock-free reader that finds the value null on such a node looks the key up again. Stored
   * before the value's release store that clears it, so a reader that loads the null sees it.
   */
  static final byte MOVED = 16;
  /**
   * Flag, asynchronous caches only: the value is a future that was not a ready value when it
   * was stored, so it was given weight 0 and no deadline; the write that settles it once it
   * completes clears the flag (see StripedCache.Op#SETTLE). Guarded by the stripe lock.
   */
  static final byte PENDING = 32;

  final K key;
  final int hash;
  volatile V value;
  volatile Node<K, V> next;

  /* Four bytes that fill what would be padding: the unbounded node stays 32 bytes. */
  /** Guarded by the stripe lock; read racily by readers (see the class note). */
  byte flags;
  /**
   * Counts the writes of value and deadline, odd while one is under way (a seqlock). Written under
   * the lock, read by readers; see "Value and deadline". A {@link TimedNode} counts in a wider
   * field of its own instead; an untimed node's readers need no pair, and only an explicit
   * refresh compares this count (see Refresh#seq).
   */
  byte writeSeq;
  /**
   * Hits since the policy last looked, saturating: the one policy field readers write, and only
   * while it is below its cap (see EvictionPolicy#onHit). Opaque accesses, see FREQ. Unused when
   * the cache has no bound.
   */
  byte policyFreq;
  /** The policy's, under the lock: how much of {@code policyFreq} it has already counted. */
  byte policyCredit;

  Node(K key, int hash, V value) {
    this.key = key;
    this.hash = hash;
    // Plain store: the node is not yet shared; the release store that links it into a bin
    // publishes its fields (a volatile store here would cost a fence).
    VALUE.set(this, value);
  }

  /* ---------------- Value and deadline ---------------- */

  /** The node's class as {@link Nodes} shape bits. */
  int shape() {
    return 0;
  }

  /** Whether the node can hold a deadline (it is a {@link TimedNode}). */
  boolean timed() {
    return false;
  }

  /** The deadline, {@link #NEVER} when none: a volatile read on a timed node. */
  long expiresAt() {
    return NEVER;
  }

  /** Sets the deadline of a node not yet published. */
  void initExpiresAt(long deadline) {
    if (deadline != NEVER) {
      throw new IllegalStateException("an untimed node has no deadline: " + this);
    }
  }

  /**
   * Stores a new value and deadline for lock-free readers, in the order that makes every pair a
   * reader accepts a true one (see the class note). Under the lock. An untimed node only takes
   * {@link #NEVER}: its value alone changes, with the count around it as on a timed node.
   */
  void setValueAndDeadline(V value, long deadline) {
    initExpiresAt(deadline);
    byte seq = beginWrite();
    setValueRelease(value);
    endWrite(seq);
  }

  /**
   * Moves the deadline from {@code expected} to {@code next} for a reader, unless a writer (or
   * another reader) changed it since it was read. An untimed node has none to move.
   */
  boolean casExpiresAt(long expected, long next) {
    return false;
  }

  /** The timer-wheel bucket holding the node, or -1 (always, for an untimed node). */
  int wheelSlot() {
    return -1;
  }

  /* ---------------- Policy and weight ---------------- */

  /** The weight of the value; 1 unless the cache has a weigher. Under the lock. */
  long weight() {
    return 1;
  }

  /** Sets the weight; only a weighted node stores one other than 1. Under the lock. */
  void setWeight(long weight) {
    if (weight != 1) {
      throw new IllegalStateException("an unweighted node weighs 1, not " + weight + ": " + this);
    }
  }

  /** The policy's link to the older node of its queue; bounded nodes only. Under the lock. */
  Node<K, V> policyPrev() {
    throw unbounded();
  }

  void setPolicyPrev(Node<K, V> prev) {
    throw unbounded();
  }

  /** The policy's link to the newer node of its queue; bounded nodes only. Under the lock. */
  Node<K, V> policyNext() {
    throw unbounded();
  }

  void setPolicyNext(Node<K, V> next) {
    throw unbounded();
  }

  /**
   * The policy's rank of the node, comparable across stripes (see EvictionPolicy#rank); written
   * under the lock, read racily by eviction as a hint. Bounded nodes only.
   */
  int policyRank() {
    throw unbounded();
  }

  void setPolicyRank(int rank) {
    throw unbounded();
  }

  private IllegalStateException unbounded() {
    return new IllegalStateException("the node of an unbounded cache has no policy links: " + this);
  }

  /* ---------------- Write time and refresh ---------------- */

  /**
   * The ticker reading of the last write of the value: only a node of a cache that records write
   * times ({@link Nodes.Stamped}) keeps it. Written under the lock before the value it goes with;
   * read by readers without it: one deciding whether the entry is due for a refresh (a stale
   * answer starts a refresh early or late; the refresh's token, not this time, decides whether
   * its result is installed), or how far a read may extend a deadline capped by the write's
   * (a reader that read the value reads this write's time or a later one).
   */
  long writtenAtNanos() {
    return 0;
  }

  /** Records the write time; a node that does not refresh has none to keep. Under the lock. */
  void setWrittenAtNanos(long now) {}

  /**
   * The node's refresh state: null when none is running or backing off, else the
   * {@link Refresh} that runs or last failed. Acquire: a reader that sees a refresh sees it whole.
   */
  Refresh refreshAcquire() {
    return null;
  }

  /** Claims the node's refresh state from {@code expected}; false on a node that never refreshes. */
  boolean casRefresh(Refresh expected, Refresh next) {
    return false;
  }

  /**
   * A write replaced the value: a refresh running now installs nothing (its token is gone). Under
   * the lock.
   */
  void clearRefresh() {}

  /**
   * Copies the node's own state from {@code from}, which this node replaces: flags (the policy's
   * queue tag among them), the policy's hit counter and credit, and the weight. The policy's links
   * and rank are the policy's to move ({@link EvictionPolicy#onReplace}). Under the lock, before
   * this node is published.
   */
  void copyStateFrom(Node<K, V> from) {
    flags = from.flags;
    setWrittenAtNanos(from.writtenAtNanos());
    FREQ.set(this, (byte) from.freqOpaque()); // plain: published later by the bin's release store
    policyCredit = from.policyCredit;
    setWeight(from.weight());
  }

  /* ---------------- Shared by all shapes ---------------- */

  /**
   * The hit counter, read by readers and the policy without a common lock: opaque, so each access
   * really happens (no load hoisted out of a loop) but orders nothing; a lost increment is a
   * hit not counted, which the policy tolerates.
   */
  int freqOpaque() {
    return (byte) FREQ.getOpaque(this);
  }

  void setFreqOpaque(int freq) {
    FREQ.setOpaque(this, (byte) freq); // opaque: see freqOpaque
  }

  /** Sets the next link of a node not yet published. */
  void initNext(Node<K, V> next) {
    NEXT.set(this, next); // plain: published later by the bin's release store
  }

  /**
   * Stores a value for lock-free readers. Release: the value object's own fields are visible to
   * any reader that loads it. Under the lock, so writers are ordered by the lock itself.
   */
  void setValueRelease(V value) {
    VALUE.setRelease(this, value);
  }

  /** The write count, first load of a reader's pair (acquire: orders the loads that follow). */
  int writeSeqAcquire() {
    return (byte) WRITE_SEQ.getAcquire(this);
  }

  /** Opens a write of value and deadline: the count becomes odd. For TimedNode. */
  final byte beginWrite() {
    byte seq = writeSeq;
    WRITE_SEQ.setOpaque(this, (byte) (seq + 1)); // odd: a write is under way
    VarHandle.storeStoreFence(); // the odd count is visible before the stores that follow
    return seq;
  }

  /** Closes the write that {@link #beginWrite} opened with {@code seq}. */
  final void endWrite(byte seq) {
    WRITE_SEQ.setRelease(this, (byte) (seq + 2)); // even: after the write's stores
  }

  /**
   * Whether the deadline and value a reader loaded since {@code writeSeqAcquire()} returned
   * {@code seq} form a pair that was true at once: no write was under way or completed in
   * between, and the deadline is still the one loaded. The reader's volatile loads of value and
   * deadline order these loads after them.
   */
  boolean unchangedSince(int seq, long deadline) {
    return ((seq & 1) == 0) && (expiresAt() == deadline)
        && ((byte) WRITE_SEQ.getAcquire(this) == seq);
  }

  /** Relinks the chain under the lock. Release: readers walking through see a whole node. */
  void setNextRelease(Node<K, V> next) {
    NEXT.setRelease(this, next);
  }

  boolean has(byte flag) {
    return (flags & flag) != 0;
  }

  void set(byte flag, boolean on) {
    flags = (byte) (on ? (flags | flag) : (flags & ~flag));
  }

  /** Whether the node's deadline has passed at {@code now}, comparing by difference to survive wrap-around. */
  static boolean isExpired(long expiresAtNanos, long now) {
    return (expiresAtNanos != NEVER) && (now - expiresAtNanos >= 0);
  }

  /** The key only: values never appear in messages or logs (they may be secrets). */
  @Override
  public String toString() {
    return "Node[" + key + "]";
  }
}
