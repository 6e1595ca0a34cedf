package dev.hourglass.cache.bench;

import com.github.benmanes.caffeine.cache.Caffeine;
import dev.hourglass.cache.Hourglass;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * What do 100,000 keys with one hash code cost? The same key class is measured with a
 * well-distributed hash ({@code SPREAD}) and with every key returning the same hash
 * ({@code COLLIDING}); the keys are {@link Comparable}, so a table that orders a crowded bin by
 * {@code compareTo} stays logarithmic, while a chain would scan up to 100,000 keys per operation.
 * The figure of merit is the ratio COLLIDING / SPREAD of each implementation in the same run.
 * Guava is left out: its segments keep chains, so merely filling it takes 5 billion equals calls.
 * <pre>{@code
 * java -jar cache-bench/target/benchmarks.jar CollidingKeysBenchmark
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class CollidingKeysBenchmark {
  static final int KEYS = 100_000;

  /** How the keys hash. */
  public enum Hashing { SPREAD, COLLIDING }

  @Param({"HOURGLASS", "CAFFEINE", "CHM"})
  public String impl;

  @Param({"SPREAD", "COLLIDING"})
  public Hashing hashing;

  Map<Key, Integer> map;
  Key[] stream;

  /** A comparable key whose hash code is fixed at construction. */
  public static final class Key implements Comparable<Key> {
    final int id;
    final int hash;

    Key(int id, int hash) {
      this.id = id;
      this.hash = hash;
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object o) {
      return (o instanceof Key) && (((Key) o).id == id);
    }

    @Override
    public int compareTo(Key o) {
      return Integer.compare(id, o.id);
    }
  }

  @Setup
  public void setup() {
    map = switch (impl) {
      case "HOURGLASS" -> Hourglass.newBuilder().<Key, Integer>build().asMap();
      case "CAFFEINE" -> Caffeine.newBuilder().<Key, Integer>build().asMap();
      case "CHM" -> new ConcurrentHashMap<>();
      default -> throw new IllegalArgumentException("impl: " + impl);
    };
    Key[] keys = new Key[KEYS];
    for (int i = 0; i < KEYS; i++) {
      int hash = (hashing == Hashing.SPREAD) ? (int) ZipfKeys.mix(i) : 42;
      keys[i] = new Key(i, hash);
      map.put(keys[i], i);
    }
    stream = new Key[KeyCursor.STREAM];
    java.util.SplittableRandom random = new java.util.SplittableRandom(11);
    for (int i = 0; i < stream.length; i++) {
      stream[i] = keys[random.nextInt(KEYS)];
    }
  }

  /** A hit on a random present key. */
  @Benchmark
  public Integer get(KeyCursor cursor) {
    return map.get(stream[cursor.next()]);
  }

  /** Replaces the value of a random present key. */
  @Benchmark
  public Integer put(KeyCursor cursor) {
    Key key = stream[cursor.next()];
    return map.put(key, key.id);
  }
}
