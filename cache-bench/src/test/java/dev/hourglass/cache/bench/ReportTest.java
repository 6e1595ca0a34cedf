package dev.hourglass.cache.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.Gson;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class ReportTest {

  @Test
  void report_tablesAndChartsComeFromTheJson(@TempDir Path dir) throws Exception {
    Path source = Path.of(ReportTest.class.getResource("/regression/baseline.json").toURI());
    Files.copy(source, dir.resolve("jmh.json"));
    Gson gson = new Gson();
    Files.writeString(dir.resolve("memory.json"), gson.toJson(List.of(
        new MemoryFootprint.Row("Hourglass", "size", 65_536, 80.25, 5_300_000))), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("hitrate.json"), gson.toJson(List.of(
        new HitRateSimulator.Row("web", "src", 10, 5, 100, "Hourglass", 0.5),
        new HitRateSimulator.Row("web", "src", 10, 5, 100, "OPT", 0.75))), StandardCharsets.UTF_8);

    Report report = new Report(dir); // not Report.main: its console tables would look like real results in CI logs
    report.write(dir.resolve("summary.md"));
    assertThat(report.consoleTables()).contains("30.00M");

    String md = Files.readString(dir.resolve("summary.md"));
    assertThat(md).contains("| read | size | 2 | 30.00M | 25.00M | n/a | 100.00M | 1.20 | n/a | 0.30 |");
    assertThat(md).contains("| Hourglass | size | 80.3 |");
    assertThat(md).contains("| 100 | 50.00% | 75.00% |");
    assertThat(md).contains("leads in 1");
    assertThat(Files.readString(dir.resolve("throughput.svg"))).startsWith("<svg");
    assertThat(dir.resolve("hitrate-web.svg")).exists();
  }
}
