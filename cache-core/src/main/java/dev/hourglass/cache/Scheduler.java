package dev.hourglass.cache;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs a cache's periodic clean-up, which removes expired entries from memory even when no thread
 * touches the cache.
 *
 * <p>Implementations must be thread-safe. The cache schedules one task, at most, and only once an
 * entry can expire; the task holds the cache only weakly and cancels itself once the cache is
 * garbage collected. The task is short: it takes each stripe's lock with {@code tryLock}, removes
 * what has expired, and hands the removal notifications to the cache's executor.
 *
 * <p>The default, {@link #systemScheduler()}, is one daemon thread shared by every cache in the
 * JVM. {@link #disabledScheduler()} turns prompt clean-up off: expired entries are then removed
 * only during other cache activity or {@link Cache#cleanUp()} (they are never returned either way).
 */
@FunctionalInterface
public interface Scheduler {

  /**
   * Arranges for {@code task} to run repeatedly, waiting {@code delay} between the end of one run
   * and the start of the next, until the returned future is cancelled.
   *
   * @param task the clean-up task, never {@code null}
   * @param delay the pause between runs, positive
   * @return a future whose cancellation stops the runs
   */
  Future<?> scheduleWithFixedDelay(Runnable task, Duration delay);

  /**
   * Returns the shared scheduler: one daemon thread named {@code hourglass-cleaner}, started when a
   * cache first needs it.
   *
   * @return the JVM-wide default scheduler
   */
  static Scheduler systemScheduler() {
    return SystemScheduler.INSTANCE;
  }

  /**
   * Returns a scheduler that never runs anything, turning prompt clean-up off.
   *
   * @return a scheduler that schedules nothing
   */
  static Scheduler disabledScheduler() {
    return DisabledScheduler.INSTANCE;
  }

  /**
   * Returns a scheduler that runs the clean-up on the given executor service.
   *
   * @param executorService the service to schedule on; the caller owns its lifecycle
   * @return a scheduler backed by {@code executorService}
   * @throws NullPointerException if {@code executorService} is null
   */
  static Scheduler forScheduledExecutorService(ScheduledExecutorService executorService) {
    Objects.requireNonNull(executorService, "executorService");
    return (task, delay) -> {
      long nanos = Math.max(1, Expiry.toNanosSaturated(delay));
      return executorService.scheduleWithFixedDelay(task, nanos, nanos, TimeUnit.NANOSECONDS);
    };
  }
}

/** Schedules nothing. */
enum DisabledScheduler implements Scheduler {
  INSTANCE;

  @Override
  public Future<?> scheduleWithFixedDelay(Runnable task, Duration delay) {
    return CompletableFuture.completedFuture(null);
  }
}
