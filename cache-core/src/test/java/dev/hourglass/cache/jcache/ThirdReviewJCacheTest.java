package dev.hourglass.cache.jcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.hourglass.cache.Weigher;
import java.io.Closeable;
import java.io.Serializable;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.cache.Cache;
import javax.cache.CacheManager;
import javax.cache.Caching;
import javax.cache.configuration.Factory;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.CacheEntryExpiredListener;
import javax.cache.event.CacheEntryRemovedListener;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheWriter;
import javax.cache.spi.CachingProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * Third outside-in review of the JCache provider: a cache bounded by weight
 * ({@link HourglassConfiguration#setWeigherFactory} with the spec's {@code maximumWeight}) and
 * {@code unwrap(dev.hourglass.cache.Cache.class)}. The three tests whose javadoc starts "Defect"
 * failed when the review found them and pass since their fixes; their javadoc is kept as the
 * record of what was wrong.
 */
class ThirdReviewJCacheTest {
  private CachingProvider provider;
  private CacheManager manager;

  /** A serializable weigher, as configurations are serializable. */
  interface SerializableWeigher extends Weigher<String, String>, Serializable {}

  @BeforeEach
  void setUp(TestInfo test) {
    provider = Caching.getCachingProvider(HourglassCachingProvider.class.getName());
    manager = provider.getCacheManager(
        URI.create("third:" + test.getTestMethod().orElseThrow().getName()),
        provider.getDefaultClassLoader());
  }

  @AfterEach
  void tearDown() {
    manager.close();
  }

  private static HourglassConfiguration<String, String> weighed(String spec,
      SerializableWeigher weigher) {
    return HourglassConfiguration.<String, String>from(spec)
        .setTypes(String.class, String.class)
        .setWeigherFactory(new FactoryBuilder.SingletonFactory<>(weigher));
  }

  @SuppressWarnings("unchecked")
  private static dev.hourglass.cache.Cache<String, Expirable<String>> store(
      Cache<String, String> cache) {
    return cache.unwrap(dev.hourglass.cache.Cache.class);
  }

  private static long weightedSize(Cache<String, String> cache) {
    return store(cache).policy().eviction().orElseThrow().weightedSize().orElseThrow();
  }

  private static JCacheStatistics statistics(Cache<String, String> cache) {
    return cache.unwrap(JCache.class).statistics();
  }

  /** Every event, in order, as "TYPE key". */
  static final class AllEvents implements CacheEntryCreatedListener<String, String>,
      CacheEntryUpdatedListener<String, String>, CacheEntryRemovedListener<String, String>,
      CacheEntryExpiredListener<String, String>, Serializable {
    private static final long serialVersionUID = 1L;
    final List<String> events = new CopyOnWriteArrayList<>();

    private void record(Iterable<CacheEntryEvent<? extends String, ? extends String>> batch) {
      batch.forEach(e -> events.add(e.getEventType() + " " + e.getKey()));
    }

    @Override
    public void onCreated(Iterable<CacheEntryEvent<? extends String, ? extends String>> batch) {
      record(batch);
    }

    @Override
    public void onUpdated(Iterable<CacheEntryEvent<? extends String, ? extends String>> batch) {
      record(batch);
    }

    @Override
    public void onRemoved(Iterable<CacheEntryEvent<? extends String, ? extends String>> batch) {
      record(batch);
    }

    @Override
    public void onExpired(Iterable<CacheEntryEvent<? extends String, ? extends String>> batch) {
      record(batch);
    }
  }

  /** A loader that records its close. */
  static final class ClosingLoader implements CacheLoader<String, String>, Closeable, Serializable {
    private static final long serialVersionUID = 1L;
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public String load(String key) {
      return null;
    }

    @Override
    public Map<String, String> loadAll(Iterable<? extends String> keys) {
      return Map.of();
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  /** A writer that records its close. */
  static final class ClosingWriter implements CacheWriter<String, String>, Closeable, Serializable {
    private static final long serialVersionUID = 1L;
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public void write(Cache.Entry<? extends String, ? extends String> entry) {}

    @Override
    public void writeAll(java.util.Collection<Cache.Entry<? extends String, ? extends String>> e) {}

    @Override
    public void delete(Object key) {}

    @Override
    public void deleteAll(java.util.Collection<?> keys) {}

    @Override
    public void close() {
      closed.set(true);
    }
  }

  /** An eternal expiry policy that records its close. */
  static final class ClosingExpiry implements ExpiryPolicy, Closeable, Serializable {
    private static final long serialVersionUID = 1L;
    final AtomicBoolean closed = new AtomicBoolean();

    @Override
    public Duration getExpiryForCreation() {
      return Duration.ETERNAL;
    }

    @Override
    public Duration getExpiryForAccess() {
      return null;
    }

    @Override
    public Duration getExpiryForUpdate() {
      return null;
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  private static <T extends Serializable> Factory<T> factoryOf(T instance) {
    return new FactoryBuilder.SingletonFactory<>(instance);
  }

  /* ---------------- Weights ---------------- */

  @Test
  void weights_followEveryKindOfUpdate() {
    Cache<String, String> cache = manager.createCache("updates",
        weighed("maximumWeight=100", (k, v) -> v.length()));
    cache.put("a", "ab");
    assertThat(weightedSize(cache)).isEqualTo(2);
    cache.put("a", "abcdef");
    assertThat(weightedSize(cache)).as("put over").isEqualTo(6);
    cache.replace("a", "x");
    assertThat(weightedSize(cache)).as("replace").isEqualTo(1);
    cache.getAndPut("a", "abc");
    assertThat(weightedSize(cache)).as("getAndPut").isEqualTo(3);
    cache.invoke("a", (entry, args) -> {
      entry.setValue("abcdefgh");
      return null;
    });
    assertThat(weightedSize(cache)).as("invoke's setValue").isEqualTo(8);
    cache.putAll(Map.of("a", "a", "b", "bb"));
    assertThat(weightedSize(cache)).as("putAll").isEqualTo(3);
    cache.remove("a");
    assertThat(weightedSize(cache)).as("remove").isEqualTo(2);
    cache.clear();
    assertThat(weightedSize(cache)).as("clear").isZero();
  }

  @Test
  void weigher_isGivenTheStoredCopy_equalToTheValueWritten() {
    List<String> seen = new CopyOnWriteArrayList<>();
    String value = new String("value");
    Cache<String, String> cache = manager.createCache("copies",
        weighed("maximumWeight=100", (k, v) -> {
          seen.add(v);
          return 1;
        }));
    cache.put("a", value);
    assertThat(seen).containsExactly("value");
    assertThat(store(cache).getIfPresent("a").value())
        .as("the weigher weighs what is stored").isSameAs(seen.get(0));
  }

  @Test
  void zeroWeights_areNeverEvicted() {
    Cache<String, String> cache = manager.createCache("zero",
        weighed("maximumWeight=1,recordStats", (k, v) -> 0));
    for (int i = 0; i < 50; i++) {
      cache.put("k" + i, "v");
    }
    store(cache).cleanUp();
    for (int i = 0; i < 50; i++) {
      assertThat(cache.containsKey("k" + i)).isTrue();
    }
    assertThat(statistics(cache).getCacheEvictions()).isZero();
  }

  /* ---------------- Evictions: statistics, no events ---------------- */

  @Test
  void evictionsByWeight_areCounted_andPublishNoEvent() {
    AllEvents listener = new AllEvents();
    HourglassConfiguration<String, String> configuration =
        weighed("maximumWeight=10,recordStats", (k, v) -> v.length());
    configuration.addCacheEntryListenerConfiguration(new MutableCacheEntryListenerConfiguration<>(
        factoryOf(listener), null, false, true));
    Cache<String, String> cache = manager.createCache("evicting", configuration);
    for (int i = 0; i < 5; i++) {
      cache.put("k" + i, "abcd");
    }
    cache.put("k0", "abcdefghi"); // grows (an update, or a create if k0 was evicted): evicts
    cache.put("heavy", "0123456789abcdef"); // heavier than the bound: evicted at once
    store(cache).cleanUp();
    long present = store(cache).estimatedSize();
    assertThat(store(cache).getIfPresent("heavy")).isNull();
    assertThat(weightedSize(cache)).isLessThanOrEqualTo(10);
    assertThat(listener.events).as("creations and the update only")
        .allMatch(e -> e.startsWith("CREATED") || e.equals("UPDATED k0"), "created or updated")
        .hasSize(7);
    assertThat(statistics(cache).getCachePuts()).isEqualTo(7);
    assertThat(statistics(cache).getCacheRemovals()).isZero();
    long created = listener.events.stream().filter(e -> e.startsWith("CREATED")).count();
    assertThat(statistics(cache).getCacheEvictions()).as("every entry created and gone")
        .isEqualTo(created - present);
  }

  /* ---------------- Weigher failures ---------------- */

  @Test
  void aWeigherThatThrows_failsEachWritePath_andChangesNothing() {
    HourglassConfiguration<String, String> configuration = weighed("maximumWeight=100,recordStats",
        (k, v) -> {
          if (v.equals("boom")) {
            throw new IllegalStateException("weigher down");
          }
          return 1;
        });
    Cache<String, String> cache = manager.createCache("failing", configuration);
    cache.put("a", "fine");
    long puts = statistics(cache).getCachePuts();
    assertThat(catchThrowable(() -> cache.getAndPut("a", "boom"))).isNotNull();
    assertThat(catchThrowable(() -> cache.putIfAbsent("b", "boom"))).isNotNull();
    assertThat(catchThrowable(() -> cache.replace("a", "boom"))).isNotNull();
    assertThat(catchThrowable(() -> cache.replace("a", "fine", "boom"))).isNotNull();
    assertThat(catchThrowable(() -> cache.getAndReplace("a", "boom"))).isNotNull();
    assertThat(catchThrowable(() -> cache.invoke("a", (entry, args) -> {
      entry.setValue("boom");
      return null;
    }))).isNotNull();
    assertThat(cache.get("a")).isEqualTo("fine");
    assertThat(cache.containsKey("b")).isFalse();
    assertThat(statistics(cache).getCachePuts()).as("no failed write counted").isEqualTo(puts);
    Map<String, String> mixed = new LinkedHashMap<>();
    mixed.put("x", "fine");
    mixed.put("y", "boom");
    assertThat(catchThrowable(() -> cache.putAll(mixed))).isNotNull();
    assertThat(cache.containsKey("y")).isFalse();
  }

  /**
   * Defect: with an access expiry, a JCache <em>read</em> runs the weigher, so a weigher that
   * throws makes {@code get} fail, although the entry is there and nothing is written.
   *
   * <p>Promised: {@link HourglassConfiguration#setWeigherFactory} javadoc: "The weigher runs on
   * each write with no lock held; a negative weight or an exception fails that write and changes
   * nothing." A {@code get} is no write.
   *
   * <p>Steps: spec {@code maximumWeight=100,expireAfterAccess=1m} with a weigher that counts its
   * calls (and throws once told to); put "a"; get "a" three times; then make the weigher throw
   * and get "a" again. Expected: one weigher call (the put), and the last get returns the value.
   * Actual: the weigher runs on every get, and the last get throws the weigher's exception.
   *
   * <p>Likely cause: {@code JCache.accessed} re-stores the same {@code Expirable} with
   * {@code map.replace(key, expirable, expirable)} so that the store re-reads the new deadline;
   * the store treats that as a write and weighs the value again.
   */
  @Test
  void aReadWithAccessExpiry_doesNotRunTheWeigher() {
    AtomicInteger calls = new AtomicInteger();
    AtomicBoolean down = new AtomicBoolean();
    Cache<String, String> cache = manager.createCache("touched",
        weighed("maximumWeight=100,expireAfterAccess=1m", (k, v) -> {
          calls.incrementAndGet();
          if (down.get()) {
            throw new IllegalStateException("weigher down");
          }
          return 1;
        }));
    cache.put("a", "1");
    cache.get("a");
    cache.get("a");
    cache.get("a");
    int afterReads = calls.get();
    down.set(true);
    Throwable read = catchThrowable(() -> assertThat(cache.get("a")).isEqualTo("1"));
    org.assertj.core.api.SoftAssertions.assertSoftly(soft -> {
      soft.assertThat(afterReads).as("weigher calls for one put and three gets").isEqualTo(1);
      soft.assertThat(read).as("a read that the weigher failed").isNull();
    });
  }

  /**
   * Defect: {@code unwrap(dev.hourglass.cache.Cache.class).stats().putCount()} counts JCache
   * <em>reads</em> of a cache with an access expiry as puts.
   *
   * <p>Promised: {@code JCache.unwrap} javadoc offers the store's {@code stats()} for inspection;
   * {@code CacheStats.putCount}: "values stored by writes ..., not counting loads".
   *
   * <p>Steps: spec {@code expireAfterAccess=1m,recordStats}; put "a"; get "a" three times; read
   * the store's put count. Expected: 1 (JCache's own getCachePuts says 1). Actual: 4.
   *
   * <p>Likely cause: as above, {@code JCache.accessed} re-stores the entry with
   * {@code map.replace(key, expirable, expirable)}, which the store counts as a replace that
   * stored a value.
   */
  @Test
  void unwrappedStats_doNotCountReadsAsPuts() {
    Cache<String, String> cache = manager.createCache("touchedStats",
        HourglassConfiguration.<String, String>from("expireAfterAccess=1m,recordStats")
            .setTypes(String.class, String.class));
    cache.put("a", "1");
    cache.get("a");
    cache.get("a");
    cache.get("a");
    assertThat(statistics(cache).getCachePuts()).isEqualTo(1);
    assertThat(store(cache).stats().putCount()).as("the store's put count").isEqualTo(1);
  }

  /* ---------------- createCache: whole or not at all ---------------- */

  @Test
  void aWeigherFactoryThatThrows_failsCreateCache_andClosesWhatItMade() {
    ClosingLoader loader = new ClosingLoader();
    ClosingWriter writer = new ClosingWriter();
    ClosingExpiry expiry = new ClosingExpiry();
    HourglassConfiguration<String, String> configuration =
        HourglassConfiguration.<String, String>from("maximumWeight=10");
    configuration.setReadThrough(true).setCacheLoaderFactory(factoryOf(loader))
        .setWriteThrough(true).setCacheWriterFactory(factoryOf(writer))
        .setExpiryPolicyFactory(factoryOf(expiry));
    configuration.setWeigherFactory(() -> {
      throw new IllegalStateException("weigher factory down");
    });
    assertThatThrownBy(() -> manager.createCache("noWeigherMade", configuration))
        .hasMessageContaining("weigher factory down");
    assertThat(manager.getCache("noWeigherMade")).isNull();
    assertThat(loader.closed).as("loader closed").isTrue();
    assertThat(writer.closed).as("writer closed").isTrue();
    assertThat(expiry.closed).as("expiry closed").isTrue();
    Cache<String, String> again = manager.createCache("noWeigherMade",
        weighed("maximumWeight=10", (k, v) -> 1));
    again.put("a", "1");
    assertThat(again.get("a")).isEqualTo("1");
  }

  /**
   * Defect: a {@code createCache} refused for {@code maximumWeight} without a weigher (or a
   * weigher without {@code maximumWeight}) leaves the Closeable loader, writer and expiry policy
   * it already made open.
   *
   * <p>Promised: a cache is created whole or not at all, its callbacks closed when it fails
   * (JCache's constructor: "Created whole or not at all: what was made so far is closed, as
   * close() would"; {@code SecondReviewTest.createCache_failingAfterItMadeItsCallbacks_closesThem}).
   *
   * <p>Steps: a configuration with a Closeable loader, writer and expiry policy, spec
   * {@code maximumWeight=100} and no weigher factory; createCache (fails with
   * IllegalArgumentException, as promised). Expected: the three are closed. Actual: none is.
   *
   * <p>Likely cause: the maximumWeight/weigher check in {@code JCache}'s constructor throws after
   * the expiry policy, loader, writer and copier were created, but before the {@code try} whose
   * catch closes them.
   */
  @Test
  void maximumWeightWithoutAWeigher_isRefused_andClosesWhatItMade() {
    ClosingLoader loader = new ClosingLoader();
    ClosingWriter writer = new ClosingWriter();
    ClosingExpiry expiry = new ClosingExpiry();
    HourglassConfiguration<String, String> configuration =
        HourglassConfiguration.<String, String>from("maximumWeight=100");
    configuration.setReadThrough(true).setCacheLoaderFactory(factoryOf(loader))
        .setWriteThrough(true).setCacheWriterFactory(factoryOf(writer))
        .setExpiryPolicyFactory(factoryOf(expiry));
    assertThatThrownBy(() -> manager.createCache("refused", configuration))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maximumWeight=100");
    assertThat(manager.getCache("refused")).isNull();
    // Since the fix the spec is checked before the cache asks any factory for its callbacks, so
    // it made none, and closes none: these instances are the factories', not the cache's. (At
    // the review, the check came after the callbacks were made, and left them unclosed.)
    assertThat(List.of(loader.closed.get(), writer.closed.get(), expiry.closed.get()))
        .as("nothing made, so nothing closed").containsExactly(false, false, false);
  }

  /* ---------------- unwrap ---------------- */

  @Test
  void unwrap_toOtherTypes() {
    Cache<String, String> cache = manager.createCache("types",
        weighed("maximumWeight=10", (k, v) -> 1));
    assertThat(cache.unwrap(Object.class)).isSameAs(cache);
    assertThat(cache.unwrap(Cache.class)).isSameAs(cache);
    assertThat(cache.unwrap(JCache.class)).isSameAs(cache);
    assertThat(cache.unwrap(dev.hourglass.cache.Cache.class)).isNotSameAs(cache);
    assertThatThrownBy(() -> cache.unwrap(dev.hourglass.cache.AsyncCache.class))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> cache.unwrap(Map.class))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> cache.unwrap(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void unwrap_afterClose_stillAnswers() {
    Cache<String, String> cache = manager.createCache("closedUnwrap",
        weighed("maximumWeight=10", (k, v) -> 1));
    cache.put("a", "1");
    cache.close();
    assertThat(cache.isClosed()).isTrue();
    assertThat(cache.unwrap(JCache.class)).isSameAs(cache);
    Throwable thrown = catchThrowable(() -> cache.unwrap(dev.hourglass.cache.Cache.class));
    assertThat(thrown).as("unwrap of a closed cache").isNull();
    assertThatThrownBy(() -> cache.get("a")).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void writesThroughTheUnwrappedStore_skipJCacheStatistics() {
    Cache<String, String> cache = manager.createCache("storeWrites",
        weighed("maximumWeight=10,recordStats", (k, v) -> v.length()));
    cache.put("a", "abc");
    assertThat(store(cache).stats().putCount()).isEqualTo(1);
    assertThat(store(cache).policy().eviction().orElseThrow().getMaximum()).isEqualTo(10);
    assertThat(statistics(cache).getCachePuts()).isEqualTo(1);
  }

  /** Stands for a bean that another copy of the provider, or the application, registered. */
  public interface ForeignMBean {
    /** A value to tell it apart. */
    long getCacheHits();
  }

  /** The foreign bean. */
  public static final class Foreign implements ForeignMBean {
    @Override
    public long getCacheHits() {
      return 42;
    }
  }

  /**
   * A management name registered outside this provider stays its owner's: our cache gets no bean
   * (logged), and closing our cache never unregisters theirs.
   */
  @Test
  void aForeignBeanUnderTheStatisticsName_isNeverUnregisteredByUs() throws Exception {
    javax.management.MBeanServer server =
        java.lang.management.ManagementFactory.getPlatformMBeanServer();
    javax.management.ObjectName name = new javax.management.ObjectName("javax.cache:"
        + "type=CacheStatistics,CacheManager=third.aForeignBeanUnderTheStatisticsName_"
        + "isNeverUnregisteredByUs,Cache=c");
    server.registerMBean(new Foreign(), name);
    try (dev.hourglass.cache.CapturedLog log =
        new dev.hourglass.cache.CapturedLog("dev.hourglass.cache.jcache")) {
      Cache<String, String> cache = manager.createCache("c",
          new javax.cache.configuration.MutableConfiguration<String, String>()
              .setStatisticsEnabled(true));
      cache.put("k", "v");
      assertThat(cache.get("k")).isEqualTo("v");
      assertThat(server.getAttribute(name, "CacheHits")).isEqualTo(42L);
      cache.close();
      assertThat(server.isRegistered(name)).as("the foreign bean, after our cache closed")
          .isTrue();
      assertThat(log.records).anyMatch(r -> r.getMessage().contains("taken outside"));
    } finally {
      if (server.isRegistered(name)) {
        server.unregisterMBean(name);
      }
    }
  }
}
