package dev.hourglass.cache.internal;

import java.util.concurrent.CountDownLatch;

/**
 * The in-flight marker of one key: a load or a compute that is running outside the stripe lock.
 * While it is registered in its stripe, every other writer of that key waits for it; readers do
 * not, and see the previous value.
 *
 * <h2>Life</h2>
 * A flight is registered under its stripe's lock, and from then on its owner's whole remaining
 * work sits in one {@code try}: every exit, normal or not, unregisters it and lands it exactly
 * once, with a value, a failure, or as cancelled (its owner gave up for a reason that is not
 * this key's: its waiters then look again instead of sharing anything). Landing twice is
 * harmless, the first outcome wins. {@link Stripe} finds flights by (hash, {@code equals}) but
 * unregisters them by identity, so a key whose {@code hashCode} or {@code equals} throws can never
 * leave its flight behind.
 *
 * <h2>Concurrency</h2>
 * The owner writes the outcome and then counts the latch down; waiters read it after
 * {@code await} returns, so the latch orders the outcome before every waiter's read. Waiting
 * parks (it never spins and never pins a virtual thread's carrier).
 */
final class Flight {
  private static final Object CANCELLED = new Object();

  final Object key;
  /** The key's spread hash, fixed at registration; the stripe's flight table indexes by it. */
  final int hash;
  final Thread owner;
  /** Whether waiters for a value may take this flight's result instead of retrying. */
  final boolean isLoad;
  /** The stripe's clear count when the flight was registered (see Stripe.generation). */
  int generation;
  /**
   * The ticker reading under which the result was installed (until then, the one under which the
   * flight was claimed), for the owner's eviction pass. Owner-only.
   */
  long installedAtNanos;
  /**
   * Whether the owner times its load for statistics, so that the install reads the ticker even
   * in a cache where nothing expires. Owner-only.
   */
  boolean timed;
  /**
   * Another caller's flight that this one's claim found holding the key, which the owner waits on
   * instead of registering this one; null if it was registered. Owner-only.
   */
  Flight blockedBy;
  /**
   * The live value a compute started from, or null. A compute that returns it unchanged, after an
   * invalidateAll removed it (and reported it), installs nothing and reports nothing more.
   * Owner-only.
   */
  Object base;
  /** Next flight in the same bucket of the stripe's flight table; guarded by the stripe lock. */
  Flight next;
  /**
   * Set, under the stripe lock, by the settling of a future of an asynchronous cache that found
   * this flight holding the key and did not wait for it: the owner settles the key once the
   * flight is unregistered (see StripedCache#settleKey). Read by the owner after the lock that
   * unregisters the flight, which orders it.
   */
  boolean settleAfter;

  private final CountDownLatch done = new CountDownLatch(1);
  private Object value;
  private Throwable failure;

  /** A flight of the calling thread, not yet registered: the write protocol's claim does that. */
  Flight(Object key, int hash, boolean isLoad) {
    this.key = key;
    this.hash = hash;
    this.owner = Thread.currentThread();
    this.isLoad = isLoad;
  }

  /** Lands the flight with a value (null for absent); ignored if it already landed. */
  void complete(Object result) {
    if (done.getCount() != 0) { // only the owner lands a flight, so check-then-act is safe
      this.value = result;
      done.countDown(); // publishes value to the waiters
    }
  }

  /** Lands the flight with its owner's failure, shared by its waiters; ignored if landed. */
  void fail(Throwable t) {
    if (done.getCount() != 0) { // only the owner lands a flight
      this.failure = t;
      done.countDown(); // publishes failure to the waiters
    }
  }

  /** Lands the flight with no outcome: waiters look again; ignored if landed. */
  void cancel() {
    complete(CANCELLED);
  }

  /**
   * Waits until the flight lands, without giving up on interruption (the interrupt status is kept).
   *
   * @throws IllegalStateException if the calling thread is the flight's owner: the computation of
   *     the key asked for, or wrote, the same key
   */
  void await() {
    if (owner == Thread.currentThread()) {
      throw new IllegalStateException("Recursive update: while computing key " + key
          + ", the same thread tried to load or write that key in the same cache");
    }
    boolean interrupted = false;
    for (;;) {
      try {
        done.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** After {@link #await}: whether the owner gave up without an outcome for this key. */
  boolean cancelled() {
    return value == CANCELLED;
  }

  /** After {@link #await}: whether the flight failed. */
  boolean failed() {
    return failure != null;
  }

  /** After {@link #await}: the value (null if absent), rethrowing the owner's failure. */
  Object result() {
    Throwable t = failure;
    if (t != null) {
      Throwables.sneakyThrow(t);
    }
    return (value == CANCELLED) ? null : value;
  }
}
