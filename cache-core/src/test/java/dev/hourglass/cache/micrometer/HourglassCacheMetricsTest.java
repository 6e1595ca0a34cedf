package dev.hourglass.cache.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.hourglass.cache.AsyncCache;
import dev.hourglass.cache.AsyncLoadingCache;
import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheBuilder;
import dev.hourglass.cache.CapturedLog;
import dev.hourglass.cache.FakeTicker;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.LoadingCache;
import dev.hourglass.cache.ManualScheduler;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.cache.CacheMeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * {@link HourglassCacheMetrics} against Micrometer's {@link SimpleMeterRegistry}: each meter reads
 * what real cache operations counted, carries the cache's name and the caller's tags, and is
 * absent where Hourglass has nothing true to report; the meters leave the cache collectable. Fake
 * ticker, manual scheduler, same-thread executor: nothing waits on time.
 */
final class HourglassCacheMetricsTest {
  private final FakeTicker ticker = new FakeTicker();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  private CacheBuilder<Object, Object> builder() {
    return Hourglass.newBuilder().ticker(ticker).scheduler(new ManualScheduler())
        .executor(Runnable::run);
  }

  private double count(String name, String... tags) {
    return registry.get(name).tags("cache", "users").tags(tags).functionCounter().count();
  }

  private double gauge(String name) {
    return registry.get(name).tags("cache", "users").gauge().value();
  }

  /* ---------------- What each meter reads ---------------- */

  @Test
  void gets_countHitsAndMisses() {
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>build(), "users");
    cache.getIfPresent("a");
    cache.put("a", "1");
    cache.getIfPresent("a");
    cache.get("a", k -> "unused");
    cache.get("b", k -> "2");

    assertThat(count("cache.gets", "result", "hit")).isEqualTo(2);
    assertThat(count("cache.gets", "result", "miss")).isEqualTo(2);
  }

  @Test
  void load_countsSuccessAndFailure_whenTheLoaderThrows() {
    IllegalStateException down = new IllegalStateException("source down");
    LoadingCache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>build(key -> {
          if (key.equals("bad")) {
            throw down;
          }
          return key.toUpperCase();
        }), "users");

    try (CapturedLog log = new CapturedLog()) {
      assertThat(cache.get("good")).isEqualTo("GOOD");
      assertThatThrownBy(() -> cache.get("bad")).isSameAs(down);
      // This thread's records only: a late record of an earlier test's background task, logged
      // by the same class meanwhile, is not this cache's.
      assertThat(ownRecords(log)).as("the caller got the failure; nothing to log").isEmpty();
    }
    assertThat(count("cache.load", "result", "success")).isEqualTo(1);
    assertThat(count("cache.load", "result", "failure")).isEqualTo(1);
    assertThat(count("cache.gets", "result", "miss")).isEqualTo(2);
  }

  @Test
  void load_countsAFailedRefresh_whichTheCacheLogs() {
    IllegalStateException down = new IllegalStateException("source down");
    boolean[] failing = {false};
    LoadingCache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>build(key -> {
          if (failing[0]) {
            throw down;
          }
          return "v";
        }), "users");
    cache.get("a");
    failing[0] = true;

    try (CapturedLog log = new CapturedLog()) {
      CompletableFuture<String> refreshed = cache.refresh("a");
      assertThat(refreshed).isCompletedExceptionally();
      assertThat(log.logged(down)).as("a failed refresh has no caller to tell; it is logged")
          .isTrue();
    }
    assertThat(cache.getIfPresent("a")).isEqualTo("v");
    assertThat(count("cache.load", "result", "success")).isEqualTo(1);
    assertThat(count("cache.load", "result", "failure")).isEqualTo(1);
  }

  @Test
  void loadDuration_isTheTickerTime_inTheRegistrysBaseUnit() {
    LoadingCache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>build(key -> {
          ticker.advance(Duration.ofMillis(5)); // the load "takes" 5 ms on the cache's ticker
          return "v";
        }), "users");
    cache.get("a");
    cache.get("b");

    TimeGauge duration = registry.get("cache.load.duration").tags("cache", "users").timeGauge();
    assertThat(duration.value(TimeUnit.NANOSECONDS)).isEqualTo(10_000_000.0);
    assertThat(duration.baseTimeUnit()).isEqualTo(TimeUnit.SECONDS); // SimpleMeterRegistry's
    assertThat(duration.value()).isCloseTo(0.010, within(1e-12));
  }

  @Test
  void evictions_countEntriesAndWeight() {
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().maximumWeight(10)
            .<String, String>weigher((key, value) -> value.length()).build(), "users");
    cache.put("a", "1234");
    cache.put("b", "1234");
    cache.put("c", "1234"); // 12 > 10: one entry of weight 4 goes
    cache.cleanUp();

    assertThat(count("cache.evictions")).isEqualTo(1);
    assertThat(count("cache.eviction.weight")).isEqualTo(4);
    assertThat(gauge("cache.size")).isEqualTo(2);
  }

  @Test
  void evictions_countExpiredEntries() {
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().expireAfterWrite(Duration.ofMinutes(1))
            .<String, String>build(), "users");
    cache.put("a", "1");
    cache.put("b", "2");
    ticker.advance(Duration.ofMinutes(2));
    cache.cleanUp();

    assertThat(count("cache.evictions")).isEqualTo(2);
    assertThat(count("cache.eviction.weight")).as("one per entry without a weigher").isEqualTo(2);
  }

  @Test
  void size_followsTheCache() {
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>build(), "users");
    cache.putAll(Map.of("a", "1", "b", "2", "c", "3"));
    assertThat(gauge("cache.size")).isEqualTo(3);

    cache.invalidate("a");
    assertThat(gauge("cache.size")).isEqualTo(2);
  }

  /* ---------------- Which meters, with which tags ---------------- */

  @Test
  void monitor_publishesTheStandardMeters_taggedWithNameAndUserTags() {
    HourglassCacheMetrics.monitor(registry, builder().recordStats().build(), "users",
        "tier", "web", "region", "eu");

    assertThat(registry.getMeters()).extracting(HourglassCacheMetricsTest::describe)
        .containsExactlyInAnyOrder(
            "cache.size", "cache.gets result=hit", "cache.gets result=miss", "cache.puts",
            "cache.load result=success", "cache.load result=failure", "cache.load.duration",
            "cache.evictions", "cache.eviction.weight");
    assertThat(registry.getMeters()).allSatisfy(meter -> assertThat(meter.getId().getTags())
        .contains(Tag.of("cache", "users"), Tag.of("tier", "web"), Tag.of("region", "eu")));
  }

  @Test
  void cachePuts_countsTheValuesWritesStored_andNotLoads() {
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>build(), "users");
    cache.put("a", "1");
    cache.put("a", "2");
    cache.asMap().putIfAbsent("a", "3"); // finds a value: stores nothing
    cache.putAll(java.util.Map.of("b", "1", "c", "1"));
    cache.get("loaded", key -> "x"); // a load
    assertThat(registry.get("cache.puts").tag("cache", "users").functionCounter().count())
        .isEqualTo(4.0);
    assertThat(registry.get("cache.load").tag("result", "success").functionCounter().count())
        .isEqualTo(1.0);
  }

  @Test
  void monitor_takesTagsAsAnIterable() {
    HourglassCacheMetrics.monitor(registry, builder().recordStats().build(), "users",
        Tags.of("tier", "web"));

    assertThat(registry.getMeters()).hasSize(9).allSatisfy(meter ->
        assertThat(meter.getId().getTags()).containsExactlyInAnyOrderElementsOf(
            withResultTag(meter, List.of(Tag.of("cache", "users"), Tag.of("tier", "web")))));
  }

  @Test
  void constructor_isAMeterBinder_boundLater() {
    Cache<String, String> cache = builder().recordStats().build();
    HourglassCacheMetrics binder = new HourglassCacheMetrics(cache, "users", Tags.empty());
    assertThat(registry.getMeters()).isEmpty();

    binder.bindTo(registry);
    cache.put("a", "1");
    assertThat(gauge("cache.size")).isEqualTo(1);
  }

  @Test
  void withoutRecordStats_onlyTheSizeIsPublished() {
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().<String, String>build(), "users");
    try (CapturedLog log = new CapturedLog()) {
      cache.put("a", "1");
      cache.getIfPresent("a");
      assertThat(ownRecords(log)).isEmpty();
    }

    assertThat(registry.getMeters()).extracting(HourglassCacheMetricsTest::describe)
        .containsExactly("cache.size");
    assertThat(gauge("cache.size")).isEqualTo(1);
  }

  /* ---------------- Asynchronous caches ---------------- */

  @Test
  void asyncCache_isReadThroughItsSynchronousView() {
    AsyncCache<String, String> cache = builder().recordStats().buildAsync();
    AsyncCache<String, String> returned = HourglassCacheMetrics.monitor(registry, cache, "users");
    assertThat(returned).isSameAs(cache);

    cache.get("a", key -> "1").join();
    cache.getIfPresent("a").join();
    assertThatThrownBy(() -> cache.get("b", key -> {
      throw new IllegalStateException("source down");
    }).join()).isInstanceOf(CompletionException.class);

    assertThat(count("cache.gets", "result", "hit")).isEqualTo(1);
    assertThat(count("cache.gets", "result", "miss")).isEqualTo(2);
    assertThat(count("cache.load", "result", "success")).isEqualTo(1);
    assertThat(count("cache.load", "result", "failure")).isEqualTo(1);
    assertThat(gauge("cache.size")).isEqualTo(1);
  }

  @Test
  void asyncLoadingCache_keepsItsType_andTakesIterableTags() {
    AsyncLoadingCache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>buildAsync((key, executor) ->
            CompletableFuture.completedFuture("v")), "users", Tags.of("tier", "web"));
    cache.get("a").join();

    assertThat(registry.get("cache.load").tags("cache", "users", "tier", "web", "result", "success")
        .functionCounter().count()).isEqualTo(1);
  }

  /* ---------------- Reachability ---------------- */

  /** The meters hold the cache weakly; once it is gone the gauges say so and counters stay. */
  @Test
  void meters_doNotKeepTheCacheReachable() {
    WeakReference<Cache<String, String>> cache = monitorAndForget();
    for (int i = 0; (i < 20) && (cache.get() != null); i++) {
      System.gc();
    }

    assertThat(cache.get()).as("collected: nothing the registry holds keeps it alive").isNull();
    assertThat(gauge("cache.size")).isNaN();
    assertThat(count("cache.gets", "result", "hit")).as("a counter keeps its last value")
        .isEqualTo(1);
  }

  private WeakReference<Cache<String, String>> monitorAndForget() {
    Cache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>build(), "users");
    cache.put("a", "1");
    cache.getIfPresent("a");
    assertThat(count("cache.gets", "result", "hit")).isEqualTo(1); // read once while alive
    return new WeakReference<>(cache);
  }

  /**
   * The binder holds an asynchronous cache's synchronous view weakly: the view must live as long
   * as the cache, not only as long as a caller holds the view.
   */
  @Test
  void asyncCache_metersLiveAsLongAsTheCache() {
    AsyncCache<String, String> cache = HourglassCacheMetrics.monitor(registry,
        builder().recordStats().<String, String>buildAsync(), "users");
    cache.put("a", CompletableFuture.completedFuture("1"));
    for (int i = 0; i < 3; i++) {
      System.gc();
    }

    assertThat(gauge("cache.size")).isEqualTo(1);
    Reference.reachabilityFence(cache);
  }

  /* ---------------- Bad input ---------------- */

  @Test
  void monitor_nullArguments_throwNamingTheParameter() {
    Cache<Object, Object> cache = builder().build();
    AsyncCache<Object, Object> async = builder().buildAsync();
    assertNpe(() -> HourglassCacheMetrics.monitor(null, cache, "users"), "registry");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, (Cache<?, ?>) null, "users"), "cache");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, cache, null), "cacheName");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, cache, "users", (String[]) null),
        "tags");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, cache, "users", "tier", null),
        "tags[1]");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, cache, "users", (Iterable<Tag>) null),
        "tags");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, cache, "users",
        Arrays.asList(Tag.of("tier", "web"), null)), "tags[1]");

    assertNpe(() -> HourglassCacheMetrics.monitor(null, async, "users"), "registry");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, (AsyncCache<?, ?>) null, "users"),
        "cache");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, async, null), "cacheName");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, async, "users", (String[]) null),
        "tags");
    assertNpe(() -> HourglassCacheMetrics.monitor(null, async, "users", Tags.empty()), "registry");
    assertNpe(() -> HourglassCacheMetrics.monitor(registry, (AsyncCache<?, ?>) null, "users",
        Tags.empty()), "cache");

    assertNpe(() -> new HourglassCacheMetrics(null, "users", Tags.empty()), "cache");
    assertNpe(() -> new HourglassCacheMetrics(cache, null, Tags.empty()), "cacheName");
    assertNpe(() -> new HourglassCacheMetrics(cache, "users", null), "tags");

    assertThat(registry.getMeters()).as("nothing half-registered").isEmpty();
  }

  @Test
  void monitor_oddTagStrings_rejected() {
    Cache<Object, Object> cache = builder().build();
    assertThatThrownBy(() -> HourglassCacheMetrics.monitor(registry, cache, "users", "tier"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tags must be key and value pairs, an even number of strings: 1");
    assertThat(registry.getMeters()).isEmpty();
  }

  /* ---------------- The user guide's example ---------------- */

  record Order(long id) {}

  record User(String id) {}

  interface OrderRepository {
    Order find(Long id);
  }

  interface UserService {
    CompletableFuture<User> fetchAsync(String id);
  }

  /** docs/user-guide.md, "Micrometer", verbatim but for the registry and the services. */
  @Test
  void userGuideExample() {
    MeterRegistry registry = this.registry;
    OrderRepository orderRepository = Order::new;
    UserService userService = id -> CompletableFuture.completedFuture(new User(id));

    LoadingCache<Long, Order> orders = HourglassCacheMetrics.monitor(registry,
        Hourglass.newBuilder()
            .maximumSize(50_000)
            .recordStats()                              // without it, only cache.size is published
            .build(orderRepository::find),
        "orders", "tier", "web");                       // cache=orders, tier=web on every meter

    AsyncLoadingCache<String, User> users = HourglassCacheMetrics.monitor(registry,
        Hourglass.newBuilder().recordStats().buildAsync((id, executor) -> userService.fetchAsync(id)),
        "users", Tags.of("tier", "web"));

    // For a framework that wants a MeterBinder:
    MeterBinder binder = new HourglassCacheMetrics(orders, "orders", Tags.empty());

    assertThat(orders.get(42L)).isEqualTo(new Order(42));
    assertThat(users.get("ann").join()).isEqualTo(new User("ann"));
    assertThat(registry.get("cache.load").tags("cache", "orders", "tier", "web")
        .tag("result", "success").functionCounter().count()).isEqualTo(1);
    assertThat(registry.get("cache.load").tags("cache", "users", "tier", "web")
        .tag("result", "success").functionCounter().count()).isEqualTo(1);
    assertThat(binder).isInstanceOf(CacheMeterBinder.class);
  }

  /* ---------------- Helpers ---------------- */

  private static void assertNpe(Runnable call, String parameter) {
    assertThatThrownBy(call::run).isInstanceOf(NullPointerException.class).hasMessage(parameter);
  }

  /** The meter's name, and its {@code result} tag if it has one. */
  private static String describe(Meter meter) {
    String result = meter.getId().getTag("result");
    return (result == null) ? meter.getId().getName()
        : meter.getId().getName() + " result=" + result;
  }

  private static List<Tag> withResultTag(Meter meter, List<Tag> tags) {
    String result = meter.getId().getTag("result");
    return (result == null) ? tags
        : Stream.concat(tags.stream(), Stream.of(Tag.of("result", result)))
            .collect(Collectors.toList());
  }

  /** What the capture holds from this thread: the builder's executor runs on the caller's. */
  private static java.util.List<java.util.logging.LogRecord> ownRecords(CapturedLog log) {
    long self = Thread.currentThread().getId();
    return log.records.stream().filter(r -> r.getLongThreadID() == self).toList();
  }
}
