package dev.hourglass.cache.bench.policy;

/**
 * SIEVE (Zhang et al., NSDI 2024): a FIFO queue with one visited bit per entry and a hand that
 * moves from the oldest entry towards the newest, clearing visited bits and evicting the first
 * entry it finds unvisited. A hit only sets a bit.
 */
final class Sieve implements Candidate {
  private final int capacity;
  private final Links q;
  private final boolean[] visited;
  private int hand = -1;

  Sieve(int capacity, int distinct) {
    this.capacity = capacity;
    this.q = new Links(distinct, 1);
    this.visited = new boolean[distinct];
  }

  @Override
  public boolean access(int key) {
    if (q.list[key] == 0) {
      visited[key] = true;
      return true;
    }
    if (q.size[0] >= capacity) {
      evict();
    }
    q.addFirst(0, key);
    visited[key] = false;
    return false;
  }

  private void evict() {
    int h = (hand >= 0) ? hand : q.tail[0];
    while (visited[h]) {
      visited[h] = false;
      h = (q.prev[h] >= 0) ? q.prev[h] : q.tail[0]; // towards newer; wrap to the oldest
    }
    hand = q.prev[h]; // may be -1: start again from the tail
    q.remove(h);
  }
}
