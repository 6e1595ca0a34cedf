package dev.hourglass.cache.internal;

import dev.hourglass.cache.Expiry;
import dev.hourglass.cache.Scheduler;
import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The default {@link Scheduler}: one daemon platform thread, {@code hourglass-cleaner}, shared by
 * every cache in the JVM and started when the first cache needs it.
 *
 * <h2>Concurrency</h2>
 * The executor is created in a holder class, so the JVM's class initialization lock makes its
 * creation happen once and publishes it safely. Each cache's task holds the cache weakly (see
 * {@link StripedCache}), so an abandoned cache is collected and its task cancels itself.
 */
public enum SharedCleaner implements Scheduler {
  /** The single shared instance. */
  INSTANCE;

  @Override
  public Future<?> scheduleWithFixedDelay(Runnable task, Duration delay) {
    long nanos = Math.max(1, Expiry.toNanosSaturated(delay));
    return Holder.EXECUTOR.scheduleWithFixedDelay(task, nanos, nanos, TimeUnit.NANOSECONDS);
  }

  @Override
  public String toString() {
    return "Scheduler.systemScheduler()";
  }

  private static final class Holder {
    static final ScheduledThreadPoolExecutor EXECUTOR = create();

    private static ScheduledThreadPoolExecutor create() {
      ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, runnable -> {
        Thread thread = new Thread(runnable, "hourglass-cleaner");
        thread.setDaemon(true);
        return thread;
      });
      executor.setRemoveOnCancelPolicy(true);
      executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
      return executor;
    }
  }
}
