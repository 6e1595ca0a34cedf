package dev.hourglass.cache;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Captures what the cache logs (through {@code System.Logger}, backed by java.util.logging) while
 * open, and keeps it out of the build output, so a test can assert on an expected warning without
 * printing its stack trace into the CI log.
 */
public final class CapturedLog implements AutoCloseable {
  private final Logger logger;
  private final boolean parentHandlers;
  private final Handler handler;
  public final List<LogRecord> records = new CopyOnWriteArrayList<>();

  public CapturedLog() {
    this("dev.hourglass.cache.internal.StripedCache");
  }

  /**
   * Captures what {@code loggerName} and the loggers below it log (for example
   * {@code dev.hourglass.cache.jcache} for the JCache provider's classes).
   */
  public CapturedLog(String loggerName) {
    logger = Logger.getLogger(loggerName);
    handler = new Handler() {
      @Override
      public void publish(LogRecord record) {
        records.add(record);
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    parentHandlers = logger.getUseParentHandlers();
    logger.setUseParentHandlers(false);
    logger.addHandler(handler);
  }

  /** Whether a record carries {@code thrown}. */
  public boolean logged(Throwable thrown) {
    return records.stream().anyMatch(r -> r.getThrown() == thrown);
  }

  @Override
  public void close() {
    logger.removeHandler(handler);
    logger.setUseParentHandlers(parentHandlers);
  }
}
