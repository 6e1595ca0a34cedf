package dev.hourglass.cache.internal;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How often each key was used lately, approximately: a count-min sketch of 4-bit counters that
 * are all halved periodically, so that old popularity fades (TinyLFU's "reset"; Einziger,
 * Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM ToS 2017).
 *
 * <p>A key has one counter in each of four rows; its estimate is the least of the four, so
 * collisions can only raise an estimate. The rows share one {@code long[]}: each long holds 16
 * counters, and a key's four counters lie in four longs. The table has at least four counters
 * per key it is sized for, and at least {@link #MIN_WIDTH} keys' worth, so a key's estimate
 * collides with another's with low probability. Every counter is halved on a schedule shared by
 * all the sketches of a cache ({@link Aging}): after ten times as many increments, over all
 * stripes, as the entries they are sized for. Width and aging are separate, so a stripe of a
 * small cache keeps a table wide enough for the keys that pass through it and still forgets at
 * TinyLFU's pace.
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

  /**
   * Fewest keys a table is sized for (64 longs, 512 bytes). A stripe of a small cache holds a
   * handful of entries, but many more keys pass through its sketch between halvings; a table
   * sized for the handful gave estimates so many collisions that popular keys were lost to
   * one-time scans (TinyLfuPolicyTest) and lowered the mean hit rate on the candidate traces
   * (docs/benchmarks/experiments/issue10-policy/sketch-floor/).
   */
  static final int MIN_WIDTH = 256;

  /** Increments a sketch counts before it publishes them to the cache-wide {@link Aging}. */
  private static final int PUBLISH_BATCH = 64;

  private long[] table;
  private int mask;
  /** The entries the sketch is aged for (its share of {@link Aging}'s period). */
  private int entries;
  /** The cache-wide halving schedule, and the epoch of it this table has caught up with. */
  private final Aging aging;
  private int epoch;
  /** Increments not yet published to {@code aging}. */
  private int pending;

  /**
   * A sketch aged as if for {@code entries} keys (its share of the cache-wide halving period),
   * halving on the schedule of {@code aging}. The table starts at {@link #MIN_WIDTH} keys and
   * grows with the stripe ({@link #ensureCapacity}), so a cache that never fills never pays for
   * a sketch of its whole bound.
   */
  FrequencySketch(int entries, Aging aging) {
    this.entries = Math.max(16, entries);
    int length = lengthFor(MIN_WIDTH);
    this.table = new long[length];
    this.mask = length - 1;
    this.aging = aging;
    this.epoch = aging.epoch();
    aging.addEntries(this.entries);
  }

  /**
   * The halving schedule of all the sketches of one cache. The stripes' sketches are compared in
   * the admission contest (a candidate in one stripe against main's victim in another), so they
   * must age together: a sketch that had just halved would make every key of its stripe lose to
   * the keys of one that had not (measured: a loop trace then churned main). The cache counts
   * all sketches' increments, in batches, and every ten times the entries they are sized for
   * (TinyLFU's sample size; half as many after the first, since halved counts are worth half a
   * period) it opens a new epoch; each sketch halves, under its stripe's lock, when it next
   * counts or estimates and finds itself behind.
   */
  static final class Aging {
    /** Increments published by all sketches. */
    private final AtomicLong additions = new AtomicLong();
    /** The entries all sketches are sized for. */
    private final AtomicLong entries = new AtomicLong();
    /** The additions count at which the next epoch opens. */
    private final AtomicLong resetAt = new AtomicLong(-1);
    private final AtomicInteger epoch = new AtomicInteger();

    int epoch() {
      return epoch.getOpaque(); // a sketch may catch up one read late: no ordering needed
    }

    void addEntries(long delta) {
      entries.getAndAdd(delta); // atomic: stripes add concurrently
    }

    /** Adds a batch of increments; opens the next epoch when the count passes its mark. */
    void publish(int batch) {
      long total = additions.addAndGet(batch); // atomic: stripes publish concurrently
      long at = resetAt.get();
      if (at < 0) { // the first mark: ten times the entries
        resetAt.compareAndSet(at, 10 * entries.get()); // a racing first publisher set it alike
        return;
      }
      // The CAS lets exactly one publisher open the epoch that this mark starts.
      if ((total >= at) && resetAt.compareAndSet(at, total + 5 * entries.get())) {
        epoch.getAndIncrement(); // after the mark moved: no other publisher opens it twice
      }
    }
  }

  /** A table of {@code length} longs holds 16 counters each, four per key: width = 4 * length. */
  private static int lengthFor(int width) {
    int length = Integer.highestOneBit(Math.min(MAX_LENGTH, (width + 3) / 4));
    return (length < (width + 3) / 4) && (length < MAX_LENGTH) ? length << 1 : length;
  }

  /**
   * Sizes the sketch for a stripe of {@code count} entries: its share of the aging period grows
   * when the stripe holds more than it was aged for, and the table grows, keeping every
   * estimate, when it has fewer than four counters per entry. Runs on every insert: two
   * comparisons unless the stripe grew.
   */
  void ensureCapacity(int count) {
    if (count > entries) {
      aging.addEntries(count - entries);
      entries = count;
    }
    if (count <= (table.length << 2)) {
      return;
    }
    int length = lengthFor(count);
    long[] grown = Arrays.copyOf(table, length);
    for (int i = table.length; i < length; i += table.length) {
      System.arraycopy(table, 0, grown, i, table.length);
    }
    table = grown;
    mask = length - 1;
  }

  /** The number of longs in the table (for tests and the footprint). */
  int length() {
    return table.length;
  }

  /** The estimated count of a key, 0 to {@link #MAX_COUNT}. */
  int frequency(int hash) {
    catchUp();
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
    catchUp();
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
    if (added && (++pending >= PUBLISH_BATCH)) {
      aging.publish(pending);
      pending = 0;
    }
  }

  /** Halves once per epoch the cache opened since this sketch last looked (four clear it). */
  private void catchUp() {
    int current = aging.epoch();
    int behind = current - epoch;
    if (behind != 0) {
      epoch = current;
      if ((behind < 0) || (behind >= 4)) {
        Arrays.fill(table, 0L); // four halvings empty every 4-bit counter
      } else {
        for (int i = 0; i < behind; i++) {
          halve();
        }
      }
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
  }

  /** Forgets every count. */
  void clear() {
    Arrays.fill(table, 0L);
    epoch = aging.epoch();
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
