package dev.hourglass.cache.bench.policy;

/**
 * S3-TinyLFU, a hybrid: S3-FIFO's queues and hit path (a small FIFO for new keys, a main FIFO
 * that gives an entry with a count another round), with TinyLFU's admission in place of the ghost
 * queue. A key leaving small enters main if it was used twice while in small or main has room;
 * otherwise it enters only if the sketch rates it strictly above main's victim (ties keep main).
 *
 * <p>With {@code lazy} false the sketch counts every access. With it true, the policy runs as
 * the engine does: a hit only raises the entry's own 2-bit counter (only while below 3), and the
 * sketch counts misses plus, whenever eviction looks at an entry, the counter increments it
 * gained since last looked at. With {@code adaptive}, a hill climber resizes the small queue from
 * a hit rate estimated from those credited increments (or, with {@code exactHits}, from a count
 * of every hit, which the engine could only keep with a shared write per hit).
 */
final class ClockTinyLfu implements Candidate {
  private static final int SMALL = 0;
  private static final int MAIN = 1;

  private final int capacity;
  private final Links q;
  private final byte[] freq; // written by "readers"
  private final byte[] credited; // the policy's: freq as of the last credit
  private final FrequencySketch sketch;
  private final boolean lazy;
  private final boolean adaptive;
  private final int promoteAt;
  boolean exactHits;
  boolean keepOnPromote;
  double period = 1;
  private int smallTarget;

  // Hill climbing over the estimated hit rate.
  private final int samplePeriod;
  private long sampleMisses;
  private long sampleHits;
  private double previousHitRate = -1;
  private double step;
  private int direction = -1;

  ClockTinyLfu(int capacity, int distinct, double initialSmall, boolean lazy, boolean adaptive,
      int promoteAt) {
    this.capacity = capacity;
    this.q = new Links(distinct, 2);
    this.freq = new byte[distinct];
    this.credited = new byte[distinct];
    this.sketch = new FrequencySketch(capacity);
    this.lazy = lazy;
    this.adaptive = adaptive;
    this.promoteAt = promoteAt;
    this.smallTarget = Math.max(1, (int) (capacity * initialSmall));
    this.samplePeriod = Math.max(16, capacity);
    this.step = 0.0625 * capacity;
  }

  @Override
  public boolean access(int key) {
    if (!lazy) {
      sketch.increment(key);
    }
    if (q.list[key] >= 0) {
      if (exactHits) {
        sampleHits++;
      }
      if (freq[key] < 3) {
        freq[key]++;
      }
      return true;
    }
    if (lazy) {
      sketch.increment(key);
    }
    freq[key] = 0;
    credited[key] = 0;
    q.addFirst(SMALL, key);
    sampleMisses++;
    while (q.size[SMALL] + q.size[MAIN] > capacity) {
      evict();
    }
    if (adaptive && (sampleMisses >= samplePeriod * period)) {
      climb();
    }
    return false;
  }

  private void credit(int key) {
    int d = freq[key] - credited[key];
    if (d > 0) {
      if (!exactHits) {
        sampleHits += d;
      }
      if (lazy) {
        for (int i = 0; i < d; i++) {
          sketch.increment(key);
        }
      }
    }
    credited[key] = freq[key];
  }

  private void evict() {
    if ((q.size[SMALL] > smallTarget) || (q.size[MAIN] == 0)) {
      int key = q.pollLast(SMALL);
      credit(key);
      if ((freq[key] >= promoteAt) || (q.size[MAIN] < capacity - smallTarget)) {
        if (!keepOnPromote) {
          freq[key] = 0;
          credited[key] = 0;
        }
        q.addFirst(MAIN, key);
        return;
      }
      int victim = nextMainVictim();
      if ((victim >= 0) && (sketch.frequency(key) > sketch.frequency(victim))) {
        q.remove(victim);
        freq[key] = 0;
        credited[key] = 0;
        q.addFirst(MAIN, key);
      }
      return;
    }
    q.remove(nextMainVictim());
  }

  private int nextMainVictim() {
    for (;;) {
      int key = q.tail[MAIN];
      if (key < 0) {
        return -1;
      }
      credit(key);
      if (freq[key] == 0) {
        return key;
      }
      freq[key]--;
      credited[key] = freq[key];
      q.moveToFirst(MAIN, key);
    }
  }

  private void climb() {
    double hitRate = (double) sampleHits / (sampleHits + sampleMisses);
    sampleHits = 0;
    sampleMisses = 0;
    if (previousHitRate >= 0) {
      if (hitRate < previousHitRate) {
        direction = -direction;
      }
      if (Math.abs(hitRate - previousHitRate) > 0.05) {
        step = 0.0625 * capacity;
      } else {
        step = Math.max(1, step * 0.98);
      }
      int target = smallTarget + (int) Math.round(direction * step);
      smallTarget = Math.max(1, Math.min(capacity - 1, target));
    }
    previousHitRate = hitRate;
  }
}
