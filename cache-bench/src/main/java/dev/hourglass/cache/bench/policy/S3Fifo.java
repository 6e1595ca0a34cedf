package dev.hourglass.cache.bench.policy;

/**
 * S3-FIFO (Yang et al., SOSP 2023): a small FIFO (10% of the capacity) that new keys enter, a
 * main FIFO for keys re-used while small, and a ghost FIFO of keys recently evicted from small
 * (keys only, as many as main holds) whose return goes straight to main. Each entry has a
 * frequency of 0 to 3; main gives an entry with a frequency another round, one lower.
 */
final class S3Fifo implements Candidate {
  private static final int SMALL = 0;
  private static final int MAIN = 1;
  private static final int GHOST = 2;

  private final int capacity;
  private final int smallTarget;
  private final Links q;
  private final byte[] freq;

  S3Fifo(int capacity, int distinct) {
    this.capacity = capacity;
    this.smallTarget = Math.max(1, capacity / 10);
    this.q = new Links(distinct, 3);
    this.freq = new byte[distinct];
  }

  @Override
  public boolean access(int key) {
    int where = q.list[key];
    if ((where == SMALL) || (where == MAIN)) {
      if (freq[key] < 3) {
        freq[key]++;
      }
      return true;
    }
    if (where == GHOST) {
      q.remove(key); // before evicting, which may trim the ghost queue
    }
    while (q.size[SMALL] + q.size[MAIN] >= capacity) {
      evict();
    }
    freq[key] = 0;
    if (where == GHOST) {
      q.addFirst(MAIN, key);
    } else {
      q.addFirst(SMALL, key);
    }
    return false;
  }

  private void evict() {
    if ((q.size[SMALL] >= smallTarget) || (q.size[MAIN] == 0)) {
      int key = q.pollLast(SMALL);
      if (freq[key] > 1) {
        freq[key] = 0;
        q.addFirst(MAIN, key);
      } else {
        q.addFirst(GHOST, key);
        if (q.size[GHOST] > capacity - smallTarget) {
          q.pollLast(GHOST);
        }
      }
      return;
    }
    for (;;) {
      int key = q.pollLast(MAIN);
      if (freq[key] > 0) {
        freq[key]--;
        q.addFirst(MAIN, key);
      } else {
        return;
      }
    }
  }
}
