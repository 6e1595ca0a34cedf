package dev.hourglass.cache;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;

/** Captures scheduled tasks so a test runs them when it wants, deterministically. */
public final class ManualScheduler implements Scheduler {
  public final List<Runnable> tasks = new CopyOnWriteArrayList<>();
  public final List<Duration> delays = new CopyOnWriteArrayList<>();

  public ManualScheduler() {}

  @Override
  public Future<?> scheduleWithFixedDelay(Runnable task, Duration delay) {
    tasks.add(task);
    delays.add(delay);
    return new CompletableFuture<>();
  }

  public void runAll() {
    tasks.forEach(Runnable::run);
  }
}
