package dev.hourglass.cache.bench.policy;

/**
 * A count-min sketch of 4-bit counters with periodic halving (TinyLFU's "reset", Einziger,
 * Friedman and Manes, ACM ToS 2017): four counters per key, in four rows of a power-of-two width
 * of at least the cache's capacity; a key's estimate is the least of its four. After ten times
 * the capacity increments every counter is halved, so the estimates follow a changing workload.
 */
final class FrequencySketch {
  private final long[] table; // 16 counters of 4 bits per long
  private final int mask;
  private final int sampleSize;
  private int additions;

  FrequencySketch(int capacity) {
    int width = Integer.highestOneBit(Math.max(16, capacity) * 2 - 1); // next power of two
    this.table = new long[width / 4]; // 4 rows x width counters = width/4 longs
    this.mask = (table.length) - 1;
    this.sampleSize = 10 * Math.max(1, capacity);
  }

  private static int hash(int key, int row) {
    long h = (key + 1L) * (0x9E3779B97F4A7C15L + 2L * row);
    h ^= h >>> 29;
    h *= 0xBF58476D1CE4E5B9L;
    return (int) (h ^ (h >>> 32));
  }

  int frequency(int key) {
    int min = 15;
    for (int row = 0; row < 4; row++) {
      int h = hash(key, row);
      int index = h & mask;
      int shift = ((h >>> 24) & 15) << 2;
      min = Math.min(min, (int) ((table[index] >>> shift) & 15));
    }
    return min;
  }

  void increment(int key) {
    boolean added = false;
    for (int row = 0; row < 4; row++) {
      int h = hash(key, row);
      int index = h & mask;
      int shift = ((h >>> 24) & 15) << 2;
      if (((table[index] >>> shift) & 15) < 15) {
        table[index] += 1L << shift;
        added = true;
      }
    }
    if (added && (++additions >= sampleSize)) {
      additions /= 2;
      for (int i = 0; i < table.length; i++) {
        table[i] = (table[i] >>> 1) & 0x7777_7777_7777_7777L; // halve every counter
      }
    }
  }
}
