package dev.hourglass.cache.jcache;

import java.util.concurrent.atomic.LongAdder;
import javax.cache.management.CacheStatisticsMXBean;

/**
 * A JCache's statistics, as JSR-107 defines them (section 12.4): gets are hits plus misses; puts,
 * removals and evictions are counted by the operations that make them; average times are in
 * microseconds. Counted only while statistics are enabled. Counters are {@link LongAdder}s, so
 * recording never contends; a read may mix counts from slightly different instants.
 */
final class JCacheStatistics implements CacheStatisticsMXBean {
  private final LongAdder hits = new LongAdder();
  private final LongAdder misses = new LongAdder();
  private final LongAdder puts = new LongAdder();
  private final LongAdder removals = new LongAdder();
  private final LongAdder evictions = new LongAdder();
  private final LongAdder getTimeNanos = new LongAdder();
  private final LongAdder putTimeNanos = new LongAdder();
  private final LongAdder removeTimeNanos = new LongAdder();
  private volatile boolean enabled;

  boolean isEnabled() {
    return enabled;
  }

  void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  void recordHits(long count) {
    if (enabled) {
      hits.add(count);
    }
  }

  void recordMisses(long count) {
    if (enabled) {
      misses.add(count);
    }
  }

  /** One lookup of a key: a hit if it found a value, else a miss. */
  void recordLookup(boolean hit) {
    if (enabled) {
      (hit ? hits : misses).increment();
    }
  }

  void recordPuts(long count) {
    if (enabled) {
      puts.add(count);
    }
  }

  void recordRemovals(long count) {
    if (enabled) {
      removals.add(count);
    }
  }

  void recordEvictions(long count) {
    if (enabled) {
      evictions.add(count);
    }
  }

  void recordGetTime(long nanos) {
    if (enabled) {
      getTimeNanos.add(nanos);
    }
  }

  void recordPutTime(long nanos) {
    if (enabled) {
      putTimeNanos.add(nanos);
    }
  }

  void recordRemoveTime(long nanos) {
    if (enabled) {
      removeTimeNanos.add(nanos);
    }
  }

  @Override
  public void clear() {
    for (LongAdder adder : new LongAdder[] {hits, misses, puts, removals, evictions,
        getTimeNanos, putTimeNanos, removeTimeNanos}) {
      adder.reset();
    }
  }

  @Override
  public long getCacheHits() {
    return hits.sum();
  }

  @Override
  public float getCacheHitPercentage() {
    long gets = getCacheGets();
    return (gets == 0) ? 0f : (100f * getCacheHits()) / gets;
  }

  @Override
  public long getCacheMisses() {
    return misses.sum();
  }

  @Override
  public float getCacheMissPercentage() {
    long gets = getCacheGets();
    return (gets == 0) ? 0f : (100f * getCacheMisses()) / gets;
  }

  @Override
  public long getCacheGets() {
    return hits.sum() + misses.sum();
  }

  @Override
  public long getCachePuts() {
    return puts.sum();
  }

  @Override
  public long getCacheRemovals() {
    return removals.sum();
  }

  @Override
  public long getCacheEvictions() {
    return evictions.sum();
  }

  @Override
  public float getAverageGetTime() {
    return averageMicros(getTimeNanos.sum(), getCacheGets());
  }

  @Override
  public float getAveragePutTime() {
    return averageMicros(putTimeNanos.sum(), getCachePuts());
  }

  @Override
  public float getAverageRemoveTime() {
    return averageMicros(removeTimeNanos.sum(), getCacheRemovals());
  }

  private static float averageMicros(long totalNanos, long count) {
    return (count == 0) ? 0f : (totalNanos / 1_000f) / count;
  }
}
