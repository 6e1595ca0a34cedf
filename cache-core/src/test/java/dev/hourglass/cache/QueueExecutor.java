package dev.hourglass.cache;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;

/**
 * An executor that only queues: its tasks run when a test drains it, on the test's thread, so
 * that reloads, loads and notifications happen exactly where the test says. Thread-safe.
 */
public final class QueueExecutor implements Executor {
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();

  public QueueExecutor() {}

  @Override
  public void execute(Runnable task) {
    tasks.add(task);
  }

  /** How many tasks wait to run. */
  public int pending() {
    return tasks.size();
  }

  /**
   * Runs the queued tasks, those they queue included, until none is left.
   *
   * @return how many ran
   */
  public int drain() {
    int ran = 0;
    for (Runnable task; (task = tasks.poll()) != null; ran++) {
      task.run();
    }
    return ran;
  }
}
