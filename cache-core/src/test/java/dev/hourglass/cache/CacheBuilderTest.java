package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

final class CacheBuilderTest {

  /** A cache built without a loader is a manual cache: it has no get(key) to fail with. */
  @Test
  void build_withoutLoader_isNotALoadingCache() {
    assertThat(Hourglass.newBuilder().build()).isNotInstanceOf(LoadingCache.class);
    assertThat(Hourglass.newBuilder().maximumSize(10).expireAfterWrite(Duration.ofMinutes(1))
        .recordStats().build()).isNotInstanceOf(LoadingCache.class);
    assertThat(Hourglass.newBuilder().expireAfterAccess(Duration.ofMinutes(1)).build())
        .isNotInstanceOf(LoadingCache.class);
    Cache<String, String> manual = Hourglass.newBuilder().build();
    assertThat(manual.get("a", k -> k + "!")).isEqualTo("a!");
    assertThat(manual.getAll(java.util.List.of("b"), keys -> java.util.Map.of("b", "B")))
        .containsEntry("b", "B");
  }

  @Test
  void build_withLoader_isALoadingCache() {
    LoadingCache<String, String> loading = Hourglass.newBuilder().build(k -> k + "?");
    assertThat(loading).isInstanceOf(LoadingCache.class);
    assertThat(loading.get("a")).isEqualTo("a?");
    assertThat(loading.getAll(java.util.List.of("b", "c"))).containsEntry("b", "b?")
        .containsEntry("c", "c?");
  }

  @Test
  void build_defaults() {
    Cache<String, String> cache = Hourglass.newBuilder().build();
    cache.put("a", "1");
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    assertThat(cache.stats()).isEqualTo(CacheStats.empty());
  }

  @Test
  void maximumSize_negative() {
    assertThatThrownBy(() -> Hourglass.newBuilder().maximumSize(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maximumSize must not be negative: -1");
  }

  @Test
  void maximumSize_setTwice() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().maximumSize(100);
    assertThatThrownBy(() -> builder.maximumSize(200))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("maximumSize was already set to 100");
  }

  @Test
  void maximumWeight_negative() {
    assertThatThrownBy(() -> Hourglass.newBuilder().maximumWeight(-5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maximumWeight must not be negative: -5");
  }

  @Test
  void maximumWeight_setTwice() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().maximumWeight(7);
    assertThatThrownBy(() -> builder.maximumWeight(8))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("maximumWeight");
  }

  @Test
  void initialCapacity_negative() {
    assertThatThrownBy(() -> Hourglass.newBuilder().initialCapacity(-3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("initialCapacity must not be negative: -3");
  }

  @Test
  void initialCapacity_setTwice() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().initialCapacity(3);
    assertThatThrownBy(() -> builder.initialCapacity(3))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("initialCapacity");
  }

  @Test
  void concurrencyLevel_notPositive() {
    assertThatThrownBy(() -> Hourglass.newBuilder().concurrencyLevel(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("concurrencyLevel must be positive: 0");
  }

  @Test
  void concurrencyLevel_setTwice() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().concurrencyLevel(4);
    assertThatThrownBy(() -> builder.concurrencyLevel(4))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("concurrencyLevel");
  }

  @Test
  void expireAfterWrite_negative() {
    assertThatThrownBy(() -> Hourglass.newBuilder().expireAfterWrite(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("expireAfterWrite must not be negative: PT-1S");
  }

  @Test
  void expireAfterWrite_null() {
    assertThatThrownBy(() -> Hourglass.newBuilder().expireAfterWrite(null))
        .isInstanceOf(NullPointerException.class).hasMessage("duration");
  }

  @Test
  void expireAfterWrite_setTwice() {
    CacheBuilder<Object, Object> builder =
        Hourglass.newBuilder().expireAfterWrite(Duration.ofSeconds(1));
    assertThatThrownBy(() -> builder.expireAfterWrite(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("expireAfterWrite");
  }

  @Test
  void expireAfterAccess_negative() {
    assertThatThrownBy(() -> Hourglass.newBuilder().expireAfterAccess(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expireAfterAccess must not be negative");
  }

  @Test
  void expireAfterAccess_setTwice() {
    CacheBuilder<Object, Object> builder =
        Hourglass.newBuilder().expireAfterAccess(Duration.ofSeconds(1));
    assertThatThrownBy(() -> builder.expireAfterAccess(Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("expireAfterAccess");
  }

  @Test
  void expireAfter_setTwiceAndNull() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder();
    builder.expireAfter((k, v, now) -> 1);
    assertThatThrownBy(() -> builder.expireAfter((k, v, now) -> 2))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("expireAfter");
    assertThatThrownBy(() -> Hourglass.newBuilder().expireAfter(null))
        .isInstanceOf(NullPointerException.class).hasMessage("expiry");
  }

  @Test
  void weigher_withoutMaximumWeight() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder();
    builder.weigher((k, v) -> 1);
    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class).hasMessage("weigher requires maximumWeight");
  }

  @Test
  void maximumWeight_withoutWeigher() {
    assertThatThrownBy(() -> Hourglass.newBuilder().maximumWeight(10).build())
        .isInstanceOf(IllegalStateException.class).hasMessage("maximumWeight requires a weigher");
  }

  @Test
  void maximumSize_withMaximumWeight() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().maximumSize(10).maximumWeight(10);
    builder.weigher((k, v) -> 1);
    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("maximumSize (10) cannot be combined with maximumWeight (10)");
  }

  @Test
  void expireAfter_withFixedExpiration() {
    CacheBuilder<Object, Object> write = Hourglass.newBuilder().expireAfterWrite(Duration.ofSeconds(1));
    write.expireAfter((k, v, now) -> 1);
    assertThatThrownBy(write::build).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expireAfter cannot be combined with expireAfterWrite");

    CacheBuilder<Object, Object> access = Hourglass.newBuilder().expireAfterAccess(Duration.ofSeconds(1));
    access.expireAfter((k, v, now) -> 1);
    assertThatThrownBy(access::build).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expireAfter cannot be combined with expireAfterAccess");
  }

  @Test
  void expireAfterWrite_withExpireAfterAccess_builds() {
    Cache<Object, Object> cache = Hourglass.newBuilder().expireAfterWrite(Duration.ofSeconds(1))
        .expireAfterAccess(Duration.ofSeconds(1)).build();
    cache.put("k", "v");
    assertThat(cache.getIfPresent("k")).isEqualTo("v"); // CombinedExpiryTest has the semantics
  }

  @Test
  void nullArguments_nameTheParameter() {
    assertThatThrownBy(() -> Hourglass.newBuilder().ticker(null)).hasMessage("ticker");
    assertThatThrownBy(() -> Hourglass.newBuilder().executor(null)).hasMessage("executor");
    assertThatThrownBy(() -> Hourglass.newBuilder().scheduler(null)).hasMessage("scheduler");
    assertThatThrownBy(() -> Hourglass.newBuilder().removalListener(null)).hasMessage("listener");
    assertThatThrownBy(() -> Hourglass.newBuilder().weigher(null)).hasMessage("weigher");
    assertThatThrownBy(() -> Hourglass.newBuilder().build(null)).hasMessage("loader");
  }

  @Test
  void objectProperties_setTwice() {
    Ticker ticker = new FakeTicker();
    assertThatThrownBy(() -> Hourglass.newBuilder().ticker(ticker).ticker(ticker))
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("ticker was already set");
    assertThatThrownBy(() -> Hourglass.newBuilder().executor(Runnable::run).executor(Runnable::run))
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("executor was already set");
    assertThatThrownBy(() -> Hourglass.newBuilder().scheduler(Scheduler.disabledScheduler())
        .scheduler(Scheduler.disabledScheduler()))
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("scheduler was already set");
    assertThatThrownBy(() -> Hourglass.newBuilder().recordStats().recordStats())
        .isInstanceOf(IllegalStateException.class).hasMessage("recordStats was already set");
    CacheBuilder<Object, Object> listener = Hourglass.newBuilder();
    listener.removalListener((k, v, c) -> {});
    assertThatThrownBy(() -> listener.removalListener((k, v, c) -> {}))
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("removalListener");
    CacheBuilder<Object, Object> weigher = Hourglass.newBuilder();
    weigher.weigher((k, v) -> 1);
    assertThatThrownBy(() -> weigher.weigher((k, v) -> 1))
        .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("weigher");
  }

  @Test
  void builder_buildsIndependentCaches() {
    CacheBuilder<Object, Object> builder = Hourglass.newBuilder().maximumSize(10);
    Cache<String, String> first = builder.build();
    Cache<String, String> second = builder.build();
    first.put("k", "v");
    assertThat(second.getIfPresent("k")).isNull();
    assertThat(builder.toString()).contains("maximumSize=10");
  }

  @Test
  void durations_thatOverflowNanos_saturate() {
    FakeTicker ticker = new FakeTicker();
    Cache<String, String> cache = Hourglass.newBuilder()
        .expireAfterWrite(Duration.ofSeconds(Long.MAX_VALUE))
        .ticker(ticker).scheduler(Scheduler.disabledScheduler()).build();
    cache.put("k", "v");
    ticker.advance(Duration.ofDays(365L * 100));
    assertThat(cache.getIfPresent("k")).isEqualTo("v");
    assertThat(Expiry.toNanosSaturated(Duration.ofSeconds(Long.MAX_VALUE))).isEqualTo(Long.MAX_VALUE);
    assertThat(Expiry.toNanosSaturated(Duration.ofSeconds(Long.MIN_VALUE))).isEqualTo(Long.MIN_VALUE);
    assertThat(Expiry.toNanosSaturated(Duration.ofMillis(5))).isEqualTo(5_000_000L);
  }
}
