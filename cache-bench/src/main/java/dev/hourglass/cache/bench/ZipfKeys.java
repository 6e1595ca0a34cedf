package dev.hourglass.cache.bench;

import java.util.SplittableRandom;

/**
 * Precomputed key streams, so that drawing a key costs an array read during measurement.
 *
 * <p>The Zipfian ranks follow Gray et al., "Quickly Generating Billion-Record Synthetic
 * Databases" (SIGMOD 1994); each rank is then scrambled by a 64-bit mix so that the popular keys
 * are spread over the key space (and so over hash bins and stripes) instead of being 0, 1, 2...
 */
public final class ZipfKeys {
  private ZipfKeys() {}

  /** Interned key objects 0..items-1, so every stream shares instances with the populated cache. */
  public static Integer[] pool(int items) {
    Integer[] pool = new Integer[items];
    for (int i = 0; i < items; i++) {
      pool[i] = i;
    }
    return pool;
  }

  /** A stream of {@code count} keys over {@code pool}, Zipf-distributed with skew {@code theta}. */
  public static Integer[] zipf(Integer[] pool, double theta, int count, long seed) {
    long[] ranks = zipfRanks(pool.length, theta, count, seed);
    Integer[] keys = new Integer[count];
    for (int i = 0; i < count; i++) {
      keys[i] = pool[(int) Math.floorMod(mix(ranks[i]), (long) pool.length)];
    }
    return keys;
  }

  /** A stream of uniformly random keys over {@code pool}. */
  public static Integer[] uniform(Integer[] pool, int count, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    Integer[] keys = new Integer[count];
    for (int i = 0; i < count; i++) {
      keys[i] = pool[random.nextInt(pool.length)];
    }
    return keys;
  }

  /** Zipf ranks in [0, items), rank 0 the most popular. */
  public static long[] zipfRanks(int items, double theta, int count, long seed) {
    double zetaN = zeta(items, theta);
    double zeta2 = zeta(2, theta);
    double alpha = 1.0 / (1.0 - theta);
    double eta = (1.0 - Math.pow(2.0 / items, 1.0 - theta)) / (1.0 - zeta2 / zetaN);
    double secondThreshold = 1.0 + Math.pow(0.5, theta);
    SplittableRandom random = new SplittableRandom(seed);
    long[] ranks = new long[count];
    for (int i = 0; i < count; i++) {
      double u = random.nextDouble();
      double uz = u * zetaN;
      long rank;
      if (uz < 1.0) {
        rank = 0;
      } else if (uz < secondThreshold) {
        rank = 1;
      } else {
        rank = (long) (items * Math.pow(eta * u - eta + 1.0, alpha));
      }
      ranks[i] = Math.min(rank, items - 1);
    }
    return ranks;
  }

  private static double zeta(long n, double theta) {
    double sum = 0;
    for (long i = 1; i <= n; i++) {
      sum += 1.0 / Math.pow(i, theta);
    }
    return sum;
  }

  /** A 64-bit finalizer (the xorshift-multiply shape of SplitMix64's output step). */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }
}
