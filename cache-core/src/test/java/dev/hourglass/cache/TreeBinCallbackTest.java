package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.internal.Invariants;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Defects the outside-in review of issue 9 found on the tree-bin path, where a key's
 * {@code compareTo} runs under the stripe lock in the middle of an insert or a resize, and one in
 * how {@code invalidateAll} reports a compute that kept its value. Colliding {@code Comparable}
 * keys (hash code 0) form a tree bin in a one-stripe cache; Integer keys 1 and 33 share a bin of
 * the 16- and the 32-table, so the 16 -> 32 resize relinks them, then re-treeifies bin 0.
 */
final class TreeBinCallbackTest {

  static final class Hook {
    volatile Runnable action;
  }

  static final class CKey implements Comparable<CKey> {
    final int id;
    final Hook hook;

    CKey(int id, Hook hook) {
      this.id = id;
      this.hook = hook;
    }

    @Override
    public int hashCode() {
      return 0;
    }

    @Override
    public boolean equals(Object o) {
      return (o instanceof CKey) && (((CKey) o).id == id);
    }

    @Override
    public int compareTo(CKey o) {
      Runnable r = hook.action;
      if (r != null) {
        r.run();
      }
      return Integer.compare(id, o.id);
    }

    @Override
    public String toString() {
      return "CKey" + id;
    }
  }

  /** Table 4 -> 8 -> 16 while 9 CKeys go in (the 9th makes bin 0 a tree); then 1, 33, 2. */
  private static Cache<Object, String> fill(Hook hook) {
    Cache<Object, String> cache =
        Hourglass.newBuilder().concurrencyLevel(1).initialCapacity(0).build();
    for (int i = 0; i < 9; i++) {
      cache.put(new CKey(i, hook), "c" + i);
    }
    cache.put(1, "one");
    cache.put(33, "thirty-three");
    cache.put(2, "two");
    return cache;
  }

  private static void assertAllPresent(Cache<Object, String> cache, Hook hook) {
    assertThat(cache.getIfPresent(1)).as("key 1").isEqualTo("one");
    assertThat(cache.getIfPresent(33)).as("key 33").isEqualTo("thirty-three");
    assertThat(cache.getIfPresent(2)).as("key 2").isEqualTo("two");
    assertThat(cache.getIfPresent(3)).as("key 3").isEqualTo("three");
    for (int i = 0; i < 9; i++) {
      assertThat(cache.getIfPresent(new CKey(i, hook))).isEqualTo("c" + i);
    }
  }

  /** Before: the read from compareTo walked the half-relinked old table and missed key 1. */
  @Test
  void compareToRead_duringResize_seesPresentKeys() throws Exception {
    Hook hook = new Hook();
    Cache<Object, String> cache = fill(hook);
    List<String> seen = new ArrayList<>();
    hook.action = () -> {
      seen.add(String.valueOf(cache.getIfPresent(1)));
      seen.add(String.valueOf(cache.getIfPresent(33)));
    };
    cache.put(3, "three"); // the 13th entry: resize 16 -> 32, re-treeify bin 0
    hook.action = null;
    assertThat(seen).as("reads from compareTo during the resize").isNotEmpty()
        .doesNotContain("null");
    assertAllPresent(cache, hook);
    Invariants.check(cache);
  }

  /**
   * Before: an Error from compareTo escaped the resize before the new table was published, and
   * key 1 was lost for good. Now a compareTo that throws anything leaves that bin a chain, as one
   * that throws a RuntimeException always did, and the write completes.
   */
  @Test
  void compareToError_duringResize_losesNothing() throws Exception {
    Hook hook = new Hook();
    Cache<Object, String> cache = fill(hook);
    hook.action = () -> {
      throw new AssertionError("boom from compareTo");
    };
    cache.put(3, "three");
    hook.action = null;
    assertAllPresent(cache, hook);
    assertThat(cache.estimatedSize()).isEqualTo(13);
    Invariants.check(cache);
  }

  /** Before: the node was linked, then the Error skipped the count and the policy bookkeeping. */
  @Test
  void compareToError_duringInsertTreeify_keepsCountAndStructures() throws Exception {
    Hook hook = new Hook();
    Cache<Object, String> cache =
        Hourglass.newBuilder().concurrencyLevel(1).initialCapacity(0).maximumSize(100).build();
    for (int i = 0; i < 8; i++) {
      cache.put(new CKey(i, hook), "c" + i);
    }
    hook.action = () -> {
      throw new AssertionError("boom from compareTo");
    };
    cache.put(new CKey(8, hook), "c8");
    hook.action = null;
    assertThat(cache.getIfPresent(new CKey(8, hook))).isEqualTo("c8");
    assertThat(cache.estimatedSize()).isEqualTo(9);
    Invariants.check(cache);
    cache.invalidate(new CKey(8, hook));
    assertThat(cache.estimatedSize()).isEqualTo(8);
    Invariants.check(cache);
  }

  /**
   * Runs {@code remapping} as a compute of "k" on another thread, holds it open while this thread
   * calls invalidateAll, then lets it finish; returns what the compute returned.
   */
  private static String computeAcrossInvalidateAll(Cache<String, String> cache,
      UnaryOperator<String> remapping) throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CompletableFuture<String> computed = CompletableFuture.supplyAsync(() ->
        cache.asMap().compute("k", (k, old) -> {
          entered.countDown();
          try {
            release.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return remapping.apply(old);
        }));
    assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
    cache.invalidateAll();
    release.countDown();
    return computed.get(10, TimeUnit.SECONDS);
  }

  /** Before: the value was reported EXPLICIT twice, by the clear and by the dropped install. */
  @Test
  void invalidateAllDuringIdentityCompute_reportsTheValueOnce() throws Exception {
    RecordingListener<String, String> listener = new RecordingListener<>();
    Cache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run)
        .removalListener(listener).build();
    String v = new String("v");
    cache.put("k", v);
    assertThat(computeAcrossInvalidateAll(cache, old -> old)).isSameAs(v);
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(listener.list()).containsExactly(
        new RecordingListener.Removal<>("k", v, RemovalCause.EXPLICIT));
    Invariants.check(cache);
  }

  /** A compute that returns a new value after an invalidateAll still reports that value once. */
  @Test
  void invalidateAllDuringChangingCompute_reportsBothValues() throws Exception {
    RecordingListener<String, String> listener = new RecordingListener<>();
    Cache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run)
        .removalListener(listener).build();
    cache.put("k", "old");
    assertThat(computeAcrossInvalidateAll(cache, old -> old + "+new")).isEqualTo("old+new");
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(listener.list()).containsExactly(
        new RecordingListener.Removal<>("k", "old", RemovalCause.EXPLICIT),
        new RecordingListener.Removal<>("k", "old+new", RemovalCause.EXPLICIT));
  }
}
