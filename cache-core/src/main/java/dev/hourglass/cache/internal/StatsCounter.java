package dev.hourglass.cache.internal;

import dev.hourglass.cache.CacheStats;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters behind {@code Cache.stats()}.
 *
 * <h2>Concurrency</h2>
 * Striped {@link LongAdder}s: a hit from many threads lands in per-thread-ish cells, so counting
 * adds no contended compare-and-set to the read path. A snapshot sums the cells without a lock and
 * may mix slightly different instants.
 */
final class StatsCounter {
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder loadSuccesses = new LongAdder();
  private final LongAdder loadFailures = new LongAdder();
  private final LongAdder loadTimeNanos = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder evictionWeight = new LongAdder();
  private final LongAdder puts = new LongAdder();

  void recordHits(int count) {
    hits.add(count);
  }

  void recordMisses(int count) {
    misses.add(count);
  }

  void recordLoadSuccess(long nanos) {
    loadSuccesses.increment();
    loadTimeNanos.add(Math.max(0, nanos));
  }

  void recordLoadFailure(long nanos) {
    loadFailures.increment();
    loadTimeNanos.add(Math.max(0, nanos));
  }

  void recordEviction(long weight) {
    evictions.increment();
    evictionWeight.add(weight);
  }

  /** One value stored by a write (not a load). */
  void recordPut() {
    puts.increment();
  }

  /** A snapshot; a sum past {@code Long.MAX_VALUE} (say, of huge weights) saturates there. */
  CacheStats snapshot() {
    return new CacheStats(saturated(hits), saturated(misses), saturated(loadSuccesses),
        saturated(loadFailures), saturated(loadTimeNanos), saturated(evictions),
        saturated(evictionWeight), saturated(puts));
  }

  /** The sum of non-negative additions: negative only if it overflowed. */
  private static long saturated(LongAdder adder) {
    long sum = adder.sum();
    return (sum < 0) ? Long.MAX_VALUE : sum;
  }
}
