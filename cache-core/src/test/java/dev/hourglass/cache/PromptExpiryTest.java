package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Real time is the point here: with the default shared cleaner and the system ticker, expired
 * entries leave memory and their listeners hear EXPIRED without any thread touching the cache.
 * The waits are generous upper bounds against a hang; nothing asserts how fast it was.
 */
@Tag("realtime")
final class PromptExpiryTest {

  @Test
  void sharedCleaner_removesExpiredEntriesWithoutAnyAccess() throws Exception {
    int entries = 1_000;
    CountDownLatch expired = new CountDownLatch(entries);
    ConcurrentHashMap<String, RemovalCause> causes = new ConcurrentHashMap<>();
    Cache<String, String> cache = Hourglass.newBuilder()
        .expireAfterWrite(Duration.ofMillis(200))
        .removalListener((String k, String v, RemovalCause cause) -> {
          causes.put(k, cause);
          expired.countDown();
        })
        .build();
    for (int i = 0; i < entries; i++) {
      cache.put("k" + i, "v");
    }
    // No reads, no writes, no cleanUp from here on: only the hourglass-cleaner thread acts.
    assertThat(expired.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(causes).hasSize(entries).allSatisfy((k, c) -> assertThat(c).isEqualTo(RemovalCause.EXPIRED));
    assertThat(cache.estimatedSize()).isZero();
    assertThat(Thread.getAllStackTraces().keySet())
        .anySatisfy(t -> {
          assertThat(t.getName()).startsWith("hourglass-cleaner-worker-");
          assertThat(t.isDaemon()).isTrue();
        });
  }

  @Test
  void sharedCleaner_perEntryTtl_inACacheWithoutExpiry() throws Exception {
    CountDownLatch expired = new CountDownLatch(1);
    Cache<String, String> cache = Hourglass.newBuilder()
        .removalListener((String k, String v, RemovalCause cause) -> {
          if (cause == RemovalCause.EXPIRED) {
            expired.countDown();
          }
        })
        .build();
    cache.put("session", "token", Duration.ofMillis(100));
    cache.put("kept", "forever");
    assertThat(expired.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(cache.estimatedSize()).isEqualTo(1);
  }
}
