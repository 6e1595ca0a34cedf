package dev.hourglass.cache.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.jcache.HourglassCachingProvider;
import java.lang.management.ManagementFactory;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ExpiryPolicy;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.autoconfigure.cache.JCachePropertiesCustomizer;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.cache.CacheManager;
import org.springframework.cache.annotation.Cacheable;
import org.springframework.cache.annotation.EnableCaching;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;

/**
 * A Spring Boot application with {@code spring-boot-starter-cache}, JCache as the cache type and
 * Hourglass as the provider, configured from {@code application.properties} only (see the user
 * guide, "Spring Boot"): a {@code @Cacheable} method called twice runs once, the second call is a
 * hit in Hourglass's statistics, and the spec string's size bound and time to live are in force.
 */
class SpringBootJCacheTest {
  private static ConfigurableApplicationContext context;

  @BeforeAll
  static void start() {
    // Spring Boot's logging system would reconfigure java.util.logging for the whole test JVM.
    System.setProperty("org.springframework.boot.logging.LoggingSystem", "none");
    context = new SpringApplicationBuilder(BookApplication.class)
        .web(WebApplicationType.NONE)
        .run();
  }

  @AfterAll
  static void stop() {
    if (context != null) {
      context.close();
    }
    System.clearProperty("org.springframework.boot.logging.LoggingSystem");
  }

  /**
   * The tests share the application and its "books" cache, so this one counts from where it
   * starts, whichever test ran before it: the lookups and statistics it adds, in an emptied cache
   * (the other test fills it to its bound, where a newcomer could be evicted at once).
   */
  @Test
  void cacheable_secondCall_isServedByHourglass() throws Exception {
    BookService books = context.getBean(BookService.class);
    javax.cache.Cache<?, ?> jcache = nativeCache("books");
    assertThat(jcache.getCacheManager().getCachingProvider())
        .isInstanceOf(HourglassCachingProvider.class);
    ObjectName statistics = new ObjectName("javax.cache:type=CacheStatistics,CacheManager="
        + jcache.getCacheManager().getURI().toString().replaceAll(",|:|=|\n", ".")
        + ",Cache=books");
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    jcache.clear(); // JSR-107: clear leaves the statistics as they are
    long hits = (Long) server.getAttribute(statistics, "CacheHits");
    long misses = (Long) server.getAttribute(statistics, "CacheMisses");
    long puts = (Long) server.getAttribute(statistics, "CachePuts");
    int lookups = books.lookups();

    assertThat(books.title("isbn-1")).isEqualTo("Title of isbn-1");
    assertThat(books.title("isbn-1")).isEqualTo("Title of isbn-1");
    assertThat(books.lookups() - lookups).as("the method ran once; the second call was a hit")
        .isOne();
    assertThat((Long) server.getAttribute(statistics, "CacheHits") - hits).isEqualTo(1L);
    assertThat((Long) server.getAttribute(statistics, "CacheMisses") - misses).isEqualTo(1L);
    assertThat((Long) server.getAttribute(statistics, "CachePuts") - puts).isEqualTo(1L);
  }

  @Test
  void specString_fromApplicationProperties_setsTheTimeToLiveAndTheSizeBound() throws Exception {
    javax.cache.Cache<Object, Object> jcache = nativeCache("books");
    @SuppressWarnings("unchecked")
    CompleteConfiguration<Object, Object> configuration =
        jcache.getConfiguration(CompleteConfiguration.class);
    ExpiryPolicy expiry = configuration.getExpiryPolicyFactory().create();
    Duration created = expiry.getExpiryForCreation();
    assertThat(created.getTimeUnit().toMillis(created.getDurationAmount()))
        .as("expireAfterWrite=10m").isEqualTo(TimeUnit.MINUTES.toMillis(10));
    assertThat(expiry.getExpiryForUpdate()).as("after a write").isEqualTo(created);
    assertThat(expiry.getExpiryForAccess()).as("reads leave it").isNull();
    assertThat(configuration.isStatisticsEnabled()).as("recordStats").isTrue();

    BookService books = context.getBean(BookService.class);
    for (int i = 0; i < 250; i++) {
      books.title("bulk-" + i);
    }
    int present = 0;
    for (javax.cache.Cache.Entry<Object, Object> ignored : jcache) {
      present++;
    }
    assertThat(present).as("maximumSize=100").isLessThanOrEqualTo(100);
    ObjectName statistics = new ObjectName("javax.cache:type=CacheStatistics,CacheManager="
        + jcache.getCacheManager().getURI().toString().replaceAll(",|:|=|\n", ".")
        + ",Cache=books");
    assertThat((Long) ManagementFactory.getPlatformMBeanServer()
        .getAttribute(statistics, "CacheEvictions")).isGreaterThanOrEqualTo(150L);
  }

  @SuppressWarnings("unchecked")
  private static javax.cache.Cache<Object, Object> nativeCache(String name) {
    CacheManager manager = context.getBean(CacheManager.class);
    return (javax.cache.Cache<Object, Object>) manager.getCache(name).getNativeCache();
  }

  /** The application: caching on, auto-configured; the provider's specs from the properties. */
  @SpringBootConfiguration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  @EnableCaching
  static class BookApplication {

    @Bean
    BookService bookService() {
      return new BookService();
    }

    /**
     * Hands the {@code hourglass.spec...} properties of the environment to the JCache manager,
     * which configures each cache from {@code hourglass.spec.<name>} (or {@code hourglass.spec}).
     */
    @Bean
    JCachePropertiesCustomizer hourglassSpecs(ConfigurableEnvironment environment) {
      return properties -> copySpecs(environment, properties);
    }
  }

  static void copySpecs(ConfigurableEnvironment environment, Properties properties) {
    environment.getPropertySources().forEach(source -> {
      if (source instanceof EnumerablePropertySource) {
        for (String name : ((EnumerablePropertySource<?>) source).getPropertyNames()) {
          if (name.startsWith("hourglass.spec")) {
            properties.setProperty(name, environment.getProperty(name));
          }
        }
      }
    });
  }

  /** A service whose lookups are cached in "books". */
  static class BookService {
    private final AtomicInteger lookups = new AtomicInteger();

    /** How many times {@link #title} ran; through the proxy, as the test calls it. */
    public int lookups() {
      return lookups.get();
    }

    @Cacheable("books")
    public String title(String isbn) {
      lookups.incrementAndGet();
      return "Title of " + isbn;
    }
  }
}
