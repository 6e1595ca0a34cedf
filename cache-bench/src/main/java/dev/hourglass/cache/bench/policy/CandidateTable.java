package dev.hourglass.cache.bench.policy;

import dev.hourglass.cache.bench.HitRateSimulator;
import dev.hourglass.cache.bench.Trace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Replays candidate eviction policies, each on its own over a trace, beside LRU, Caffeine, the
 * current Hourglass and OPT at the same sizes: the table from which the cache's next policy is
 * chosen. Single-threaded and deterministic (seeded randomness only).
 *
 * <pre>
 *   java -cp cache-bench/target/benchmarks.jar dev.hourglass.cache.bench.policy.CandidateTable \
 *       [--traces ../shared/traces] [--events 1000000] [--orm] [--json out.json]
 * </pre>
 */
public final class CandidateTable {
  private CandidateTable() {}

  static final Map<String, BiFunction<Integer, Integer, Candidate>> CANDIDATES =
      new LinkedHashMap<>();

  static {
    CANDIDATES.put("SIEVE", Sieve::new);
    CANDIDATES.put("S3-FIFO", S3Fifo::new);
    CANDIDATES.put("W-TinyLFU(1%)", (c, d) -> new WTinyLfu(c, d, 0.01, false));
    CANDIDATES.put("W-TinyLFU(adaptive)", (c, d) -> new WTinyLfu(c, d, 0.01, true));
    CANDIDATES.put("S3-TinyLFU(sketch counts every access)",
        (c, d) -> new ClockTinyLfu(c, d, 0.1, false, false, 2));
    // The engine's policy (TinyLfuPolicy): the sketch counts misses and credited hits only.
    CANDIDATES.put("S3-TinyLFU(lazy, small 10%) = chosen",
        (c, d) -> new ClockTinyLfu(c, d, 0.1, true, false, 2));
    CANDIDATES.put("lazy, small 3%", (c, d) -> new ClockTinyLfu(c, d, 0.03, true, false, 2));
    CANDIDATES.put("lazy, promotion keeps hits", (c, d) -> {
      ClockTinyLfu p = new ClockTinyLfu(c, d, 0.1, true, false, 2);
      p.keepOnPromote = true;
      return p;
    });
    CANDIDATES.put("lazy, climber on credited hits",
        (c, d) -> new ClockTinyLfu(c, d, 0.1, true, true, 2));
    CANDIDATES.put("lazy, climber on every hit", (c, d) -> {
      ClockTinyLfu p = new ClockTinyLfu(c, d, 0.1, true, true, 2);
      p.exactHits = true;
      p.period = 3;
      return p;
    });
  }

  public static void main(String[] args) throws IOException {
    Path dir = Path.of("..", "shared", "traces");
    int events = 1_000_000;
    boolean orm = false;
    Path json = null;
    List<String> only = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--traces" -> dir = Path.of(args[++i]);
        case "--events" -> events = Integer.parseInt(args[++i]);
        case "--orm" -> orm = true;
        case "--json" -> json = Path.of(args[++i]);
        case "--only" -> only = List.of(args[++i].split(","));
        default -> throw new IllegalArgumentException("unknown argument: " + args[i]);
      }
    }
    List<Trace> traces = new ArrayList<>();
    List<String> files = new ArrayList<>(List.of("cache2k-web07.i32be.gz", "cache2k-web12.i32be.gz"));
    if (orm) {
      files.addAll(List.of("cache2k-orm-busy.i32be.gz", "cache2k-orm-night.i32be.gz"));
    }
    for (String name : files) {
      if (Files.exists(dir.resolve(name))) {
        traces.add(Trace.cache2k(dir.resolve(name)));
      }
    }
    traces.add(Trace.zipf(0.8, 100_000, events, 1));
    traces.add(Trace.zipf(0.99, 100_000, events, 2));
    traces.add(Trace.scans(events, 3));
    traces.add(Trace.loop(events));
    traces.add(Trace.phases(events));

    List<String> columns = new ArrayList<>(List.of("LRU", "Caffeine", "Hourglass"));
    if (only != null) {
      CANDIDATES.keySet().retainAll(only);
      if (!only.contains("Hourglass")) {
        columns.remove("Hourglass");
      }
    }
    columns.addAll(CANDIDATES.keySet());
    columns.add("OPT");
    StringBuilder md = new StringBuilder("| trace | size | " + String.join(" | ", columns)
        + " |\n|---|---|" + "---|".repeat(columns.size()) + "\n");
    StringBuilder out = new StringBuilder("[\n");
    Map<String, double[]> gapToOpt = new LinkedHashMap<>();
    int points = 0;
    for (Trace trace : traces) {
      int[] nextUse = HitRateSimulator.nextUses(trace.keys(), trace.distinct());
      for (int size : trace.sizes()) {
        Map<String, Double> rates = new LinkedHashMap<>();
        rates.put("LRU", HitRateSimulator.lru(trace, size));
        rates.put("Caffeine", HitRateSimulator.rate(trace, size, "Caffeine"));
        if (columns.contains("Hourglass")) {
          rates.put("Hourglass", HitRateSimulator.rate(trace, size, "Hourglass"));
        }
        for (Map.Entry<String, BiFunction<Integer, Integer, Candidate>> c : CANDIDATES.entrySet()) {
          rates.put(c.getKey(), replay(c.getValue().apply(size, trace.distinct()), trace));
        }
        double opt = HitRateSimulator.opt(trace, size, nextUse);
        rates.put("OPT", opt);
        points++;
        md.append("| ").append(trace.name()).append(" | ").append(size);
        for (String col : columns) {
          md.append(String.format(Locale.ROOT, " | %.1f", 100 * rates.get(col)));
          gapToOpt.computeIfAbsent(col, k -> new double[1])[0] += 100 * (opt - rates.get(col));
        }
        md.append(" |\n");
        for (Map.Entry<String, Double> r : rates.entrySet()) {
          out.append(String.format(Locale.ROOT,
              "  {\"trace\": \"%s\", \"size\": %d, \"policy\": \"%s\", \"hitRate\": %.6f},%n",
              trace.name(), size, r.getKey(), r.getValue()));
        }
        System.err.println("  " + trace.name() + " @ " + size + " done");
      }
    }
    md.append("| **mean gap to OPT (points)** | |");
    for (String col : columns) {
      md.append(String.format(Locale.ROOT, " %.2f |", gapToOpt.get(col)[0] / points));
    }
    md.append("\n");
    System.out.print(md);
    if (json != null) {
      String text = out.toString();
      text = text.substring(0, text.lastIndexOf(',')) + "\n]\n";
      Files.writeString(json, text);
    }
  }

  static double replay(Candidate policy, Trace trace) {
    long hits = 0;
    for (int key : trace.keys()) {
      if (policy.access(key)) {
        hits++;
      }
    }
    return (double) hits / trace.keys().length;
  }
}
