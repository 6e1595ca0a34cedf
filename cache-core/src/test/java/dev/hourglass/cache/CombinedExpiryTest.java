package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.RecordingListener.Removal;
import dev.hourglass.cache.internal.Invariants;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * expireAfterWrite together with expireAfterAccess: an entry expires at whichever deadline comes
 * first, exactly to readers, and leaves memory promptly. Fake ticker, manual scheduler.
 */
final class CombinedExpiryTest {
  private static final Duration WRITE = Duration.ofMinutes(10);
  private static final Duration ACCESS = Duration.ofMinutes(3);
  /** How late an idle deadline may be: min(1 ms, idle time / 64), never early. */
  private static final Duration TOLERANCE = Duration.ofMillis(1);

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler();
  private final RecordingListener<String, String> listener = new RecordingListener<>();

  static Stream<String> shapes() {
    return Stream.of("unbounded", "size", "weight");
  }

  private Cache<String, String> build(String shape, Duration write, Duration access) {
    CacheBuilder<String, String> b = Hourglass.newBuilder().ticker(ticker).scheduler(scheduler)
        .executor(Runnable::run).removalListener(listener)
        .expireAfterWrite(write).expireAfterAccess(access);
    if (shape.equals("size")) {
      b.maximumSize(1_000);
    } else if (shape.equals("weight")) {
      b.maximumWeight(1_000).weigher((String k, String v) -> v.length());
    }
    return b.build();
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void readsExtendTheIdleTime_neverPastTheTimeToLive(String shape) throws Exception {
    Cache<String, String> cache = build(shape, WRITE, ACCESS);
    cache.put("read", "1");
    cache.put("idle", "2");
    for (int i = 0; i < 4; i++) { // read every 2 minutes: at 2, 4, 6, 8
      ticker.advance(Duration.ofMinutes(2));
      assertThat(cache.getIfPresent("read")).as("minute %d", 2 * (i + 1)).isEqualTo("1");
    }
    assertThat(cache.getIfPresent("idle")).as("idle since 0, gone at 3").isNull();
    ticker.advance(Duration.ofMinutes(2).minusNanos(1)); // just before 10: the write's deadline
    assertThat(cache.getIfPresent("read")).isEqualTo("1");
    ticker.advanceNanos(1);
    assertThat(cache.getIfPresent("read")).as("read at 8, but written at 0").isNull();
    scheduler.runAll();
    assertThat(cache.estimatedSize()).isZero();
    assertThat(listener.withCause(RemovalCause.EXPIRED)).extracting(Removal::key)
        .containsExactlyInAnyOrder("read", "idle");
    Invariants.check(cache);
  }

  @ParameterizedTest
  @MethodSource("shapes")
  void idleDeadline_isNeverEarly_andLateByTheToleranceAtMost(String shape) throws Exception {
    Cache<String, String> cache = build(shape, WRITE, ACCESS);
    cache.put("k", "v");
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.getIfPresent("k")).isEqualTo("v"); // idle until 4 at the earliest
    ticker.advance(ACCESS.minusNanos(1));
    assertThat(cache.asMap().containsKey("k")).isTrue();
    ticker.advance(TOLERANCE.plusNanos(1));
    assertThat(cache.getIfPresent("k")).isNull();
    Invariants.check(cache);
  }

  @Test
  void idleTimeLongerThanTimeToLive_readsExtendNothing() throws Exception {
    Cache<String, String> cache = build("size", ACCESS, WRITE); // live 3, idle 10
    cache.put("k", "v");
    for (int i = 0; i < 5; i++) {
      ticker.advance(Duration.ofSeconds(35));
      assertThat(cache.getIfPresent("k")).isEqualTo("v");
    }
    ticker.advance(ACCESS.minus(Duration.ofSeconds(35 * 5)).minusNanos(1));
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.advanceNanos(1);
    assertThat(cache.getIfPresent("k")).isNull();
    Invariants.check(cache);
  }

  @Test
  void writeRestartsBothDeadlines() throws Exception {
    Cache<String, String> cache = build("unbounded", WRITE, ACCESS);
    cache.put("k", "1");
    ticker.advance(Duration.ofMinutes(2));
    cache.getIfPresent("k"); // idle until 5
    ticker.advance(Duration.ofMinutes(2));
    cache.put("k", "2"); // written at 4: live until 14, idle until 7
    ticker.advance(Duration.ofMinutes(2));
    cache.getIfPresent("k"); // idle until 9
    ticker.advance(Duration.ofMinutes(2));
    cache.getIfPresent("k"); // 8: idle until 11
    ticker.advance(Duration.ofMinutes(2));
    cache.getIfPresent("k"); // 10: idle until 13
    ticker.advance(Duration.ofMinutes(2));
    cache.getIfPresent("k"); // 12: capped at 14
    ticker.advance(Duration.ofMinutes(2).minusNanos(1));
    assertThat(cache.getIfPresent("k")).isEqualTo("2");
    ticker.advanceNanos(1);
    assertThat(cache.getIfPresent("k")).isNull();
    Invariants.check(cache);
  }

  @Test
  void ownTimeToLive_overridesBoth_andReadsDoNotExtendIt() throws Exception {
    Cache<String, String> cache = build("size", WRITE, ACCESS);
    cache.put("k", "v", Duration.ofMinutes(20));
    ticker.advance(Duration.ofMinutes(15));
    assertThat(cache.getIfPresent("k")).as("neither the idle nor the live time applies")
        .isEqualTo("v");
    ticker.advance(Duration.ofMinutes(5));
    assertThat(cache.getIfPresent("k")).isNull();
    Invariants.check(cache);
  }

  @Test
  void tickerGoingBackwards_keepsDeadlinesExact() throws Exception {
    Cache<String, String> cache = build("size", WRITE, ACCESS);
    ticker.set(Duration.ofHours(1).toNanos());
    cache.put("k", "v"); // live until 1h10, idle until 1h03
    ticker.set(0); // back an hour: a read now extends the idle time, never past 1h10
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.set(Duration.ofHours(1).plus(Duration.ofMinutes(2)).toNanos());
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    ticker.set(Duration.ofHours(1).plus(WRITE).toNanos());
    assertThat(cache.getIfPresent("k")).isNull();
    Invariants.check(cache);
  }

  @Test
  void loadsAndComputes_followBothDeadlines() throws Exception {
    LoadingCache<String, String> cache = Hourglass.newBuilder().ticker(ticker)
        .scheduler(scheduler).executor(Runnable::run).expireAfterWrite(WRITE)
        .expireAfterAccess(ACCESS).maximumSize(100).<String, String>build(k -> "loaded");
    assertThat(cache.get("k")).isEqualTo("loaded");
    cache.asMap().compute("c", (k, v) -> "computed");
    for (int i = 0; i < 4; i++) {
      ticker.advance(Duration.ofMinutes(2));
      assertThat(cache.getIfPresent("k")).isEqualTo("loaded");
      assertThat(cache.getIfPresent("c")).isEqualTo("computed");
    }
    ticker.advance(Duration.ofMinutes(2));
    assertThat(cache.getIfPresent("k")).isNull();
    assertThat(cache.getIfPresent("c")).isNull();
    Invariants.check(cache);
  }
}
