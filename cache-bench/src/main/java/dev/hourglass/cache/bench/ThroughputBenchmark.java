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
 * How many operations per second does each implementation sustain on a warm, full cache, for
 * reads, mixed reads and writes, writes, and compute-if-absent hits, with Zipf-skewed keys?
 *
 * <p>The cache holds 2^16 entries and is prepopulated with every key, so reads hit. Keys come from
 * a precomputed scrambled Zipfian (theta 0.99) array of 2^20 entries; each thread starts at its own
 * random offset. Run alone with:
 * <pre>{@code
 * java -jar cache-bench/target/benchmarks.jar ThroughputBenchmark -t 2 -p shape=SIZE -prof gc
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class ThroughputBenchmark {
  static final int SIZE = 1 << 16;

  @Param({"HOURGLASS", "CAFFEINE", "GUAVA", "CHM"})
  public Impl impl;

  @Param({"SIZE", "SIZE_WRITE", "SIZE_ACCESS", "SIZE_VARIABLE"})
  public Shape shape;

  BenchCache cache;
  Integer[] keys;
  Integer hotKey;

  @Setup
  public void setup() {
    if (!impl.supports(shape)) {
      throw new IllegalArgumentException(impl.label + " does not support " + shape.label);
    }
    cache = impl.create(shape, SIZE, false);
    Integer[] pool = ZipfKeys.pool(SIZE);
    for (Integer key : pool) {
      cache.put(key, key);
    }
    keys = ZipfKeys.zipf(pool, 0.99, KeyCursor.STREAM, 42);
    hotKey = keys[0];
    cache.cleanUp();
  }

  @Benchmark
  public Integer read(KeyCursor cursor) {
    return cache.get(keys[cursor.next()]);
  }

  @Benchmark
  public Integer readWrite(KeyCursor cursor) {
    int i = cursor.next();
    Integer key = keys[i];
    if ((i & 3) == 0) { // one write in four
      cache.put(key, key);
      return key;
    }
    return cache.get(key);
  }

  @Benchmark
  public void write(KeyCursor cursor) {
    Integer key = keys[cursor.next()];
    cache.put(key, key);
  }

  @Benchmark
  public Integer computeHot() {
    return cache.computeIfAbsent(hotKey);
  }

  @Benchmark
  public Integer computeSpread(KeyCursor cursor) {
    return cache.computeIfAbsent(keys[cursor.next()]);
  }
}
