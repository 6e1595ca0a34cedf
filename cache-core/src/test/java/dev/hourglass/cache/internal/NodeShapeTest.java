package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheBuilder;
import dev.hourglass.cache.FakeTicker;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.RecordingListener;
import dev.hourglass.cache.RemovalCause;
import dev.hourglass.cache.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each cache shape gets the node class that carries only its fields (see Node, "One class per
 * shape"), and an untimed node that is given its own time to live is replaced by a timed copy
 * that takes its place in the table and in the policy, with its counters and weight, while a
 * reader still holding the old node is sent on to the copy.
 */
class NodeShapeTest {
  private static final Duration TTL = Duration.ofMinutes(1);

  private static CacheBuilder<Object, Object> sameThread() {
    return Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler());
  }

  @SuppressWarnings("unchecked")
  private static Node<Object, Object> nodeOf(Cache<?, ?> cache, Object key) {
    StripedCache<Object, Object> striped = (StripedCache<Object, Object>) cache;
    int hash = StripedCache.spread(key.hashCode());
    return striped.stripeFor(hash).find(key, hash);
  }

  @Test
  void eachShape_getsItsOwnNodeClass() {
    List<Object[]> shapes = new ArrayList<>();
    shapes.add(new Object[] {sameThread(), Node.class});
    shapes.add(new Object[] {sameThread().maximumSize(10), Nodes.Bounded.class});
    shapes.add(new Object[] {sameThread().maximumWeight(10).weigher((k, v) -> 1),
        Nodes.Weighted.class});
    shapes.add(new Object[] {sameThread().expireAfterWrite(TTL), TimedNode.class});
    shapes.add(new Object[] {sameThread().expireAfterAccess(TTL), TimedNode.class});
    shapes.add(new Object[] {sameThread().maximumSize(10).expireAfterWrite(TTL),
        Nodes.BoundedTimed.class});
    shapes.add(new Object[] {sameThread().maximumWeight(10).weigher((k, v) -> 2)
        .expireAfterAccess(TTL), Nodes.WeightedTimed.class});
    for (Object[] shape : shapes) {
      @SuppressWarnings("unchecked")
      Cache<Object, Object> cache = ((CacheBuilder<Object, Object>) shape[0]).build();
      cache.put("k", "v");
      assertThat(nodeOf(cache, "k")).as("node of %s", shape[1]).isExactlyInstanceOf(
          (Class<?>) shape[1]);
    }
  }

  /** A new key put with its own time to live gets a timed node even where nothing else expires. */
  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void newKeyWithItsOwnTtl_getsATimedNode(boolean bounded) throws InterruptedException {
    FakeTicker ticker = new FakeTicker();
    CacheBuilder<Object, Object> builder = sameThread().ticker(ticker);
    Cache<Object, Object> cache = (bounded ? builder.maximumSize(100) : builder).build();
    cache.put("plain", "p");
    cache.put("timed", "t", TTL);
    assertThat(nodeOf(cache, "plain").timed()).isFalse();
    assertThat(nodeOf(cache, "timed")).isExactlyInstanceOf(
        bounded ? Nodes.BoundedTimed.class : TimedNode.class);
    Invariants.check(cache);
    ticker.advance(TTL);
    assertThat(cache.getIfPresent("timed")).isNull();
    assertThat(cache.getIfPresent("plain")).isEqualTo("p");
    Invariants.check(cache);
  }

  /**
   * An existing untimed node given a time to live: the entry keeps its value until the write,
   * reports the old value replaced, then expires on time; the table, the policy and the weights
   * stay consistent, for a chain head, a chain middle and a tree bin.
   */
  @ParameterizedTest
  @ValueSource(strings = {"unbounded", "size", "weight"})
  void untimedNode_givenATtl_isReplacedByATimedCopy(String shape) throws InterruptedException {
    FakeTicker ticker = new FakeTicker();
    RecordingListener<Object, Object> listener = new RecordingListener<>();
    CacheBuilder<Object, Object> builder = sameThread().ticker(ticker).concurrencyLevel(1)
        .removalListener(listener);
    if (shape.equals("size")) {
      builder.maximumSize(1_000);
    } else if (shape.equals("weight")) {
      builder.maximumWeight(10_000).weigher((k, v) -> ((String) v).length());
    }
    Cache<Object, Object> cache = builder.build();
    List<Object> keys = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      keys.add(new HostileKeysTest.SameHash(i)); // one bin: a tree bin from the 8th on
    }
    for (int i = 0; i < 50; i++) {
      keys.add("key" + i); // chains, heads and middles
    }
    for (Object key : keys) {
      cache.put(key, "old");
      cache.getIfPresent(key); // a hit, so that the policy has counters to keep
    }
    long weightBefore = Invariants.totalWeight(cache);
    for (int i = 0; i < keys.size(); i += 2) {
      Node<Object, Object> before = nodeOf(cache, keys.get(i));
      int freq = before.freqOpaque();
      cache.put(keys.get(i), "new", TTL);
      Node<Object, Object> after = nodeOf(cache, keys.get(i));
      assertThat(after).isNotSameAs(before);
      assertThat(after.timed()).isTrue();
      assertThat(after.shape() & ~Nodes.TIMED).isEqualTo(before.shape());
      assertThat(before.value).as("the old node's value is cleared").isNull();
      assertThat(before.has(Node.MOVED)).as("and readers holding it are sent on").isTrue();
      if (!shape.equals("unbounded")) {
        assertThat(after.freqOpaque()).as("hit counter kept, plus the write")
            .isGreaterThanOrEqualTo(freq);
      }
    }
    assertThat(Invariants.totalWeight(cache)).as("same lengths, same weight")
        .isEqualTo(weightBefore);
    Invariants.check(cache);
    assertThat(listener.list()).extracting(RecordingListener.Removal::cause)
        .containsOnly(RemovalCause.REPLACED).hasSize(31);
    for (int i = 0; i < keys.size(); i++) {
      assertThat(cache.getIfPresent(keys.get(i))).isEqualTo((i % 2 == 0) ? "new" : "old");
    }
    ticker.advance(TTL);
    for (int i = 0; i < keys.size(); i++) {
      assertThat(cache.getIfPresent(keys.get(i))).isEqualTo((i % 2 == 0) ? null : "old");
    }
    assertThat(cache.estimatedSize()).isEqualTo(31);
    Invariants.check(cache);
  }

  /**
   * The copy keeps the old node's place in the policy: with the bound reached, the next insert
   * evicts by the same rule it would have used without the copy, and the structures stay whole.
   */
  @Test
  void timedCopy_keepsItsPlaceInThePolicy() throws InterruptedException {
    FakeTicker ticker = new FakeTicker();
    Cache<Object, Object> cache = sameThread().ticker(ticker).concurrencyLevel(1)
        .maximumSize(100).build();
    Cache<Object, Object> twin = sameThread().ticker(ticker).concurrencyLevel(1)
        .maximumSize(100).build();
    for (int i = 0; i < 100; i++) {
      for (Cache<Object, Object> c : List.of(cache, twin)) {
        c.put(i, "v");
        if (i % 3 == 0) {
          c.getIfPresent(i);
        }
      }
    }
    for (int i = 0; i < 100; i += 5) {
      cache.put(i, "v", Duration.ofDays(1)); // a timed copy
      twin.put(i, "v"); // the same write, without a time to live
    }
    for (int i = 100; i < 400; i++) {
      cache.put(i, "v");
      twin.put(i, "v");
      assertThat(cache.asMap().keySet()).as("after inserting %s", i)
          .isEqualTo(twin.asMap().keySet());
    }
    Invariants.check(cache);
  }

  /**
   * A reader that holds the old node while the copy replaces it reads the old value, never a
   * miss: the key is present throughout. Deterministic: the copy is made from the key's
   * {@code equals}, between the reader's lookup and its read of the value, on the same thread.
   */
  @Test
  void readerHoldingTheOldNode_neverSeesAMiss() {
    AtomicReference<Runnable> onEquals = new AtomicReference<>();
    final class Key {
      final int id;

      Key(int id) {
        this.id = id;
      }

      @Override
      public int hashCode() {
        return id;
      }

      @Override
      public boolean equals(Object o) {
        Runnable action = onEquals.getAndSet(null);
        if (action != null) {
          action.run();
        }
        return (o instanceof Key) && (((Key) o).id == id);
      }
    }
    Cache<Object, Object> cache = sameThread().concurrencyLevel(1).build();
    Key stored = new Key(1);
    cache.put(stored, "old");
    // The lookup's equals (on the probe key) writes the copy; the lookup then reads the node it
    // matched, the old one, whose cleared value sends it on to the copy.
    AtomicInteger writes = new AtomicInteger();
    onEquals.set(() -> {
      cache.put(stored, "new", TTL);
      writes.incrementAndGet();
    });
    Object seen = cache.getIfPresent(new Key(1));
    assertThat(writes).hasValue(1);
    assertThat(seen).as("the read overlapped the write: old or new, never a miss")
        .isIn("old", "new");
    assertThat(cache.getIfPresent(stored)).isEqualTo("new");
  }

  /** Readers on other threads never miss a key that stays present while its node is copied. */
  @Test
  void concurrentReaders_neverMissAKeyWhoseNodeIsCopied() throws InterruptedException {
    Cache<Object, Object> cache = sameThread().concurrencyLevel(1).maximumSize(100_000).build();
    int keys = 20_000;
    AtomicInteger published = new AtomicInteger(-1);
    AtomicBoolean done = new AtomicBoolean();
    AtomicReference<Object> missed = new AtomicReference<>();
    Thread reader = new Thread(() -> {
      while (!done.get()) {
        int upTo = published.get();
        for (int i = Math.max(0, upTo - 64); i <= upTo; i++) {
          if (cache.getIfPresent(i) == null) {
            missed.compareAndSet(null, i);
          }
        }
      }
    });
    reader.start();
    for (int i = 0; i < keys; i++) {
      cache.put(i, "plain");
      published.set(i);
      if (i >= 32) {
        cache.put(i - 32, "timed", TTL); // copies a node the reader is reading now
      }
    }
    done.set(true);
    reader.join();
    assertThat(missed.get()).as("a key read as missing while present").isNull();
    assertThat(cache.estimatedSize()).isEqualTo(keys);
  }
}
