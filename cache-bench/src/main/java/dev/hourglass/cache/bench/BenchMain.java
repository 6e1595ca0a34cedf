package dev.hourglass.cache.bench;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The main job: runs the throughput, memory and hit-rate comparisons in one go, writes the JSON,
 * a Markdown summary and SVG charts into a results folder, and prints the three tables.
 *
 * <pre>{@code
 * java -cp cache-bench/target/benchmarks.jar dev.hourglass.cache.bench.BenchMain quick
 *     [--threads 1,2,4] [--out results/DIR] [--traces ../shared/traces] [--trace my-trace.txt]
 * }</pre>
 * Modes: {@code quick} (every workload, size-bounded shape, 1 and 2 threads, short iterations),
 * {@code full} (every shape, 1, 2 and 4 threads, longer iterations, all traces) and {@code ci}
 * (a smoke run of a minute or two that proves everything still runs).
 */
public final class BenchMain {
  private BenchMain() {}

  record Settings(String mode, List<Shape> shapes, List<String> workloads, int[] threads,
      int warmups, TimeValue warmupTime, int iterations, TimeValue iterationTime,
      List<Shape> memoryShapes, int[] memorySizes, boolean orm, int syntheticEvents) {

    /** The quick run walks 2^20 entries for the size-bounded shape only (the walk is slow). */
    boolean walkLarge(Shape shape) {
      return !mode.equals("quick") || (shape == Shape.SIZE);
    }
  }

  static Settings settings(String mode) {
    List<String> all = List.of("read", "readWrite", "write", "computeHot", "computeSpread");
    List<Shape> everyShape = Arrays.asList(Shape.values());
    return switch (mode) {
      case "quick" -> new Settings(mode, List.of(Shape.SIZE), all, new int[] {1, 2},
          1, TimeValue.seconds(1), 2, TimeValue.seconds(1),
          everyShape, new int[] {1 << 16, 1 << 20}, false, 200_000);
      case "full" -> new Settings(mode, everyShape, all, new int[] {1, 2, 4},
          2, TimeValue.seconds(1), 3, TimeValue.seconds(1),
          everyShape, new int[] {1 << 16, 1 << 20}, true, 1_000_000);
      case "ci" -> new Settings(mode, List.of(Shape.SIZE), List.of("read", "write"), new int[] {1},
          1, TimeValue.milliseconds(300), 1, TimeValue.milliseconds(500),
          List.of(Shape.SIZE), new int[] {1 << 12}, false, 50_000);
      default -> throw new IllegalArgumentException(
          "mode must be quick, full or ci: " + mode);
    };
  }

  public static void main(String[] args) throws Exception {
    // JOL reads field offsets of hidden (lambda) classes only this way on JDK 17+.
    System.setProperty("jol.magicFieldOffset", "true");
    String mode = (args.length > 0) ? args[0] : "quick";
    Settings settings = settings(mode);
    String stamp = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    Path out = Path.of("results", mode + "-" + stamp);
    Path traces = Path.of("..", "shared", "traces"); // the larger traces, where present
    List<Path> userTraces = new ArrayList<>();
    int[] threads = settings.threads();
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--out" -> out = Path.of(args[++i]);
        case "--traces" -> traces = Path.of(args[++i]);
        case "--trace" -> userTraces.add(Path.of(args[++i]));
        case "--threads" -> threads = Arrays.stream(args[++i].split(",")).mapToInt(Integer::parseInt).toArray();
        default -> throw new IllegalArgumentException("unknown option: " + args[i]);
      }
    }
    Files.createDirectories(out);
    Gson gson = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();
    writeEnvironment(out, settings, threads, args, gson);

    long start = System.nanoTime();
    log("Throughput (JMH) -> " + out.resolve("jmh.json"));
    Collection<RunResult> results = runJmh(settings, threads);
    List<String> failed = missingRuns(settings, threads, results);
    if (!failed.isEmpty()) {
      log("Runs that produced no result (see the JMH output above): " + failed);
      JsonObject env = gson.fromJson(Files.readString(out.resolve("env.json")), JsonObject.class);
      env.add("failedRuns", gson.toJsonTree(failed));
      Files.writeString(out.resolve("env.json"), gson.toJson(env), StandardCharsets.UTF_8);
    }
    try (PrintStream json = new PrintStream(Files.newOutputStream(out.resolve("jmh.json")), true,
        StandardCharsets.UTF_8)) {
      ResultFormatFactory.getInstance(ResultFormatType.JSON, json).writeOut(results);
    }

    log("Memory per entry (JOL) -> " + out.resolve("memory.json"));
    List<MemoryFootprint.Row> memory = new ArrayList<>();
    for (Shape shape : settings.memoryShapes()) {
      int[] sizes = Arrays.stream(settings.memorySizes())
          .filter(n -> (n <= (1 << 16)) || settings.walkLarge(shape)).toArray();
      memory.addAll(MemoryFootprint.measure(List.of(shape), sizes));
    }
    Files.writeString(out.resolve("memory.json"), gson.toJson(memory), StandardCharsets.UTF_8);

    log("Hit rates -> " + out.resolve("hitrate.json"));
    List<HitRateSimulator.Row> hitRates = new ArrayList<>();
    for (Trace trace : traces(settings, traces, userTraces)) {
      log("  replaying " + trace.name() + " (" + trace.keys().length + " accesses)");
      hitRates.addAll(HitRateSimulator.simulate(trace));
    }
    Files.writeString(out.resolve("hitrate.json"), gson.toJson(hitRates), StandardCharsets.UTF_8);

    Report report = new Report(out);
    report.write(out.resolve("summary.md"));
    System.out.println(report.consoleTables());
    log(String.format(Locale.ROOT, "Done in %.1f min. Results, charts and summary.md are in %s",
        (System.nanoTime() - start) / 60e9, out));
    if (failed.stream().anyMatch(run -> run.startsWith(Impl.HOURGLASS.name()))) {
      log("FAILED: a Hourglass benchmark produced no result");
      System.exit(1);
    }
  }

  /** The runs that were planned but produced no result (an anchor may fail; Hourglass must not). */
  static List<String> missingRuns(Settings settings, int[] threads, Collection<RunResult> results) {
    java.util.Set<String> done = new java.util.HashSet<>();
    for (RunResult r : results) {
      var params = r.getParams();
      String bench = params.getBenchmark();
      String shape = bench.contains("Throughput") ? params.getParam("shape") : "-";
      done.add(params.getParam("impl") + " " + bench.substring(bench.lastIndexOf('.') + 1) + " "
          + shape + " " + params.getThreads() + "t");
    }
    List<String> missing = new ArrayList<>();
    for (int t : threads) {
      for (Impl impl : Impl.values()) {
        for (Shape shape : settings.shapes()) {
          if (impl.supports(shape)) {
            for (String workload : settings.workloads()) {
              missing.add(impl.name() + " " + workload + " " + shape.name() + " " + t + "t");
            }
          }
        }
        missing.add(impl.name() + " loadMiss - " + t + "t");
        missing.add(impl.name() + " writeTtl - " + t + "t");
        if (impl != Impl.CHM) { // ConcurrentHashMap neither refreshes nor has futures
          missing.add(impl.name() + " refreshRead - " + t + "t");
        }
        if ((impl == Impl.HOURGLASS) || (impl == Impl.CAFFEINE)) {
          missing.add(impl.name() + " asyncGet - " + t + "t");
        }
      }
    }
    missing.removeIf(done::contains);
    return missing;
  }

  static Collection<RunResult> runJmh(Settings settings, int[] threads) throws RunnerException {
    List<RunResult> results = new ArrayList<>();
    String workloads = String.join("|", settings.workloads());
    for (int t : threads) {
      for (Shape shape : settings.shapes()) {
        List<String> impls = new ArrayList<>();
        for (Impl impl : Impl.values()) {
          if (impl.supports(shape)) {
            impls.add(impl.name());
          }
        }
        ChainedOptionsBuilder options = base(settings, t)
            .include(ThroughputBenchmark.class.getName() + "\\.(" + workloads + ")$")
            .param("shape", shape.name())
            .param("impl", impls.toArray(new String[0]));
        results.addAll(new Runner(options.build()).run());
      }
      results.addAll(new Runner(base(settings, t)
          .include(LoadingMissBenchmark.class.getName() + "\\.").build()).run());
      results.addAll(new Runner(base(settings, t)
          .include(TtlWriteBenchmark.class.getName() + "\\.").build()).run());
      results.addAll(new Runner(base(settings, t)
          .include(RefreshBenchmark.class.getName() + "\\.").build()).run());
      results.addAll(new Runner(base(settings, t)
          .include(AsyncBenchmark.class.getName() + "\\.").build()).run());
    }
    return results;
  }

  private static ChainedOptionsBuilder base(Settings settings, int threads) {
    return new OptionsBuilder()
        .forks(1)
        .threads(threads)
        .warmupIterations(settings.warmups())
        .warmupTime(settings.warmupTime())
        .measurementIterations(settings.iterations())
        .measurementTime(settings.iterationTime())
        .jvmArgsAppend("-Xms1g", "-Xmx1g")
        .addProfiler(GCProfiler.class)
        .shouldFailOnError(false); // an anchor may fail (see missingRuns); the rest goes on
  }

  static List<Trace> traces(Settings settings, Path dir, List<Path> userTraces) throws IOException {
    List<Trace> traces = new ArrayList<>();
    List<String> real = new ArrayList<>(List.of("cache2k-web07.i32be.gz", "cache2k-web12.i32be.gz"));
    if (settings.orm()) {
      real.addAll(List.of("cache2k-orm-busy.i32be.gz", "cache2k-orm-night.i32be.gz"));
    }
    if (settings.mode().equals("ci")) {
      real = List.of("cache2k-web07.i32be.gz");
    }
    for (String name : real) {
      Path file = dir.resolve(name);
      Path shipped = Path.of("cache-bench", "traces", name);
      if (Files.exists(file)) {
        traces.add(Trace.cache2k(file));
      } else if (Files.exists(shipped)) {
        traces.add(Trace.cache2k(shipped));
      } else {
        log("  (skipping " + name + ": not in " + dir + "; pass --traces DIR)");
      }
    }
    int events = settings.syntheticEvents();
    traces.add(Trace.zipf(0.8, 100_000, events, 1));
    traces.add(Trace.zipf(0.99, 100_000, events, 2));
    traces.add(Trace.scans(events, 3));
    traces.add(Trace.loop(events));
    traces.add(Trace.phases(events)); // frequency-heavy, then recency-heavy, then back
    for (Path file : userTraces) {
      traces.add(Trace.text(file, null));
    }
    return traces;
  }

  static void writeEnvironment(Path out, Settings settings, int[] threads, String[] args, Gson gson)
      throws IOException {
    JsonObject env = new JsonObject();
    env.addProperty("date", ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ISO_INSTANT));
    env.addProperty("mode", settings.mode());
    String command = System.getenv("HOURGLASS_BENCH_COMMAND");
    env.addProperty("command", (command != null) ? command
        : "java -cp benchmarks.jar " + BenchMain.class.getName() + " " + String.join(" ", args));
    env.addProperty("jdk", System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")");
    env.addProperty("vm", System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version")
        + ", heap args " + ManagementFactory.getRuntimeMXBean().getInputArguments());
    env.addProperty("cpu", cpuModel());
    env.addProperty("cores", Integer.toString(Runtime.getRuntime().availableProcessors()));
    env.addProperty("os", System.getProperty("os.name") + " " + System.getProperty("os.version")
        + " " + System.getProperty("os.arch"));
    env.addProperty("jmh", String.format(Locale.ROOT,
        "1 fork, %d warmup x %s, %d measurement x %s, threads %s, -prof gc",
        settings.warmups(), settings.warmupTime(), settings.iterations(), settings.iterationTime(),
        Arrays.toString(threads)));
    Files.writeString(out.resolve("env.json"), gson.toJson(env), StandardCharsets.UTF_8);
  }

  static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux: fall through
    }
    return System.getProperty("os.arch");
  }

  private static void log(String message) {
    System.out.println("[hourglass-bench] " + message);
  }
}
