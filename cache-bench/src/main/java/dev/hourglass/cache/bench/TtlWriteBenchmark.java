package dev.hourglass.cache.bench;

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
 * What does it cost when every write refreshes an entry's expiry? Hourglass and Caffeine write
 * with a per-entry time to live (Hourglass: {@code put(k, v, ttl)}; Caffeine:
 * {@code policy().expireVariably().put(k, v, ttl)}), which goes through their timer wheels; Guava,
 * which has no per-entry TTL, writes into an {@code expireAfterWrite} cache, where each write
 * moves the entry in its write queue; ConcurrentHashMap just puts.
 * <pre>{@code
 * java -jar cache-bench/target/benchmarks.jar TtlWriteBenchmark -t 2
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class TtlWriteBenchmark {
  static final int SIZE = 1 << 16;

  @Param({"HOURGLASS", "CAFFEINE", "GUAVA", "CHM"})
  public Impl impl;

  BenchCache cache;
  Integer[] keys;

  @Setup
  public void setup() {
    Shape shape = impl.supports(Shape.SIZE_VARIABLE) ? Shape.SIZE_VARIABLE : Shape.SIZE_WRITE;
    cache = impl.create(shape, SIZE, false);
    Integer[] pool = ZipfKeys.pool(SIZE);
    for (Integer key : pool) {
      cache.putWithTtl(key, key);
    }
    keys = ZipfKeys.zipf(pool, 0.99, KeyCursor.STREAM, 11);
  }

  @Benchmark
  public void writeTtl(KeyCursor cursor) {
    Integer key = keys[cursor.next()];
    cache.putWithTtl(key, key);
  }
}
