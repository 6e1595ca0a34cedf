package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleReader;
import java.lang.module.ModuleReference;
import java.lang.module.ResolvedModule;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The packaging promises: the API package and the optional integrations (JCache, Micrometer)
 * exported, one runtime dependency, two public types in the implementation package, no import
 * circle between the packages, no Unsafe memory access.
 */
final class ModuleTest {

  @Test
  void module_exportsTheApiAndTheOptionalIntegrations() {
    ModuleDescriptor descriptor = StripedCache.class.getModule().getDescriptor();
    assertThat(descriptor).as("tests run on the module path").isNotNull();
    assertThat(descriptor.exports()).extracting(ModuleDescriptor.Exports::source)
        .containsExactlyInAnyOrder("dev.hourglass.cache", "dev.hourglass.cache.jcache",
            "dev.hourglass.cache.micrometer");
    assertThat(descriptor.requires().stream()
        .filter(r -> !r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC))
        .map(ModuleDescriptor.Requires::name)
        .filter(name -> !name.equals("java.base")).collect(Collectors.toList()))
        .as("modules needed at run time").containsExactly("org.jctools.core");
    assertThat(descriptor.requires().stream()
        .filter(r -> r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC))
        .map(ModuleDescriptor.Requires::name).collect(Collectors.toList()))
        .as("compile-time only: @GuardedBy (class retention) and the optional integrations")
        .containsExactlyInAnyOrder("com.google.errorprone.annotations", "cache.api",
            "java.management", "micrometer.core");
  }

  /**
   * The implementation package's public types are the builder's way in and the spec parser (for
   * Hourglass.from and the JCache provider); the rest is hidden.
   */
  @Test
  void implementationPackage_hasOnlyTheTwoPublicTypes() throws Exception {
    ModuleReference reference = ModuleLayer.boot().configuration()
        .findModule("dev.hourglass.cache").map(ResolvedModule::reference)
        .orElseGet(() -> StripedCache.class.getModule().getLayer().configuration()
            .findModule("dev.hourglass.cache").orElseThrow().reference());
    List<String> publicTypes = new ArrayList<>();
    int types = 0;
    try (ModuleReader reader = reference.open()) {
      for (String name : reader.list().collect(Collectors.toList())) {
        if (name.startsWith("dev/hourglass/cache/internal/") && name.endsWith(".class")
            && !name.equals("dev/hourglass/cache/internal/package-info.class")) {
          Class<?> type = Class.forName(name.replace('/', '.').replace(".class", ""));
          if (type.getProtectionDomain().getCodeSource().getLocation().getPath()
              .contains("test-classes")) {
            continue; // the tests are patched into the module; only the jar's types count
          }
          types++;
          if (isAccessibleOutside(type)) {
            publicTypes.add(type.getSimpleName());
          }
        }
      }
    }
    assertThat(types).as("classes found in the package").isGreaterThan(10);
    assertThat(publicTypes).containsExactlyInAnyOrder("CacheSpec", "SpecString");
  }

  /** Public, and nested (if at all) only in public types. */
  private static boolean isAccessibleOutside(Class<?> type) {
    for (Class<?> t = type; t != null; t = t.getEnclosingClass()) {
      if (!Modifier.isPublic(t.getModifiers())) {
        return false;
      }
    }
    return true;
  }

  /**
   * No two classes of different packages import each other: the API imports one type of the
   * implementation (the builder's {@code CacheSpec}), which imports no API type that imports it;
   * the Micrometer binder imports the API only. Read from the sources, which the build runs the
   * tests beside.
   */
  @Test
  void packages_haveNoImportCircle() throws IOException {
    Path root = Path.of("src/main/java/dev/hourglass/cache");
    assumeTrue(Files.isDirectory(root), "the sources are beside the tests");
    Map<String, Set<String>> imports = new HashMap<>();
    List<Path> sources;
    try (Stream<Path> files = Files.walk(root)) {
      sources = files.filter(f -> f.toString().endsWith(".java")).collect(Collectors.toList());
    }
    Pattern ownImport = Pattern.compile(
        "^import (dev\\.hourglass\\.cache(?:\\.internal|\\.jcache|\\.micrometer)?\\.\\w+);",
        Pattern.MULTILINE);
    for (Path source : sources) {
      String text = Files.readString(source);
      Path relative = root.relativize(source);
      String pkg = (relative.getNameCount() > 1)
          ? "dev.hourglass.cache." + relative.getName(0) + "." : "dev.hourglass.cache.";
      String name = pkg + source.getFileName().toString().replace(".java", "");
      Set<String> targets = new HashSet<>();
      Matcher m = ownImport.matcher(text);
      while (m.find()) {
        targets.add(m.group(1));
      }
      imports.put(name, targets);
      if (!pkg.equals("dev.hourglass.cache.internal.")) {
        assertThat(text.replaceAll("(?m)^import .*$", ""))
            .as("%s names an implementation type without importing it", name)
            .doesNotContain("dev.hourglass.cache.internal.");
      }
    }
    List<String> apiToInternal = new ArrayList<>();
    List<String> coreToIntegrations = new ArrayList<>();
    imports.forEach((from, targets) -> {
      for (String to : targets) {
        if (!from.contains(".internal.") && to.contains(".internal.")) {
          apiToInternal.add(from + " -> " + to);
        }
        boolean fromIntegration = from.contains(".micrometer.") || from.contains(".jcache.");
        if (!fromIntegration && (to.contains(".micrometer.") || to.contains(".jcache."))) {
          coreToIntegrations.add(from + " -> " + to);
        }
        assertThat(imports.getOrDefault(to, Set.of())).as("%s and %s import each other", from, to)
            .doesNotContain(from);
      }
    });
    assertThat(apiToInternal).containsExactlyInAnyOrder(
        "dev.hourglass.cache.CacheBuilder -> dev.hourglass.cache.internal.CacheSpec",
        "dev.hourglass.cache.Hourglass -> dev.hourglass.cache.internal.SpecString",
        "dev.hourglass.cache.jcache.HourglassConfiguration"
            + " -> dev.hourglass.cache.internal.SpecString",
        "dev.hourglass.cache.jcache.JCache -> dev.hourglass.cache.internal.SpecString",
        "dev.hourglass.cache.jcache.JCacheManager -> dev.hourglass.cache.internal.SpecString");
    assertThat(imports).as("the binder is among the sources read")
        .containsKey("dev.hourglass.cache.micrometer.HourglassCacheMetrics");
    assertThat(imports).as("the JCache provider is among the sources read")
        .containsKey("dev.hourglass.cache.jcache.HourglassCachingProvider");
    assertThat(coreToIntegrations).as("the core never needs an optional integration").isEmpty();
  }

  /**
   * On JDK 23+ the build runs the tests with {@code --sun-misc-unsafe-memory-access=deny}; this
   * shows the flag is really in force, so the rest of the suite passing proves that neither
   * Hourglass nor the JCTools queues it uses touch Unsafe memory access.
   */
  @Test
  void unsafeMemoryAccess_isDeniedOnJdk23Plus() throws Exception {
    assumeTrue(Runtime.version().feature() >= 23, "the flag exists from JDK 23 on");
    assertThat(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
        .contains("--sun-misc-unsafe-memory-access=deny");
    Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
    Field field = unsafeClass.getDeclaredField("theUnsafe");
    field.setAccessible(true);
    Object unsafe = field.get(null);
    Method offset = unsafeClass.getMethod("objectFieldOffset", Field.class);
    Field probe = Node.class.getDeclaredField("hash");
    assertThatThrownBy(() -> offset.invoke(unsafe, probe))
        .isInstanceOf(InvocationTargetException.class)
        .hasCauseInstanceOf(UnsupportedOperationException.class);
  }
}
