package dev.hourglass.cache.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

final class RegressionCheckTest {

  private static Path resource(String name) throws URISyntaxException {
    return Path.of(RegressionCheckTest.class.getResource("/regression/" + name).toURI());
  }

  @Test
  void slowerMachine_sameRatios_passes() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int status = RegressionCheck.run(resource("baseline.json"), resource("current-ok.json"), 0.10,
        new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(status).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("0 of 2 ratios");
  }

  @Test
  void ratioDrop_beyondTolerance_fails() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int status = RegressionCheck.run(resource("baseline.json"), resource("current-regressed.json"),
        0.10, new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(status).isEqualTo(1);
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("write | SIZE | 2").contains("REGRESSED").contains("1 of 2 ratios");
  }

  @Test
  void ratioDrop_withinTolerance_passes() throws Exception {
    // write falls from 0.40 to 0.25 of ConcurrentHashMap: a 37.5% drop, tolerated at 40%.
    int status = RegressionCheck.run(resource("baseline.json"), resource("current-regressed.json"),
        0.40, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertThat(status).isZero();
  }

  @Test
  void nothingComparable_isAnError() throws Exception {
    int status = RegressionCheck.run(resource("baseline.json"), resource("baseline.json"), 0.1,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertThat(status).isZero(); // identical files: comparable and unchanged
    assertThatThrownBy(() -> RegressionCheck.run(resource("baseline.json"),
        resource("baseline.json"), 1.5, System.out))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tolerance");
  }
}
