package dev.hourglass.cache.bench;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.reflect.TypeToken;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns a results folder (env.json, jmh.json, memory.json, hitrate.json) into Markdown tables and
 * SVG charts. Every figure it prints comes from those files; nothing is typed by hand.
 *
 * <pre>{@code
 * java -cp cache-bench/target/benchmarks.jar dev.hourglass.cache.bench.Report RESULTS_DIR [OUT.md]
 * }</pre>
 */
public final class Report {
  static final List<String> IMPLS = List.of("HOURGLASS", "CAFFEINE", "GUAVA", "CHM");
  static final Map<String, String> LABELS = Map.of(
      "HOURGLASS", "Hourglass", "CAFFEINE", "Caffeine", "GUAVA", "Guava", "CHM", "ConcurrentHashMap");
  static final List<String> WORKLOADS = List.of(
      "read", "readWrite", "write", "computeHot", "computeSpread", "loadMiss", "writeTtl");

  private final Path dir;
  private final JsonObject env;
  private final List<JmhResults.Row> jmh;
  private final List<MemoryFootprint.Row> memory;
  private final List<HitRateSimulator.Row> hitRates;

  Report(Path dir) throws IOException {
    this.dir = dir;
    Gson gson = new Gson();
    this.env = read(dir.resolve("env.json"), gson, JsonObject.class, new JsonObject());
    this.jmh = Files.exists(dir.resolve("jmh.json")) ? JmhResults.read(dir.resolve("jmh.json")) : List.of();
    this.memory = read(dir.resolve("memory.json"), gson,
        new TypeToken<List<MemoryFootprint.Row>>() {}.getType(), List.of());
    this.hitRates = read(dir.resolve("hitrate.json"), gson,
        new TypeToken<List<HitRateSimulator.Row>>() {}.getType(), List.of());
  }

  @SuppressWarnings("unchecked")
  private static <T> T read(Path file, Gson gson, java.lang.reflect.Type type, T missing)
      throws IOException {
    if (!Files.exists(file)) {
      return missing;
    }
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return (T) gson.fromJson(reader, type);
    }
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 1) {
      System.err.println("usage: Report RESULTS_DIR [OUT.md]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]);
    Report report = new Report(dir);
    Path out = (args.length > 1) ? Path.of(args[1]) : dir.resolve("summary.md");
    report.write(out);
    System.out.println(report.consoleTables());
    System.out.println("Wrote " + out);
  }

  /** Writes the Markdown (with charts next to the data, linked relative to {@code out}). */
  void write(Path out) throws IOException {
    List<String> charts = writeCharts();
    Path base = out.toAbsolutePath().getParent();
    StringBuilder md = new StringBuilder();
    md.append(environment());
    md.append("\n## Throughput\n\n");
    md.append("Operations per second (higher is better), measured in the same JMH run. Ratios are "
        + "Hourglass's score divided by the anchor's: above 1.00 Hourglass is faster.\n\n");
    md.append(throughputTable(true));
    for (String chart : charts) {
      if (chart.startsWith("throughput")) {
        md.append("\n![throughput](").append(base.relativize(dir.toAbsolutePath().resolve(chart)))
            .append(")\n");
      }
    }
    md.append("\n").append(leadsAndTrails());
    md.append("\n## Memory per entry\n\n");
    md.append("Bytes of the cache's own structure per entry (keys and values excluded), walked "
        + "with JOL.\n\n");
    md.append(memoryTable());
    md.append("\n## Hit rate\n\n");
    md.append("Hit rate (higher is better) replaying each trace single-threaded, beside LRU and "
        + "Bélády's optimal (OPT) at the same size.\n");
    md.append(hitRateTables(charts, base));
    Files.writeString(out, md.toString(), StandardCharsets.UTF_8);
  }

  String environment() {
    StringBuilder md = new StringBuilder("## Environment\n\n| | |\n|---|---|\n");
    for (String key : List.of("date", "mode", "command", "jdk", "vm", "cpu", "cores", "os", "jmh")) {
      if (env.has(key)) {
        md.append("| ").append(key).append(" | `").append(env.get(key).getAsString().replace("|", "\\|"))
            .append("` |\n");
      }
    }
    return md.toString();
  }

  String throughputTable(boolean markdown) {
    Map<String, Map<String, JmhResults.Row>> groups = ordered(JmhResults.byGroup(jmh));
    StringBuilder t = new StringBuilder();
    List<String> header = new ArrayList<>(List.of("workload", "shape", "threads"));
    IMPLS.forEach(i -> header.add(LABELS.get(i) + " ops/s"));
    header.addAll(List.of("vs Caffeine", "vs Guava", "vs CHM", "Hourglass B/op", "Caffeine B/op"));
    List<List<String>> rows = new ArrayList<>();
    for (Map.Entry<String, Map<String, JmhResults.Row>> e : groups.entrySet()) {
      Map<String, JmhResults.Row> byImpl = e.getValue();
      JmhResults.Row any = byImpl.values().iterator().next();
      List<String> row = new ArrayList<>(List.of(any.workload(), shapeLabel(any.shape()),
          Integer.toString(any.threads())));
      for (String impl : IMPLS) {
        JmhResults.Row r = byImpl.get(impl);
        row.add((r == null) ? "n/a" : millions(r.score()));
      }
      for (String anchor : List.of("CAFFEINE", "GUAVA", "CHM")) {
        row.add(ratio(byImpl.get("HOURGLASS"), byImpl.get(anchor)));
      }
      row.add(alloc(byImpl.get("HOURGLASS")));
      row.add(alloc(byImpl.get("CAFFEINE")));
      rows.add(row);
    }
    return table(header, rows, markdown);
  }

  String leadsAndTrails() {
    Map<String, Map<String, JmhResults.Row>> groups = ordered(JmhResults.byGroup(jmh));
    StringBuilder md = new StringBuilder("### Where Hourglass leads and trails\n\n");
    md.append("Computed from the table above: a lead or trail counts only when the gap is larger "
        + "than both measurements' error bars.\n\n");
    for (String anchor : List.of("CAFFEINE", "GUAVA")) {
      List<String> leads = new ArrayList<>();
      List<String> trails = new ArrayList<>();
      int ties = 0;
      for (Map<String, JmhResults.Row> byImpl : groups.values()) {
        JmhResults.Row h = byImpl.get("HOURGLASS");
        JmhResults.Row a = byImpl.get(anchor);
        if ((h == null) || (a == null)) {
          continue;
        }
        String name = h.workload() + " (" + shapeLabel(h.shape()) + ", " + h.threads() + "t, "
            + String.format(Locale.ROOT, "%.2fx", h.score() / a.score()) + ")";
        double gap = Math.abs(h.score() - a.score());
        double noise = finite(h.error()) + finite(a.error());
        if (gap <= noise) {
          ties++;
        } else if (h.score() > a.score()) {
          leads.add(name);
        } else {
          trails.add(name);
        }
      }
      md.append("- **vs ").append(LABELS.get(anchor)).append("**: leads in ").append(leads.size())
          .append(", trails in ").append(trails.size()).append(", within noise in ").append(ties)
          .append(".\n");
      if (!leads.isEmpty()) {
        md.append("  - leads: ").append(String.join("; ", leads)).append("\n");
      }
      if (!trails.isEmpty()) {
        md.append("  - trails: ").append(String.join("; ", trails)).append("\n");
      }
    }
    return md.toString();
  }

  String memoryTable() {
    return memoryTable(true);
  }

  String memoryTable(boolean markdown) {
    Set<Integer> sizes = new java.util.TreeSet<>();
    Map<String, Map<Integer, Double>> byRow = new LinkedHashMap<>();
    for (MemoryFootprint.Row r : memory) {
      sizes.add(r.entries());
      byRow.computeIfAbsent(r.impl() + " | " + r.shape(), k -> new TreeMap<>())
          .put(r.entries(), r.bytesPerEntry());
    }
    List<String> header = new ArrayList<>(List.of("implementation", "shape"));
    sizes.forEach(n -> header.add("bytes/entry at 2^" + Integer.numberOfTrailingZeros(n)));
    List<List<String>> rows = new ArrayList<>();
    byRow.forEach((key, values) -> {
      String[] parts = key.split(" \\| ");
      List<String> row = new ArrayList<>(List.of(parts[0], parts[1]));
      for (int n : sizes) {
        Double v = values.get(n);
        row.add((v == null) ? "n/a" : String.format(Locale.ROOT, "%.1f", v));
      }
      rows.add(row);
    });
    return table(header, rows, markdown);
  }

  String hitRateTables(List<String> charts, Path base) {
    Map<String, List<HitRateSimulator.Row>> byTrace = new LinkedHashMap<>();
    for (HitRateSimulator.Row r : hitRates) {
      byTrace.computeIfAbsent(r.trace(), k -> new ArrayList<>()).add(r);
    }
    StringBuilder md = new StringBuilder();
    for (Map.Entry<String, List<HitRateSimulator.Row>> e : byTrace.entrySet()) {
      HitRateSimulator.Row first = e.getValue().get(0);
      md.append("\n### ").append(e.getKey()).append("\n\n").append(first.source()).append("; ")
          .append(String.format(Locale.ROOT, "%,d", first.events())).append(" accesses, ")
          .append(String.format(Locale.ROOT, "%,d", first.distinct())).append(" distinct keys.\n\n");
      md.append(hitRateTable(e.getValue(), true));
      String chart = "hitrate-" + e.getKey() + ".svg";
      if (charts.contains(chart)) {
        md.append("\n![").append(e.getKey()).append("](")
            .append(base.relativize(dir.toAbsolutePath().resolve(chart))).append(")\n");
      }
    }
    return md.toString();
  }

  private String hitRateTable(List<HitRateSimulator.Row> rows, boolean markdown) {
    Set<String> policies = new LinkedHashSet<>();
    Map<Integer, Map<String, Double>> bySize = new TreeMap<>();
    for (HitRateSimulator.Row r : rows) {
      policies.add(r.policy());
      bySize.computeIfAbsent(r.size(), k -> new LinkedHashMap<>()).put(r.policy(), r.hitRate());
    }
    List<String> header = new ArrayList<>(List.of("size"));
    header.addAll(policies);
    List<List<String>> out = new ArrayList<>();
    bySize.forEach((size, values) -> {
      List<String> row = new ArrayList<>(List.of(String.format(Locale.ROOT, "%,d", size)));
      for (String p : policies) {
        Double v = values.get(p);
        row.add((v == null) ? "n/a" : String.format(Locale.ROOT, "%.2f%%", v * 100));
      }
      out.add(row);
    });
    return table(header, out, markdown);
  }

  /** The three tables as plain text, for the console. */
  String consoleTables() {
    StringBuilder s = new StringBuilder();
    s.append("\n=== Throughput (ops/s; ratio = Hourglass / anchor, same run) ===\n");
    s.append(throughputTable(false));
    s.append("\n=== Memory per entry (bytes, keys and values excluded) ===\n");
    s.append(memoryTable(false));
    s.append("\n=== Hit rate ===\n");
    Map<String, List<HitRateSimulator.Row>> byTrace = new LinkedHashMap<>();
    for (HitRateSimulator.Row r : hitRates) {
      byTrace.computeIfAbsent(r.trace(), k -> new ArrayList<>()).add(r);
    }
    byTrace.forEach((trace, rows) -> s.append("\n").append(trace).append("\n")
        .append(hitRateTable(rows, false)));
    return s.toString();
  }

  List<String> writeCharts() throws IOException {
    List<String> written = new ArrayList<>();
    if (!jmh.isEmpty()) {
      int maxThreads = jmh.stream().mapToInt(JmhResults.Row::threads).max().orElse(1);
      Map<String, Map<String, Double>> values = new LinkedHashMap<>();
      List<String> categories = new ArrayList<>();
      for (String workload : WORKLOADS) {
        for (JmhResults.Row r : jmh) {
          boolean shapeOk = r.shape().equals("SIZE") || r.shape().equals("TTL_WRITE");
          if (r.workload().equals(workload) && shapeOk && (r.threads() == maxThreads)) {
            if (!categories.contains(workload)) {
              categories.add(workload);
            }
            values.computeIfAbsent(workload, k -> new LinkedHashMap<>())
                .put(LABELS.get(r.impl()), r.score());
          }
        }
      }
      String svg = Svg.groupedBarsLog("Throughput, size-bounded, " + maxThreads + " threads",
          "ops/s", categories, IMPLS.stream().map(LABELS::get).toList(), values);
      Files.writeString(dir.resolve("throughput.svg"), svg, StandardCharsets.UTF_8);
      written.add("throughput.svg");
    }
    Map<String, List<HitRateSimulator.Row>> byTrace = new LinkedHashMap<>();
    for (HitRateSimulator.Row r : hitRates) {
      byTrace.computeIfAbsent(r.trace(), k -> new ArrayList<>()).add(r);
    }
    for (Map.Entry<String, List<HitRateSimulator.Row>> e : byTrace.entrySet()) {
      List<Integer> sizes = e.getValue().stream().map(HitRateSimulator.Row::size).distinct().sorted().toList();
      Map<String, double[]> series = new LinkedHashMap<>();
      for (HitRateSimulator.Row r : e.getValue()) {
        series.computeIfAbsent(r.policy(), k -> new double[sizes.size()])[sizes.indexOf(r.size())] =
            r.hitRate();
      }
      String svg = Svg.lines("Hit rate: " + e.getKey(), "cache size (entries)",
          sizes.stream().map(n -> String.format(Locale.ROOT, "%,d", n)).toList(),
          new ArrayList<>(series.keySet()), series);
      String name = "hitrate-" + e.getKey() + ".svg";
      Files.writeString(dir.resolve(name), svg, StandardCharsets.UTF_8);
      written.add(name);
    }
    return written;
  }

  private static Map<String, Map<String, JmhResults.Row>> ordered(
      Map<String, Map<String, JmhResults.Row>> groups) {
    List<Map.Entry<String, Map<String, JmhResults.Row>>> entries = new ArrayList<>(groups.entrySet());
    entries.sort((a, b) -> {
      JmhResults.Row x = a.getValue().values().iterator().next();
      JmhResults.Row y = b.getValue().values().iterator().next();
      int c = Integer.compare(shapeOrder(x.shape()), shapeOrder(y.shape()));
      if (c == 0) {
        c = Integer.compare(WORKLOADS.indexOf(x.workload()), WORKLOADS.indexOf(y.workload()));
      }
      return (c != 0) ? c : Integer.compare(x.threads(), y.threads());
    });
    Map<String, Map<String, JmhResults.Row>> result = new LinkedHashMap<>();
    entries.forEach(e -> result.put(e.getKey(), e.getValue()));
    return result;
  }

  private static int shapeOrder(String shape) {
    List<String> order = List.of("SIZE", "SIZE_WRITE", "SIZE_ACCESS", "SIZE_VARIABLE", "TTL_WRITE", "UNBOUNDED");
    int i = order.indexOf(shape);
    return (i < 0) ? order.size() : i;
  }

  private static String shapeLabel(String shape) {
    if (shape.equals("TTL_WRITE")) {
      return "per-entry TTL (Guava: expireAfterWrite)";
    }
    try {
      return Shape.valueOf(shape).label;
    } catch (IllegalArgumentException e) {
      return shape;
    }
  }

  private static String millions(double opsPerSecond) {
    return String.format(Locale.ROOT, "%.2fM", opsPerSecond / 1e6);
  }

  private static String ratio(JmhResults.Row h, JmhResults.Row a) {
    if ((h == null) || (a == null) || (a.score() <= 0)) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%.2f", h.score() / a.score());
  }

  private static String alloc(JmhResults.Row r) {
    if ((r == null) || Double.isNaN(r.allocBytesPerOp())) {
      return "";
    }
    return String.format(Locale.ROOT, "%.1f", r.allocBytesPerOp());
  }

  private static double finite(double v) {
    return Double.isFinite(v) ? v : 0;
  }

  static String table(List<String> header, List<List<String>> rows, boolean markdown) {
    StringBuilder s = new StringBuilder();
    if (markdown) {
      s.append("| ").append(String.join(" | ", header)).append(" |\n|");
      header.forEach(h -> s.append("---|"));
      s.append("\n");
      for (List<String> row : rows) {
        s.append("| ").append(String.join(" | ", row)).append(" |\n");
      }
      return s.toString();
    }
    int[] widths = new int[header.size()];
    for (int i = 0; i < header.size(); i++) {
      widths[i] = header.get(i).length();
      for (List<String> row : rows) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    appendRow(s, header, widths);
    for (List<String> row : rows) {
      appendRow(s, row, widths);
    }
    return s.toString();
  }

  private static void appendRow(StringBuilder s, List<String> cells, int[] widths) {
    for (int i = 0; i < cells.size(); i++) {
      s.append(String.format(Locale.ROOT, "%-" + (widths[i] + 2) + "s", cells.get(i)));
    }
    s.append("\n");
  }
}
