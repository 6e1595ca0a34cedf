package dev.hourglass.cache.bench;

import java.time.Duration;

/** A cache configuration compared across implementations. */
public enum Shape {
  /** No bound and no expiry: the pure cost of the table, comparable with ConcurrentHashMap. */
  UNBOUNDED("unbounded"),
  /** Bounded by entry count only. */
  SIZE("size"),
  /** Bounded, with a fixed time to live after each write. */
  SIZE_WRITE("size+expireAfterWrite"),
  /** Bounded, with a fixed idle time. */
  SIZE_ACCESS("size+expireAfterAccess"),
  /** Bounded, with a per-entry lifetime (an Expiry); Guava has no such feature. */
  SIZE_VARIABLE("size+per-entry TTL");

  /** Long enough that nothing expires during a benchmark: the cost of tracking time is measured. */
  public static final Duration TTL = Duration.ofMinutes(5);

  public final String label;

  Shape(String label) {
    this.label = label;
  }
}
