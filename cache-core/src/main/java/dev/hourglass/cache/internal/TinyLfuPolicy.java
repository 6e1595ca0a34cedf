package dev.hourglass.cache.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The default eviction policy: a small FIFO queue that new entries enter, a main queue run as a
 * CLOCK, and TinyLFU admission between them. It combines S3-FIFO's queues and hit path (Yang et
 * al., "FIFO queues are all you need for cache eviction", SOSP 2023) with TinyLFU's frequency
 * sketch (Einziger, Friedman and Manes, ACM ToS 2017) in place of S3-FIFO's ghost queue. The
 * choice among the candidates measured, with the table, is in {@code docs/design.md}.
 *
 * <h2>A hit</h2>
 * A hit raises the node's 2-bit counter ({@code Node.policyFreq}) if it is below 3, with an
 * opaque store to the node; at 3 it writes nothing. No queue moves on a hit, nothing shared is
 * written, and there is no read buffer: a hot entry's hits cost one load of its own counter.
 *
 * <h2>Eviction, under the stripe lock</h2>
 * <ul>
 *   <li>From the small queue (when it holds more than its share, {@link #SMALL_SHARE} of the
 *       cache's weight): its oldest node leaves. If it was hit at least twice while in small, or
 *       main, with it, stays within its share of the bound (the cache is filling), it moves to
 *       main. Otherwise it competes with main's
 *       victim: it takes main's place only if the sketch estimates it strictly more popular, and
 *       the loser is evicted. Ties keep main as it is (but for a seeded coin between popular
 *       keys, see {@link RankClock#admits}), which keeps loops and scans from flushing
 *       it.
 *   <li>From main: its oldest node with a zero counter is the victim; older nodes with a count
 *       have it lowered by one and go to main's young end (a CLOCK that remembers up to three
 *       hits).
 * </ul>
 *
 * <h2>Counting without readers writing</h2>
 * The sketch is written only under the lock. It counts each miss (an insert) and, whenever
 * eviction looks at a node, the counter increments the node gained since it was last looked at
 * ({@code Node.policyCredit} remembers how many were already counted). It therefore counts up to
 * three hits per entry per pass of the queue that holds it, which is what the admission contest
 * needs to tell a popular entry from a one-hit wonder; a measured comparison with counting every
 * access is in {@code docs/design.md}. The sketch is the stripe's own, grows with the stripe,
 * and halves its counts periodically, so popularity fades when the workload changes.
 *
 * <h2>Across stripes</h2>
 * The bound is global ({@link Eviction}). Each node carries a rank from a cache-wide logical
 * clock, taken when it entered its queue's young end; {@link Eviction} asks the factory whether
 * the small queues hold more than their share (by the cache-wide small weight the policies keep,
 * see {@link RankClock#weights}), samples stripes, and evicts from the sampled stripe whose
 * oldest node in that queue ranks first. That approximates one global small FIFO
 * and one global CLOCK without a global lock. The clock is the one {@link RankClock} describes.
 *
 * <h2>Concurrency</h2>
 * Guarded by the stripe lock, except {@link #onHit} (an opaque read and store of the node's own
 * counter) and the sampling methods (racy reads, see {@link EvictionPolicy}).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class TinyLfuPolicy<K, V> implements EvictionPolicy<K, V> {
  /** The small queue's share of the weight (S3-FIFO's 10%). */
  static final double SMALL_SHARE = 0.1;
  /** The highest hit count a node remembers. */
  static final int MAX_FREQ = 3;
  /** Hits while in small that earn a node its place in main without a contest. */
  static final int PROMOTE_FREQ = 2;
  /** A tie at or above this estimate is settled by a coin (see RankClock#admits). */
  static final int WARM_FREQ = 6;

  /** Queue choices for {@link #enqueue}: the admission queue, or main (flag {@code IN_MAIN}). */
  private static final boolean SMALL = false;
  private static final boolean MAIN = true;

  private final RankClock clock;
  /**
   * Everything written under the lock, in an object of its own: the read path loads this policy's
   * header for the call to {@link #onHit}, and writes to fields beside it would invalidate that
   * line in every reader's cache on every write.
   */
  private final State<K, V> state;

  private TinyLfuPolicy(RankClock clock, int expectedEntries) {
    this.clock = clock;
    this.state = new State<>(expectedEntries, clock.aging);
  }

  /** The stripe's queues, weights and sketch, padded from the policy object. Guarded by the lock. */
  static final class State<K, V> {
    long p0, p1, p2, p3, p4, p5, p6, p7;
    /** The queues, each with its count and weight (read racily by eviction's sampling). */
    final PolicyDeque<K, V> small = new PolicyDeque<>();
    final PolicyDeque<K, V> main = new PolicyDeque<>();
    /** This stripe's rank clock (see RankClock). */
    int rankClock;
    /** Whether the last look for main's victim stopped at the limit. */
    boolean rotated;
    /** Whether the last call for a victim only moved nodes to main, for room. */
    boolean moved;
    final FrequencySketch sketch;

    State(int expectedEntries, FrequencySketch.Aging aging) {
      this.sketch = new FrequencySketch(expectedEntries, aging);
    }
  }

  /**
   * The policies of one cache.
   *
   * @param maximum the cache's bound, which with the stripe count sizes each stripe's sketch at
   *     first and sets how often ranks publish
   */
  static <K, V> EvictionPolicy.Factory<K, V> factory(long maximum, int stripeCount,
      AtomicLongArray weights) {
    RankClock clock = new RankClock(maximum, stripeCount, weights);
    int perStripe = (int) Math.min(1 << 16, Math.max(16, maximum / stripeCount));
    return new EvictionPolicy.Factory<>() {
      @Override
      public EvictionPolicy<K, V> newStripePolicy() {
        return new TinyLfuPolicy<>(clock, perStripe);
      }

      @Override
      public boolean admits(int candidateFreq, int victimFreq) {
        return clock.admits(candidateFreq, victimFreq);
      }

      @Override
      public long admissionWeight() {
        return clock.weights.get(Eviction.ADMISSION);
      }

      @Override
      public boolean evictFromAdmission(long admissionWeight, long totalWeight) {
        return admissionWeight > SMALL_SHARE * totalWeight;
      }

      @Override
      public boolean mainHasRoom(long admissionWeight, long totalWeight, long maximum,
          long candidateWeight) {
        // Main holds what small does not; the candidate moves uncontested only if main stays
        // within its share of the bound with it (the cache is filling, or main was emptied).
        return (totalWeight - admissionWeight) + candidateWeight <= (1 - SMALL_SHARE) * maximum;
      }
    };
  }

  /**
   * A cache-wide logical clock for ranks. Each stripe counts its own ranks; the cache-wide value
   * is the highest any stripe has published. A stripe that falls behind catches up to just past
   * it, and publishes its count whenever its low bits ({@code publishMask}) are zero, so ranks of
   * different stripes stay comparable (to within the publication interval) without a shared
   * write on every insert of a large cache. A small cache publishes every rank, so its ranks are
   * a global order. The publication is an opaque store, not a CAS: losing a racing publication
   * only delays the clock a little.
   */
  static final class RankClock {
    /** The highest rank a stripe has published. */
    final AtomicInteger published = new AtomicInteger();
    /**
     * The cache-wide weights ({@link Eviction#newWeights}), of which the policies keep
     * {@link Eviction#ADMISSION}, the weight in all the stripes' small queues. Each stripe adds
     * its changes under its own lock (an atomic add: other stripes add concurrently); eviction's
     * choice between small and main reads it without a lock. Exact, unlike a sample of stripes,
     * so that the small queue settles at its share whatever the history (a sampled estimate
     * needs a band against its noise, and the share then stays wherever the cache's filling left
     * it in that band).
     */
    final AtomicLongArray weights;
    /** The halving schedule the stripes' sketches share (see FrequencySketch.Aging). */
    final FrequencySketch.Aging aging = new FrequencySketch.Aging();
    /**
     * A stripe publishes its rank when these low bits are zero: every 64 ranks for a cache that
     * holds many entries per stripe, every rank for a small one.
     */
    final int publishMask;

    /** Seeded state of the admission contest's coin (see admits); racy, deterministic alone. */
    private int coin = 0x2545F491;

    /**
     * The admission contest: the candidate wins if the sketch rates it strictly more popular. On
     * a tie between two popular keys, it wins one time in 128, by a seeded coin: keys whose
     * hashes collide share their counters and always tie, and without the coin the first such
     * keys to reach main would keep it forever (a hash-flooding attack). The coin is a plain
     * field: racing contests may see the same flip, which only makes it a little less random.
     */
    boolean admits(int candidateFreq, int victimFreq) {
      if (candidateFreq != victimFreq) {
        return candidateFreq > victimFreq;
      }
      if (candidateFreq < WARM_FREQ) {
        return false;
      }
      int x = coin;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      coin = x; // plain store: see above
      return (x & 127) == 0;
    }

    RankClock(long maximum, int stripeCount, AtomicLongArray weights) {
      this.weights = weights;
      long perStripeBound = (maximum / stripeCount) >> 4;
      this.publishMask = (int) Math.min(63, Long.highestOneBit(Math.max(1, perStripeBound)) - 1);
    }
  }

  /** The next rank for a node of this stripe (see RankClock). */
  private int nextRank() {
    int global = clock.published.getOpaque(); // a hint; no ordering needed
    int rank = state.rankClock + 1;
    if (rank - global <= 0) {
      rank = global + 1; // strictly after everything published, so never a tie with it
    }
    state.rankClock = rank;
    if ((rank & clock.publishMask) == 0) {
      clock.published.setOpaque(rank); // no ordering needed: readers only compare
    }
    return rank;
  }

  @Override
  public void onHit(Node<K, V> node) {
    int freq = node.freqOpaque();
    if (freq < MAX_FREQ) {
      node.setFreqOpaque(freq + 1); // only while below the cap: a hot entry's hit writes nothing
    }
  }

  @Override
  public void onInsert(Node<K, V> node, int size) {
    state.sketch.ensureCapacity(size);
    state.sketch.increment(node.hash); // a miss is a use
    enqueue(node, SMALL, 0);
  }

  @Override
  public void onUpdate(Node<K, V> node, long weightDelta) {
    onHit(node); // a write is a use, as a hit is
    queueOf(node).addWeight(weightDelta);
    if (!node.has(Node.IN_MAIN) && (weightDelta != 0)) {
      addSmallWeight(weightDelta);
    }
  }

  @Override
  public void onRemove(Node<K, V> node) {
    if (!node.has(Node.IN_MAIN)) {
      addSmallWeight(-node.weight());
    }
    queueOf(node).unlink(node);
  }

  @Override
  public void onReplace(Node<K, V> old, Node<K, V> fresh) {
    queueOf(old).replace(old, fresh); // the flags, with the queue's, were copied already
    fresh.setPolicyRank(old.policyRank());
  }

  private PolicyDeque<K, V> queueOf(Node<K, V> node) {
    return node.has(Node.IN_MAIN) ? state.main : state.small;
  }

  /** Adds a node at a queue's young end, with {@code freq} hits left to its credit. */
  private void enqueue(Node<K, V> node, boolean main, int freq) {
    node.setFreqOpaque(freq);
    node.policyCredit = (byte) freq;
    node.set(Node.IN_MAIN, main);
    node.setPolicyRank(nextRank());
    queueOf(node).addLast(node);
    if (!main) {
      addSmallWeight(node.weight());
    }
  }

  /** Adds a change of this stripe's small queue weight to the cache-wide one (RankClock#weights). */
  private void addSmallWeight(long delta) {
    clock.weights.getAndAdd(Eviction.ADMISSION, delta); // atomic: other stripes add concurrently
  }

  /** Moves a node from small to main's young end, with {@code freq} hits left to its credit. */
  private void promote(Node<K, V> node, int freq) {
    state.small.unlink(node);
    addSmallWeight(-node.weight());
    enqueue(node, MAIN, freq);
  }

  @Override
  public Node<K, V> victim(boolean admission, boolean mainHasRoom, boolean bounded,
      int limitRank) {
    State<K, V> s = state;
    s.moved = false;
    if (admission && mainHasRoom && (s.small.head != null)) {
      prepareAdmission(true); // moves at least the head
      s.moved = true; // the cache is filling: move, and let eviction sample main again
      return null;
    }
    if (!admission && (s.main.head != null)) {
      Node<K, V> victim = mainVictim(bounded, limitRank);
      if ((victim != null) || s.rotated) {
        return victim;
      } // main holds only zero-weight nodes: small gives one up instead
    }
    int candidateFreq = prepareAdmission(false);
    if (candidateFreq >= 0) {
      Node<K, V> candidate = s.small.head;
      Node<K, V> victim = mainVictim(bounded, limitRank);
      if (s.rotated) {
        return null; // main's victim is to be looked for in another stripe first
      }
      if ((victim == null) || !clock.admits(candidateFreq, s.sketch.frequency(victim.hash))) {
        return candidate; // ties keep main as it is, but for the coin
      }
      promote(candidate, 0); // the contest's winner takes the loser's place
      return victim;
    }
    return mainVictim(bounded, limitRank); // small is empty, or moved to main to its share
  }

  @Override
  public boolean rotated() {
    return state.rotated;
  }

  @Override
  public boolean moved() {
    return state.moved;
  }

  @Override
  public int prepareAdmission(boolean mainHasRoom) {
    State<K, V> s = state;
    boolean movedFree = false; // whether a weightless node moved to main uncontested
    for (Node<K, V> candidate; (candidate = s.small.head) != null; ) {
      int freq = credit(candidate);
      if ((candidate.weight() == 0) || (freq >= PROMOTE_FREQ)) {
        // Used again while in small (or never a victim): no contest. Its hits paid for the move,
        // unless the cache is still filling, where nothing has contested them yet.
        promote(candidate, mainHasRoom ? freq : 0);
        movedFree |= (candidate.weight() == 0);
        continue;
      }
      if (mainHasRoom) {
        // Room was judged for the node at the head when eviction looked, by its weight: if that
        // was a weightless node moved above, the node behind it is judged again, cache-wide
        // (else a run of weightless nodes would let every scan key into main uncontested).
        if (!movedFree) {
          promote(candidate, freq); // keeps its hits: it moved for room, not for them
        }
        return -1; // eviction asks again, cache-wide, whether main has room for the next
      }
      return s.sketch.frequency(candidate.hash);
    }
    return -1;
  }

  @Override
  public int prepareVictim(boolean bounded, int limitRank) {
    Node<K, V> victim = mainVictim(bounded, limitRank);
    return (victim == null) ? (state.rotated ? -2 : -1) : state.sketch.frequency(victim.hash);
  }

  @Override
  public void admitHead() {
    Node<K, V> candidate = state.small.head;
    if (candidate != null) {
      promote(candidate, 0);
    }
  }

  /**
   * Main's victim: its oldest node of positive weight with a zero count. Older nodes with a count
   * have it lowered by one and go to the young end. Each node is looked at most four times (its
   * count is at most three), so this ends; null when main holds no node of positive weight.
   * With {@code bounded}, it stops with {@code rotated} set once main's oldest node ranks after
   * {@code limitRank}, the oldest main node of the next stripe in the sample: a global CLOCK
   * gives each node one pass at a time, not as many as its stripe happens to need.
   */
  private Node<K, V> mainVictim(boolean bounded, int limitRank) {
    State<K, V> s = state;
    s.rotated = false;
    long visits = 4L * s.main.count + 1;
    for (long i = 0; i < visits; i++) {
      Node<K, V> node = s.main.head;
      if (node == null) {
        return null;
      }
      if (bounded && (node.policyRank() - limitRank > 0)) {
        s.rotated = true; // another stripe's main now holds the oldest: let eviction look there
        return null;
      }
      int freq = credit(node);
      if (node.weight() > 0) {
        if (freq == 0) {
          return node;
        }
        node.setFreqOpaque(freq - 1); // a reader's racing increment may be lost: one hit
        node.policyCredit = (byte) (freq - 1);
      }
      node.setPolicyRank(nextRank());
      s.main.moveToLast(node);
    }
    return null;
  }

  /** Counts in the sketch the hits a node gained since last looked at; returns its count. */
  private int credit(Node<K, V> node) {
    int freq = node.freqOpaque();
    int gained = freq - node.policyCredit;
    if (gained > 0) {
      state.sketch.increment(node.hash, gained);
    }
    node.policyCredit = (byte) freq;
    return freq;
  }

  @Override
  public Node<K, V> head(boolean admission) {
    // Under the lock, exact; without it (sampling), a racy read of a reference: a hint.
    return admission ? state.small.head : state.main.head;
  }

  @Override
  public long admissionWeight() {
    return state.small.weight; // racy without the lock: a hint
  }

  @Override
  public long weight() {
    return state.small.weight + state.main.weight; // racy without the lock: a hint
  }

  @Override
  public int rank(Node<K, V> node) {
    return node.policyRank(); // racy read when called without the lock: a hint only
  }

  /**
   * The sketch's estimate with the hits not yet counted in it added (capped as the sketch is),
   * times two, plus one for a node in main: of two nodes the sketch rates alike, the one that
   * won admission ranks hotter than the one still on probation in the small queue.
   */
  @Override
  public long retention(Node<K, V> node) {
    int uncounted = Math.max(0, node.freqOpaque() - node.policyCredit);
    int estimate = Math.min(FrequencySketch.MAX_COUNT,
        state.sketch.frequency(node.hash) + uncounted);
    return (2L * estimate) + (node.has(Node.IN_MAIN) ? 1 : 0);
  }

  @Override
  public void clear() {
    addSmallWeight(-state.small.weight);
    state.small.clear();
    state.main.clear();
    state.sketch.clear();
  }

  /* ---------------- For Invariants ---------------- */

  PolicyDeque<K, V> small() {
    return state.small;
  }

  PolicyDeque<K, V> main() {
    return state.main;
  }
}
