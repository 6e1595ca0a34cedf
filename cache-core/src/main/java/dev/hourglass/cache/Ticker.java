package dev.hourglass.cache;

/**
 * A source of nanosecond time, read by the cache to decide when entries expire.
 *
 * <p>Implementations must be thread-safe. The readings need not start at zero and may wrap around
 * like {@link System#nanoTime()}; only differences between them matter. A ticker that goes
 * backwards is tolerated: entries then simply live longer.
 */
@FunctionalInterface
public interface Ticker {

  /**
   * Returns the current time in nanoseconds, relative to an arbitrary fixed origin.
   *
   * @return the current reading
   */
  long read();

  /**
   * Returns a ticker that reads {@link System#nanoTime()}.
   *
   * @return the system ticker, a shared stateless instance
   */
  static Ticker systemTicker() {
    return SystemTicker.INSTANCE;
  }
}

/** The default ticker. */
enum SystemTicker implements Ticker {
  INSTANCE;

  @Override
  public long read() {
    return System.nanoTime();
  }
}
