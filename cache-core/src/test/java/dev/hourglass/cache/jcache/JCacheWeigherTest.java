package dev.hourglass.cache.jcache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.Weigher;
import java.io.Serializable;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.cache.Cache;
import javax.cache.CacheManager;
import javax.cache.Caching;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.spi.CachingProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * A JCache bounded by weight: the spec's {@code maximumWeight} with the weigher of
 * {@link HourglassConfiguration#setWeigherFactory}; one without the other is refused.
 */
class JCacheWeigherTest {
  private CachingProvider provider;
  private CacheManager manager;

  /** Weighs a value by its length; serializable, as configurations are. */
  interface SerializableWeigher extends Weigher<String, String>, Serializable {}

  @BeforeEach
  void setUp(TestInfo test) {
    provider = Caching.getCachingProvider(HourglassCachingProvider.class.getName());
    manager = provider.getCacheManager(
        URI.create("weigher:" + test.getTestMethod().orElseThrow().getName()),
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

  @Test
  void maximumWeight_boundsByTheWeigher_andCountsEvictions() {
    Cache<String, String> cache = manager.createCache("weighed",
        weighed("maximumWeight=10,recordStats", (key, value) -> value.length()));
    for (int i = 0; i < 5; i++) {
      cache.put("k" + i, "abcd"); // weight 4 each: at most two fit in 10
    }
    int present = 0;
    for (Cache.Entry<String, String> ignored : cache) {
      present++;
    }
    assertThat(present).isBetween(1, 2);
    JCacheStatistics statistics = cache.unwrap(JCache.class).statistics();
    assertThat(statistics.getCacheEvictions()).isEqualTo(5 - present);
    assertThat(statistics.getCachePuts()).isEqualTo(5);
  }

  @Test
  void unwrap_toTheHourglassCache_inspectsTheStore() {
    Cache<String, String> cache = manager.createCache("unwrapped",
        weighed("maximumWeight=10,recordStats", (key, value) -> value.length()));
    cache.put("a", "abc");
    @SuppressWarnings("unchecked")
    dev.hourglass.cache.Cache<String, Expirable<String>> store =
        cache.unwrap(dev.hourglass.cache.Cache.class);
    assertThat(store.estimatedSize()).isEqualTo(1);
    assertThat(store.getIfPresent("a").value()).isEqualTo("abc");
    assertThat(store.getIfPresent("a").expiresAtNanos()).as("eternal").isEqualTo(Long.MAX_VALUE);
    assertThat(store.policy().eviction().orElseThrow().getMaximum()).isEqualTo(10);
    assertThat(store.policy().eviction().orElseThrow().weightedSize()).hasValue(3);
    assertThat(store.stats().putCount()).isEqualTo(1);
    assertThatThrownBy(() -> cache.unwrap(String.class))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void maximumWeightWithoutAWeigher_andAWeigherWithoutMaximumWeight_areRefused() {
    assertThatThrownBy(() -> manager.createCache("noWeigher",
        HourglassConfiguration.<String, String>from("maximumWeight=100")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'maximumWeight=100'").hasMessageContaining("setWeigherFactory");
    assertThatThrownBy(() -> manager.createCache("noMaximum",
        weighed("maximumSize=10", (key, value) -> 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a weigher needs maximumWeight");
    assertThat(manager.getCache("noWeigher")).isNull();
    assertThat(manager.getCache("noMaximum")).isNull();
  }

  @Test
  void weigherThatThrowsOrWeighsNegative_failsTheWrite_andChangesNothing() {
    List<String> created = new CopyOnWriteArrayList<>();
    HourglassConfiguration<String, String> configuration = weighed("maximumWeight=100",
        (key, value) -> {
          if (value.equals("boom")) {
            throw new IllegalStateException("weigher down");
          }
          return value.equals("negative") ? -1 : 1;
        });
    configuration.addCacheEntryListenerConfiguration(new MutableCacheEntryListenerConfiguration<>(
        FactoryBuilder.factoryOf((CacheEntryCreatedListener<String, String> & Serializable)
            events -> events.forEach(e -> created.add(e.getKey()))), null, false, true));
    Cache<String, String> cache = manager.createCache("failing", configuration);
    cache.put("a", "fine");
    assertThatThrownBy(() -> cache.put("a", "boom")).hasMessageContaining("weigher down");
    assertThatThrownBy(() -> cache.put("b", "negative"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(cache.get("a")).isEqualTo("fine");
    assertThat(cache.containsKey("b")).isFalse();
    assertThat(created).containsExactly("a");
    cache.put("b", "fine"); // the key's events were not left blocked by the failed writes
    assertThat(created).containsExactly("a", "b");
  }

  @Test
  void theSnapshotShowsTheWeigher_andRefusesToChangeIt() {
    Cache<String, String> cache = manager.createCache("snapshot",
        weighed("maximumWeight=10", (key, value) -> 1));
    @SuppressWarnings("unchecked")
    HourglassConfiguration<String, String> snapshot =
        cache.getConfiguration(HourglassConfiguration.class);
    assertThat(snapshot.getWeigherFactory()).isNotNull();
    assertThatThrownBy(() -> snapshot.setWeigherFactory(null))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(cache.getConfiguration(CompleteConfiguration.class)).isNotNull();
  }
}
