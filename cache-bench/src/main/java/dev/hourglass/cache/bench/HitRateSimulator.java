package dev.hourglass.cache.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What hit rate does each bounded implementation reach on real and synthetic traces, beside plain
 * LRU and Bélády's optimal policy (OPT) at the same size?
 *
 * <p>Each trace is replayed single-threaded: a lookup, and on a miss a put. Implementations run
 * with same-thread executors so their maintenance is deterministic. OPT evicts the entry whose next
 * use is farthest away, and does not admit an entry whose next use is farther than all of the
 * cache's [1]; no policy can do better on the same trace and size.
 *
 * <p>[1] L. A. Bélády, "A study of replacement algorithms for a virtual-storage computer", IBM
 * Systems Journal 5(2), 1966.
 */
public final class HitRateSimulator {
  private HitRateSimulator() {}

  /** One simulated point. */
  public record Row(String trace, String source, long events, int distinct, int size,
      String policy, double hitRate) {}

  static final List<String> POLICIES = List.of("Hourglass", "Caffeine", "Guava", "LRU", "OPT");

  public static List<Row> simulate(Trace trace) {
    List<Row> rows = new ArrayList<>();
    Integer[] boxed = new Integer[trace.distinct()];
    for (int i = 0; i < boxed.length; i++) {
      boxed[i] = i;
    }
    int[] nextUse = nextUses(trace.keys(), trace.distinct());
    for (int size : trace.sizes()) {
      for (String policy : POLICIES) {
        double rate = switch (policy) {
          case "Hourglass" -> replay(Impl.HOURGLASS.create(Shape.SIZE, size, true), trace, boxed);
          case "Caffeine" -> replay(Impl.CAFFEINE.create(Shape.SIZE, size, true), trace, boxed);
          case "Guava" -> replay(Impl.GUAVA.create(Shape.SIZE, size, true), trace, boxed);
          case "LRU" -> lru(trace, size);
          default -> opt(trace, size, nextUse);
        };
        rows.add(new Row(trace.name(), trace.source(), trace.keys().length, trace.distinct(), size,
            policy, rate));
      }
    }
    return rows;
  }

  /** The hit rate of one of the benchmarked implementations ("Hourglass", "Caffeine", "Guava"). */
  public static double rate(Trace trace, int size, String implementation) {
    Integer[] boxed = new Integer[trace.distinct()];
    for (int i = 0; i < boxed.length; i++) {
      boxed[i] = i;
    }
    Impl impl = switch (implementation) {
      case "Hourglass" -> Impl.HOURGLASS;
      case "Caffeine" -> Impl.CAFFEINE;
      case "Guava" -> Impl.GUAVA;
      default -> throw new IllegalArgumentException("implementation: " + implementation);
    };
    return replay(impl.create(Shape.SIZE, size, true), trace, boxed);
  }

  static double replay(BenchCache cache, Trace trace, Integer[] boxed) {
    long hits = 0;
    for (int key : trace.keys()) {
      Integer k = boxed[key];
      if (cache.get(k) != null) {
        hits++;
      } else {
        cache.put(k, k);
      }
    }
    return (double) hits / trace.keys().length;
  }

  /** Plain LRU at {@code size}. */
  public static double lru(Trace trace, int size) {
    Map<Integer, Boolean> lru = new LinkedHashMap<>(16, 0.75f, true) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<Integer, Boolean> eldest) {
        return size() > size;
      }
    };
    long hits = 0;
    for (int key : trace.keys()) {
      if (lru.get(key) != null) {
        hits++;
      } else {
        lru.put(key, Boolean.TRUE);
      }
    }
    return (double) hits / trace.keys().length;
  }

  /** For each access, the index of the next access to the same key, or MAX_VALUE. */
  public static int[] nextUses(int[] keys, int distinct) {
    int[] next = new int[keys.length];
    int[] last = new int[distinct];
    Arrays.fill(last, Integer.MAX_VALUE);
    for (int i = keys.length - 1; i >= 0; i--) {
      next[i] = last[keys[i]];
      last[keys[i]] = i;
    }
    return next;
  }

  /** Bélády's MIN with bypass, using a max-heap of (next use, key) with lazy deletion. */
  public static double opt(Trace trace, int size, int[] nextUse) {
    int[] keys = trace.keys();
    int[] cachedNext = new int[trace.distinct()]; // -1: not cached
    Arrays.fill(cachedNext, -1);
    LongMaxHeap heap = new LongMaxHeap(size * 2 + 16);
    int cached = 0;
    long hits = 0;
    for (int i = 0; i < keys.length; i++) {
      int key = keys[i];
      int next = nextUse[i];
      if (cachedNext[key] >= 0) {
        hits++;
        cachedNext[key] = next;
        heap.push(((long) next << 32) | key);
        continue;
      }
      if (size == 0) {
        continue;
      }
      if (cached == size) {
        // Find the cached key used farthest in the future (skipping stale heap entries).
        long top;
        for (;;) {
          top = heap.peek();
          int k = (int) top;
          int n = (int) (top >>> 32);
          if (cachedNext[k] == n) {
            break;
          }
          heap.pop();
        }
        int farthest = (int) (top >>> 32);
        if (next >= farthest) {
          continue; // bypass: the newcomer is needed last
        }
        heap.pop();
        cachedNext[(int) top] = -1;
        cached--;
      }
      cachedNext[key] = next;
      heap.push(((long) next << 32) | key);
      cached++;
      if (heap.size() > 8L * size + 1024) {
        heap.compact(cachedNext);
      }
    }
    return (double) hits / keys.length;
  }

  /** A binary max-heap of longs. */
  static final class LongMaxHeap {
    private long[] items;
    private int size;

    LongMaxHeap(int capacity) {
      items = new long[Math.max(16, capacity)];
    }

    int size() {
      return size;
    }

    void push(long value) {
      if (size == items.length) {
        items = Arrays.copyOf(items, size * 2);
      }
      int i = size++;
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (items[parent] >= value) {
          break;
        }
        items[i] = items[parent];
        i = parent;
      }
      items[i] = value;
    }

    long peek() {
      return items[0];
    }

    long pop() {
      long top = items[0];
      long last = items[--size];
      int i = 0;
      for (;;) {
        int child = 2 * i + 1;
        if (child >= size) {
          break;
        }
        if ((child + 1 < size) && (items[child + 1] > items[child])) {
          child++;
        }
        if (items[child] <= last) {
          break;
        }
        items[i] = items[child];
        i = child;
      }
      if (size > 0) {
        items[i] = last;
      }
      return top;
    }

    /** Drops stale entries (whose next use no longer matches the cached key's). */
    void compact(int[] cachedNext) {
      long[] live = new long[size];
      int n = 0;
      for (int i = 0; i < size; i++) {
        long item = items[i];
        if (cachedNext[(int) item] == (int) (item >>> 32)) {
          live[n++] = item;
        }
      }
      size = 0;
      for (int i = 0; i < n; i++) {
        push(live[i]);
      }
    }
  }
}
