package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.RecordingListener;
import dev.hourglass.cache.RemovalCause;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Keys built to hurt a hash table: 100,000 distinct keys with one hash code, comparable or not;
 * keys whose {@code hashCode}, {@code equals} or {@code compareTo} throw or lie. The cache stays
 * correct, and for comparable keys a lookup stays logarithmic: counted in {@code compareTo} and
 * {@code equals} calls, not in time.
 */
final class HostileKeysTest {
  private static final int KEYS = 100_000;

  /** Comparable, all with one hash code; counts its comparisons. */
  static final class SameHash implements Comparable<SameHash> {
    static final AtomicLong COMPARISONS = new AtomicLong();
    final int id;

    SameHash(int id) {
      this.id = id;
    }

    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public boolean equals(Object o) {
      COMPARISONS.incrementAndGet();
      return (o instanceof SameHash) && (((SameHash) o).id == id);
    }

    @Override
    public int compareTo(SameHash o) {
      COMPARISONS.incrementAndGet();
      return Integer.compare(id, o.id);
    }

    @Override
    public String toString() {
      return "SameHash" + id;
    }
  }

  /** Not comparable, all with the same hash code as {@link SameHash}. */
  record PlainSameHash(int id) {
    @Override
    public int hashCode() {
      return 42;
    }
  }

  /** Comparable, one hash code, but {@code compareTo} throws for negative ids. */
  record ThrowingCompare(int id) implements Comparable<ThrowingCompare> {
    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public int compareTo(ThrowingCompare o) {
      if ((id < 0) || (o.id < 0)) {
        throw new IllegalStateException("compareTo");
      }
      return Integer.compare(id, o.id);
    }
  }

  /** Comparable, one hash code, and {@code compareTo} says 0 for ids in the same block of ten. */
  record CoarseCompare(int id) implements Comparable<CoarseCompare> {
    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public int compareTo(CoarseCompare o) {
      return Integer.compare(id / 10, o.id / 10);
    }
  }

  private static Stripe<Object, Object> binStripe(Cache<?, ?> cache, Object key) {
    @SuppressWarnings("unchecked")
    StripedCache<Object, Object> striped = (StripedCache<Object, Object>) cache;
    return striped.stripeFor(StripedCache.spread(key.hashCode()));
  }

  private static boolean isTreeBin(Cache<?, ?> cache, Object key) {
    Stripe<Object, Object> stripe = binStripe(cache, key);
    Node<Object, Object>[] tab = stripe.table;
    return TreeBin.isMarker(tab[StripedCache.spread(key.hashCode()) & (tab.length - 1)]);
  }

  @Test
  void comparableKeysWithOneHash_100k_stayCorrectAndLogarithmic() {
    Cache<SameHash, Integer> cache = Hourglass.newBuilder().executor(Runnable::run)
        .<SameHash, Integer>build();
    for (int i = 0; i < KEYS; i++) {
      cache.put(new SameHash(i), i);
    }
    assertThat(cache.estimatedSize()).isEqualTo(KEYS);
    assertThat(isTreeBin(cache, new SameHash(0))).isTrue();
    for (int i = 0; i < KEYS; i++) {
      assertThat(cache.getIfPresent(new SameHash(i))).isEqualTo(i);
    }
    assertThat(cache.getIfPresent(new SameHash(-1))).isNull();

    // One lookup, one insert and one removal each take about log2(100,000) = 17 comparisons; a
    // chain would take up to 100,000. 60 allows for the AVL height bound (1.44 log2 n) and equals.
    for (Runnable op : new Runnable[] {
        () -> cache.getIfPresent(new SameHash(KEYS / 3)),
        () -> cache.getIfPresent(new SameHash(KEYS + 5)),
        () -> cache.put(new SameHash(KEYS + 1), 1),
        () -> cache.invalidate(new SameHash(KEYS / 2)),
        () -> cache.asMap().computeIfPresent(new SameHash(7), (k, v) -> v + 1)}) {
      long before = SameHash.COMPARISONS.get();
      op.run();
      assertThat(SameHash.COMPARISONS.get() - before).isBetween(1L, 60L);
    }

    assertThat(cache.getIfPresent(new SameHash(KEYS / 2))).isNull();
    assertThat(cache.getIfPresent(new SameHash(7))).isEqualTo(8);
    for (int i = 0; i < KEYS; i += 2) {
      cache.invalidate(new SameHash(i));
    }
    for (int i = 0; i < KEYS; i++) {
      Integer expected = (i % 2 == 1) ? ((i == 7) ? 8 : i) : null;
      assertThat(cache.getIfPresent(new SameHash(i))).isEqualTo(expected);
    }
    assertThat(cache.asMap()).hasSize(KEYS / 2 + 1); // the odd ids, and KEYS + 1
    cache.invalidateAll();
    assertThat(cache.asMap()).isEmpty();
    assertThat(cache.getIfPresent(new SameHash(1))).isNull();
  }

  @Test
  void nonComparableKeysWithOneHash_100k_stayCorrect() {
    Cache<PlainSameHash, Integer> cache = Hourglass.newBuilder().executor(Runnable::run)
        .<PlainSameHash, Integer>build();
    for (int i = 0; i < KEYS; i++) {
      cache.put(new PlainSameHash(i), i);
    }
    assertThat(cache.estimatedSize()).isEqualTo(KEYS);
    assertThat(isTreeBin(cache, new PlainSameHash(0))).isFalse(); // nothing to order them by
    for (int i = 0; i < KEYS; i += 97) {
      assertThat(cache.getIfPresent(new PlainSameHash(i))).isEqualTo(i);
    }
    cache.invalidate(new PlainSameHash(500));
    assertThat(cache.getIfPresent(new PlainSameHash(500))).isNull();
    assertThat(cache.asMap().keySet()).hasSize(KEYS - 1);
  }

  @Test
  void collidingKeys_sizeBounded_evictFromTheTreeBin() {
    RecordingListener<SameHash, Integer> listener = new RecordingListener<>();
    Cache<SameHash, Integer> cache = Hourglass.newBuilder().maximumSize(1_000)
        .executor(Runnable::run).removalListener(listener).<SameHash, Integer>build();
    for (int i = 0; i < KEYS; i++) {
      cache.put(new SameHash(i), i);
    }
    assertThat(cache.estimatedSize()).isEqualTo(1_000);
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(KEYS - 1_000);
    Set<SameHash> present = cache.asMap().keySet();
    assertThat(present).hasSize(1_000);
    for (SameHash key : present) {
      assertThat(cache.getIfPresent(key)).isEqualTo(key.id);
    }
  }

  /**
   * Mixed bins against a plain HashMap: one comparable class, a non-comparable class, a class
   * whose compareTo throws for some keys, and one whose compareTo ties unequal keys; random
   * puts, removes and lookups, hash codes spread over a few values so bins split on resize.
   */
  @Test
  void mixedHostileKeys_agreeWithAHashMap() {
    Cache<Object, Integer> cache = Hourglass.newBuilder().executor(Runnable::run)
        .<Object, Integer>build();
    // The model is keyed by a description: java.util.HashMap itself fails on the throwing compareTo.
    Map<String, Integer> model = new HashMap<>();
    Random random = new Random(20261123);
    for (int step = 0; step < 60_000; step++) {
      int id = random.nextInt(3_000) - 100;
      Object key = switch (random.nextInt(4)) {
        case 0 -> new SameHash(Math.abs(id));
        case 1 -> new PlainSameHash(id);
        case 2 -> new ThrowingCompare(id);
        default -> new CoarseCompare(id);
      };
      switch (random.nextInt(4)) {
        case 0, 1 -> assertThat(cache.asMap().put(key, step)).isEqualTo(model.put(describe(key), step));
        case 2 -> assertThat(cache.asMap().remove(key)).isEqualTo(model.remove(describe(key)));
        default -> assertThat(cache.getIfPresent(key)).isEqualTo(model.get(describe(key)));
      }
    }
    Map<String, Integer> contents = new HashMap<>();
    cache.asMap().forEach((key, value) -> contents.put(describe(key), value));
    assertThat(contents).isEqualTo(model);
    assertThat(cache.estimatedSize()).isEqualTo(model.size());
    assertThat(isTreeBin(cache, new SameHash(0))).isTrue();
  }

  private static String describe(Object key) {
    return (key instanceof SameHash) ? key.toString() : key.getClass().getSimpleName() + key;
  }

  @Test
  void throwingCompareTo_leavesTheCacheConsistent() {
    Cache<ThrowingCompare, Integer> cache = Hourglass.newBuilder().executor(Runnable::run)
        .<ThrowingCompare, Integer>build();
    for (int i = 0; i < 100; i++) {
      cache.put(new ThrowingCompare(i), i);
    }
    assertThat(isTreeBin(cache, new ThrowingCompare(0))).isTrue();
    cache.put(new ThrowingCompare(-5), -5); // compareTo throws: kept beside the tree
    assertThat(cache.getIfPresent(new ThrowingCompare(-5))).isEqualTo(-5);
    assertThat(cache.getIfPresent(new ThrowingCompare(50))).isEqualTo(50);
    cache.invalidate(new ThrowingCompare(-5));
    assertThat(cache.getIfPresent(new ThrowingCompare(-5))).isNull();
    assertThat(cache.asMap()).hasSize(100);
  }

  @Test
  void readers_neverMissAStableKey_whileItsBinBecomesATreeAndResizes() throws Exception {
    for (int round = 0; round < 20; round++) {
      Cache<SameHash, Integer> cache = Hourglass.newBuilder().executor(Runnable::run)
          .<SameHash, Integer>build();
      SameHash stable = new SameHash(-1);
      cache.put(stable, -1);
      AtomicBoolean done = new AtomicBoolean();
      AtomicInteger misses = new AtomicInteger();
      CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
        while (!done.get()) {
          if (cache.getIfPresent(stable) == null) {
            misses.incrementAndGet();
          }
        }
      });
      for (int i = 0; i < 5_000; i++) {
        cache.put(new SameHash(i), i);
      }
      done.set(true);
      reader.get();
      assertThat(misses.get()).as("round %d", round).isZero();
    }
  }

  @Test
  void hashCodeThrowing_failsTheCallAndChangesNothing() {
    Cache<Object, Integer> cache = Hourglass.newBuilder().executor(Runnable::run)
        .<Object, Integer>build();
    for (int i = 0; i < 20; i++) {
      cache.put(new SameHash(i), i);
    }
    Object bad = new Object() {
      @Override
      public int hashCode() {
        throw new IllegalStateException("hashCode");
      }
    };
    assertThatThrownBy(() -> cache.put(bad, 1)).hasMessage("hashCode");
    assertThatThrownBy(() -> cache.asMap().computeIfAbsent(bad, k -> 1)).hasMessage("hashCode");
    assertThatThrownBy(() -> cache.invalidate(bad)).hasMessage("hashCode");
    assertThat(cache.asMap()).hasSize(20);
    Set<Object> keys = new HashSet<>(cache.asMap().keySet());
    assertThat(keys).hasSize(20);
  }
}
