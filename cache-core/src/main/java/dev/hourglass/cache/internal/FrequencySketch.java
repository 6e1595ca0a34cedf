package dev.hourglass.cache.internal;

import java.util.Arrays;

/**
 * How often each key was used lately, approximately: a count-min sketch of 4-bit counters that
 * are all halved periodically, so that old popularity fades (TinyLFU's "reset"; Einziger,
 * Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM ToS 2017).
 *
 * <p>A key has one counter in each of four rows; its estimate is the least of the four, so
 * collisions can only raise an estimate. The rows share one {@code long[]}: each long holds 16
 * counters, and a key's four counters lie in four longs. The width (counters per row) is a power
 * of two at least the number of entries it is sized for, so a key's estimate collides with
 * another's with low probability. After ten times the width increments, every counter is halved.
 *
 * <p>The sketch grows with its stripe ({@link #ensureCapacity}) by doubling its table: the index
 * of a counter gains one bit, so each old long is copied to both halves, and every key keeps its
 * estimate. Not thread-safe: guarded by the stripe lock.
 */
final class FrequencySketch {
  /** The highest count a 4-bit counter holds. */
  static final int MAX_COUNT = 15;
  /** Largest table: 2^26 longs (512 MiB) is far past any stripe. */
  private static final int MAX_LENGTH = 1 << 26;
  /** Row seeds: odd, so each is a bijection on 32-bit hashes. */
  private static final int[] SEEDS = {0x9E3779B9, 0x85EBCA6B, 0xC2B2AE35, 0x27D4EB2F};

  private long[] table;
  private int mask;
  /** Increments until the next halving. */
  private int untilReset;

  /** A sketch for about {@code entries} keys (at least 16). */
  FrequencySketch(int entries) {
    int length = lengthFor(entries);
    this.table = new long[length];
    this.mask = length - 1;
    this.untilReset = resetPeriod(length);
  }

  /** A table of {@code length} longs holds 16 counters each, four per key: width = 4 * length. */
  private static int lengthFor(int entries) {
    int width = Math.max(16, entries);
    int length = Integer.highestOneBit(Math.min(MAX_LENGTH, (width + 3) / 4));
    return (length < (width + 3) / 4) && (length < MAX_LENGTH) ? length << 1 : length;
  }

  private static int resetPeriod(int length) {
    return (int) Math.min(Integer.MAX_VALUE, 40L * length); // ten times the width
  }

  /** Grows the table, keeping every estimate, when it is sized for fewer than {@code entries}. */
  void ensureCapacity(int entries) {
    if (entries <= (table.length << 2)) {
      return; // the common case, on every insert: four counters per long already suffice
    }
    int length = lengthFor(entries);
    if (length <= table.length) {
      return;
    }
    long[] grown = Arrays.copyOf(table, length);
    for (int i = table.length; i < length; i += table.length) {
      System.arraycopy(table, 0, grown, i, table.length);
    }
    table = grown;
    mask = length - 1;
    untilReset = Math.min(untilReset, resetPeriod(length));
  }

  /** The number of longs in the table (for tests and the footprint). */
  int length() {
    return table.length;
  }

  /** The estimated count of a key, 0 to {@link #MAX_COUNT}. */
  int frequency(int hash) {
    int min = MAX_COUNT;
    for (int row = 0; row < 4; row++) {
      int h = mix(hash, row);
      int count = (int) ((table[h & mask] >>> shift(h)) & MAX_COUNT);
      min = Math.min(min, count);
    }
    return min;
  }

  /** Counts one use of a key. */
  void increment(int hash) {
    boolean added = false;
    for (int row = 0; row < 4; row++) {
      int h = mix(hash, row);
      int index = h & mask;
      int shift = shift(h);
      if (((table[index] >>> shift) & MAX_COUNT) < MAX_COUNT) {
        table[index] += 1L << shift;
        added = true;
      }
    }
    if (added && (--untilReset <= 0)) {
      halve();
    }
  }

  /** Counts {@code times} uses of a key. */
  void increment(int hash, int times) {
    for (int i = 0; i < times; i++) {
      increment(hash);
    }
  }

  private void halve() {
    for (int i = 0; i < table.length; i++) {
      table[i] = (table[i] >>> 1) & 0x7777_7777_7777_7777L; // each 4-bit counter halved
    }
    untilReset = resetPeriod(table.length) / 2; // the halved counts are half a period's worth
  }

  /** Forgets every count. */
  void clear() {
    Arrays.fill(table, 0L);
    untilReset = resetPeriod(table.length);
  }

  /** A row's hash of a key: the index takes the low bits, the counter in the long the top four. */
  private static int mix(int hash, int row) {
    int h = hash * SEEDS[row];
    h ^= h >>> 15;
    h *= 0x2C1B3C6D;
    return h ^ (h >>> 13);
  }

  private static int shift(int h) {
    return (h >>> 28) << 2;
  }
}
