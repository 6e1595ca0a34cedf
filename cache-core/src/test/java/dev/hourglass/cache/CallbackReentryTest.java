package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.internal.Invariants;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * A key's {@code equals} (and {@code compareTo} in a tree bin) is the one user code that runs
 * while the cache holds a stripe lock. When it calls back into the cache: reads work; anything
 * that would change or lock that stripe fails fast with {@link IllegalStateException} (the lock is
 * reentrant, so without the check the nested call would change the stripe in the middle of the
 * change that called it), the outer call fails with it, and the cache stays consistent, usable and
 * unlocked. Every cache here has one stripe, so the nested call always meets the held lock.
 */
final class CallbackReentryTest {

  /** Equal by id; all share one hash, so a lookup calls equals on the others; may call back. */
  static final class CallingKey {
    final int id;
    volatile Consumer<CallingKey> onEquals;

    CallingKey(int id) {
      this.id = id;
    }

    @Override
    public int hashCode() {
      return 7;
    }

    @Override
    public boolean equals(Object o) {
      Consumer<CallingKey> callback = onEquals;
      if (callback != null) {
        onEquals = null; // once
        callback.accept(this);
      }
      return (o instanceof CallingKey) && (((CallingKey) o).id == id);
    }

    @Override
    public String toString() {
      return "CallingKey" + id;
    }
  }

  private static Cache<CallingKey, String> oneStripe(CacheBuilder<Object, Object> builder) {
    return builder.concurrencyLevel(1).executor(Runnable::run).build();
  }

  /** The cache after the failed call: consistent, unlocked (another thread can write), usable. */
  private static void assertUsable(Cache<CallingKey, String> cache) throws Exception {
    Invariants.check(cache);
    CompletableFuture<Void> other = CompletableFuture.runAsync(
        () -> cache.put(new CallingKey(100), "other thread"));
    other.get(10, TimeUnit.SECONDS);
    cache.put(new CallingKey(101), "this thread");
    assertThat(cache.getIfPresent(new CallingKey(100))).isEqualTo("other thread");
    assertThat(cache.getIfPresent(new CallingKey(101))).isEqualTo("this thread");
    Invariants.check(cache);
  }

  @Test
  void equalsThatPuts_failsFast_andLeavesOneNodePerKey() throws Exception {
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    Cache<CallingKey, String> cache = oneStripe(Hourglass.newBuilder().removalListener(listener));
    cache.put(new CallingKey(1), "one");
    CallingKey two = new CallingKey(2);
    two.onEquals = self -> cache.put(new CallingKey(2), "nested");
    assertThatThrownBy(() -> cache.put(two, "outer"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("equals or compareTo called back into the cache");
    assertThat(cache.asMap()).containsOnlyKeys(new CallingKey(1));
    assertThat(cache.getIfPresent(new CallingKey(1))).isEqualTo("one");
    assertThat(listener.list()).isEmpty();
    assertUsable(cache);
  }

  @Test
  void equalsThatInvalidatesAll_orCleansUp_orSizes_failsFast() throws Exception {
    List<Consumer<Cache<CallingKey, String>>> callbacks = List.of(
        Cache::invalidateAll, Cache::cleanUp, c -> c.asMap().size(),
        c -> c.invalidate(new CallingKey(1)), c -> c.asMap().remove(new CallingKey(1)),
        c -> c.get(new CallingKey(3), k -> "loaded"),
        c -> c.asMap().compute(new CallingKey(1), (k, v) -> "computed"),
        c -> c.asMap().entrySet().iterator().hasNext());
    for (Consumer<Cache<CallingKey, String>> callback : callbacks) {
      Cache<CallingKey, String> cache = oneStripe(Hourglass.newBuilder().maximumSize(100));
      cache.put(new CallingKey(1), "one");
      CallingKey two = new CallingKey(2);
      two.onEquals = self -> callback.accept(cache);
      assertThatThrownBy(() -> cache.put(two, "outer"))
          .isInstanceOf(IllegalStateException.class);
      assertThat(cache.getIfPresent(new CallingKey(1))).isEqualTo("one");
      assertThat(cache.estimatedSize()).isEqualTo(1);
      assertUsable(cache);
    }
  }

  @Test
  void equalsThatReads_works() throws Exception {
    Cache<CallingKey, String> cache = oneStripe(Hourglass.newBuilder().maximumSize(100)
        .expireAfterAccess(Duration.ofMinutes(1)));
    cache.put(new CallingKey(1), "one");
    CallingKey two = new CallingKey(2);
    String[] seen = new String[2];
    two.onEquals = self -> {
      seen[0] = cache.getIfPresent(new CallingKey(1));
      seen[1] = String.valueOf(cache.getAllPresent(List.of(new CallingKey(1))));
    };
    cache.put(two, "two");
    assertThat(seen[0]).isEqualTo("one");
    assertThat(seen[1]).isEqualTo("{CallingKey1=one}");
    assertThat(cache.asMap()).containsOnly(Map.entry(new CallingKey(1), "one"),
        Map.entry(new CallingKey(2), "two"));
    assertUsable(cache);
  }

  /** A read that meets an expired entry tries the stripe's maintenance: refused, not nested. */
  @Test
  void equalsThatReadsAnExpiredEntry_doesNotNestMaintenance() throws Exception {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    Cache<CallingKey, String> cache = oneStripe(Hourglass.newBuilder().ticker(ticker)
        .expireAfterWrite(Duration.ofSeconds(1)).scheduler(Scheduler.disabledScheduler())
        .removalListener(listener));
    cache.put(new CallingKey(1), "one");
    cache.put(new CallingKey(3), "three");
    ticker.advance(Duration.ofSeconds(2)); // both expired, still in memory
    CallingKey two = new CallingKey(2);
    String[] seen = {"unset"};
    two.onEquals = self -> seen[0] = cache.getIfPresent(new CallingKey(3));
    cache.put(two, "two");
    assertThat(seen[0]).isNull();
    assertThat(cache.asMap()).containsOnly(Map.entry(new CallingKey(2), "two"));
    assertThat(listener.list()).extracting(e -> e.cause())
        .containsOnly(RemovalCause.EXPIRED).hasSize(2);
    assertUsable(cache);
  }

  /** A compareTo in a tree bin that writes back: refused, and the key is stored all the same. */
  @Test
  void compareToThatPuts_inATreeBin_changesNothingNested() throws Exception {
    Cache<Object, String> cache = Hourglass.newBuilder().concurrencyLevel(1).build();
    Object[] hook = new Object[1];
    final class Ranked implements Comparable<Ranked> {
      final int id;

      Ranked(int id) {
        this.id = id;
      }

      @Override
      public int hashCode() {
        return 11;
      }

      @Override
      public boolean equals(Object o) {
        return (o instanceof Ranked) && (((Ranked) o).id == id);
      }

      @Override
      public int compareTo(Ranked o) {
        if ((hook[0] != null) && (id == 99)) {
          hook[0] = null;
          cache.put("nested", "nested"); // another key, same stripe: refused
        }
        return Integer.compare(id, o.id);
      }
    }
    for (int i = 0; i < 20; i++) {
      cache.put(new Ranked(i), "r" + i);
    }
    hook[0] = Boolean.TRUE;
    try {
      cache.put(new Ranked(99), "r99");
    } catch (IllegalStateException expected) {
      // either the tree bin treats the failed comparison as "cannot order" or the put fails
    }
    assertThat(cache.getIfPresent("nested")).isNull();
    for (int i = 0; i < 20; i++) {
      assertThat(cache.getIfPresent(new Ranked(i))).isEqualTo("r" + i);
    }
    Invariants.check(cache);
  }
}
