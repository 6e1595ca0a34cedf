package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The README's quick start, verbatim, so that it always compiles and works. */
final class ReadmeExampleTest {

  @Test
  void quickStart() {
    Cache<String, String> cache = Hourglass.newBuilder()
        .maximumSize(10_000)
        .expireAfterWrite(Duration.ofMinutes(5))
        .recordStats()
        .build();

    cache.put("greeting", "hello");
    cache.put("session", "token", Duration.ofSeconds(30));        // this entry only: 30 s
    String value = cache.get("answer", key -> "42");               // computed once, even under races

    LoadingCache<Integer, String> squares = Hourglass.newBuilder()
        .maximumSize(1_000)
        .build(key -> Integer.toString(key * key));
    String nine = squares.get(3);

    assertThat(cache.getIfPresent("greeting")).isEqualTo("hello");
    assertThat(cache.getIfPresent("session")).isEqualTo("token");
    assertThat(value).isEqualTo("42");
    assertThat(nine).isEqualTo("9");
    assertThat(cache.stats().missCount()).isEqualTo(1);
  }
}
