package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The small API helpers: ticker, weigher, expiry factories, schedulers, logging. */
final class ApiFactoriesTest {

  @Test
  void systemTicker_readsNanoTime() {
    long before = System.nanoTime();
    long read = Ticker.systemTicker().read();
    long after = System.nanoTime();
    assertThat(read - before).isGreaterThanOrEqualTo(0);
    assertThat(after - read).isGreaterThanOrEqualTo(0);
    assertThat(Ticker.systemTicker()).isSameAs(Ticker.systemTicker());
  }

  @Test
  void singletonWeigher_weighsOne() {
    Weigher<String, String> weigher = Weigher.singletonWeigher();
    assertThat(weigher.weigh("a", "bbbb")).isEqualTo(1);
    Cache<String, String> cache = Hourglass.newBuilder().maximumWeight(2)
        .weigher(Weigher.<String, String>singletonWeigher()).executor(Runnable::run).build();
    cache.putAll(java.util.Map.of("a", "1", "b", "2", "c", "3"));
    assertThat(cache.estimatedSize()).isEqualTo(2);
  }

  @Test
  void expiryFactories() {
    FakeTicker ticker = new FakeTicker();
    Cache<String, String> creating = Hourglass.newBuilder().ticker(ticker)
        .scheduler(Scheduler.disabledScheduler())
        .expireAfter(Expiry.creating((String k, String v) -> Duration.ofSeconds(10))).build();
    Cache<String, String> accessing = Hourglass.newBuilder().ticker(ticker)
        .scheduler(Scheduler.disabledScheduler())
        .expireAfter(Expiry.accessing((String k, String v) -> Duration.ofSeconds(10))).build();
    creating.put("a", "1");
    accessing.put("a", "1");
    ticker.advance(Duration.ofSeconds(6));
    creating.put("a", "2"); // creation time kept through updates
    assertThat(accessing.getIfPresent("a")).isEqualTo("1"); // extends to 16 s
    ticker.advance(Duration.ofSeconds(4));
    assertThat(creating.getIfPresent("a")).isNull();
    assertThat(accessing.getIfPresent("a")).isEqualTo("1");
    ticker.advance(Duration.ofSeconds(10));
    assertThat(accessing.getIfPresent("a")).isNull();
  }

  @Test
  void disabledScheduler_returnsADoneFuture() {
    assertThat(Scheduler.disabledScheduler().scheduleWithFixedDelay(() -> { }, Duration.ofSeconds(1)))
        .isDone();
  }

  @Test
  void forScheduledExecutorService_runsTheCleanupThere() throws Exception {
    ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);
    try {
      CountDownLatch expired = new CountDownLatch(1);
      Cache<String, String> cache = Hourglass.newBuilder()
          .scheduler(Scheduler.forScheduledExecutorService(executor))
          .executor(Runnable::run)
          .expireAfterWrite(Duration.ofMillis(50))
          .removalListener((String k, String v, RemovalCause c) -> expired.countDown())
          .build();
      assertThat(executor.getQueue()).hasSize(1);
      cache.put("a", "1");
      assertThat(expired.await(30, TimeUnit.SECONDS)).isTrue(); // a hang guard only
      assertThat(cache.estimatedSize()).isZero();
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void throwingListener_isLoggedThroughSystemLogger() {
    try (CapturedLog log = new CapturedLog()) { // the StripedCache logger, kept out of the build log
      IllegalStateException failure = new IllegalStateException("listener bug");
      Cache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run)
          .removalListener((String k, String v, RemovalCause c) -> { throw failure; }).build();
      cache.put("a", "1");
      cache.invalidate("a");
      List<LogRecord> records = log.records;
      assertThat(records).hasSize(1);
      assertThat(records.get(0).getLevel()).isEqualTo(Level.WARNING);
      assertThat(records.get(0).getThrown()).isSameAs(failure);
      assertThat(records.get(0).getMessage()).contains("a").contains("EXPLICIT")
          .doesNotContain("1"); // never the value
    }
  }

}
