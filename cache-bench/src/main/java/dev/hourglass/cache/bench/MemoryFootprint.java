package dev.hourglass.cache.bench;

import java.util.ArrayList;
import java.util.List;
import org.openjdk.jol.info.GraphLayout;

/**
 * How many bytes does each implementation spend per entry on its own structure?
 *
 * <p>Each cache is filled with {@code n} distinct Integer keys and values (bounded caches are sized
 * to hold them all), its pending maintenance is run, and JOL walks its object graph. The keys and
 * values are subtracted, and so is the graph of the same cache when empty, so what remains is the
 * per-entry cost of nodes, tables and policy structures. Caches are built with same-thread
 * executors and no scheduler so that no thread pool is reachable from them.
 */
public final class MemoryFootprint {
  private MemoryFootprint() {}

  /** One measurement. */
  public record Row(String impl, String shape, int entries, double bytesPerEntry, long totalBytes) {}

  public static List<Row> measure(List<Shape> shapes, int[] sizes) {
    List<Row> rows = new ArrayList<>();
    for (Shape shape : shapes) {
      for (Impl impl : Impl.values()) {
        if (!impl.supports(shape) || ((impl == Impl.CHM) && (shape != Shape.UNBOUNDED))) {
          continue; // ConcurrentHashMap has no shapes: one row, under "unbounded"
        }
        for (int n : sizes) {
          rows.add(measure(impl, shape, n));
        }
      }
    }
    return rows;
  }

  static Row measure(Impl impl, Shape shape, int n) {
    BenchCache empty = impl.create(shape, n, true);
    empty.cleanUp();
    long emptyBytes = GraphLayout.parseInstance(empty.unwrap()).totalSize();

    BenchCache cache = impl.create(shape, n, true);
    Integer[] keys = new Integer[n];
    Integer[] values = new Integer[n];
    for (int i = 0; i < n; i++) {
      keys[i] = i + 1_000_000; // never from Integer's small-value cache
      values[i] = -(i + 1_000_000);
      if (shape == Shape.SIZE_VARIABLE) {
        cache.putWithTtl(keys[i], values[i]);
      } else {
        cache.put(keys[i], values[i]);
      }
    }
    cache.cleanUp();
    GraphLayout full = GraphLayout.parseInstance(cache.unwrap());
    GraphLayout data = GraphLayout.parseInstance(keys, values);
    long structure = full.subtract(data).totalSize();
    double perEntry = (double) (structure - emptyBytes) / n;
    return new Row(impl.label, shape.label, n, perEntry, structure);
  }
}
