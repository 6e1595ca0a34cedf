package dev.hourglass.cache.internal;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The size bound of one cache, kept across its stripes: the global weight, the choice of a stripe
 * to evict from, and eviction down to the bound. Which entry a stripe gives up is its
 * {@link EvictionPolicy}'s choice; this class only compares the stripes' candidates by rank.
 *
 * <p>The bound is global: one {@link AtomicLong} holds the total weight, so skewed keys never
 * leave the cache under-filled, as per-stripe quotas would. A write that leaves it over the
 * maximum evicts, after releasing its own stripe lock, from the best of a sample of 16 non-empty
 * stripes, one stripe lock at a time, until the total fits (see {@link #evictToBound}): the
 * policies' ranks make the sample's choice approximate one global order. An entry
 * heavier than the whole bound is evicted at once, by the stripe that stored it.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class Eviction<K, V> {
  /** Non-empty stripes compared per eviction round. */
  private static final int VICTIM_SAMPLES = 16;
  /**
   * Steps in a row that may stop at the runner-up's rank (see EvictionPolicy#victim), beyond
   * four estimated turns of the global CLOCK; past that, a step runs to a victim within its
   * stripe, so a stream of hits on every entry cannot starve eviction.
   */
  private static final int MIN_ROTATIONS = 64;
  private static final int PROGRESS = 0;
  private static final int NOTHING = 1;
  private static final int ROTATED = 2;

  /**
   * The bound on the total weight; changed at run time by {@code Policy.Eviction.setMaximum}.
   * Volatile: a write that reads the new bound evicts to it (one that read the old one a moment
   * earlier evicts to that, and the setter's own pass evicts the rest).
   */
  private volatile long maximum;
  /** In {@link #newWeights}: the total weight of all stripes. */
  static final int TOTAL = 0;
  /** In {@link #newWeights}: the weight of all the policies' admission segments. */
  static final int ADMISSION = 1;
  /**
   * The cache-wide weights, {@link #TOTAL} and {@link #ADMISSION}, side by side on one cache line:
   * a write usually changes both (an insert adds to the total and to the admission segment), and
   * the second atomic add then finds the line already held.
   */
  private final AtomicLongArray weights;
  /** Where victim sampling starts; a racy rotating hint. */
  private int victimCursor;

  /** The stripes' policies, which also decide which of their segments to evict from. */
  private final EvictionPolicy.Factory<K, V> policies;

  Eviction(long maximum, EvictionPolicy.Factory<K, V> policies, AtomicLongArray weights) {
    this.maximum = maximum;
    this.policies = policies;
    this.weights = weights;
  }

  /** The cache-wide weights that this class and the policies share (see {@link #weights}). */
  static AtomicLongArray newWeights() {
    return new AtomicLongArray(2);
  }

  long maximum() {
    return maximum;
  }

  /** Changes the bound; the caller evicts down to it ({@link #evictToBound}). */
  void setMaximum(long maximum) {
    this.maximum = maximum; // volatile: writes that follow evict to the new bound
  }

  /** Adds a change of a stripe's weight to the total. */
  void addWeight(long delta) {
    weights.getAndAdd(TOTAL, delta); // atomic: other stripes add concurrently
  }

  long totalWeight() {
    return weights.get(TOTAL);
  }

  /** The weight of all the policies' admission segments, as the policies keep it. */
  long admissionWeight() {
    return policies.admissionWeight();
  }

  /**
   * Whether the total weight exceeds the bound. Weights are never negative, so a negative total
   * can only be a sum that overflowed {@code long}: that is over any bound too.
   */
  boolean overBound() {
    long total = weights.get(TOTAL);
    return (total > maximum) || (total < 0);
  }

  /** Whether one entry of this weight alone exceeds the bound. */
  boolean heavierThanBound(long weight) {
    return weight > maximum;
  }

  /**
   * Evicts until the total weight is within the bound. Each round samples up to 16 stripes that
   * hold something, sums their policies' admission and total weights, and asks the policy factory
   * which segment to take from (for {@link TinyLfuPolicy}: the small queues, while they hold more
   * than their share); then it evicts from the sampled stripe whose candidate in that segment has
   * the lowest rank, the oldest. If no sampled stripe has a candidate there, the other segment is
   * used. The stripe's policy decides under its lock which node goes (a contest between its small
   * and main queues may make it a main node).
   *
   * @param now the caller's ticker reading, for telling expired victims from live ones
   */
  void evictToBound(Stripe<K, V>[] stripes, long now, Removals<K, V> removals) {
    int mask = stripes.length - 1;
    int idle = 0; // contests in a row that evicted nothing (see contest)
    int rotations = 0; // steps in a row that only gave main nodes another pass
    while (overBound()) {
      // Up to every stripe, to find the samples: a sparse cache (fewer non-empty stripes than
      // samples) is compared whole. A full one finds them in the first 16 it visits.
      int visits = stripes.length;
      int start = victimCursor; // racy hint: any value spreads the sampling
      victimCursor = start + 1;
      Stripe<K, V> bestAdmission = null;
      int admissionRank = 0;
      Stripe<K, V> bestMain = null;
      int mainRank = 0;
      boolean hasRunnerUp = false;
      int runnerUpRank = 0;
      long admissionWeight = 0;
      long sampledWeight = 0;
      int sampled = 0;
      for (int i = 0; (i < visits) && (sampled < VICTIM_SAMPLES); i++) {
        Stripe<K, V> stripe = stripes[(start + i) & mask];
        EvictionPolicy<K, V> policy = stripe.policy;
        Node<K, V> admitting = policy.head(true);
        Node<K, V> main = policy.head(false);
        if ((admitting == null) && (main == null)) {
          continue;
        }
        sampled++;
        admissionWeight += policy.admissionWeight(); // racy reads, hints only
        sampledWeight += policy.weight();
        if (admitting != null) {
          int rank = policy.rank(admitting);
          if ((bestAdmission == null) || (rank - admissionRank < 0)) {
            bestAdmission = stripe;
            admissionRank = rank;
          }
        }
        if (main != null) {
          int rank = policy.rank(main);
          if ((bestMain == null) || (rank - mainRank < 0)) {
            if (bestMain != null) {
              hasRunnerUp = true;
              runnerUpRank = mainRank;
            }
            bestMain = stripe;
            mainRank = rank;
          } else if (!hasRunnerUp || (rank - runnerUpRank < 0)) {
            hasRunnerUp = true;
            runnerUpRank = rank;
          }
        }
      }
      // Small or main, by the cache-wide weights (exact, not the sample's: see
      // TinyLfuPolicy.RankClock#weights); the sample chooses the stripe.
      long smallWeight = policies.admissionWeight();
      long total = weights.get(TOTAL);
      boolean admission = (bestMain == null) || ((bestAdmission != null)
          && policies.evictFromAdmission(smallWeight, total));
      Node<K, V> candidate = (bestAdmission == null) ? null : bestAdmission.policy.head(true);
      boolean room = policies.mainHasRoom(smallWeight, total, maximum,
          (candidate == null) ? 1 : candidate.weight()); // racy read of a weight: a hint
      // A global CLOCK turn passes every main node once; four turns lower any count to zero.
      long mainWeight = Math.max(0, sampledWeight - admissionWeight);
      long turns = 4 * (mainWeight / Math.max(1, sampled)) * stripes.length;
      boolean bounded = hasRunnerUp && (rotations < MIN_ROTATIONS + turns);
      if (admission && (bestMain != null) && (bestMain != bestAdmission)) {
        int outcome = contest(bestAdmission, bestMain, room, bounded, runnerUpRank, now, removals);
        if (outcome == ROTATED) {
          rotations++;
          continue;
        }
        rotations = 0;
        if (outcome == PROGRESS) {
          idle = 0;
          continue;
        }
        if (++idle < stripes.length) {
          continue; // a race emptied the candidate's queue: sample again, then fall back
        }
      } else {
        Stripe<K, V> best = admission ? bestAdmission : bestMain;
        Stripe.Evicted outcome = (best == null) ? Stripe.Evicted.NONE
            : best.evictOne(now, removals, admission, room, bounded, runnerUpRank);
        if (outcome == Stripe.Evicted.NEWER) {
          rotations++;
          continue;
        }
        if (outcome == Stripe.Evicted.MOVED) {
          continue; // each move empties part of a small queue, so this ends
        }
        rotations = 0;
        if (outcome == Stripe.Evicted.ONE) {
          idle = 0;
          continue;
        }
      }
      boolean evicted = false;
      idle = 0;
      for (Stripe<K, V> stripe : stripes) {
        if (stripe.evictOne(now, removals, false, false, false, 0) == Stripe.Evicted.ONE) {
          evicted = true;
          break;
        }
      }
      if (!evicted) {
        return; // only zero-weight entries are left
      }
    }
  }

  /** The admission contest's rule, for {@link Stripe#settleCandidate}. */
  boolean admits(int candidateFreq, int victimFreq) {
    return policies.admits(candidateFreq, victimFreq);
  }

  /**
   * The admission contest when the candidate (the oldest node of the admission segments) and
   * main's victim are in different stripes: one stripe lock at a time, never two. Main's victim
   * is found first, in its stripe; then the candidate's stripe moves to main what needs no
   * contest and, if a candidate is left, settles the contest under the same lock: the one the
   * sketches rate less popular loses (the candidate on a tie, but for a coin: see
   * TinyLfuPolicy.RankClock#admits). A losing candidate, the common case, is evicted there, so
   * the contest takes two locks; a winning one is moved to main and main's victim is evicted in a
   * third. While main still has room nothing is contested, and only the candidate's stripe is
   * visited. Each step re-reads its stripe under the lock, so a racing writer can change which
   * node a step acts on, never make it act on a node that is gone.
   *
   * @return {@code PROGRESS} when something was evicted or moved to main; {@code ROTATED} when
   *     main's victim was not found before the limit (another stripe's main is to be looked at);
   *     {@code NOTHING} when the candidate's stripe turned out to have nothing to contest, which
   *     the caller counts to fall back
   */
  private int contest(Stripe<K, V> candidates, Stripe<K, V> victims, boolean room,
      boolean bounded, int limitRank, long now, Removals<K, V> removals) {
    int victimFreq = -1;
    if (!room) {
      victimFreq = victims.prepareVictim(bounded, limitRank);
      if (victimFreq == -2) {
        return ROTATED;
      }
    }
    switch (candidates.settleCandidate(room, victimFreq, now, removals)) {
      case ONE:
      case MOVED:
        return PROGRESS;
      case ADMITTED:
        // The candidate is in main now. If main's victim went meanwhile (a racing writer), the
        // total is still over and the caller's next round evicts another.
        victims.evictHead(false, now, removals);
        return PROGRESS;
      default:
        return NOTHING;
    }
  }
}
