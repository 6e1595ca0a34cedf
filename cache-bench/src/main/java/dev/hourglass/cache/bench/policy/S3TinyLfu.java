package dev.hourglass.cache.bench.policy;

/**
 * A hybrid to test: S3-FIFO's queues and hit path (a small FIFO for new keys, a main FIFO that
 * gives an entry with a frequency another round; a hit only raises a 2-bit counter), with
 * TinyLFU's admission in place of the ghost queue. A key leaving small enters main if it was used
 * again while in small (S3-FIFO's rule) or if the frequency sketch rates it above main's next
 * victim (TinyLFU's rule); otherwise it is dropped. Rejecting ties keeps main stable under loops
 * and scans, where S3-FIFO's ghost re-entry churns it.
 */
final class S3TinyLfu implements Candidate {
  private static final int SMALL = 0;
  private static final int MAIN = 1;

  private final int capacity;
  private final int smallTarget;
  private final Links q;
  private final byte[] freq;
  private final FrequencySketch sketch;

  S3TinyLfu(int capacity, int distinct) {
    this.capacity = capacity;
    this.smallTarget = Math.max(1, capacity / 10);
    this.q = new Links(distinct, 2);
    this.freq = new byte[distinct];
    this.sketch = new FrequencySketch(capacity);
  }

  @Override
  public boolean access(int key) {
    sketch.increment(key);
    if (q.list[key] >= 0) {
      if (freq[key] < 3) {
        freq[key]++;
      }
      return true;
    }
    freq[key] = 0;
    q.addFirst(SMALL, key);
    while (q.size[SMALL] + q.size[MAIN] > capacity) {
      evict();
    }
    return false;
  }

  private void evict() {
    if ((q.size[SMALL] > smallTarget) || (q.size[MAIN] == 0)) {
      int key = q.pollLast(SMALL);
      if ((freq[key] > 1) || (q.size[MAIN] < capacity - smallTarget)) {
        freq[key] = 0; // used again while small, or main has room: no contest
        q.addFirst(MAIN, key);
        return;
      }
      int victim = nextMainVictim();
      if ((victim >= 0) && (sketch.frequency(key) > sketch.frequency(victim))) {
        q.remove(victim);
        freq[key] = 0;
        q.addFirst(MAIN, key);
      } // else dropped
      return;
    }
    q.remove(nextMainVictim());
  }

  /** Main's next victim: the oldest entry without a frequency, giving the others another round. */
  private int nextMainVictim() {
    for (;;) {
      int key = q.tail[MAIN];
      if (key < 0) {
        return -1;
      }
      if (freq[key] == 0) {
        return key;
      }
      freq[key]--;
      q.moveToFirst(MAIN, key);
    }
  }
}
