package dev.hourglass.cache.bench;

/**
 * The small adapter every implementation is measured through, so each benchmark calls the same
 * operations on each. Keys and values are {@code Integer}s allocated before measurement.
 */
public interface BenchCache {

  Integer get(Integer key);

  void put(Integer key, Integer value);

  /** Writes with the entry's own time to live where the implementation has one, else a plain put. */
  void putWithTtl(Integer key, Integer value);

  /** Returns the value, computing it as the key itself when absent. */
  Integer computeIfAbsent(Integer key);

  /** The underlying cache, for memory measurement. */
  Object unwrap();

  /** Runs pending maintenance, so a memory snapshot does not count buffered work. */
  void cleanUp();
}
