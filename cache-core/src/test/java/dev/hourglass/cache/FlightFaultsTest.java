package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.hourglass.cache.internal.Invariants;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every place where user code runs after a load or compute registered its in-flight marker, made
 * to fail, for every operation that registers one. The user function arms the fault, so it
 * strikes after the registration: in the weigher, the {@code Expiry}, the ticker, a colliding
 * key's {@code equals}, the executor, the listener, a returned key's {@code hashCode} or the
 * iteration of a bulk result. Afterwards the marker must be gone: the cache is consistent
 * ({@link Invariants}, which counts markers), another thread can write the key (a stranded marker
 * would park it forever; the wait is bounded), and the calling thread can load it again without a
 * false "Recursive update".
 */
final class FlightFaultsTest {

  enum Op {
    GET_WITH_FUNCTION, COMPUTE_IF_ABSENT, COMPUTE, COMPUTE_IF_PRESENT, MERGE, GET_ALL,
    LOADING_GET, LOADING_GET_ALL;

    /** Whether the operation needs the old entry live (else it is expired, so a removal is due). */
    boolean needsOld() {
      return (this == COMPUTE) || (this == COMPUTE_IF_PRESENT) || (this == MERGE);
    }

    boolean bulk() {
      return (this == GET_ALL) || (this == LOADING_GET_ALL);
    }
  }

  enum Fault {
    FUNCTION, WEIGHER, EXPIRY, TICKER, KEY_EQUALS, EXECUTOR, LISTENER, RETURNED_KEY_HASHCODE,
    RESULT_ITERATION;

    /** Whether the operation throws: the executor's and the listener's failures are absorbed. */
    boolean propagates() {
      return (this != EXECUTOR) && (this != LISTENER);
    }

    boolean bulkOnly() {
      return (this == RETURNED_KEY_HASHCODE) || (this == RESULT_ITERATION);
    }
  }

  static Stream<Arguments> cases() {
    List<Arguments> cases = new ArrayList<>();
    for (Op op : Op.values()) {
      for (Fault fault : Fault.values()) {
        if (!fault.bulkOnly() || op.bulk()) {
          cases.add(Arguments.of(op, fault));
        }
      }
    }
    return cases.stream();
  }

  /** The armed fault; every collaborator throws {@link #boom} once when its fault is armed. */
  static final class Faults {
    volatile Fault armed;
    final RuntimeException boom = new IllegalStateException("injected fault");

    void strike(Fault fault) {
      if (armed == fault) {
        armed = null; // once: the cache's clean-up after the fault must work
        throw boom;
      }
    }
  }

  /** A key whose hash collides with every other key of its kind, so equals is always called. */
  static final class Key {
    final int id;
    final Faults faults;

    Key(int id, Faults faults) {
      this.id = id;
      this.faults = faults;
    }

    @Override
    public boolean equals(Object o) {
      faults.strike(Fault.KEY_EQUALS);
      return (o instanceof Key) && (((Key) o).id == id);
    }

    @Override
    public int hashCode() {
      faults.strike(Fault.RETURNED_KEY_HASHCODE);
      return 42;
    }

    @Override
    public String toString() {
      return "Key" + id;
    }
  }

  @ParameterizedTest(name = "{0} / {1}")
  @MethodSource("cases")
  void faultAfterTheFlightIsRegistered_leavesNoMarkerBehind(Op op, Fault fault) throws Exception {
    Faults faults = new Faults();
    FakeTicker clock = new FakeTicker();
    Ticker ticker = () -> {
      faults.strike(Fault.TICKER);
      return clock.read();
    };
    AtomicInteger notified = new AtomicInteger();
    CacheBuilder<Key, Integer> builder = Hourglass.newBuilder()
        .ticker(ticker)
        .scheduler(Scheduler.disabledScheduler())
        .concurrencyLevel(1)
        .maximumWeight(1_000)
        .weigher((Key k, Integer v) -> {
          faults.strike(Fault.WEIGHER);
          return 1;
        })
        .expireAfter(new Expiry<Key, Integer>() {
          @Override
          public long expireAfterCreate(Key key, Integer value, long now) {
            faults.strike(Fault.EXPIRY);
            return TimeUnit.MINUTES.toNanos(1);
          }

          @Override
          public long expireAfterUpdate(Key key, Integer value, long now, long remaining) {
            faults.strike(Fault.EXPIRY);
            return TimeUnit.MINUTES.toNanos(1);
          }
        })
        .executor(task -> {
          faults.strike(Fault.EXECUTOR);
          task.run();
        })
        .removalListener((Key k, Integer v, RemovalCause c) -> {
          notified.incrementAndGet();
          faults.strike(Fault.LISTENER);
        });
    Key target = new Key(0, faults);
    List<Key> others = List.of(new Key(1, faults), new Key(2, faults), new Key(3, faults));
    CacheLoader<Key, Integer> loader = new CacheLoader<>() {
      @Override
      public Integer load(Key key) {
        faults.armed = fault;
        faults.strike(Fault.FUNCTION);
        return 7;
      }

      @Override
      public Map<Key, Integer> loadAll(Set<? extends Key> keys) {
        return bulk(keys, faults, fault);
      }
    };
    Cache<Key, Integer> cache = op.name().startsWith("LOADING") ? builder.build(loader) : builder.build();
    for (Key other : others) {
      cache.put(other, other.id); // same hash as the target: its equals runs on every lookup
    }
    if (op.needsOld()) {
      cache.put(target, 5);
    } else {
      cache.put(target, 5, Duration.ofSeconds(1));
      clock.advance(Duration.ofSeconds(2)); // expired: removing it is a notification to deliver
    }
    int notifiedBefore = notified.get();

    Throwable thrown;
    try (CapturedLog log = new CapturedLog()) {
      thrown = catchThrowable(() -> run(op, cache, target, faults, fault));
      boolean struck = (faults.armed == null);
      faults.armed = null;
      if (fault.propagates()) {
        assertThat(thrown).as("the operation's exception").isSameAs(faults.boom);
      } else {
        assertThat(thrown).as("absorbed fault").isNull();
        if (struck) {
          assertThat(log.logged(faults.boom)).as("the absorbed fault was logged").isTrue();
          assertThat(notified.get()).as("the notification was still delivered")
              .isGreaterThan(notifiedBefore);
        }
      }
    }
    Invariants.check(cache); // includes: no in-flight marker left in any stripe
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> cache.put(target, 99));
    assertThatCode(() -> writer.get(10, TimeUnit.SECONDS))
        .as("another thread writes the key").doesNotThrowAnyException();
    assertThat(cache.get(target, k -> 1)).isEqualTo(99);
    cache.invalidate(target);
    assertThat(cache.get(target, k -> 1)).as("the key loads again on this thread").isEqualTo(1);
    for (Key other : others) {
      assertThat(cache.getIfPresent(other)).as("%s kept", other).isEqualTo(other.id);
    }
    Invariants.check(cache);
  }

  private static void run(Op op, Cache<Key, Integer> cache, Key target, Faults faults,
      Fault fault) {
    java.util.function.Function<Key, Integer> arming = k -> {
      faults.armed = fault;
      faults.strike(Fault.FUNCTION);
      return 7;
    };
    switch (op) {
      case GET_WITH_FUNCTION -> cache.get(target, arming);
      case COMPUTE_IF_ABSENT -> cache.asMap().computeIfAbsent(target, arming);
      case COMPUTE -> cache.asMap().compute(target, (k, v) -> arming.apply(k));
      case COMPUTE_IF_PRESENT -> cache.asMap().computeIfPresent(target, (k, v) -> arming.apply(k));
      case MERGE -> cache.asMap().merge(target, 1, (a, b) -> arming.apply(target));
      case GET_ALL -> cache.getAll(List.of(target), keys -> bulk(keys, faults, fault));
      case LOADING_GET -> ((LoadingCache<Key, Integer>) cache).get(target);
      case LOADING_GET_ALL -> ((LoadingCache<Key, Integer>) cache).getAll(List.of(target));
    }
  }

  /** A bulk result: a value for each key, plus an extra key; arms the fault first. */
  static Map<Key, Integer> bulk(Set<? extends Key> keys, Faults faults, Fault fault) {
    faults.armed = fault;
    faults.strike(Fault.FUNCTION);
    List<Map.Entry<Key, Integer>> entries = new ArrayList<>(); // built without hashing any key
    for (Key key : keys) {
      entries.add(Map.entry(key, 7));
    }
    if (fault == Fault.RESULT_ITERATION) {
      return listMap(entries, true, faults);
    }
    entries.add(Map.entry(new Key(100, faults), 8)); // an extra entry, stored too
    return listMap(entries, false, faults);
  }

  /** A map over a list of entries, whose iteration can be made to fail at its end. */
  private static Map<Key, Integer> listMap(List<Map.Entry<Key, Integer>> entries, boolean failAtEnd,
      Faults faults) {
    return new AbstractMap<>() {
      @Override
      public Set<Map.Entry<Key, Integer>> entrySet() {
        return new AbstractSet<>() {
          @Override
          public Iterator<Map.Entry<Key, Integer>> iterator() {
            Iterator<Map.Entry<Key, Integer>> it = entries.iterator();
            return new Iterator<>() {
              @Override
              public boolean hasNext() {
                return it.hasNext() || failAtEnd;
              }

              @Override
              public Map.Entry<Key, Integer> next() {
                if (!it.hasNext()) {
                  faults.strike(Fault.RESULT_ITERATION);
                }
                return it.next();
              }
            };
          }

          @Override
          public int size() {
            return entries.size();
          }
        };
      }
    };
  }
}
