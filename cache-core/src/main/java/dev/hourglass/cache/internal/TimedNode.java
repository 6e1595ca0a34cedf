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

  static {
    try {
      EXPIRES_AT = MethodHandles.lookup()
          .findVarHandle(TimedNode.class, "expiresAtNanos", long.class);
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
    byte seq = beginWrite();
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
    endWrite(seq);
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
