package dev.hourglass.cache;

import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The default {@link Scheduler}: one daemon timer thread, {@code hourglass-cleaner}, shared by
 * every cache in the JVM and started when the first cache needs it.
 *
 * <h2>No cache holds the others hostage</h2>
 * A cache's clean-up may run user code: its removal listener, when the cache's executor runs
 * tasks on the calling thread ({@code Runnable::run}). The timer thread therefore never runs a
 * task itself: when one is due it hands it to a worker ({@code hourglass-cleaner-worker-N}, daemon
 * threads created on demand and retired after a minute idle), so a slow listener of one cache
 * occupies one worker and delays no other cache's expiry. A task whose previous run has not
 * finished is skipped, not queued: a stuck listener costs one thread, not an ever-growing backlog.
 *
 * <h2>Concurrency</h2>
 * The executors are created in a holder class, so the JVM's class initialization lock makes
 * their creation happen once and publishes them safely. Each cache's task holds the cache weakly
 * (see the engine's {@code CleanupTask}), so an abandoned cache is collected and its task cancels
 * itself. Package-private: users reach it as {@link Scheduler#systemScheduler()}.
 */
enum SystemScheduler implements Scheduler {
  /** The single shared instance. */
  INSTANCE;

  @Override
  public Future<?> scheduleWithFixedDelay(Runnable task, Duration delay) {
    long nanos = Math.max(1, Expiry.toNanosSaturated(delay));
    Dispatch dispatch = new Dispatch(task);
    return Holder.TIMER.scheduleWithFixedDelay(dispatch, nanos, nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public String toString() {
    return "Scheduler.systemScheduler()";
  }

  /** Runs on the timer thread: hands the task to a worker unless its last run is still going. */
  private static final class Dispatch implements Runnable {
    private final Runnable task;
    /** Whether a run is in progress; the CAS lets one dispatch at a time through. */
    private final AtomicBoolean running = new AtomicBoolean();

    Dispatch(Runnable task) {
      this.task = task;
    }

    @Override
    public void run() {
      if (!running.compareAndSet(false, true)) { // the previous run is still going: skip
        return;
      }
      try {
        Holder.WORKERS.execute(() -> {
          try {
            task.run();
          } finally {
            running.set(false); // volatile: the next dispatch sees this run finished
          }
        });
      } catch (RejectedExecutionException e) {
        running.set(false); // never rejected in practice (unbounded pool); try again next time
      }
    }
  }

  private static final class Holder {
    static final ScheduledThreadPoolExecutor TIMER = createTimer();
    static final ThreadPoolExecutor WORKERS = createWorkers();

    private static ScheduledThreadPoolExecutor createTimer() {
      ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
        Thread thread = new Thread(runnable, "hourglass-cleaner");
        thread.setDaemon(true);
        return thread;
      });
      executor.setRemoveOnCancelPolicy(true);
      executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
      return executor;
    }

    private static ThreadPoolExecutor createWorkers() {
      AtomicInteger ids = new AtomicInteger();
      return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
          new SynchronousQueue<>(), runnable -> {
            Thread thread = new Thread(runnable, "hourglass-cleaner-worker-" + ids.incrementAndGet());
            thread.setDaemon(true);
            return thread;
          });
    }
  }
}
