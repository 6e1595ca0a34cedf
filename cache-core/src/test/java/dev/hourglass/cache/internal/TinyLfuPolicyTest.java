package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheStats;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.Scheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What the default policy (S3-TinyLFU, {@link TinyLfuPolicy}) promises beyond the bound: popular
 * keys survive a scan and a loop, hits saturate the node's own counter, colliding keys cannot pin
 * the cache, and the structures stay consistent through updates that change weights. Every case
 * is single-threaded with a same-thread executor, so it replays the same way each run.
 */
class TinyLfuPolicyTest {

  private static Cache<Object, Object> bounded(int maximum, int stripes) {
    return Hourglass.newBuilder().maximumSize(maximum).concurrencyLevel(stripes)
        .executor(Runnable::run).scheduler(Scheduler.disabledScheduler()).recordStats().build();
  }

  /**
   * LRU loses every popular key to a scan longer than the cache; TinyLFU keeps them. With one
   * stripe it keeps all; with 64 stripes of about eight entries each, eviction chooses between
   * small and main from a sample of stripes, and a sample that under-counts small now and then
   * evicts from main a popular key whose CLOCK count ran out during the scan: at least 95 of the
   * 100 stay.
   */
  @ParameterizedTest
  @ValueSource(ints = {1, 64})
  void popularKeys_surviveAOneTimeScan(int stripes) throws InterruptedException {
    Cache<Object, Object> cache = bounded(500, stripes);
    for (int round = 0; round < 5; round++) {
      for (int i = 0; i < 100; i++) {
        cache.get("hot" + i, k -> "v");
      }
    }
    for (int i = 0; i < 10_000; i++) {
      cache.put("scan" + i, "v");
    }
    int kept = 0;
    for (int i = 0; i < 100; i++) {
      if (cache.getIfPresent("hot" + i) != null) {
        kept++;
      }
    }
    assertThat(kept).as("popular keys kept through the scan")
        .isGreaterThanOrEqualTo((stripes == 1) ? 100 : 95);
    assertThat(cache.estimatedSize()).isEqualTo(500);
    Invariants.check(cache);
  }

  /** A loop of 1,100 keys through 1,000 entries: LRU hits never; main keeps most of the loop. */
  @Test
  void loopSlightlyLargerThanTheCache_stillHits() throws InterruptedException {
    Cache<Object, Object> cache = bounded(1_000, 32);
    for (int pass = 0; pass < 20; pass++) {
      for (int i = 0; i < 1_100; i++) {
        cache.get(i, k -> "v");
      }
    }
    CacheStats stats = cache.stats();
    assertThat(stats.hitRate()).as("hit rate of the loop").isGreaterThan(0.5);
    Invariants.check(cache);
  }

  /** The counter a hit raises stops at 3: a hot entry's further hits write nothing. */
  @Test
  void hits_saturateTheNodesOwnCounter() {
    Cache<Object, Object> cache = bounded(100, 1);
    cache.put("k", "v");
    StripedCache<Object, Object> striped = (StripedCache<Object, Object>) cache;
    int hash = StripedCache.spread("k".hashCode());
    Node<Object, Object> node = striped.stripeFor(hash).find("k", hash);
    assertThat(node.freqOpaque()).isZero();
    for (int i = 1; i <= 10; i++) {
      assertThat(cache.getIfPresent("k")).isEqualTo("v");
      assertThat(node.freqOpaque()).as("after %d hits", i)
          .isEqualTo(Math.min(i, TinyLfuPolicy.MAX_FREQ));
    }
  }

  /**
   * Keys whose hashes all collide share their sketch counters, so every contest ties. Without
   * the coin for ties between popular keys, the first keys to reach main would stay forever
   * however many others came (a hash-flooding attack pins the cache); with it, one contest in
   * 128 admits the newcomer, and a long flood replaces most of them.
   */
  @Test
  void collidingKeys_doNotPinTheCache() throws InterruptedException {
    Cache<Object, Object> cache = bounded(500, 32);
    for (int i = 0; i < 50_500; i++) {
      cache.put(new StripedCacheTest.Colliding(i), i);
    }
    int firstKept = 0;
    for (int i = 0; i < 50_500; i++) {
      Object value = cache.getIfPresent(new StripedCacheTest.Colliding(i));
      if (value != null) {
        assertThat(value).isEqualTo(i);
        if (i < 500) {
          firstKept++;
        }
      }
    }
    assertThat(firstKept).as("of the first 500 keys, still cached after the flood").isLessThan(250);
    assertThat(cache.estimatedSize()).isEqualTo(500);
    Invariants.check(cache);
  }

  /** Updates that change an entry's weight keep the queues' weights and the bound exact. */
  @Test
  void weightChangingUpdates_keepTheQueuesConsistent() throws InterruptedException {
    Cache<Integer, String> cache = Hourglass.newBuilder().maximumWeight(1_000)
        .weigher((Integer k, String v) -> v.length()).executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).<Integer, String>build();
    for (int i = 0; i < 2_000; i++) {
      int key = i % 300;
      cache.put(key, "x".repeat(1 + (i * 7) % 13)); // weights 1 to 13, changing on each update
      if (i % 3 == 0) {
        cache.getIfPresent((i * 11) % 300);
      }
      if (i % 250 == 0) {
        Invariants.check(cache);
      }
    }
    assertThat(Invariants.totalWeight(cache)).isLessThanOrEqualTo(1_000);
    Invariants.check(cache);
  }
}
