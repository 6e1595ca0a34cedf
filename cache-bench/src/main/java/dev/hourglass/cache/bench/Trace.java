package dev.hourglass.cache.bench;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * An access trace: keys remapped to dense ids 0..distinct-1, plus the cache sizes to replay it at.
 *
 * @param name a short name for tables and charts
 * @param source where it came from, for attribution
 * @param keys the accesses, in order
 * @param distinct how many different keys occur
 * @param sizes the cache sizes to simulate
 */
public record Trace(String name, String source, int[] keys, int distinct, int[] sizes) {

  static final String CACHE2K = "cache2k traces by headissue GmbH / Jens Wilke, CC BY 4.0";

  /** A cache2k trace: gzip of big-endian 32-bit keys. Sizes are fractions of the distinct keys. */
  public static Trace cache2k(Path file) throws IOException {
    int[] raw = new int[1 << 16];
    int n = 0;
    try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(file)), 1 << 16);
        DataInputStream data = new DataInputStream(new BufferedInputStream(in, 1 << 16))) {
      for (;;) {
        int key;
        try {
          key = data.readInt();
        } catch (EOFException e) {
          break;
        }
        if (n == raw.length) {
          raw = Arrays.copyOf(raw, n * 2);
        }
        raw[n++] = key;
      }
    }
    String name = file.getFileName().toString().replace(".i32be.gz", "");
    return dense(name, CACHE2K, Arrays.copyOf(raw, n), null);
  }

  /** A user's plain-text trace: one key per line (any text; blank lines are skipped). */
  public static Trace text(Path file, int[] sizes) throws IOException {
    Map<String, Integer> ids = new HashMap<>();
    List<Integer> accesses = new ArrayList<>();
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line; (line = reader.readLine()) != null; ) {
        String key = line.strip();
        if (!key.isEmpty()) {
          accesses.add(ids.computeIfAbsent(key, k -> ids.size()));
        }
      }
    }
    int[] keys = accesses.stream().mapToInt(Integer::intValue).toArray();
    return new Trace(file.getFileName().toString(), file.toString(), keys, ids.size(),
        (sizes != null) ? sizes : fractions(ids.size()));
  }

  /** Zipf-distributed accesses over {@code items} keys. */
  public static Trace zipf(double theta, int items, int events, long seed) {
    long[] ranks = ZipfKeys.zipfRanks(items, theta, events, seed);
    int[] keys = new int[events];
    for (int i = 0; i < events; i++) {
      keys[i] = (int) Math.floorMod(ZipfKeys.mix(ranks[i]), (long) items);
    }
    return dense("zipf-" + theta, "synthetic: Zipf(" + theta + ") over " + items + " keys", keys,
        new int[] {500, 1_000, 2_500, 5_000, 10_000});
  }

  /**
   * A hot set of 5,000 keys (Zipf 0.9) interrupted by long scans of keys used once: every 20,000
   * hot accesses, a scan of 15,000 new keys. LRU lets each scan flush the hot set.
   */
  public static Trace scans(int events, long seed) {
    long[] ranks = ZipfKeys.zipfRanks(5_000, 0.9, events, seed);
    int[] keys = new int[events];
    int next = 5_000;
    int hot = 0;
    for (int i = 0; i < events; ) {
      if ((hot > 0) && (hot % 20_000 == 0)) {
        for (int s = 0; (s < 15_000) && (i < events); s++) {
          keys[i++] = next++;
        }
        hot++;
      } else {
        keys[i] = (int) ranks[i];
        i++;
        hot++;
      }
    }
    return dense("hot-set+scans", "synthetic: 5,000 hot keys, scans of 15,000 one-time keys", keys,
        new int[] {1_000, 2_500, 5_000, 7_500});
  }

  /** A loop over 10,500 keys, slightly larger than the largest cache size simulated (10,000). */
  public static Trace loop(int events) {
    int[] keys = new int[events];
    for (int i = 0; i < events; i++) {
      keys[i] = i % 10_500;
    }
    return dense("loop-10500", "synthetic: a loop over 10,500 keys", keys,
        new int[] {2_500, 5_000, 7_500, 10_000});
  }

  /**
   * A phase change: Zipf(0.99) over 100,000 keys, then a loop over 10,500 other keys, then the
   * Zipf phase again. A policy tuned for one phase loses the next unless it adapts.
   */
  public static Trace phases(int events) {
    int third = events / 3;
    Trace zipf = zipf(0.99, 100_000, 2 * third, 7);
    int[] keys = new int[3 * third];
    int[] z = zipf.keys();
    System.arraycopy(z, 0, keys, 0, third);
    int base = zipf.distinct();
    for (int i = 0; i < third; i++) {
      keys[third + i] = base + (i % 10_500);
    }
    System.arraycopy(z, third, keys, 2 * third, third);
    return new Trace("phases(zipf,loop,zipf)", "synthetic: Zipf 0.99, a 10,500-key loop, Zipf",
        keys, base + 10_500, new int[] {1_000, 5_000, 10_000});
  }

  private static Trace dense(String name, String source, int[] raw, int[] sizes) {
    Map<Integer, Integer> ids = new HashMap<>();
    int[] keys = new int[raw.length];
    for (int i = 0; i < raw.length; i++) {
      Integer id = ids.get(raw[i]);
      if (id == null) {
        id = ids.size();
        ids.put(raw[i], id);
      }
      keys[i] = id;
    }
    return new Trace(name, source, keys, ids.size(), (sizes != null) ? sizes : fractions(ids.size()));
  }

  /** Cache sizes at 1/64, 1/16, 1/8 and 1/4 of the distinct keys, rounded. */
  static int[] fractions(int distinct) {
    return Arrays.stream(new int[] {64, 16, 8, 4})
        .map(d -> Math.max(10, (int) Math.round(distinct / (double) d / 10.0) * 10))
        .distinct().toArray();
  }
}
