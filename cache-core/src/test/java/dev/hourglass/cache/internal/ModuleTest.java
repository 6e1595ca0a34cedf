package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The packaging promises: one exported package, one dependency, no Unsafe memory access. */
final class ModuleTest {

  @Test
  void module_exportsOnlyTheApiPackage() {
    ModuleDescriptor descriptor = StripedCache.class.getModule().getDescriptor();
    assertThat(descriptor).as("tests run on the module path").isNotNull();
    assertThat(descriptor.exports()).extracting(ModuleDescriptor.Exports::source)
        .containsExactly("dev.hourglass.cache");
    assertThat(descriptor.requires().stream().map(ModuleDescriptor.Requires::name)
        .filter(name -> !name.equals("java.base")).collect(Collectors.toList()))
        .containsExactly("org.jctools.core");
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
