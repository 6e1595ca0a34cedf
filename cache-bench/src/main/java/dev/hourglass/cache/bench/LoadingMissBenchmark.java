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
 * How fast is compute-if-absent when most calls miss and every miss evicts? The key space is eight
 * times the maximum size and keys are uniformly random, so about seven calls in eight load a value
 * and push another entry out. (ConcurrentHashMap, unbounded, soon holds every key and only hits:
 * it is the upper limit, not a peer.)
 * <pre>{@code
 * java -jar cache-bench/target/benchmarks.jar LoadingMissBenchmark -t 2
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class LoadingMissBenchmark {
  static final int SIZE = 1 << 14;

  @Param({"HOURGLASS", "CAFFEINE", "GUAVA", "CHM"})
  public Impl impl;

  BenchCache cache;
  Integer[] keys;

  @Setup
  public void setup() {
    cache = impl.create(Shape.SIZE, SIZE, false);
    Integer[] pool = ZipfKeys.pool(SIZE * 8);
    keys = ZipfKeys.uniform(pool, KeyCursor.STREAM, 7);
    for (int i = 0; i < SIZE; i++) {
      cache.computeIfAbsent(pool[i]);
    }
  }

  @Benchmark
  public Integer loadMiss(KeyCursor cursor) {
    return cache.computeIfAbsent(keys[cursor.next()]);
  }
}
