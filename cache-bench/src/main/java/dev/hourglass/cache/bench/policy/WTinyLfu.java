package dev.hourglass.cache.bench.policy;

import java.util.SplittableRandom;

/**
 * W-TinyLFU with an adaptive window (Einziger, Friedman and Manes, "TinyLFU", ACM ToS 2017; and
 * "Adaptive Software Cache Management", Middleware 2018). New keys enter an LRU window; the
 * window's victim competes with the main region's victim (a segmented LRU: probation, then
 * protected on a second hit) and enters only if the frequency sketch estimates it more popular.
 * A hill climber resizes the window every sample: it keeps moving in the direction that raised
 * the hit rate and turns when the hit rate fell, with a step that decays, so recency-heavy
 * workloads get a large window and frequency-heavy ones a small one.
 */
final class WTinyLfu implements Candidate {
  private static final int WINDOW = 0;
  private static final int PROBATION = 1;
  private static final int PROTECTED = 2;

  private final int capacity;
  private final Links q;
  private final FrequencySketch sketch;
  private final SplittableRandom random = new SplittableRandom(42);
  private final boolean adaptive;
  private int windowMax;
  private int protectedMax;

  // Hill climbing.
  private final int samplePeriod;
  private int sampleAccesses;
  private int sampleHits;
  private double previousHitRate = -1;
  private double step;
  private int direction = 1;

  WTinyLfu(int capacity, int distinct, double initialWindow, boolean adaptive) {
    this.capacity = capacity;
    this.q = new Links(distinct, 3);
    this.sketch = new FrequencySketch(capacity);
    this.adaptive = adaptive;
    setWindow((int) Math.round(capacity * initialWindow));
    this.samplePeriod = 10 * capacity;
    this.step = 0.0625 * capacity;
  }

  private void setWindow(int window) {
    windowMax = Math.max(1, Math.min(capacity - 1, window));
    protectedMax = (int) ((capacity - windowMax) * 0.8);
  }

  @Override
  public boolean access(int key) {
    sketch.increment(key);
    boolean hit = true;
    switch (q.list[key]) {
      case WINDOW -> q.moveToFirst(WINDOW, key);
      case PROBATION -> {
        q.moveToFirst(PROTECTED, key);
        demoteProtected();
      }
      case PROTECTED -> q.moveToFirst(PROTECTED, key);
      default -> {
        hit = false;
        q.addFirst(WINDOW, key);
        evict();
      }
    }
    if (adaptive) {
      climb(hit);
    }
    return hit;
  }

  private void demoteProtected() {
    while (q.size[PROTECTED] > protectedMax) {
      q.addFirst(PROBATION, q.pollLast(PROTECTED));
    }
  }

  /** Moves window overflow to probation, admitting or rejecting against main's victim. */
  private void evict() {
    while (q.size[WINDOW] > windowMax) {
      int candidate = q.pollLast(WINDOW);
      if (q.size[WINDOW] + q.size[PROBATION] + q.size[PROTECTED] < capacity) {
        q.addFirst(PROBATION, candidate); // room: no contest
        continue;
      }
      int victim = (q.tail[PROBATION] >= 0) ? q.tail[PROBATION] : q.tail[PROTECTED];
      if (admit(candidate, victim)) {
        q.remove(victim);
        q.addFirst(PROBATION, candidate);
      } // else the candidate is dropped
    }
    while (q.size[WINDOW] + q.size[PROBATION] + q.size[PROTECTED] > capacity) {
      int victim = (q.tail[PROBATION] >= 0) ? q.tail[PROBATION] : q.tail[PROTECTED];
      q.remove(victim);
    }
  }

  private boolean admit(int candidate, int victim) {
    int c = sketch.frequency(candidate);
    int v = sketch.frequency(victim);
    if (c > v) {
      return true;
    }
    // A warm candidate sometimes wins a tie or a close loss, so that an attacker (or bad luck)
    // cannot keep a victim's counters high and lock every newcomer out.
    return (c >= 6) && (random.nextInt(128) == 0);
  }

  private void climb(boolean hit) {
    sampleAccesses++;
    if (hit) {
      sampleHits++;
    }
    if (sampleAccesses < samplePeriod) {
      return;
    }
    double hitRate = (double) sampleHits / sampleAccesses;
    sampleAccesses = 0;
    sampleHits = 0;
    if (previousHitRate >= 0) {
      if (hitRate < previousHitRate) {
        direction = -direction; // the last move made things worse: go back
      }
      if (Math.abs(hitRate - previousHitRate) > 0.05) {
        step = 0.0625 * capacity; // the workload changed: take big steps again
      } else {
        step = Math.max(1, step * 0.98);
      }
      setWindow(windowMax + (int) Math.round(direction * step));
      demoteProtected();
      evict();
    }
    previousHitRate = hitRate;
  }
}
