package dev.hourglass.cache.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Fails a CI job when Hourglass loses ground. For every measurement (workload, shape, threads) in
 * both files, it compares Hourglass's throughput as a ratio of ConcurrentHashMap's measured in the
 * same run, so machine speed and noise common to both cancel out. A ratio that fell by more than
 * the tolerance is a regression.
 *
 * <pre>{@code
 * java -cp cache-bench/target/benchmarks.jar dev.hourglass.cache.bench.RegressionCheck \
 *     baseline.json current.json 0.15
 * }</pre>
 * Exit status 0: no regression; 1: at least one; 2: bad usage or no comparable measurement.
 */
public final class RegressionCheck {
  private RegressionCheck() {}

  /** The outcome for one measurement. */
  public record Comparison(String group, double baselineRatio, double currentRatio, boolean regressed) {}

  public static void main(String[] args) throws IOException {
    if (args.length < 2) {
      System.err.println("usage: RegressionCheck BASELINE.json CURRENT.json [TOLERANCE, default 0.15]");
      System.exit(2);
    }
    double tolerance = (args.length > 2) ? Double.parseDouble(args[2]) : 0.15;
    int status = run(Path.of(args[0]), Path.of(args[1]), tolerance, System.out);
    System.exit(status);
  }

  public static int run(Path baseline, Path current, double tolerance, PrintStream out)
      throws IOException {
    if ((tolerance < 0) || (tolerance >= 1)) {
      throw new IllegalArgumentException("tolerance must be in [0, 1): " + tolerance);
    }
    List<Comparison> comparisons = compare(JmhResults.read(baseline), JmhResults.read(current), tolerance);
    if (comparisons.isEmpty()) {
      out.println("No measurement has both Hourglass and ConcurrentHashMap in both files.");
      return 2;
    }
    out.printf(Locale.ROOT, "%-45s %12s %12s %8s%n", "workload | shape | threads", "baseline", "current", "");
    long regressions = 0;
    for (Comparison c : comparisons) {
      out.printf(Locale.ROOT, "%-45s %12.4f %12.4f %8s%n", c.group(), c.baselineRatio(),
          c.currentRatio(), c.regressed() ? "REGRESSED" : "ok");
      if (c.regressed()) {
        regressions++;
      }
    }
    out.printf(Locale.ROOT, "%d of %d ratios (Hourglass / ConcurrentHashMap) fell by more than %.0f%%%n",
        regressions, comparisons.size(), tolerance * 100);
    return (regressions == 0) ? 0 : 1;
  }

  public static List<Comparison> compare(List<JmhResults.Row> baseline, List<JmhResults.Row> current,
      double tolerance) {
    Map<String, Map<String, JmhResults.Row>> before = JmhResults.byGroup(baseline);
    Map<String, Map<String, JmhResults.Row>> after = JmhResults.byGroup(current);
    return before.entrySet().stream()
        .filter(e -> after.containsKey(e.getKey()))
        .filter(e -> hasPair(e.getValue()) && hasPair(after.get(e.getKey())))
        .map(e -> {
          double was = ratio(e.getValue());
          double now = ratio(after.get(e.getKey()));
          return new Comparison(e.getKey(), was, now, now < was * (1 - tolerance));
        })
        .toList();
  }

  private static boolean hasPair(Map<String, JmhResults.Row> group) {
    return group.containsKey("HOURGLASS") && group.containsKey("CHM")
        && (group.get("CHM").score() > 0);
  }

  private static double ratio(Map<String, JmhResults.Row> group) {
    return group.get("HOURGLASS").score() / group.get("CHM").score();
  }
}
