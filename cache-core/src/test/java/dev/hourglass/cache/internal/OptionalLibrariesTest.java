package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The optional integrations stay optional: in a fresh JVM that has only {@code cache-core} and
 * JCTools, on the module path and on the class path, the core works and the integrations'
 * libraries are absent; with a library beside it, its integration works (JCache found by name
 * on the module path and by the service loader on the class path; the Micrometer binder).
 *
 * <p>Each case runs a one-file program with the {@code java} launcher of the running JDK, on
 * exactly the jars it names, and checks its exit status and output.
 */
class OptionalLibrariesTest {
  @TempDir
  Path dir;

  private static final String CORE_PROBE = String.join("\n",
      "import dev.hourglass.cache.*;",
      "import java.time.Duration;",
      "public class Probe {",
      "  public static void main(String[] args) throws Exception {",
      "    Cache<String, Integer> cache = Hourglass.from(\"maximumSize=100,expireAfterWrite=1m,recordStats\")",
      "        .executor(Runnable::run).build();",
      "    for (int i = 0; i < 1000; i++) { cache.put(\"k\" + i, i); }",
      "    cache.cleanUp();",
      "    LoadingCache<String, Integer> loading = Hourglass.newBuilder().build(String::length);",
      "    int loaded = loading.get(\"four\");",
      "    AsyncCache<String, Integer> asyncCache = Hourglass.newBuilder().buildAsync();",
      "    int async = asyncCache.get(\"k\", k -> 7).get();",
      "    for (String absent : new String[] {\"javax.cache.Cache\", \"io.micrometer.core.instrument.MeterRegistry\"}) {",
      "      try { Class.forName(absent); throw new AssertionError(absent + \" is present\"); }",
      "      catch (ClassNotFoundException expected) { }",
      "    }",
      "    System.out.println(\"size=\" + cache.estimatedSize() + \" loaded=\" + loaded + \" async=\" + async",
      "        + \" module=\" + Cache.class.getModule().isNamed());",
      "  }",
      "}");

  private static final String JCACHE_PROBE = String.join("\n",
      "import javax.cache.*;",
      "import javax.cache.configuration.MutableConfiguration;",
      "import javax.cache.spi.CachingProvider;",
      "public class Probe {",
      "  public static void main(String[] args) {",
      "    CachingProvider provider = args[0].equals(\"byName\")",
      "        ? Caching.getCachingProvider(\"dev.hourglass.cache.jcache.HourglassCachingProvider\")",
      "        : Caching.getCachingProvider();",
      "    Cache<String, Integer> cache = provider.getCacheManager().createCache(\"c\",",
      "        new MutableConfiguration<String, Integer>().setTypes(String.class, Integer.class)",
      "            .setStatisticsEnabled(true).setManagementEnabled(true));",
      "    cache.put(\"a\", 1);",
      "    System.out.println(provider.getClass().getSimpleName() + \" get=\" + cache.get(\"a\")",
      "        + \" module=\" + provider.getClass().getModule().isNamed());",
      "    provider.close();",
      "  }",
      "}");

  private static final String MICROMETER_PROBE = String.join("\n",
      "import dev.hourglass.cache.*;",
      "import dev.hourglass.cache.micrometer.HourglassCacheMetrics;",
      "import io.micrometer.core.instrument.simple.SimpleMeterRegistry;",
      "public class Probe {",
      "  public static void main(String[] args) {",
      "    SimpleMeterRegistry registry = new SimpleMeterRegistry();",
      "    Cache<String, Integer> cache = HourglassCacheMetrics.monitor(registry,",
      "        Hourglass.newBuilder().recordStats().<String, Integer>build(), \"c\");",
      "    cache.put(\"a\", 1);",
      "    cache.getIfPresent(\"a\");",
      "    System.out.println(\"hits=\" + registry.get(\"cache.gets\").tag(\"result\", \"hit\")",
      "        .functionCounter().count());",
      "  }",
      "}");

  @Test
  void core_onTheModulePath_withNoOptionalLibrary() throws Exception {
    String out = run(CORE_PROBE, true, core(), "dev.hourglass.cache");
    assertThat(out).contains("size=100 loaded=4 async=7 module=true");
  }

  @Test
  void core_onTheClassPath_withNoOptionalLibrary() throws Exception {
    String out = run(CORE_PROBE, false, core(), null);
    assertThat(out).contains("size=100 loaded=4 async=7 module=false");
  }

  @Test
  void jcache_onTheModulePath_isFoundByName() throws Exception {
    Set<Path> path = core();
    path.add(jarOf("javax.cache.Caching"));
    String out = run(JCACHE_PROBE, true, path, "dev.hourglass.cache,cache.api,java.management",
        "byName");
    assertThat(out).contains("HourglassCachingProvider get=1 module=true");
  }

  @Test
  void jcache_onTheClassPath_isFoundByTheServiceLoader() throws Exception {
    Set<Path> path = core();
    path.add(jarOf("javax.cache.Caching"));
    String out = run(JCACHE_PROBE, false, path, null, "serviceLoader");
    assertThat(out).contains("HourglassCachingProvider get=1 module=false");
  }

  @Test
  void micrometer_onTheModulePath_andTheClassPath() throws Exception {
    Set<Path> path = core();
    for (String type : new String[] {"io.micrometer.core.instrument.MeterRegistry",
        "io.micrometer.common.KeyValue", "io.micrometer.observation.Observation",
        "org.HdrHistogram.Histogram", "org.jspecify.annotations.Nullable"}) {
      path.add(jarOf(type));
    }
    assertThat(run(MICROMETER_PROBE, true, path, "dev.hourglass.cache,micrometer.core"))
        .contains("hits=1.0");
    assertThat(run(MICROMETER_PROBE, false, path, null)).contains("hits=1.0");
  }

  /** cache-core's classes and JCTools, nothing else. */
  private static Set<Path> core() throws URISyntaxException {
    Set<Path> path = new LinkedHashSet<>();
    path.add(jarOf("dev.hourglass.cache.internal.StripedCache"));
    path.add(jarOf("org.jctools.queues.MpscArrayQueue"));
    return path;
  }

  private static Path jarOf(String className) throws URISyntaxException {
    try {
      // Loaded, not initialized: a class's static set-up may be what the JVM forbids (JCTools'
      // Unsafe queues under --sun-misc-unsafe-memory-access=deny), and only its jar is wanted.
      return Path.of(Class.forName(className, false, OptionalLibrariesTest.class.getClassLoader())
          .getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (ClassNotFoundException e) {
      throw new AssertionError(className + " is not on the test's path", e);
    }
  }

  private String run(String source, boolean modulePath, Set<Path> path, String addModules,
      String... args) throws IOException, InterruptedException {
    Path file = dir.resolve("Probe.java");
    Files.writeString(file, source);
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    String joined = path.stream().map(Path::toString)
        .collect(Collectors.joining(java.io.File.pathSeparator));
    if (modulePath) {
      command.add("--module-path");
      command.add(joined);
      command.add("--add-modules");
      command.add(addModules);
    } else {
      command.add("--class-path");
      command.add(joined);
    }
    command.add(file.toString());
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    boolean exited = process.waitFor(120, TimeUnit.SECONDS);
    if (!exited) {
      process.destroyForcibly();
    }
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(exited).as("the probe ended; it printed:%n%s", out).isTrue();
    assertThat(process.exitValue()).as("exit status of %s; it printed:%n%s", command, out)
        .isZero();
    return out;
  }
}
