package dev.hourglass.cache.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Reads JMH's JSON result format into flat rows. */
public final class JmhResults {
  private JmhResults() {}

  /**
   * One benchmark result.
   *
   * @param workload the benchmark method, e.g. {@code read}
   * @param impl the implementation parameter
   * @param shape the shape parameter, or the shape the benchmark fixes
   * @param threads threads used
   * @param score operations per second
   * @param error the 99.9% confidence half-width, or NaN
   * @param allocBytesPerOp {@code gc.alloc.rate.norm}, or NaN without {@code -prof gc}
   */
  public record Row(String workload, String impl, String shape, int threads, double score,
      double error, double allocBytesPerOp) {

    /** Everything that identifies the measurement except the implementation. */
    public String groupKey() {
      return workload + " | " + shape + " | " + threads;
    }
  }

  public static List<Row> read(Path file) throws IOException {
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      return parse(JsonParser.parseReader(reader).getAsJsonArray());
    }
  }

  static List<Row> parse(JsonArray array) {
    List<Row> rows = new ArrayList<>();
    for (JsonElement element : array) {
      JsonObject result = element.getAsJsonObject();
      String benchmark = result.get("benchmark").getAsString();
      String workload = benchmark.substring(benchmark.lastIndexOf('.') + 1);
      JsonObject params = result.has("params") ? result.getAsJsonObject("params") : new JsonObject();
      String impl = params.has("impl") ? params.get("impl").getAsString() : "?";
      String shape = params.has("shape") ? params.get("shape").getAsString() : fixedShape(benchmark);
      int threads = result.get("threads").getAsInt();
      JsonObject primary = result.getAsJsonObject("primaryMetric");
      double score = primary.get("score").getAsDouble();
      double error = number(primary.get("scoreError"));
      double alloc = Double.NaN;
      if (result.has("secondaryMetrics")) {
        JsonObject secondary = result.getAsJsonObject("secondaryMetrics");
        if (secondary.has("gc.alloc.rate.norm")) {
          alloc = number(secondary.getAsJsonObject("gc.alloc.rate.norm").get("score"));
        }
      }
      rows.add(new Row(workload, impl, shape, threads, score, error, alloc));
    }
    return rows;
  }

  private static String fixedShape(String benchmark) {
    if (benchmark.contains("TtlWrite")) {
      return "TTL_WRITE";
    }
    return "SIZE";
  }

  private static double number(JsonElement element) {
    if ((element == null) || element.isJsonNull()) {
      return Double.NaN;
    }
    try {
      return element.getAsDouble();
    } catch (NumberFormatException | UnsupportedOperationException e) {
      return Double.NaN; // JMH writes "NaN" as a string
    }
  }

  /** Rows grouped by {@link Row#groupKey()}, then by implementation, in a stable order. */
  public static Map<String, Map<String, Row>> byGroup(List<Row> rows) {
    Map<String, Map<String, Row>> groups = new TreeMap<>();
    for (Row row : rows) {
      groups.computeIfAbsent(row.groupKey(), k -> new TreeMap<>()).put(row.impl(), row);
    }
    return groups;
  }
}
