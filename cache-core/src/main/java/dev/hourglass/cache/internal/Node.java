package dev.hourglass.cache.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One cache entry: a link in its stripe's bucket chain, in its eviction policy's structure (the
 * {@code policy*} fields, which only the {@link EvictionPolicy} of the stripe reads or writes), and
 * in one expiration structure (the write-order queue or a timer-wheel bucket).
 *
 * <h2>Concurrency</h2>
 * {@code key} and {@code hash} are final. {@code value} and {@code next} are volatile: readers walk
 * bucket chains and read values without a lock, and a node published into a bucket with a release
 * store is seen whole. A removed node has its value set to {@code null} before it is unlinked, so a
 * reader that still holds it sees a miss. {@code expiresAtNanos} is volatile because readers check
 * it and, for idle-time expiration, push it forward. Every other field is guarded by the stripe
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
 * alone would be enough but for its wrap-around (a byte, 128 writes); the deadline check alone
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
 * One object per entry (no separate map node): with compressed references, 72 bytes.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class Node<K, V> {
  private static final VarHandle VALUE;
  private static final VarHandle NEXT;
  private static final VarHandle EXPIRES_AT;
  private static final VarHandle WRITE_SEQ;
  private static final VarHandle FREQ;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      VALUE = lookup.findVarHandle(Node.class, "value", Object.class);
      NEXT = lookup.findVarHandle(Node.class, "next", Node.class);
      EXPIRES_AT = lookup.findVarHandle(Node.class, "expiresAtNanos", long.class);
      WRITE_SEQ = lookup.findVarHandle(Node.class, "writeSeq", byte.class);
      FREQ = lookup.findVarHandle(Node.class, "policyFreq", byte.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** {@code expiresAtNanos} of an entry that never expires; readers then skip the ticker. */
  static final long NEVER = Long.MIN_VALUE;

  /** Flag: the node sits in its stripe's write-order queue. */
  static final byte IN_WRITE_QUEUE = 1;
  /** Flag: the node's deadline was set by {@code put(key, value, ttl)} and reads do not move it. */
  static final byte CUSTOM_TTL = 2;
  /** Flag: the node was removed from the table; buffered reads of it are ignored. */
  static final byte RETIRED = 4;

  final K key;
  final int hash;
  volatile V value;
  volatile Node<K, V> next;
  volatile long expiresAtNanos;

  /* Guarded by the stripe lock. The policy* fields belong to the stripe's EvictionPolicy. */
  Node<K, V> policyPrev;
  Node<K, V> policyNext;
  Node<K, V> timePrev;
  Node<K, V> timeNext;
  long weight;
  /** The timer-wheel bucket holding the node, or -1 (at most 384 buckets, so a short suffices). */
  short wheelSlot = -1;
  byte flags;
  /**
   * Counts the writes of value and deadline, odd while one is under way (a seqlock). A byte: it
   * fills what would be padding, so the node stays 72 bytes. Written under the lock, read by
   * readers; see "Value and deadline".
   */
  byte writeSeq;

  /**
   * The policy's rank of the node, comparable across stripes (see EvictionPolicy#rank); written
   * under the lock, read racily by eviction as a hint.
   */
  int policyRank;
  /**
   * Hits since the policy last looked, saturating: the one policy field readers write, and only
   * while it is below its cap (see EvictionPolicy#onHit). Opaque accesses, see FREQ.
   */
  byte policyFreq;
  /** The policy's: how much of {@code policyFreq} it has already counted. */
  byte policyCredit;
  /** The policy's: which of its queues holds the node. */
  byte policyQueue;

  Node(K key, int hash, V value) {
    this.key = key;
    this.hash = hash;
    // Plain stores: the node is not yet shared; the release store that links it into a bin
    // publishes these fields (a volatile store here would cost a fence each).
    VALUE.set(this, value);
    EXPIRES_AT.set(this, NEVER);
  }

  /** Sets the deadline of a node not yet published. */
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

  void initExpiresAt(long deadline) {
    EXPIRES_AT.set(this, deadline); // plain: published later by the bin's release store
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

  /**
   * Stores a new value and deadline for lock-free readers, in the order that makes every pair a
   * reader accepts a true one (see the class note). Under the lock. Release stores: each orders
   * the store before it, and the value object's own fields, before itself.
   */
  void setValueAndDeadline(V value, long deadline) {
    byte seq = writeSeq;
    WRITE_SEQ.setOpaque(this, (byte) (seq + 1)); // odd: a write is under way
    VarHandle.storeStoreFence(); // the odd count is visible before either store below
    long old = expiresAtNanos;
    boolean later = (deadline == NEVER) || ((old != NEVER) && (deadline - old >= 0));
    if (later) {
      VALUE.setRelease(this, value);
      if (old != deadline) {
        EXPIRES_AT.setRelease(this, deadline); // after the value: see the class note
      }
    } else {
      EXPIRES_AT.setRelease(this, deadline);
      VALUE.setRelease(this, value); // after the earlier deadline: see the class note
    }
    WRITE_SEQ.setRelease(this, (byte) (seq + 2)); // even: after both stores above
  }

  /** The write count, first load of a reader's pair (acquire: orders the loads that follow). */
  int writeSeqAcquire() {
    return (byte) WRITE_SEQ.getAcquire(this);
  }

  /**
   * Whether the deadline and value a reader loaded since {@code writeSeqAcquire()} returned
   * {@code seq} form a pair that was true at once: no write was under way or completed in
   * between, and the deadline is still the one loaded. The reader's volatile loads of value and
   * deadline order these loads after them.
   */
  boolean unchangedSince(int seq, long deadline) {
    return ((seq & 1) == 0) && (expiresAtNanos == deadline)
        && ((byte) WRITE_SEQ.getAcquire(this) == seq);
  }

  /** Relinks the chain under the lock. Release: readers walking through see a whole node. */
  void setNextRelease(Node<K, V> next) {
    NEXT.setRelease(this, next);
  }

  /**
   * Moves the deadline from {@code expected} to {@code next} for a reader, unless a writer (or
   * another reader) changed it since it was read: a read must never overwrite a deadline that a
   * concurrent write just set.
   */
  boolean casExpiresAt(long expected, long next) {
    return EXPIRES_AT.compareAndSet(this, expected, next); // orders against writers' volatile stores
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
