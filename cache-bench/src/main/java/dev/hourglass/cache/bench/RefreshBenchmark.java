package dev.hourglass.cache.bench;

import com.github.benmanes.caffeine.cache.Caffeine;
import com.google.common.cache.CacheBuilder;
import com.google.common.cache.CacheLoader;
import dev.hourglass.cache.Hourglass;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * How fast are reads of a loading cache that keeps refreshing its entries? Every entry is due for
 * a refresh a millisecond after its value was written, so a steady share of reads (the first read
 * of each entry in each millisecond) starts a reload, which runs inline (a same-thread executor;
 * Guava reloads inline by default), while the other reads return the current value. Zipf keys
 * over a size-bounded cache that holds them all.
 * <pre>{@code
 * java -jar cache-bench/target/benchmarks.jar RefreshBenchmark -t 2
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class RefreshBenchmark {
  static final int SIZE = 1 << 14;
  static final Duration REFRESH = Duration.ofMillis(1);

  @Param({"HOURGLASS", "CAFFEINE", "GUAVA"})
  public String impl;

  /** One read of a loading cache. */
  private Function<Integer, Integer> get;
  private Integer[] keys;

  @Setup
  public void setup() {
    switch (impl) {
      case "HOURGLASS" -> {
        dev.hourglass.cache.LoadingCache<Integer, Integer> cache = Hourglass.newBuilder()
            .maximumSize(SIZE).refreshAfterWrite(REFRESH).executor(Runnable::run)
            .build((Integer k) -> k);
        get = cache::get;
      }
      case "CAFFEINE" -> {
        com.github.benmanes.caffeine.cache.LoadingCache<Integer, Integer> cache =
            Caffeine.newBuilder().maximumSize(SIZE).refreshAfterWrite(REFRESH)
                .executor(Runnable::run).build(k -> k);
        get = cache::get;
      }
      case "GUAVA" -> {
        com.google.common.cache.LoadingCache<Integer, Integer> cache = CacheBuilder.newBuilder()
            .maximumSize(SIZE).refreshAfterWrite(REFRESH).build(CacheLoader.from(k -> k));
        get = cache::getUnchecked;
      }
      default -> throw new IllegalArgumentException(
          "impl must be HOURGLASS, CAFFEINE or GUAVA: " + impl);
    }
    Integer[] pool = ZipfKeys.pool(SIZE);
    for (Integer key : pool) {
      get.apply(key);
    }
    keys = ZipfKeys.zipf(pool, 0.99, KeyCursor.STREAM, 13);
  }

  @Benchmark
  public Integer refreshRead(KeyCursor cursor) {
    return get.apply(keys[cursor.next()]);
  }
}
