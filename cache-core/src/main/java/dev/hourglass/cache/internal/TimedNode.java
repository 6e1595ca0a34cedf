package dev.hourglass.cache.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A node that may expire: its deadline, its links in the write-order queue or in a timer-wheel
 * bucket ({@code timePrev}/{@code timeNext}, one structure at a time) and the bucket's index. The
 * node of an unbounded cache with expiry; the bounded shapes extend it ({@link Nodes}).
 *
 * <p>The deadline is volatile: readers check it and, for idle-time expiration, CAS it forward.
 * The time fields are guarded by the stripe lock. See {@link Node}, "Value and deadline", for how
 * readers pair the deadline with the value.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
class TimedNode<K, V> extends Node<K, V> {
  private static final VarHandle EXPIRES_AT;
  private static final VarHandle TIMED_SEQ;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      EXPIRES_AT = lookup.findVarHandle(TimedNode.class, "expiresAtNanos", long.class);
      TIMED_SEQ = lookup.findVarHandle(TimedNode.class, "timedSeq", short.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  volatile long expiresAtNanos;
  /* Guarded by the stripe lock. */
  TimedNode<K, V> timePrev;
  TimedNode<K, V> timeNext;
  /** The timer-wheel bucket holding the node, or -1 (at most 384 buckets, so a short suffices). */
  short wheelSlot = -1;
  /**
   * The timed node's write count, in place of Node's byte one (a seqlock, see Node, "Value and
   * deadline"): 16 bits, so that a reader stalled between its loads is fooled only if exactly a
   * multiple of 32,768 writes ran meanwhile and the deadline came back to the one it loaded.
   * It fills the two bytes of padding after {@code wheelSlot}: no node grows. Written under the
   * lock.
   */
  short timedSeq;

  TimedNode(K key, int hash, V value) {
    super(key, hash, value);
    EXPIRES_AT.set(this, NEVER); // plain: published later by the bin's release store
  }

  @Override
  int shape() {
    return Nodes.TIMED;
  }

  @Override
  final boolean timed() {
    return true;
  }

  @Override
  final long expiresAt() {
    return expiresAtNanos;
  }

  @Override
  final void initExpiresAt(long deadline) {
    EXPIRES_AT.set(this, deadline); // plain: published later by the bin's release store
  }

  /**
   * Stores a new value and deadline for lock-free readers, in the order that makes every pair a
   * reader accepts a true one (see Node, "Value and deadline"). Under the lock. Release stores:
   * each orders the store before it, and the value object's own fields, before itself.
   */
  @Override
  final void setValueAndDeadline(V value, long deadline) {
    short seq = timedSeq;
    TIMED_SEQ.setOpaque(this, (short) (seq + 1)); // odd: a write is under way
    VarHandle.storeStoreFence(); // the odd count is visible before the stores that follow
    long old = expiresAtNanos;
    boolean later = (deadline == NEVER) || ((old != NEVER) && (deadline - old >= 0));
    if (later) {
      setValueRelease(value);
      if (old != deadline) {
        EXPIRES_AT.setRelease(this, deadline); // after the value: see Node's class note
      }
    } else {
      EXPIRES_AT.setRelease(this, deadline);
      setValueRelease(value); // after the earlier deadline: see Node's class note
    }
    TIMED_SEQ.setRelease(this, (short) (seq + 2)); // even: after the write's stores
  }

  @Override
  final int writeSeqAcquire() {
    return (short) TIMED_SEQ.getAcquire(this); // orders the reader's loads that follow
  }

  @Override
  final boolean unchangedSince(int seq, long deadline) {
    return ((seq & 1) == 0) && (expiresAtNanos == deadline)
        && ((short) TIMED_SEQ.getAcquire(this) == seq); // after the reader's loads of the pair
  }

  @Override
  final boolean casExpiresAt(long expected, long next) {
    return EXPIRES_AT.compareAndSet(this, expected, next); // orders against writers' volatile stores
  }

  @Override
  final int wheelSlot() {
    return wheelSlot;
  }
}
