package dev.hourglass.cache.internal;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The size bound of one cache, kept across its stripes: the global weight, the choice of a stripe
 * to evict from, and eviction down to the bound. Which entry a stripe gives up is its
 * {@link EvictionPolicy}'s choice; this class only compares the stripes' candidates by rank.
 *
 * <p>The bound is global: one {@link AtomicLong} holds the total weight, so skewed keys never
 * leave the cache under-filled, as per-stripe quotas would. A write that leaves it over the
 * maximum evicts, after releasing its own stripe lock, from the best of a sample of 16 non-empty
 * stripes, one stripe lock at a time, until the total fits (see {@link #evictToBound}). An entry
 * heavier than the whole bound is evicted at once, by the stripe that stored it.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class Eviction<K, V> {
  /** Non-empty stripes compared per eviction round. */
  private static final int VICTIM_SAMPLES = 16;

  /** The bound on the total weight. */
  final long maximum;
  /** Total weight of all stripes. */
  private final AtomicLong totalWeight = new AtomicLong();
  /** Where victim sampling starts; a racy rotating hint. */
  private int victimCursor;

  Eviction(long maximum) {
    this.maximum = maximum;
  }

  /** Adds a change of a stripe's weight to the total. */
  void addWeight(long delta) {
    totalWeight.getAndAdd(delta); // atomic: other stripes add concurrently
  }

  long totalWeight() {
    return totalWeight.get();
  }

  /**
   * Whether the total weight exceeds the bound. Weights are never negative, so a negative total
   * can only be a sum that overflowed {@code long}: that is over any bound too.
   */
  boolean overBound() {
    long total = totalWeight.get();
    return (total > maximum) || (total < 0);
  }

  /** Whether one entry of this weight alone exceeds the bound. */
  boolean heavierThanBound(long weight) {
    return weight > maximum;
  }

  /**
   * Evicts until the total weight is within the bound. Each round samples up to 16 non-empty
   * stripes and picks the one whose candidate has the lowest rank. Ranks only reflect the reads
   * already applied, so under the chosen stripe's lock its buffered reads are applied first; if
   * its candidate then ranks after the runner-up's, the choice is made again. Each such round
   * applies one sampled stripe's reads, so at most as many rounds as samples are needed; past that
   * (a stream of new reads) the choice stands, so reads cannot starve eviction.
   *
   * @param now the caller's ticker reading, for telling expired victims from live ones
   */
  void evictToBound(Stripe<K, V>[] stripes, long now, Removals<K, V> removals) {
    int mask = stripes.length - 1;
    int rechosen = 0;
    while (overBound()) {
      // Up to every stripe, to find the samples: a sparse cache (fewer non-empty stripes than
      // samples) is compared whole. A full one finds them in the first 16 it visits.
      int visits = stripes.length;
      int start = victimCursor; // racy hint: any value spreads the sampling
      victimCursor = start + 1;
      Stripe<K, V> best = null;
      int bestRank = 0;
      boolean hasRunnerUp = false;
      int runnerUpRank = 0;
      int sampled = 0;
      for (int i = 0; (i < visits) && (sampled < VICTIM_SAMPLES); i++) {
        Stripe<K, V> stripe = stripes[(start + i) & mask];
        EvictionPolicy<K, V> policy = stripe.policy;
        Node<K, V> candidate = policy.candidateHint();
        if (candidate != null) {
          sampled++;
          int rank = policy.rank(candidate); // racy read, a hint only
          if ((best == null) || (rank - bestRank < 0)) {
            if (best != null) {
              hasRunnerUp = true;
              runnerUpRank = bestRank;
            }
            best = stripe;
            bestRank = rank;
          } else if (!hasRunnerUp || (rank - runnerUpRank < 0)) {
            hasRunnerUp = true;
            runnerUpRank = rank;
          }
        }
      }
      Stripe.Evicted outcome = (best == null) ? Stripe.Evicted.NONE
          : best.evictOne(now, removals, hasRunnerUp && (rechosen < VICTIM_SAMPLES),
              runnerUpRank);
      if (outcome == Stripe.Evicted.NEWER) {
        rechosen++;
        continue;
      }
      rechosen = 0;
      if (outcome == Stripe.Evicted.NONE) {
        boolean evicted = false;
        for (Stripe<K, V> stripe : stripes) {
          if (stripe.evictOne(now, removals, false, 0) == Stripe.Evicted.ONE) {
            evicted = true;
            break;
          }
        }
        if (!evicted) {
          return; // only zero-weight entries are left
        }
      }
    }
  }
}
