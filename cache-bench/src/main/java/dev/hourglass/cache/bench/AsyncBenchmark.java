package dev.hourglass.cache.bench;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.hourglass.cache.Hourglass;
import java.util.concurrent.CompletableFuture;
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
 * How fast is {@code get(key, mappingFunction)} of an asynchronous, size-bounded cache when the
 * key is present (its future completed)? Zipf-distributed keys over a cache that holds them all,
 * so every call is a hit: the cost of returning the stored future. Only Hourglass and Caffeine
 * have asynchronous caches.
 * <pre>{@code
 * java -jar cache-bench/target/benchmarks.jar AsyncBenchmark -t 2
 * }</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class AsyncBenchmark {
  static final int SIZE = 1 << 14;

  @Param({"HOURGLASS", "CAFFEINE"})
  public String impl;

  /** One call: the future held for a key, or a new one computed by the function. */
  private Function<Integer, CompletableFuture<Integer>> get;
  private Integer[] keys;

  @Setup
  public void setup() {
    Function<Integer, Integer> identity = k -> k;
    if (impl.equals("HOURGLASS")) {
      dev.hourglass.cache.AsyncCache<Integer, Integer> cache = Hourglass.newBuilder()
          .maximumSize(SIZE).buildAsync();
      get = key -> cache.get(key, identity);
    } else if (impl.equals("CAFFEINE")) {
      AsyncCache<Integer, Integer> cache = Caffeine.newBuilder().maximumSize(SIZE).buildAsync();
      get = key -> cache.get(key, identity);
    } else {
      throw new IllegalArgumentException("impl must be HOURGLASS or CAFFEINE: " + impl);
    }
    Integer[] pool = ZipfKeys.pool(SIZE);
    for (Integer key : pool) {
      get.apply(key).join();
    }
    keys = ZipfKeys.zipf(pool, 0.99, KeyCursor.STREAM, 11);
  }

  @Benchmark
  public CompletableFuture<Integer> asyncGet(KeyCursor cursor) {
    return get.apply(keys[cursor.next()]);
  }
}
