package dev.hourglass.cache.internal;

import java.util.concurrent.CountDownLatch;

/**
 * The in-flight marker of one key: a load or a compute that is running outside the stripe lock.
 * While it is registered in its stripe, every other writer of that key waits for it; readers do
 * not, and see the previous value.
 *
 * <h2>Concurrency</h2>
 * The owner writes {@code value} or {@code failure} and then counts the latch down; waiters read
 * them after {@code await} returns, so the latch orders the result before every waiter's read.
 * Waiting parks (it never spins and never pins a virtual thread's carrier).
 */
final class Flight {
  final Object key;
  final Thread owner;
  /** Whether waiters for a value may take this flight's result instead of retrying. */
  final boolean isLoad;
  private final CountDownLatch done = new CountDownLatch(1);
  private Object value;
  private Throwable failure;

  Flight(Object key, boolean isLoad) {
    this.key = key;
    this.owner = Thread.currentThread();
    this.isLoad = isLoad;
  }

  void complete(Object result) {
    this.value = result;
    done.countDown(); // publishes value to the waiters
  }

  void fail(Throwable t) {
    this.failure = t;
    done.countDown(); // publishes failure to the waiters
  }

  /**
   * Waits until the flight lands, without giving up on interruption (the interrupt status is kept).
   *
   * @throws IllegalStateException if the calling thread is the flight's owner: a recursive update
   */
  void await() {
    if (owner == Thread.currentThread()) {
      throw new IllegalStateException("Recursive update: the computation of key " + key
          + " tried to load or write the same key in the same cache");
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

  /** After {@link #await}: the value, rethrowing the owner's failure. */
  Object result() {
    Throwable t = failure;
    if (t != null) {
      Throwables.sneakyThrow(t);
    }
    return value;
  }
}
