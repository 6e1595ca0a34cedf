package dev.hourglass.cache.jcache;

import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.hourglass.cache.CapturedLog;
import java.io.Closeable;
import java.io.Serializable;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.Caching;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Factory;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableCacheEntryListenerConfiguration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.event.CacheEntryCreatedListener;
import javax.cache.event.CacheEntryEvent;
import javax.cache.event.CacheEntryExpiredListener;
import javax.cache.event.CacheEntryListener;
import javax.cache.event.CacheEntryListenerException;
import javax.cache.event.CacheEntryRemovedListener;
import javax.cache.event.CacheEntryUpdatedListener;
import javax.cache.expiry.CreatedExpiryPolicy;
import javax.cache.expiry.Duration;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.expiry.ModifiedExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheLoaderException;
import javax.cache.integration.CacheWriter;
import javax.cache.integration.CacheWriterException;
import javax.cache.integration.CompletionListenerFuture;
import javax.cache.processor.EntryProcessorException;
import javax.cache.processor.EntryProcessorResult;
import javax.cache.spi.CachingProvider;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The Hourglass JCache (JSR-107) provider attacked from outside, through the public JCache API
 * (and the provider's public extras: {@link HourglassConfiguration}, {@link Copier}): callbacks
 * that throw, are slow or call back into the cache, bad input, life cycle, management beans and
 * concurrency. The TCK covers the plain contract; this covers what it does not.
 *
 * <p>Every test documents a promise. The tests whose javadoc starts "Defect" failed as written
 * here when the review found them, and pass since their fixes; the javadoc is kept as the record
 * of what JSR-107 or Hourglass's own javadoc promises and what happened instead.
 *
 * <p>Nothing here waits unboundedly: every wait has a bound, code that could hang runs under
 * {@code assertTimeoutPreemptively}, and each test's threads must all have ended when it does.
 */
final class OutsideInJCacheTest {
  private static final String PROVIDER = "dev.hourglass.cache.jcache.HourglassCachingProvider";
  /** The bound on any wait for another thread: generous, never expected to be reached. */
  private static final long BOUND_S = 20;

  private CachingProvider provider;
  private CacheManager manager;
  private String testName;
  private final List<CacheManager> managers = new ArrayList<>();
  private final AtomicInteger threadIds = new AtomicInteger();
  private ExecutorService threads;

  @BeforeEach
  void setUp(TestInfo info) {
    testName = info.getTestMethod().orElseThrow().getName();
    provider = Caching.getCachingProvider(PROVIDER);
    manager = newManager("", new Properties());
    threads = Executors.newCachedThreadPool(runnable -> {
      Thread thread = new Thread(runnable, "outside-in-jcache-" + threadIds.incrementAndGet());
      thread.setDaemon(true);
      return thread;
    });
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    threads.shutdownNow();
    boolean ended = threads.awaitTermination(10, SECONDS);
    managers.forEach(CacheManager::close);
    assertThat(ended).as("every thread this test started has ended").isTrue();
  }

  /** A manager of its own for this test (and suffix), with these properties. */
  private CacheManager newManager(String suffix, Properties properties) {
    CacheManager made = provider.getCacheManager(
        URI.create("outside-in:" + testName + suffix), provider.getDefaultClassLoader(),
        properties);
    managers.add(made);
    return made;
  }

  /* ---------------- Helpers ---------------- */

  private static <T> Factory<T> factoryOf(T instance) {
    return new FactoryBuilder.SingletonFactory<>(instance);
  }

  /** A loader of {@code function}, its loadAll a loop of load. */
  private static <K, V> CacheLoader<K, V> loader(Function<K, V> function) {
    return new CacheLoader<>() {
      @Override
      public V load(K key) {
        return function.apply(key);
      }

      @Override
      public Map<K, V> loadAll(Iterable<? extends K> keys) {
        Map<K, V> loaded = new LinkedHashMap<>();
        for (K key : keys) {
          V value = load(key);
          if (value != null) {
            loaded.put(key, value);
          }
        }
        return loaded;
      }
    };
  }

  /** Records every event as "TYPE key=value (old)"; an optional hook runs on each. */
  static final class Recorder<K, V> implements CacheEntryCreatedListener<K, V>,
      CacheEntryUpdatedListener<K, V>, CacheEntryRemovedListener<K, V>,
      CacheEntryExpiredListener<K, V>, Closeable {
    final List<String> events = new CopyOnWriteArrayList<>();
    volatile java.util.function.Consumer<CacheEntryEvent<? extends K, ? extends V>> hook;
    final AtomicBoolean closed = new AtomicBoolean();

    private void record(Iterable<CacheEntryEvent<? extends K, ? extends V>> batch) {
      for (CacheEntryEvent<? extends K, ? extends V> event : batch) {
        events.add(event.getEventType() + " " + event.getKey() + "=" + event.getValue()
            + (event.isOldValueAvailable() ? " (" + event.getOldValue() + ")" : "")
            + (closed.get() ? " AFTER CLOSE" : ""));
        java.util.function.Consumer<CacheEntryEvent<? extends K, ? extends V>> h = hook;
        if (h != null) {
          h.accept(event);
        }
      }
    }

    @Override
    public void onCreated(Iterable<CacheEntryEvent<? extends K, ? extends V>> batch) {
      record(batch);
    }

    @Override
    public void onUpdated(Iterable<CacheEntryEvent<? extends K, ? extends V>> batch) {
      record(batch);
    }

    @Override
    public void onRemoved(Iterable<CacheEntryEvent<? extends K, ? extends V>> batch) {
      record(batch);
    }

    @Override
    public void onExpired(Iterable<CacheEntryEvent<? extends K, ? extends V>> batch) {
      record(batch);
    }

    long count(String type) {
      return events.stream().filter(e -> e.startsWith(type + " ")).count();
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  private static <K, V> MutableCacheEntryListenerConfiguration<K, V> listening(
      CacheEntryListener<? super K, ? super V> listener, boolean synchronous) {
    return new MutableCacheEntryListenerConfiguration<K, V>(factoryOf(listener), null, true,
        synchronous);
  }

  /** A writer into a map of its own; a hook may fail or call back before each write. */
  static final class RecordingWriter<K, V> implements CacheWriter<K, V>, Closeable {
    final Map<K, V> store = new ConcurrentHashMap<>();
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile java.util.function.Consumer<Object> hook;
    final AtomicBoolean closed = new AtomicBoolean();

    /** Runs after each write or delete is made in the writer's store, with its description. */
    volatile java.util.function.Consumer<String> afterHook;

    private void after(String call) {
      java.util.function.Consumer<String> h = afterHook;
      if (h != null) {
        h.accept(call);
      }
    }

    private void before(Object what) {
      java.util.function.Consumer<Object> h = hook;
      if (h != null) {
        h.accept(what);
      }
    }

    @Override
    public void write(Cache.Entry<? extends K, ? extends V> entry) {
      before(entry.getKey());
      calls.add("write " + entry.getKey() + "=" + entry.getValue());
      store.put(entry.getKey(), entry.getValue());
      after("write " + entry.getKey() + "=" + entry.getValue());
    }

    @Override
    public void writeAll(Collection<Cache.Entry<? extends K, ? extends V>> entries) {
      for (Iterator<Cache.Entry<? extends K, ? extends V>> i = entries.iterator(); i.hasNext(); ) {
        write(i.next());
        i.remove(); // written: JSR-107 leaves in the collection only what was not written
      }
    }

    @Override
    public void delete(Object key) {
      before(key);
      calls.add("delete " + key);
      store.remove(key);
      after("delete " + key);
    }

    @Override
    public void deleteAll(Collection<?> keys) {
      for (Iterator<?> i = keys.iterator(); i.hasNext(); ) {
        delete(i.next());
        i.remove();
      }
    }

    @Override
    public void close() {
      closed.set(true);
    }
  }

  private static <K, V> MutableConfiguration<K, V> writingTo(RecordingWriter<K, V> writer) {
    return new MutableConfiguration<K, V>().setWriteThrough(true)
        .setCacheWriterFactory(factoryOf(writer));
  }

  /** A serializable mutable value, equal by content. */
  static final class Box implements Serializable {
    private static final long serialVersionUID = 1L;
    String content;

    Box(String content) {
      this.content = content;
    }

    @Override
    public boolean equals(Object o) {
      return (o instanceof Box) && Objects.equals(((Box) o).content, content);
    }

    @Override
    public int hashCode() {
      return Objects.hashCode(content);
    }

    @Override
    public String toString() {
      return "Box(" + content + ")";
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(BOUND_S, SECONDS)) {
        throw new AssertionError("waited " + BOUND_S + "s for a latch");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Polls {@code condition} every 10 ms for up to {@code seconds}; returns its last answer. */
  private static boolean eventually(long seconds, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  private static MBeanServer mbeans() {
    return ManagementFactory.getPlatformMBeanServer();
  }

  /** The JSR-107 name of a cache's bean: {@code , : = \n} in the URI and name become dots. */
  private static ObjectName beanName(String type, URI uri, String cacheName) throws Exception {
    return new ObjectName("javax.cache:type=" + type + ",CacheManager="
        + uri.toString().replaceAll(",|:|=|\n", ".") + ",Cache="
        + cacheName.replaceAll(",|:|=|\n", "."));
  }

  private static long statistic(CacheManager manager, String cacheName, String attribute)
      throws Exception {
    return (Long) mbeans().getAttribute(
        beanName("CacheStatistics", manager.getURI(), cacheName), attribute);
  }

  /** The ExpiryPolicy a cache's configuration shows. */
  private static ExpiryPolicy expiryOf(Cache<?, ?> cache) {
    CompleteConfiguration<?, ?> configuration =
        cache.getConfiguration(CompleteConfiguration.class);
    return configuration.getExpiryPolicyFactory().create();
  }

  private static <K, V> int size(Cache<K, V> cache) {
    int size = 0;
    for (Cache.Entry<K, V> ignored : cache) {
      size++;
    }
    return size;
  }

  /* ---------------- Provider and managers ---------------- */

  /** Managers are per URI and class loader; a closed one is replaced by a new one on request. */
  @Test
  void managers_arePerUriAndClassLoader_andAClosedOneIsReplaced() throws Exception {
    assertThat(Caching.getCachingProvider(PROVIDER)).isInstanceOf(HourglassCachingProvider.class);
    URI uri = URI.create("outside-in:per-uri");
    ClassLoader loader = provider.getDefaultClassLoader();
    CacheManager first = provider.getCacheManager(uri, loader);
    managers.add(first);
    assertThat(provider.getCacheManager(uri, loader)).isSameAs(first);
    try (URLClassLoader other = new URLClassLoader(new URL[0], loader)) {
      CacheManager ofOther = provider.getCacheManager(uri, other);
      managers.add(ofOther);
      assertThat(ofOther).isNotSameAs(first);
      assertThat(ofOther.getClassLoader()).isSameAs(other);
      provider.close(other);
      assertThat(ofOther.isClosed()).isTrue();
      assertThat(first.isClosed()).isFalse();
    }
    first.close();
    CacheManager again = provider.getCacheManager(uri, loader);
    managers.add(again);
    assertThat(again).isNotSameAs(first);
    assertThat(again.isClosed()).isFalse();
  }

  /* ---------------- Bad input ---------------- */

  /** Nulls anywhere are NullPointerExceptions, before anything changes or any callback runs. */
  @Test
  void nullArguments_throwNullPointerException_andChangeNothing() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("nulls", writingTo(writer));
    Set<String> withNull = new HashSet<>();
    withNull.add("a");
    withNull.add(null);
    Map<String, String> nullKey = new HashMap<>();
    nullKey.put(null, "v");
    Map<String, String> nullValue = new HashMap<>();
    nullValue.put("k", null);
    List<Runnable> calls = List.of(
        () -> cache.get(null), () -> cache.getAll(null), () -> cache.getAll(withNull),
        () -> cache.containsKey(null), () -> cache.put(null, "v"), () -> cache.put("k", null),
        () -> cache.getAndPut(null, "v"), () -> cache.getAndPut("k", null),
        () -> cache.putAll(null), () -> cache.putAll(nullKey), () -> cache.putAll(nullValue),
        () -> cache.putIfAbsent(null, "v"), () -> cache.putIfAbsent("k", null),
        () -> cache.remove(null), () -> cache.remove(null, "v"), () -> cache.remove("k", null),
        () -> cache.getAndRemove(null), () -> cache.replace(null, "v"),
        () -> cache.replace("k", null), () -> cache.replace(null, "a", "b"),
        () -> cache.replace("k", null, "b"), () -> cache.replace("k", "a", null),
        () -> cache.getAndReplace(null, "v"), () -> cache.getAndReplace("k", null),
        () -> cache.removeAll(null), () -> cache.removeAll(withNull),
        () -> cache.invoke(null, (e, a) -> null), () -> cache.invoke("k", null),
        () -> cache.invokeAll(null, (e, a) -> null), () -> cache.invokeAll(withNull,
            (e, a) -> null),
        () -> cache.loadAll(null, false, null), () -> cache.loadAll(withNull, false, null),
        () -> cache.registerCacheEntryListener(null),
        () -> cache.deregisterCacheEntryListener(null), () -> cache.unwrap(null),
        () -> manager.createCache(null, new MutableConfiguration<>()),
        () -> manager.createCache("x", null), () -> manager.getCache(null),
        () -> manager.destroyCache(null));
    for (Runnable call : calls) {
      assertThatThrownBy(call::run).isInstanceOf(NullPointerException.class);
    }
    assertThat(writer.calls).isEmpty();
    assertThat(size(cache)).isZero();
    assertThat(manager.getCache("x")).isNull();
  }

  /** With setTypes, keys and values of other types are ClassCastExceptions; so are lookups. */
  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void setTypes_rejectsOtherTypes_withClassCastException() {
    Cache<String, Integer> cache = manager.createCache("typed",
        new MutableConfiguration<String, Integer>().setTypes(String.class, Integer.class)
            .setReadThrough(true).setCacheLoaderFactory((Factory) factoryOf(new WrongTypeLoader())));
    Cache raw = cache;
    assertThatThrownBy(() -> raw.put(1, 1)).isInstanceOf(ClassCastException.class);
    assertThatThrownBy(() -> raw.put("k", "v")).isInstanceOf(ClassCastException.class);
    assertThatThrownBy(() -> raw.containsKey(1)).isInstanceOf(ClassCastException.class);
    assertThatThrownBy(() -> manager.getCache("typed", String.class, String.class))
        .isInstanceOf(ClassCastException.class);
    // read-through of a single key checks the loaded value's type
    assertThatThrownBy(() -> raw.get("k")).isInstanceOfAny(CacheLoaderException.class,
        ClassCastException.class);
    assertThat(cache.containsKey("k")).isFalse();
  }

  /**
   * Defect: read-through {@code getAll} stores and returns values of the wrong type.
   *
   * <p>With {@code setTypes(String, Integer)} the provider checks types at run time: a value a
   * loader's {@code load} returns of another type fails the {@code get} (see
   * {@link #setTypes_rejectsOtherTypes_withClassCastException}). The same loader's
   * {@code loadAll}, run by {@code getAll}, is not checked: its String is stored in an Integer
   * cache, and a later {@code get} hands it out (heap pollution: a ClassCastException far away,
   * in the caller's code).
   */
  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void readThroughGetAll_checksTheLoadedValuesTypes_likeGet() {
    Cache<String, Integer> cache = manager.createCache("typedBulk",
        new MutableConfiguration<String, Integer>().setTypes(String.class, Integer.class)
            .setReadThrough(true).setCacheLoaderFactory((Factory) factoryOf(new WrongTypeLoader())));
    Throwable thrown = catchThrowable(() -> cache.getAll(Set.of("b")));
    assertThat(thrown).isInstanceOfAny(CacheLoaderException.class, ClassCastException.class);
    assertThat(cache.containsKey("b")).as("nothing of the wrong type stored").isFalse();
    // A single get of the same key fails the same way (it loads again, and checks).
    assertThat(catchThrowable(() -> ((Cache) cache).get("b")))
        .isInstanceOfAny(CacheLoaderException.class, ClassCastException.class);
  }

  /** A raw loader that loads Strings whatever the cache's value type (for type checks). */
  @SuppressWarnings({"rawtypes", "unchecked"})
  static final class WrongTypeLoader implements CacheLoader {
    @Override
    public Object load(Object key) {
      return "wrong " + key;
    }

    @Override
    public Map loadAll(Iterable keys) {
      Map loaded = new HashMap();
      for (Object key : keys) {
        loaded.put(key, "wrong " + key);
      }
      return loaded;
    }
  }

  /** Malformed specs are IllegalArgumentExceptions quoting the setting, and leave no cache. */
  @Test
  void badSpecs_throwIllegalArgumentException_quotingTheSetting() {
    assertThatThrownBy(() -> HourglassConfiguration.from("maximumSize=ten"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximumSize=ten");
    assertThatThrownBy(() -> HourglassConfiguration.from("maximumSize=10,colour=blue"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("colour");
    assertThatThrownBy(() -> HourglassConfiguration.from("refreshAfterWrite=1m"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("refreshAfterWrite");
    assertThatThrownBy(() -> manager.createCache("both", HourglassConfiguration
            .<String, String>from("expireAfterWrite=5m")
            .setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(Duration.ONE_MINUTE))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expireAfterWrite=5m");
    assertThatThrownBy(() -> manager.createCache("twoDurations",
            HourglassConfiguration.<String, String>from("expireAfterWrite=5m,expireAfterAccess=1m")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expireAfterAccess");
    Properties properties = new Properties();
    properties.setProperty("hourglass.spec.bad", "maximumSize=-1");
    CacheManager configured = newManager("-props", properties);
    assertThatThrownBy(() -> configured.createCache("bad", new MutableConfiguration<>()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maximumSize=-1");
    assertThat(configured.getCache("bad")).isNull();
    assertThat(manager.getCache("both")).isNull();
    assertThat(manager.getCache("twoDurations")).isNull();
  }

  /**
   * Defect: a spec with {@code maximumWeight} is accepted by {@code setSpec} and then fails the
   * {@code createCache} with an IllegalStateException that does not quote the spec.
   *
   * <p>{@code HourglassConfiguration.setSpec} promises an IllegalArgumentException "if spec is
   * malformed or sets refreshAfterWrite, quoting the setting at fault", and rejects
   * refreshAfterWrite up front because JCache has no refresh. JCache has no weigher either, and
   * HourglassConfiguration has no setting for one, so {@code maximumWeight} can never build; yet
   * {@code setSpec("maximumWeight=100")} succeeds and {@code createCache} then throws
   * {@code IllegalStateException: maximumWeight requires a weigher} from the builder. Expected:
   * an IllegalArgumentException naming the setting {@code maximumWeight=100} (from setSpec, or
   * at the latest from createCache), as for every other spec that cannot work.
   */
  @Test
  void specWithMaximumWeight_isAnIllegalArgument_quotingTheSetting() {
    assertThatThrownBy(() -> manager.createCache("weighed",
            HourglassConfiguration.<String, String>from("maximumWeight=100")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maximumWeight=100");
    assertThat(manager.getCache("weighed")).isNull();
  }

  /** hourglass.spec.NAME applies to that cache, hourglass.spec to the others. */
  @Test
  void managerPropertySpecs_perCacheOverridesTheDefault() throws Exception {
    Properties properties = new Properties();
    properties.setProperty("hourglass.spec", "maximumSize=1000,recordStats");
    properties.setProperty("hourglass.spec.small", "maximumSize=5,recordStats");
    CacheManager configured = newManager("-props", properties);
    Cache<Integer, Integer> small = configured.createCache("small", new MutableConfiguration<>());
    Cache<Integer, Integer> big = configured.createCache("big", new MutableConfiguration<>());
    for (int i = 0; i < 50; i++) {
      small.put(i, i);
      big.put(i, i);
    }
    assertThat(size(small)).isLessThanOrEqualTo(5);
    assertThat(size(big)).isEqualTo(50);
    assertThat(small.getConfiguration(CompleteConfiguration.class).isStatisticsEnabled()).isTrue();
    assertThat(statistic(configured, "small", "CacheEvictions")).isEqualTo(50L - size(small));
    assertThat(statistic(configured, "big", "CacheEvictions")).isZero();
  }

  /**
   * Defect (a judgement on the javadoc's words): a manager-wide default spec with a duration
   * makes every cache that sets its own ExpiryPolicy impossible to create.
   *
   * <p>{@code JCacheManager}: "A cache made with a plain JCache configuration takes the Hourglass
   * settings from the manager's properties: {@code hourglass.spec.<cache name>}, or else
   * {@code hourglass.spec}"; {@code HourglassConfiguration}: "The spec's durations
   * ({@code expireAfterWrite}, {@code expireAfterAccess}) stand for a JCache ExpiryPolicy when
   * none is set". With {@code hourglass.spec=expireAfterWrite=10m} as the manager's default, a
   * plain MutableConfiguration with its own CreatedExpiryPolicy is refused with
   * IllegalArgumentException ("its expiration and the configuration's ExpiryPolicy exclude each
   * other: set one"), although the application set only one, and the default spec is not
   * the cache's own. Expected: the cache's own policy is set, so the default's duration does
   * not apply to it (the cache is created with its CreatedExpiryPolicy).
   */
  @Test
  void managerDefaultSpecDuration_yieldsToACachesOwnExpiryPolicy() {
    Properties properties = new Properties();
    properties.setProperty("hourglass.spec", "expireAfterWrite=10m");
    CacheManager configured = newManager("-props", properties);
    Cache<String, String> cache = configured.createCache("ownPolicy",
        new MutableConfiguration<String, String>()
            .setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(Duration.ONE_MINUTE)));
    assertThat(expiryOf(cache)).isInstanceOf(CreatedExpiryPolicy.class);
  }

  /** A spec duration stands for the matching ExpiryPolicy, rounded up to whole milliseconds. */
  @Test
  void specDuration_standsForModifiedExpiry_roundedUpToMilliseconds() {
    Cache<String, String> cache = manager.createCache("ttl",
        HourglassConfiguration.<String, String>from("expireAfterWrite=1500us"));
    ExpiryPolicy policy = expiryOf(cache);
    assertThat(policy).isInstanceOf(ModifiedExpiryPolicy.class);
    assertThat(policy.getExpiryForCreation().getTimeUnit().toNanos(
        policy.getExpiryForCreation().getDurationAmount())).isEqualTo(2_000_000L);
  }

  /**
   * Defect: a cache whose expiry came from a spec duration cannot be copied through its own
   * configuration.
   *
   * <p>{@code createCache(name, other.getConfiguration(CompleteConfiguration.class))} is the
   * standard JSR-107 way to make a cache configured like another. Here the manager's property
   * {@code hourglass.spec=expireAfterWrite=5m} gives cache "a" (made with a plain
   * MutableConfiguration) a time to live; the constructor then writes the ModifiedExpiryPolicy the
   * duration stands for into the cache's configuration, which also keeps the spec. Handing that
   * configuration back to createCache fails: "its expiration and the configuration's
   * ExpiryPolicy exclude each other". (The same happens with
   * {@code HourglassConfiguration.from("expireAfterWrite=5m")}.) Expected: the copy is created,
   * with the same five-minute ModifiedExpiryPolicy.
   */
  @Test
  void aCacheWithASpecDuration_canBeCopiedThroughItsOwnConfiguration() {
    Properties properties = new Properties();
    properties.setProperty("hourglass.spec", "expireAfterWrite=5m");
    CacheManager configured = newManager("-props", properties);
    Cache<String, String> original = configured.createCache("a", new MutableConfiguration<>());
    @SuppressWarnings("unchecked")
    CompleteConfiguration<String, String> itsConfiguration =
        original.getConfiguration(CompleteConfiguration.class);
    Cache<String, String> copy = configured.createCache("b", itsConfiguration);
    ExpiryPolicy policy = expiryOf(copy);
    assertThat(policy).isInstanceOf(ModifiedExpiryPolicy.class);
    assertThat(policy.getExpiryForCreation().getTimeUnit().toMinutes(
        policy.getExpiryForCreation().getDurationAmount())).isEqualTo(5);
  }

  /* ---------------- Size bound ---------------- */

  /** Evictions by the size bound are counted as evictions, and publish no entry event. */
  @Test
  void sizeBound_countsEvictions_andPublishesNoEventForThem() throws Exception {
    Recorder<Integer, Integer> recorder = new Recorder<>();
    Cache<Integer, Integer> cache = manager.createCache("bounded",
        HourglassConfiguration.<Integer, Integer>from("maximumSize=10,recordStats")
            .addCacheEntryListenerConfiguration(listening(recorder, true)));
    for (int i = 0; i < 100; i++) {
      cache.put(i, i);
    }
    long live = size(cache);
    assertThat(live).isBetween(1L, 10L);
    assertThat(statistic(manager, "bounded", "CacheEvictions")).isEqualTo(100 - live);
    assertThat(statistic(manager, "bounded", "CachePuts")).isEqualTo(100L);
    assertThat(recorder.count("CREATED")).isEqualTo(100);
    assertThat(recorder.count("REMOVED")).isZero();
    assertThat(recorder.count("EXPIRED")).isZero();
  }

  /* ---------------- Store by value and by reference; copiers ---------------- */

  /** Store-by-value (the default): neither the caller's nor the reader's changes reach it. */
  @Test
  void storeByValue_isolatesTheCallersObjects() {
    Cache<String, Box> cache = manager.createCache("byValue", new MutableConfiguration<>());
    Box put = new Box("original");
    cache.put("k", put);
    put.content = "changed after put";
    Box got = cache.get("k");
    assertThat(got).isEqualTo(new Box("original"));
    got.content = "changed after get";
    assertThat(cache.get("k")).isEqualTo(new Box("original"));
    assertThat(cache.get("k")).isNotSameAs(cache.get("k"));
  }

  /** Store-by-reference keeps and hands out the caller's own instances. */
  @Test
  void storeByReference_sharesInstances() {
    Cache<String, Box> cache = manager.createCache("byReference",
        new MutableConfiguration<String, Box>().setStoreByValue(false));
    Box put = new Box("original");
    cache.put("k", put);
    assertThat(cache.get("k")).isSameAs(put);
  }

  /** A copier that throws fails the put before the writer runs; the cache is unchanged. */
  @Test
  void copierThatThrows_failsThePut_beforeTheWriter() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Copier poisoned = new Copier() {
      @Override
      public <T> T copy(T object, ClassLoader classLoader) {
        if ("poison".equals(object)) {
          throw new CacheException("cannot copy poison");
        }
        return object;
      }
    };
    HourglassConfiguration<String, String> config = new HourglassConfiguration<>();
    config.setCopier(poisoned).setWriteThrough(true).setCacheWriterFactory(factoryOf(writer));
    Cache<String, String> cache = manager.createCache("copier", config);
    assertThatThrownBy(() -> cache.put("k", "poison")).isInstanceOf(CacheException.class);
    assertThat(writer.calls).isEmpty();
    assertThat(cache.containsKey("k")).isFalse();
    cache.put("k", "fine");
    assertThat(cache.get("k")).isEqualTo("fine");
  }

  /** A non-serializable value in a store-by-value cache fails the put before the writer. */
  @Test
  void nonSerializableValue_failsThePut_beforeTheWriter() {
    RecordingWriter<String, Object> writer = new RecordingWriter<>();
    Cache<String, Object> cache = manager.createCache("serial", writingTo(writer));
    assertThatThrownBy(() -> cache.put("k", new Object())).isInstanceOf(CacheException.class);
    assertThat(writer.calls).isEmpty();
    assertThat(cache.containsKey("k")).isFalse();
  }

  /**
   * Defect: {@code putAll} hands the writer a value it then cannot store, so the writer and the
   * cache disagree.
   *
   * <p>{@code put} copies the key and value in before calling the writer, so a value the
   * store-by-value copier cannot copy (here: not serializable) fails the put with nothing
   * written anywhere ({@link #nonSerializableValue_failsThePut_beforeTheWriter}). {@code putAll}
   * calls {@code writer.writeAll} first and copies afterwards: the writer's store gets "k", the
   * copy then fails, and the cache stays without "k". Write-through promises the cache and its
   * writer hold the same entries. Expected: as for put, the entry that cannot be copied never
   * reaches the writer.
   */
  @Test
  void putAll_withAValueTheCopierCannotCopy_neverReachesTheWriter() {
    RecordingWriter<String, Object> writer = new RecordingWriter<>();
    Cache<String, Object> cache = manager.createCache("serialAll", writingTo(writer));
    Map<String, Object> entries = new LinkedHashMap<>();
    entries.put("k", new Object());
    assertThatThrownBy(() -> cache.putAll(entries)).isInstanceOf(CacheException.class);
    assertThat(cache.containsKey("k")).isFalse();
    assertThat(writer.store).as("the writer's store, after a putAll the cache refused")
        .doesNotContainKey("k");
  }

  /**
   * Defect: an entry processor's {@code setValue} with a value the copier cannot copy reaches
   * the writer, and the cache then refuses it.
   *
   * <p>As in {@link #putAll_withAValueTheCopierCannotCopy_neverReachesTheWriter}: the processor's
   * commit ({@code ProcessorEntry.commit}, case SET) calls the writer before it copies the value
   * in; the copy throws, the invoke fails and the cache is unchanged, but the writer already
   * wrote the value. Expected: nothing reaches the writer when the cache does not take the value.
   */
  @Test
  void invoke_setValueTheCopierCannotCopy_neverReachesTheWriter() {
    RecordingWriter<String, Object> writer = new RecordingWriter<>();
    Cache<String, Object> cache = manager.createCache("serialInvoke", writingTo(writer));
    assertThatThrownBy(() -> cache.invoke("k", (entry, args) -> {
      entry.setValue(new Object());
      return null;
    })).isInstanceOf(CacheException.class);
    assertThat(cache.containsKey("k")).isFalse();
    assertThat(writer.store).as("the writer's store, after an invoke the cache refused")
        .doesNotContainKey("k");
  }

  /* ---------------- Expiry ---------------- */

  /** A creation duration of ZERO stores nothing and publishes no CREATED event. */
  @Test
  void creationExpiryZero_storesNothing() {
    Recorder<String, String> recorder = new Recorder<>();
    Cache<String, String> cache = manager.createCache("zero", new MutableConfiguration<String,
        String>().setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(Duration.ZERO))
        .addCacheEntryListenerConfiguration(listening(recorder, true)));
    cache.put("k", "v");
    assertThat(cache.putIfAbsent("k2", "v")).isFalse();
    assertThat(cache.containsKey("k")).isFalse();
    assertThat(cache.get("k")).isNull();
    assertThat(size(cache)).isZero();
    assertThat(recorder.count("CREATED")).isZero();
  }

  /**
   * Defect: {@code replace} reports "not replaced" for a present key when the update duration
   * is ZERO, although it replaced the value and wrote it through.
   *
   * <p>JSR-107 {@code Cache.replace(K, V)} is "equivalent to {@code if (cache.containsKey(key))
   * { cache.put(key, value); return true; } else { return false; }} except that the action is
   * performed atomically", and {@code replace(K, V, V)} likewise returns true when the key was
   * mapped to the old value. With {@code getExpiryForUpdate()} returning ZERO the replacing
   * value expires at once: the writer is called with it, the old entry is gone, an EXPIRED
   * event is published, yet both replace methods return false, because they return
   * {@code outcome.updated}, which {@code JCache.updated} leaves false when the new deadline is
   * now. A caller told "false" believes nothing was written. Expected: true from both.
   */
  @Test
  void replace_withAnUpdateDurationOfZero_reportsTheReplacement() {
    ExpiryPolicy updateZero = new ExpiryPolicy() {
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
        return Duration.ZERO;
      }
    };
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("updateZero", writingTo(writer)
        .setExpiryPolicyFactory(factoryOf(updateZero)));
    cache.put("k", "v1");
    boolean replaced = cache.replace("k", "v2");
    assertThat(writer.calls).containsExactly("write k=v1", "write k=v2");
    assertThat(cache.containsKey("k")).isFalse();
    cache.put("j", "v1");
    boolean replacedIfEqual = cache.replace("j", "v1", "v2");
    assertThat(writer.store).containsEntry("j", "v2");
    assertThat(replaced).as("replace(k, v2) of a present k, written through").isTrue();
    assertThat(replacedIfEqual).as("replace(j, v1, v2) of j=v1, written through").isTrue();
  }

  /** A policy that throws is logged (captured here, not printed) and taken as "no change". */
  @Test
  void expiryPolicyThatThrows_isLogged_andTakenAsNoChange() {
    ExpiryPolicy throwing = new ExpiryPolicy() {
      @Override
      public Duration getExpiryForCreation() {
        throw new IllegalStateException("creation policy down");
      }

      @Override
      public Duration getExpiryForAccess() {
        throw new IllegalStateException("access policy down");
      }

      @Override
      public Duration getExpiryForUpdate() {
        throw new IllegalStateException("update policy down");
      }
    };
    try (CapturedLog log = new CapturedLog("dev.hourglass.cache.jcache")) {
      Cache<String, String> cache = manager.createCache("throwingExpiry",
          new MutableConfiguration<String, String>().setExpiryPolicyFactory(factoryOf(throwing)));
      cache.put("k", "v1");
      assertThat(cache.get("k")).isEqualTo("v1");
      cache.put("k", "v2");
      assertThat(cache.get("k")).isEqualTo("v2");
      assertThat(log.records).hasSizeGreaterThanOrEqualTo(3);
      assertThat(log.records).allSatisfy(r -> assertThat(r.getThrown())
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("policy down"));
    }
  }

  /** Access ZERO expires the entry after one read; update null keeps the deadline. */
  @Test
  void accessZero_expiresAfterOneRead_andUpdateNullKeepsTheDeadline() {
    ExpiryPolicy policy = new ExpiryPolicy() {
      @Override
      public Duration getExpiryForCreation() {
        return Duration.ETERNAL;
      }

      @Override
      public Duration getExpiryForAccess() {
        return Duration.ZERO;
      }

      @Override
      public Duration getExpiryForUpdate() {
        return null;
      }
    };
    Cache<String, String> cache = manager.createCache("accessZero",
        new MutableConfiguration<String, String>().setExpiryPolicyFactory(factoryOf(policy)));
    cache.put("k", "v1");
    cache.put("k", "v2"); // update: the deadline (eternal) is kept
    assertThat(cache.containsKey("k")).isTrue();
    assertThat(cache.get("k")).isEqualTo("v2");
    assertThat(cache.get("k")).isNull();
    assertThat(cache.containsKey("k")).isFalse();
  }

  /** Durations too long for nanoseconds are taken as eternal, not overflowed into the past. */
  @Test
  void hugeDurations_areEternal_notOverflowed() {
    Duration huge = new Duration(TimeUnit.DAYS, Long.MAX_VALUE);
    Cache<String, String> cache = manager.createCache("huge", new MutableConfiguration<String,
        String>().setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(huge)));
    cache.put("k", "v");
    assertThat(cache.get("k")).isEqualTo("v");
    assertThat(cache.containsKey("k")).isTrue();
  }

  /**
   * Defect: an entry the store expires while a write of its key is in flight is reported
   * EXPIRED, and then UPDATED by that write, as if it were still there.
   *
   * <p>JCache's write of a key runs in the store's compute, and the provider promises the
   * operation "with the writer [...] it calls, is atomic per key" (class javadoc of
   * {@code JCache}). The store's own expiration does not wait for the compute: while a slow
   * writer runs for {@code put(k, v2)}, the store's clean-up expires {@code k=v1} and the
   * provider publishes EXPIRED ({@code JCache.onStoreRemoval}); the put then completes as an
   * update of the {@code current} it started from ({@code JCache.updated}) and publishes
   * UPDATED with old value v1. A listener is told k expired, then that k, which no longer exists
   * for it, was updated. Reproduction: creation expiry 1.5 s, update expiry eternal; put k=v1;
   * put k=v2 at once, with a writer that waits (bounded) until the listener has seen k expire.
   * Expected: a valid history for k, each event possible after the ones before: either no
   * expiry while the write holds k ([CREATED v1, UPDATED v2]) or a creation after it
   * ([CREATED v1, EXPIRED v1, CREATED v2]). Actual: [CREATED v1, EXPIRED v1, UPDATED v2 (v1)].
   * (Found by a stress test of concurrent writers with a 1 ms time to live, in which more
   * entries left the cache than were created.)
   */
  @Test
  void expiryDuringASlowWrite_isNotFollowedByAnUpdate() throws Exception {
    ExpiryPolicy createdThenEternal = new ExpiryPolicy() {
      @Override
      public Duration getExpiryForCreation() {
        return new Duration(TimeUnit.MILLISECONDS, 1_500);
      }

      @Override
      public Duration getExpiryForAccess() {
        return null;
      }

      @Override
      public Duration getExpiryForUpdate() {
        return Duration.ETERNAL;
      }
    };
    Recorder<String, String> recorder = new Recorder<>();
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("expiringMidWrite", writingTo(writer)
        .setExpiryPolicyFactory(factoryOf(createdThenEternal))
        .addCacheEntryListenerConfiguration(listening(recorder, true)));
    cache.put("k", "v1");
    writer.hook = key -> {
      try {
        eventually(10, () -> recorder.count("EXPIRED") > 0); // bounded: none is fine too
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    };
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () -> cache.put("k", "v2"));
    writer.hook = null;
    assertValidHistory(List.copyOf(recorder.events));
  }

  /**
   * Asserts that the events of one key form a possible history: CREATED only while absent;
   * UPDATED, REMOVED and EXPIRED only while present; REMOVED and EXPIRED make it absent.
   */
  private static void assertValidHistory(List<String> events) {
    boolean present = false;
    for (int i = 0; i < events.size(); i++) {
      String event = events.get(i);
      boolean creation = event.startsWith("CREATED");
      assertThat(creation ? !present : present)
          .as("event %s of %s, when the key is %s", i, events, present ? "present" : "absent")
          .isTrue();
      present = creation || event.startsWith("UPDATED");
    }
  }

  /** A tiny time to live: the entry goes, and exactly one EXPIRED event says so. */
  @Test
  void tinyTimeToLive_expires_withExactlyOneExpiredEvent() throws Exception {
    Recorder<String, String> recorder = new Recorder<>();
    Cache<String, String> cache = manager.createCache("tiny", new MutableConfiguration<String,
        String>().setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(
            new Duration(TimeUnit.MILLISECONDS, 1)))
        .addCacheEntryListenerConfiguration(listening(recorder, true)));
    cache.put("k", "v");
    assertThat(eventually(BOUND_S, () -> cache.get("k") == null)).isTrue();
    assertThat(eventually(BOUND_S, () -> recorder.count("EXPIRED") >= 1)).isTrue();
    Thread.sleep(2_500); // the store's own clean-up runs every second: give it two chances
    assertThat(recorder.count("EXPIRED")).isEqualTo(1);
    assertThat(recorder.events.get(0)).startsWith("CREATED k=v");
  }

  /* ---------------- Loader ---------------- */

  /** A loader that reads its own key through the cache fails fast instead of hanging. */
  @Test
  void loaderThatReadsItsOwnKey_failsFast_withoutHanging() {
    AtomicReference<Cache<String, String>> self = new AtomicReference<>();
    AtomicBoolean recurse = new AtomicBoolean(true);
    Cache<String, String> cache = manager.createCache("selfLoading",
        new MutableConfiguration<String, String>().setReadThrough(true).setCacheLoaderFactory(
            factoryOf(loader(k -> recurse.get() ? "via " + self.get().get(k) : "loaded"))));
    self.set(cache);
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
        assertThatThrownBy(() -> cache.get("k")).isInstanceOf(CacheLoaderException.class));
    assertThat(cache.containsKey("k")).isFalse();
    recurse.set(false);
    assertThat(cache.get("k")).isEqualTo("loaded");
  }

  /** A loader that puts its own key through the cache fails fast instead of hanging. */
  @Test
  void loaderThatPutsItsOwnKey_failsFast_withoutHanging() {
    AtomicReference<Cache<String, String>> self = new AtomicReference<>();
    Cache<String, String> cache = manager.createCache("selfPutting",
        new MutableConfiguration<String, String>().setReadThrough(true).setCacheLoaderFactory(
            factoryOf(loader(k -> {
              self.get().put(k, "put by the loader");
              return "loaded";
            }))));
    self.set(cache);
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
        assertThatThrownBy(() -> cache.get("k")).isInstanceOf(CacheLoaderException.class));
    cache.put("k", "v");
    assertThat(cache.get("k")).isEqualTo("v");
  }

  /** A loader that loads another key through the same cache loads both. */
  @Test
  void loaderThatLoadsAnotherKey_throughTheCache_loadsBoth() {
    AtomicReference<Cache<String, String>> self = new AtomicReference<>();
    Recorder<String, String> recorder = new Recorder<>();
    Cache<String, String> cache = manager.createCache("nestedLoading",
        new MutableConfiguration<String, String>().setReadThrough(true).setCacheLoaderFactory(
            factoryOf(loader(k -> k.equals("a") ? "a+" + self.get().get("b") : k.toUpperCase())))
            .addCacheEntryListenerConfiguration(listening(recorder, true)));
    self.set(cache);
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
        assertThat(cache.get("a")).isEqualTo("a+B"));
    assertThat(cache.get("b")).isEqualTo("B");
    assertThat(recorder.events).containsExactlyInAnyOrder("CREATED b=B", "CREATED a=a+B");
  }

  /** A failing loader is a CacheLoaderException for get, getAll and loadAll; nothing is kept. */
  @Test
  void loaderFailure_isCacheLoaderException_andStoresNothing() throws Exception {
    Cache<String, String> cache = manager.createCache("failingLoader",
        new MutableConfiguration<String, String>().setReadThrough(true).setCacheLoaderFactory(
            factoryOf(loader(k -> {
              throw new IllegalStateException("database down");
            }))));
    assertThatThrownBy(() -> cache.get("k")).isInstanceOf(CacheLoaderException.class)
        .hasRootCauseMessage("database down");
    assertThatThrownBy(() -> cache.getAll(Set.of("k", "j")))
        .isInstanceOf(CacheLoaderException.class);
    CompletionListenerFuture done = new CompletionListenerFuture();
    cache.loadAll(Set.of("k"), true, done);
    assertThatThrownBy(() -> done.get(BOUND_S, SECONDS)).isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(CacheLoaderException.class);
    assertThat(size(cache)).isZero();
  }

  /** A slow load stalls its own key only; concurrent readers of the key share the one load. */
  @Test
  void slowLoader_isSharedByReadersOfItsKey_andStallsNoOtherKey() throws Exception {
    CountDownLatch loading = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger loadsOfA = new AtomicInteger();
    Cache<String, String> cache = manager.createCache("slowLoader",
        HourglassConfiguration.<String, String>from("concurrencyLevel=1").setReadThrough(true)
            .setCacheLoaderFactory(factoryOf(loader(k -> {
              if (k.equals("a")) {
                loadsOfA.incrementAndGet();
                loading.countDown();
                await(release);
              }
              return k.toUpperCase();
            }))));
    Future<String> first = threads.submit(() -> cache.get("a"));
    await(loading);
    Future<String> second = threads.submit(() -> cache.get("a"));
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () -> {
      assertThat(cache.get("b")).isEqualTo("B");
      cache.put("c", "C");
    });
    release.countDown();
    assertThat(first.get(BOUND_S, SECONDS)).isEqualTo("A");
    assertThat(second.get(BOUND_S, SECONDS)).isEqualTo("A");
    assertThat(loadsOfA).hasValue(1);
  }

  /* ---------------- Writer ---------------- */

  /**
   * A writer that fails leaves the cache unchanged, for every single-key write, and surfaces as
   * CacheWriterException (wrapped in EntryProcessorException for invoke); no event is published.
   */
  @Test
  void writerFailure_leavesTheCacheUnchanged_forEverySingleKeyWrite() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Recorder<String, String> recorder = new Recorder<>();
    Cache<String, String> cache = manager.createCache("failingWriter", writingTo(writer)
        .addCacheEntryListenerConfiguration(listening(recorder, true)));
    cache.put("k", "v0");
    writer.hook = key -> {
      throw new IllegalStateException("store down");
    };
    List<Runnable> writes = List.of(() -> cache.put("k", "v1"),
        () -> cache.put("new", "v1"), () -> cache.getAndPut("k", "v1"),
        () -> cache.putIfAbsent("new", "v1"), () -> cache.replace("k", "v1"),
        () -> cache.replace("k", "v0", "v1"), () -> cache.getAndReplace("k", "v1"),
        () -> cache.remove("k"), () -> cache.remove("k", "v0"), () -> cache.getAndRemove("k"),
        () -> cache.putAll(Map.of("k", "v1", "new", "v1")), () -> cache.removeAll(Set.of("k")),
        () -> cache.removeAll());
    for (Runnable write : writes) {
      assertThatThrownBy(write::run).isInstanceOf(CacheWriterException.class);
      assertThat(cache.get("k")).isEqualTo("v0");
      assertThat(cache.containsKey("new")).isFalse();
    }
    assertThatThrownBy(() -> cache.invoke("k", (e, a) -> {
      e.setValue("v1");
      return null;
    })).isInstanceOf(EntryProcessorException.class).hasCauseInstanceOf(CacheWriterException.class);
    assertThatThrownBy(() -> cache.invoke("k", (e, a) -> {
      e.remove();
      return null;
    })).isInstanceOf(EntryProcessorException.class).hasCauseInstanceOf(CacheWriterException.class);
    assertThat(cache.get("k")).isEqualTo("v0");
    assertThat(recorder.events).containsExactly("CREATED k=v0");
  }

  /** A batch writer that writes part of a putAll: the cache keeps exactly what was written. */
  @Test
  void writerFailure_inPutAll_keepsExactlyWhatTheWriterWrote() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("partialWriter", writingTo(writer));
    writer.hook = key -> {
      if (key.equals("b")) {
        throw new IllegalStateException("b refused");
      }
    };
    Map<String, String> entries = new LinkedHashMap<>();
    entries.put("a", "1");
    entries.put("b", "2");
    entries.put("c", "3");
    assertThatThrownBy(() -> cache.putAll(entries)).isInstanceOf(CacheWriterException.class);
    assertThat(cache.get("a")).isEqualTo("1");
    assertThat(cache.containsKey("b")).isFalse();
    assertThat(cache.containsKey("c")).isFalse();
    assertThat(writer.store).containsOnlyKeys("a");
  }

  /** A writer that puts the key it is writing fails fast: CacheWriterException, no change. */
  @Test
  void writerThatPutsItsOwnKey_failsFast_andLeavesTheCacheUnchanged() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("selfWriting", writingTo(writer));
    cache.put("k", "v0");
    writer.hook = key -> cache.put("k", "from the writer");
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
        assertThatThrownBy(() -> cache.put("k", "v1")).isInstanceOf(CacheWriterException.class));
    writer.hook = null;
    assertThat(cache.get("k")).isEqualTo("v0");
    assertThat(writer.store).containsEntry("k", "v0");
  }

  /** A writer that writes another key through the same cache works. */
  @Test
  void writerThatWritesAnotherKey_throughTheCache_works() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("auditWriting", writingTo(writer));
    writer.hook = key -> {
      if (!key.toString().startsWith("audit-")) {
        cache.put("audit-" + key, "seen");
      }
    };
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
        cache.put("k", "v"));
    assertThat(cache.get("k")).isEqualTo("v");
    assertThat(cache.get("audit-k")).isEqualTo("seen");
    assertThat(writer.store).containsEntry("k", "v").containsEntry("audit-k", "seen");
  }

  /** A slow writer stalls its own key only, even when every key shares one stripe. */
  @Test
  void slowWriter_stallsOnlyItsKey_evenInOneStripe() throws Exception {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    HourglassConfiguration<String, String> config =
        HourglassConfiguration.from("concurrencyLevel=1");
    config.setWriteThrough(true).setCacheWriterFactory(factoryOf(writer));
    Cache<String, String> cache = manager.createCache("slowWriter", config);
    cache.put("a", "old");
    writer.hook = key -> {
      if (key.equals("a")) {
        writing.countDown();
        await(release);
      }
    };
    Future<?> slow = threads.submit(() -> cache.put("a", "new"));
    await(writing);
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () -> {
      cache.put("b", "B");
      assertThat(cache.get("b")).isEqualTo("B");
      assertThat(cache.get("a")).isEqualTo("old"); // readers see the value before the write
    });
    release.countDown();
    slow.get(BOUND_S, SECONDS);
    assertThat(cache.get("a")).isEqualTo("new");
  }

  /**
   * {@code putAll} and {@code removeAll} call the writer's batch method once, before the cache
   * changes, and change only what the writer took (JSR-107 leaves bulk operations non-atomic;
   * {@code JCache.putAll} documents that a concurrent single-key write of one of the keys may
   * reach the writer and the cache in other orders). Settled by documenting, after this review
   * found the interleaving: the writer, called by putAll, sees no change in the cache yet.
   */
  @Test
  void putAllAndRemoveAll_callTheWriterFirst_andChangeOnlyWhatItTook() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("bulkWriterFirst", writingTo(writer));
    List<Boolean> presentWhileWriting = new CopyOnWriteArrayList<>();
    writer.afterHook = call -> presentWhileWriting.add(cache.containsKey("k"));
    cache.putAll(Map.of("k", "A"));
    assertThat(presentWhileWriting).as("k in the cache while the writer wrote it")
        .containsExactly(false);
    assertThat(cache.get("k")).isEqualTo("A").isEqualTo(writer.store.get("k"));
    presentWhileWriting.clear();
    cache.removeAll(Set.of("k"));
    assertThat(presentWhileWriting).as("k in the cache while the writer deleted it")
        .containsExactly(true);
    assertThat(cache.containsKey("k")).isFalse();
    assertThat(writer.store).doesNotContainKey("k");
  }

  /* ---------------- Listeners ---------------- */

  /** Synchronous listeners may write the very key of their event: no hang, no lost write. */
  @Test
  void syncListenerThatWritesItsOwnKey_works() {
    AtomicReference<Cache<String, String>> self = new AtomicReference<>();
    Recorder<String, String> normalizer = new Recorder<>();
    normalizer.hook = event -> {
      if (event.getEventType() == javax.cache.event.EventType.CREATED
          && !event.getValue().equals(event.getValue().toUpperCase())) {
        self.get().put(event.getKey(), event.getValue().toUpperCase());
      } else if (event.getEventType() == javax.cache.event.EventType.REMOVED
          && event.getKey().equals("sticky")) {
        self.get().put("sticky", "BACK");
      }
    };
    Cache<String, String> cache = manager.createCache("normalizing",
        new MutableConfiguration<String, String>()
            .addCacheEntryListenerConfiguration(listening(normalizer, true)));
    self.set(cache);
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () -> {
      cache.put("k", "shout");
      cache.put("sticky", "X");
      cache.remove("sticky");
    });
    assertThat(cache.get("k")).isEqualTo("SHOUT");
    assertThat(cache.get("sticky")).isEqualTo("BACK");
  }

  /** A synchronous listener's exception reaches the caller, after the change is made. */
  @Test
  void syncListenerThatThrows_surfacesAsCacheEntryListenerException_afterTheChange() {
    Recorder<String, String> failing = new Recorder<>();
    failing.hook = event -> {
      throw new IllegalStateException("listener down");
    };
    Cache<String, String> cache = manager.createCache("failingSyncListener",
        new MutableConfiguration<String, String>()
            .addCacheEntryListenerConfiguration(listening(failing, true)));
    assertThatThrownBy(() -> cache.put("k", "v")).isInstanceOf(CacheEntryListenerException.class);
    assertThat(cache.get("k")).isEqualTo("v");
  }

  /** An asynchronous listener's exception is logged (captured) and never reaches the caller. */
  @Test
  void asyncListenerThatThrows_isLogged_andTheCallerSucceeds() throws Exception {
    Recorder<String, String> failing = new Recorder<>();
    IllegalStateException failure = new IllegalStateException("async listener down");
    failing.hook = event -> {
      throw failure;
    };
    try (CapturedLog log = new CapturedLog("dev.hourglass.cache.jcache")) {
      Cache<String, String> cache = manager.createCache("failingAsyncListener",
          new MutableConfiguration<String, String>()
              .addCacheEntryListenerConfiguration(listening(failing, false)));
      cache.put("k", "v");
      assertThat(cache.get("k")).isEqualTo("v");
      assertThat(eventually(BOUND_S, () -> log.logged(failure))).isTrue();
    }
  }

  /**
   * Defect: a synchronous listener can see a key's events in an order other than the one in
   * which they occurred.
   *
   * <p>JSR-107 ({@code CacheEntryListener}): listeners "if synchronous are fired, for a given
   * key, in the order that events occur". The provider publishes an operation's events after it
   * has released the key ({@code JCache.finish}, "with nothing held"), so another thread's later
   * change of the same key can be published first. Reproduction, deterministic: two synchronous
   * listeners; the first, for CREATED, is slow (it waits, with a bound, until a second thread has
   * removed the key); the second records. Thread 1 puts "k" and is held in the first listener;
   * thread 2 removes "k" (it does not wait: the key is free) and publishes REMOVED; thread 1 then
   * goes on to the recorder with CREATED. Expected: [CREATED, REMOVED]; actual: [REMOVED,
   * CREATED].
   */
  @Test
  void syncListener_seesTheEventsOfAKey_inTheOrderTheyOccurred() throws Exception {
    assertEventsOfAKeyInOrder(true);
  }

  /**
   * Defect: an asynchronous listener can see a key's events in an order other than the one in
   * which they occurred.
   *
   * <p>JSR-107 ({@code CacheEntryListener}): asynchronous listeners "iterate through multiple
   * events with an undefined ordering, except that events on the same key are in the order that
   * the events occur". The provider orders each asynchronous registration's deliveries by the
   * order they are published ({@code EventDispatcher}), and publishes after the key is released,
   * so the same interleaving as in {@link #syncListener_seesTheEventsOfAKey_inTheOrderTheyOccurred}
   * (a slow synchronous listener registered first) hands the asynchronous recorder REMOVED before
   * CREATED.
   */
  @Test
  void asyncListener_seesTheEventsOfAKey_inTheOrderTheyOccurred() throws Exception {
    assertEventsOfAKeyInOrder(false);
  }

  private void assertEventsOfAKeyInOrder(boolean synchronousRecorder) throws Exception {
    CountDownLatch createdSeen = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    CacheEntryCreatedListener<String, String> slowAuditor = events -> {
      createdSeen.countDown();
      await(release);
    };
    Recorder<String, String> recorder = new Recorder<>();
    Cache<String, String> cache = manager.createCache("ordering",
        new MutableConfiguration<String, String>()
            .addCacheEntryListenerConfiguration(listening(slowAuditor, true)));
    // Registered after the cache is made, so it is called after the auditor (a configuration
    // keeps its listeners in a set, in no fixed order).
    cache.registerCacheEntryListener(listening(recorder, synchronousRecorder));
    Future<?> putter = threads.submit(() -> cache.put("k", "v"));
    await(createdSeen); // the put is made; its thread is in the first listener
    Future<Boolean> remover = threads.submit(() -> cache.remove("k"));
    try {
      remover.get(2, SECONDS); // an implementation that keeps the order makes it wait: fine
    } catch (TimeoutException expectedOfAnOrderingImplementation) {
      // released below
    }
    release.countDown();
    putter.get(BOUND_S, SECONDS);
    assertThat(remover.get(BOUND_S, SECONDS)).isTrue();
    assertThat(eventually(BOUND_S, () -> recorder.events.size() == 2)).isTrue();
    assertThat(recorder.events).containsExactly("CREATED k=v", "REMOVED k=v (v)");
  }

  /**
   * Defect: a listener registration that fails is still listed in the cache's configuration.
   *
   * <p>{@code registerCacheEntryListener} adds the listener configuration to the cache's
   * configuration first, then creates the listener ({@code JCache.registerCacheEntryListener}).
   * When the listener factory throws, the call fails, but
   * {@code getConfiguration(CompleteConfiguration.class).getCacheEntryListenerConfigurations()}
   * still lists a registration that delivers nothing; registering the same configuration again
   * is refused as a duplicate. Expected: a failed registration leaves no trace.
   */
  @Test
  void failedListenerRegistration_leavesNoTraceInTheConfiguration() {
    Cache<String, String> cache = manager.createCache("failedRegistration",
        new MutableConfiguration<>());
    Factory<CacheEntryListener<String, String>> failingFactory = () -> {
      throw new IllegalStateException("listener factory down");
    };
    MutableCacheEntryListenerConfiguration<String, String> registration =
        new MutableCacheEntryListenerConfiguration<>(failingFactory, null, false, true);
    assertThatThrownBy(() -> cache.registerCacheEntryListener(registration))
        .hasMessageContaining("listener factory down");
    @SuppressWarnings("unchecked")
    CompleteConfiguration<String, String> configuration =
        cache.getConfiguration(CompleteConfiguration.class);
    assertThat(configuration.getCacheEntryListenerConfigurations()).doesNotContain(registration);
  }

  /**
   * Defect: an asynchronous listener is still called after the cache closed it.
   *
   * <p>JSR-107 {@code Cache.close}: the cache manager closes the cache's resources, "calling the
   * close method on [...] registered CacheEntryListeners [...] that implement
   * java.io.Closeable". {@code JCache.close} closes the listeners ({@code EventDispatcher.close})
   * while their asynchronous deliveries are still queued, and the queue then goes on delivering
   * to the closed listener. Reproduction, deterministic: the listener is held (bounded) in its
   * first event; a second put queues another; the cache is closed (the listener's close runs);
   * the listener is let go and receives the queued event after its close. Expected: no event
   * reaches a listener after its close (queued events dropped, or delivered before the close).
   */
  @Test
  void asyncListener_receivesNoEventAfterItsClose() throws Exception {
    // The second event is of the same key, so it waits behind the blocked first delivery and
    // cannot start before close. (An event of another key may be delivered concurrently with
    // close: a delivery that has begun is not interrupted, so it would race the close.)
    CountDownLatch inFirst = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Recorder<String, String> listener = new Recorder<>();
    listener.hook = event -> {
      if (event.getValue().equals("1")) {
        inFirst.countDown();
        await(release);
      }
    };
    Cache<String, String> cache = manager.createCache("closingListener",
        new MutableConfiguration<String, String>()
            .addCacheEntryListenerConfiguration(listening(listener, false)));
    cache.put("a", "1");
    await(inFirst);
    cache.put("a", "2"); // queued behind the delivery that is blocked
    cache.close();
    assertThat(listener.closed).isTrue();
    release.countDown();
    assertThat(eventually(2, () -> listener.events.size() >= 2))
        .as("a queued event delivered after close: %s", listener.events).isFalse();
    assertThat(listener.events).containsExactly("CREATED a=1");
  }

  /* ---------------- Entry processors ---------------- */

  /** A processor that puts its own key through the cache fails fast and changes nothing. */
  @Test
  void entryProcessorThatPutsItsOwnKey_failsFast_andChangesNothing() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("selfInvoking", writingTo(writer));
    cache.put("k", "v0");
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
        assertThatThrownBy(() -> cache.invoke("k", (entry, args) -> {
          cache.put("k", "from the processor");
          entry.setValue("v1");
          return null;
        })).isInstanceOf(EntryProcessorException.class));
    assertThat(cache.get("k")).isEqualTo("v0");
    assertThat(writer.store).containsEntry("k", "v0");
  }

  /** A processor may read its own key through the cache (the value before it) and invoke others. */
  @Test
  void entryProcessorThatInvokesAnotherKey_works() {
    Cache<String, Integer> cache = manager.createCache("chained", new MutableConfiguration<>());
    cache.put("a", 1);
    Integer result = assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
        cache.invoke("a", (entry, args) -> {
          Integer seen = cache.get("a");
          entry.setValue(entry.getValue() + 1);
          return seen + cache.invoke("b", (other, none) -> {
            other.setValue(10);
            return 10;
          });
        }));
    assertThat(result).isEqualTo(11);
    assertThat(cache.get("a")).isEqualTo(2);
    assertThat(cache.get("b")).isEqualTo(10);
  }

  /** A processor that throws after setValue changes nothing and calls no writer. */
  @Test
  void entryProcessorThatThrows_changesNothing_andCallsNoWriter() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Cache<String, String> cache = manager.createCache("throwingProcessor", writingTo(writer));
    cache.put("k", "v0");
    writer.calls.clear();
    assertThatThrownBy(() -> cache.invoke("k", (entry, args) -> {
      entry.setValue("v1");
      throw new IllegalStateException("processor down");
    })).isInstanceOf(EntryProcessorException.class).hasRootCauseMessage("processor down");
    Map<String, EntryProcessorResult<Object>> results = cache.invokeAll(Set.of("k", "j"),
        (entry, args) -> {
          if (entry.getKey().equals("k")) {
            entry.remove();
            throw new IllegalStateException("processor down for k");
          }
          entry.setValue("J");
          return "done";
        });
    assertThatThrownBy(() -> results.get("k").get()).isInstanceOf(EntryProcessorException.class);
    assertThat(results.get("j").get()).isEqualTo("done");
    assertThat(cache.get("k")).isEqualTo("v0");
    assertThat(cache.get("j")).isEqualTo("J");
    assertThat(writer.calls).containsExactly("write j=J");
  }

  /** In a store-by-value cache, a processor that changes the value in place changes nothing. */
  @Test
  void entryProcessorChangingTheValueInPlace_changesNothing() {
    Cache<String, Box> cache = manager.createCache("inPlace", new MutableConfiguration<>());
    cache.put("k", new Box("original"));
    cache.invoke("k", (entry, args) -> {
      entry.getValue().content = "changed in place";
      return null;
    });
    assertThat(cache.get("k")).isEqualTo(new Box("original"));
  }

  /** invoke is atomic per key: concurrent increments, with a writer, lose nothing. */
  @Test
  void invoke_isAtomicPerKey_underContention() throws Exception {
    RecordingWriter<String, Integer> writer = new RecordingWriter<>();
    Cache<String, Integer> cache = manager.createCache("counters", writingTo(writer));
    int threadCount = 4;
    int increments = 500;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < threadCount; t++) {
      futures.add(threads.submit(() -> {
        await(start);
        for (int i = 0; i < increments; i++) {
          String key = (i % 2 == 0) ? "even" : "odd";
          cache.invoke(key, (entry, args) -> {
            entry.setValue(entry.exists() ? entry.getValue() + 1 : 1);
            return null;
          });
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> future : futures) {
      future.get(60, SECONDS);
    }
    assertThat(cache.get("even")).isEqualTo(threadCount * increments / 2);
    assertThat(cache.get("odd")).isEqualTo(threadCount * increments / 2);
    assertThat(writer.store).containsEntry("even", threadCount * increments / 2)
        .containsEntry("odd", threadCount * increments / 2);
  }

  /* ---------------- Keys ---------------- */

  /** A key whose hashCode throws fails the call before the writer; the cache stays usable. */
  @Test
  void keyWhoseHashCodeThrows_failsTheCall_andLeavesTheCacheUsable() {
    RecordingWriter<Object, String> writer = new RecordingWriter<>();
    Cache<Object, String> cache = manager.createCache("badKeys", writingTo(writer));
    Object bad = new ThrowingHashKey();
    assertThatThrownBy(() -> cache.put(bad, "v")).hasMessageContaining("hashCode down");
    assertThatThrownBy(() -> cache.get(bad)).hasMessageContaining("hashCode down");
    assertThat(writer.calls).isEmpty();
    cache.put("fine", "v");
    assertThat(cache.get("fine")).isEqualTo("v");
  }

  static final class ThrowingHashKey implements Serializable {
    private static final long serialVersionUID = 1L;

    @Override
    public int hashCode() {
      throw new IllegalStateException("hashCode down");
    }

    @Override
    public boolean equals(Object o) {
      return o == this;
    }
  }

  /** Keys that all collide; equals may call back into the cache once (a static hook). */
  static final class CollidingKey implements Serializable {
    private static final long serialVersionUID = 1L;
    static final AtomicReference<Runnable> ON_EQUALS = new AtomicReference<>();
    final int id;

    CollidingKey(int id) {
      this.id = id;
    }

    @Override
    public int hashCode() {
      return 7;
    }

    @Override
    public boolean equals(Object o) {
      Runnable hook = ON_EQUALS.getAndSet(null);
      if (hook != null) {
        hook.run();
      }
      return (o instanceof CollidingKey) && (((CollidingKey) o).id == id);
    }

    @Override
    public String toString() {
      return "CollidingKey" + id;
    }
  }

  /** A key whose equals writes into the cache fails fast instead of hanging or corrupting it. */
  @Test
  void keyEqualsThatWritesIntoTheCache_failsFast_withoutHanging() {
    Cache<CollidingKey, String> cache = manager.createCache("callingKeys",
        new MutableConfiguration<CollidingKey, String>().setStoreByValue(false));
    cache.put(new CollidingKey(1), "one");
    CollidingKey.ON_EQUALS.set(() -> cache.put(new CollidingKey(3), "from equals"));
    try {
      assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () ->
          catchThrowable(() -> cache.put(new CollidingKey(2), "two")));
    } finally {
      CollidingKey.ON_EQUALS.set(null);
    }
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S), () -> {
      cache.put(new CollidingKey(4), "four");
      assertThat(cache.get(new CollidingKey(1))).isEqualTo("one");
      assertThat(cache.get(new CollidingKey(4))).isEqualTo("four");
    });
  }

  /* ---------------- Life cycle ---------------- */

  /** A closed cache refuses operations, still answers for its identity, and leaves its manager. */
  @Test
  void closedCache_refusesOperations_butAnswersForItsIdentity() {
    Cache<String, String> cache = manager.createCache("closing", new MutableConfiguration<>());
    cache.put("k", "v");
    cache.close();
    cache.close(); // again: nothing
    assertThat(cache.isClosed()).isTrue();
    assertThat(cache.getName()).isEqualTo("closing");
    assertThat(cache.getCacheManager()).isSameAs(manager);
    assertThat(cache.getConfiguration(CompleteConfiguration.class)).isNotNull();
    List<Runnable> calls = List.of(() -> cache.get("k"), () -> cache.put("k", "v"),
        () -> cache.containsKey("k"), () -> cache.getAll(Set.of("k")), () -> cache.remove("k"),
        () -> cache.iterator(), () -> cache.clear(), () -> cache.removeAll(),
        () -> cache.invoke("k", (e, a) -> null), () -> cache.loadAll(Set.of("k"), true, null),
        () -> cache.putAll(Map.of("k", "v")),
        () -> cache.registerCacheEntryListener(listening(new Recorder<>(), true)));
    for (Runnable call : calls) {
      assertThatThrownBy(call::run).isInstanceOf(IllegalStateException.class);
    }
    assertThat(manager.getCache("closing")).isNull();
    assertThat(manager.getCacheNames()).doesNotContain("closing");
    Cache<String, String> again = manager.createCache("closing", new MutableConfiguration<>());
    assertThat(again.get("k")).isNull();
  }

  /** Closing a cache closes its Closeable loader, writer, expiry policy and listeners. */
  @Test
  void close_closesTheCloseableCallbacks() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Recorder<String, String> listener = new Recorder<>();
    AtomicBoolean loaderClosed = new AtomicBoolean();
    AtomicBoolean expiryClosed = new AtomicBoolean();
    abstract class CloseableLoader implements CacheLoader<String, String>, Closeable {}
    CloseableLoader loader = new CloseableLoader() {
      @Override
      public String load(String key) {
        return key;
      }

      @Override
      public Map<String, String> loadAll(Iterable<? extends String> keys) {
        return Map.of();
      }

      @Override
      public void close() {
        loaderClosed.set(true);
      }
    };
    class CloseableExpiry implements ExpiryPolicy, Closeable {
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
        expiryClosed.set(true);
      }
    }
    Cache<String, String> cache = manager.createCache("closeables", writingTo(writer)
        .setReadThrough(true).setCacheLoaderFactory(factoryOf(loader))
        .setExpiryPolicyFactory(factoryOf(new CloseableExpiry()))
        .addCacheEntryListenerConfiguration(listening(listener, true)));
    cache.close();
    assertThat(writer.closed).isTrue();
    assertThat(listener.closed).isTrue();
    assertThat(loaderClosed).isTrue();
    assertThat(expiryClosed).isTrue();
  }

  /** A closed manager closes its caches and refuses operations; the provider hands a new one. */
  @Test
  void closedManager_closesItsCaches_andRefusesOperations() {
    CacheManager closing = newManager("-closing", new Properties());
    Cache<String, String> cache = closing.createCache("c", new MutableConfiguration<>());
    closing.close();
    closing.close(); // again: nothing
    assertThat(closing.isClosed()).isTrue();
    assertThat(cache.isClosed()).isTrue();
    assertThatThrownBy(() -> closing.getCache("c")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> closing.createCache("d", new MutableConfiguration<>()))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(closing::getCacheNames).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> closing.destroyCache("c")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> cache.put("k", "v")).isInstanceOf(IllegalStateException.class);
    CacheManager fresh = provider.getCacheManager(closing.getURI(), closing.getClassLoader());
    managers.add(fresh);
    assertThat(fresh).isNotSameAs(closing);
    assertThat(fresh.getCache("c")).isNull();
  }

  /**
   * destroyCache while an entry processor of the cache runs: it returns without waiting, the old
   * cache is closed, and a cache re-created under the name starts empty, untouched by the late
   * processor.
   */
  @Test
  void destroyCache_whileAnEntryProcessorRuns_andRecreate() throws Exception {
    Cache<String, String> cache = manager.createCache("doomed", new MutableConfiguration<>());
    cache.put("other", "x");
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Future<Object> running = threads.submit(() -> cache.invoke("k", (entry, args) -> {
      entered.countDown();
      await(release);
      entry.setValue("late");
      return "done";
    }));
    await(entered);
    assertTimeoutPreemptively(java.time.Duration.ofSeconds(BOUND_S),
        () -> manager.destroyCache("doomed"));
    assertThat(cache.isClosed()).isTrue();
    Cache<String, String> again = manager.createCache("doomed", new MutableConfiguration<>());
    release.countDown();
    try {
      running.get(BOUND_S, SECONDS);
    } catch (ExecutionException acceptable) {
      // the late processor may fail: its cache is gone
    }
    assertThat(again).isNotSameAs(cache);
    assertThat(again.get("k")).isNull();
    assertThat(again.get("other")).isNull();
    assertThat(size(again)).isZero();
    assertThatThrownBy(() -> cache.get("k")).isInstanceOf(IllegalStateException.class);
  }

  /** Destroy and re-create: the statistics bean goes with the old cache and counts the new one. */
  @Test
  void destroyAndRecreate_registersAFreshStatisticsBean() throws Exception {
    MutableConfiguration<String, String> config =
        new MutableConfiguration<String, String>().setStatisticsEnabled(true)
            .setManagementEnabled(true);
    Cache<String, String> cache = manager.createCache("phoenix", config);
    cache.put("k", "v");
    cache.get("k");
    assertThat(statistic(manager, "phoenix", "CacheHits")).isEqualTo(1L);
    manager.destroyCache("phoenix");
    assertThat(mbeans().isRegistered(beanName("CacheStatistics", manager.getURI(), "phoenix")))
        .isFalse();
    assertThat(mbeans().isRegistered(beanName("CacheConfiguration", manager.getURI(),
        "phoenix"))).isFalse();
    Cache<String, String> again = manager.createCache("phoenix", config);
    assertThat(statistic(manager, "phoenix", "CacheHits")).isZero();
    again.put("k", "v");
    again.get("k");
    assertThat(statistic(manager, "phoenix", "CacheHits")).isEqualTo(1L);
  }

  /* ---------------- Configuration and management ---------------- */

  /**
   * Defect: the configuration {@code getConfiguration} returns is the cache's live, mutable
   * configuration; changing it reconfigures the running cache.
   *
   * <p>JSR-107 {@code Cache.getConfiguration}: "The returned value must be immutable." Here it
   * is the cache's own HourglassConfiguration (a MutableConfiguration), which the cache reads on
   * every operation: {@code setReadThrough(false)} on it switches read-through off for the
   * running cache (get returns null instead of loading); setTypes, setStatisticsEnabled and the
   * listener list can be changed the same way, bypassing the manager. Expected: the returned
   * configuration cannot change the cache (an immutable view or a copy).
   */
  @Test
  void getConfiguration_cannotReconfigureTheRunningCache() {
    Cache<String, String> cache = manager.createCache("readThrough",
        new MutableConfiguration<String, String>().setReadThrough(true)
            .setCacheLoaderFactory(factoryOf(loader(k -> "loaded " + k))));
    assertThat(cache.get("a")).isEqualTo("loaded a");
    @SuppressWarnings("unchecked")
    CompleteConfiguration<String, String> seen = cache.getConfiguration(CompleteConfiguration.class);
    if (seen instanceof MutableConfiguration) {
      try {
        ((MutableConfiguration<String, String>) seen).setReadThrough(false);
      } catch (UnsupportedOperationException | IllegalStateException refused) {
        // an immutable configuration may refuse: that is what is wanted
      }
    }
    assertThat(cache.get("b")).isEqualTo("loaded b");
    assertThat(cache.getConfiguration(CompleteConfiguration.class).isReadThrough()).isTrue();
  }

  /**
   * Defect: a management-enabled cache whose name has an ObjectName pattern character is left
   * half-created.
   *
   * <p>{@code JCacheManager.createCache} puts the cache into the manager, then registers its
   * beans. A cache named {@code orders*} (any name is legal in JSR-107) makes the bean name a
   * pattern, the MBean server refuses it, and createCache throws CacheException; but the cache
   * stays in the manager: {@code getCache("orders*")} returns it and another createCache of the
   * name says it already exists. Expected: either the cache is created whole (its name quoted
   * in the ObjectName) or the failed createCache leaves nothing behind.
   */
  @Test
  void managedCacheWithAPatternCharacterInItsName_isCreatedWhole_orNotAtAll() {
    String name = "orders*";
    Throwable thrown = catchThrowable(() -> manager.createCache(name,
        new MutableConfiguration<String, String>().setStatisticsEnabled(true)));
    if (thrown == null) {
      Cache<String, String> cache = manager.getCache(name);
      cache.put("k", "v");
      assertThat(cache.get("k")).isEqualTo("v");
    } else {
      assertThat(manager.getCache(name)).as("a cache whose createCache failed with " + thrown)
          .isNull();
      assertThat(manager.getCacheNames()).doesNotContain(name);
    }
  }

  /**
   * Defect: closing one cache unregisters the statistics bean of another cache that is still
   * open.
   *
   * <p>JSR-107 names a cache's bean by its manager's URI and its name with {@code , : = \n}
   * replaced, so two caches can share a bean name: here managers "outside-in:...=x" and
   * "outside-in:....x" each have a cache "c" with statistics on. The first registers the bean;
   * the second finds the name taken and registers nothing ({@code MBeans.register}, silently);
   * closing the second then unregisters by name ({@code MBeans.unregister}) the bean of the
   * first, which is still open with statistics enabled. Expected: closing a cache removes only
   * its own bean; the open cache's statistics stay visible.
   */
  @Test
  void closingACache_leavesTheBeanOfAnotherOpenCache() throws Exception {
    CacheManager first = provider.getCacheManager(URI.create("outside-in:" + testName + "=x"),
        provider.getDefaultClassLoader());
    managers.add(first);
    CacheManager second = provider.getCacheManager(URI.create("outside-in:" + testName + ".x"),
        provider.getDefaultClassLoader());
    managers.add(second);
    MutableConfiguration<String, String> config =
        new MutableConfiguration<String, String>().setStatisticsEnabled(true);
    Cache<String, String> open = first.createCache("c", config);
    Cache<String, String> closing;
    try (CapturedLog log = new CapturedLog("dev.hourglass.cache.jcache")) {
      closing = second.createCache("c", config);
      assertThat(log.records).as("the second cache's bean is not registered, and that is logged")
          .anySatisfy(r -> assertThat(r.getMessage()).contains("is taken by another cache"));
    }
    ObjectName name = beanName("CacheStatistics", first.getURI(), "c");
    assertThat(name).isEqualTo(beanName("CacheStatistics", second.getURI(), "c"));
    assertThat(mbeans().isRegistered(name)).isTrue();
    closing.close();
    assertThat(open.isClosed()).isFalse();
    assertThat(open.getConfiguration(CompleteConfiguration.class).isStatisticsEnabled()).isTrue();
    assertThat(mbeans().isRegistered(name))
        .as("the statistics bean of the open cache, after another cache of that name closed")
        .isTrue();
  }

  /* ---------------- Bulk, iteration, clear ---------------- */

  /** Iterator.remove goes through the writer and publishes REMOVED; clear does neither. */
  @Test
  void iteratorRemove_writesThrough_andClearDoesNot() {
    RecordingWriter<String, String> writer = new RecordingWriter<>();
    Recorder<String, String> recorder = new Recorder<>();
    Cache<String, String> cache = manager.createCache("iterating", writingTo(writer)
        .addCacheEntryListenerConfiguration(listening(recorder, true)));
    cache.put("a", "1");
    cache.put("b", "2");
    for (Iterator<Cache.Entry<String, String>> i = cache.iterator(); i.hasNext(); ) {
      if (i.next().getKey().equals("a")) {
        i.remove();
      }
    }
    assertThat(cache.containsKey("a")).isFalse();
    assertThat(writer.store).containsOnlyKeys("b");
    assertThat(recorder.events).contains("REMOVED a=1 (1)");
    writer.calls.clear();
    recorder.events.clear();
    cache.clear();
    assertThat(cache.containsKey("b")).isFalse();
    assertThat(writer.calls).isEmpty();
    assertThat(recorder.events).isEmpty();
  }

  /**
   * Defect: loadAll calls its CompletionListener twice, {@code onCompletion} and then
   * {@code onException}, when {@code onCompletion} throws.
   *
   * <p>JSR-107 {@code CompletionListener}: {@code onCompletion} "notifies the application that
   * the operation completed successfully", {@code onException} "that the operation failed": one
   * or the other. {@code JCache.loadAll}'s task calls {@code listener.onCompletion()} inside the
   * {@code try} whose {@code catch} calls {@code listener.onException(e)}, so a listener whose
   * onCompletion throws is then told the load failed, with its own exception, after the load
   * succeeded (the values are in the cache). Expected: exactly one callback, onCompletion (its
   * exception logged, say).
   */
  @Test
  void loadAll_callsItsCompletionListenerOnce() throws Exception {
    Cache<String, String> cache = manager.createCache("completion",
        new MutableConfiguration<String, String>().setCacheLoaderFactory(
            factoryOf(loader(k -> "loaded " + k))));
    List<String> callbacks = new CopyOnWriteArrayList<>();
    IllegalStateException bug = new IllegalStateException("the application's own bug");
    boolean logged;
    try (CapturedLog log = new CapturedLog("dev.hourglass.cache.jcache")) {
      cache.loadAll(Set.of("a"), true, new javax.cache.integration.CompletionListener() {
        @Override
        public void onCompletion() {
          callbacks.add("onCompletion");
          throw bug;
        }

        @Override
        public void onException(Exception e) {
          callbacks.add("onException " + e);
        }
      });
      // Logging the listener's exception is the last thing the loadAll task does: once it is
      // logged, no callback can follow, and nothing of this test is logged into another's capture.
      logged = eventually(BOUND_S, () -> log.logged(bug));
    }
    assertThat(cache.get("a")).isEqualTo("loaded a");
    assertThat(callbacks).containsExactly("onCompletion");
    assertThat(logged).as("onCompletion's exception logged").isTrue();
  }

  /** loadAll without replacing keeps existing values, loads the rest, and completes. */
  @Test
  void loadAll_withoutReplacing_keepsExistingValues() throws Exception {
    Cache<String, String> cache = manager.createCache("loadAll",
        new MutableConfiguration<String, String>().setCacheLoaderFactory(
            factoryOf(loader(k -> "loaded " + k))));
    cache.put("a", "mine");
    CompletionListenerFuture done = new CompletionListenerFuture();
    cache.loadAll(Set.of("a", "b"), false, done);
    done.get(BOUND_S, SECONDS);
    assertThat(cache.get("a")).isEqualTo("mine");
    assertThat(cache.get("b")).isEqualTo("loaded b");
    CompletionListenerFuture replaced = new CompletionListenerFuture();
    cache.loadAll(Set.of("a"), true, replaced);
    replaced.get(BOUND_S, SECONDS);
    assertThat(cache.get("a")).isEqualTo("loaded a");
  }

  /* ---------------- Concurrency ---------------- */

  /**
   * Many threads, every kind of write, few keys, a writer and listeners: no operation hangs or
   * fails, the cache and its writer end with the same entries, each key's CREATED and REMOVED
   * events balance with its presence, the asynchronous listener ends with the synchronous one's
   * counts, and the statistics count exactly the events.
   */
  @Test
  void manyThreadsOnFewKeys_writerListenersAndStatisticsAgree() throws Exception {
    int keys = 3;
    RecordingWriter<Integer, Integer> writer = new RecordingWriter<>();
    Counter sync = new Counter(keys);
    Counter async = new Counter(keys);
    Cache<Integer, Integer> cache = manager.createCache("stress",
        writingTo(writer).setTypes(Integer.class, Integer.class).setStatisticsEnabled(true)
            .addCacheEntryListenerConfiguration(listening(sync, true))
            .addCacheEntryListenerConfiguration(listening(async, false)));
    int threadCount = 4;
    int operations = 3_000;
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    for (int t = 0; t < threadCount; t++) {
      futures.add(threads.submit(() -> {
        await(start);
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int i = 0; i < operations; i++) {
          Integer key = random.nextInt(keys);
          Integer value = random.nextInt(4);
          switch (random.nextInt(11)) {
            case 0: cache.put(key, value); break;
            case 1: cache.remove(key); break;
            case 2: cache.getAndPut(key, value); break;
            case 3: cache.getAndRemove(key); break;
            case 4: cache.putIfAbsent(key, value); break;
            case 5: cache.replace(key, value); break;
            case 6: cache.replace(key, random.nextInt(4), value); break;
            case 7: cache.remove(key, value); break;
            case 8: cache.getAndReplace(key, value); break;
            case 9:
              cache.invoke(key, (entry, args) -> {
                if (entry.exists() && entry.getValue() == 3) {
                  entry.remove();
                } else {
                  entry.setValue(entry.exists() ? entry.getValue() + 1 : 0);
                }
                return null;
              });
              break;
            default: cache.get(key); break;
          }
        }
        return null;
      }));
    }
    start.countDown();
    for (Future<?> future : futures) {
      future.get(120, SECONDS);
    }
    long puts = statistic(manager, "stress", "CachePuts");
    long removals = statistic(manager, "stress", "CacheRemovals");
    for (int key = 0; key < keys; key++) {
      Integer inCache = cache.get(key);
      assertThat(inCache).as("key %s: cache vs writer", key).isEqualTo(writer.store.get(key));
      assertThat(sync.created.get(key) - sync.removed.get(key)).as("key %s: created - removed",
          key).isEqualTo((inCache == null) ? 0 : 1);
    }
    assertThat(puts).isEqualTo(sync.total("created") + sync.total("updated"));
    assertThat(removals).isEqualTo(sync.total("removed"));
    assertThat(eventually(BOUND_S, () -> async.sameCounts(sync))).as("async %s vs sync %s",
        async, sync).isTrue();
    assertThat(sync.expired.get(0) + sync.expired.get(1) + sync.expired.get(2)).isZero();
  }

  /** Counts events per key and type. */
  static final class Counter implements CacheEntryCreatedListener<Integer, Integer>,
      CacheEntryUpdatedListener<Integer, Integer>, CacheEntryRemovedListener<Integer, Integer>,
      CacheEntryExpiredListener<Integer, Integer> {
    final AtomicIntegerArray created;
    final AtomicIntegerArray updated;
    final AtomicIntegerArray removed;
    final AtomicIntegerArray expired;

    Counter(int keys) {
      created = new AtomicIntegerArray(keys);
      updated = new AtomicIntegerArray(keys);
      removed = new AtomicIntegerArray(keys);
      expired = new AtomicIntegerArray(keys);
    }

    private static void count(AtomicIntegerArray counts,
        Iterable<CacheEntryEvent<? extends Integer, ? extends Integer>> events) {
      events.forEach(e -> counts.incrementAndGet(e.getKey()));
    }

    @Override
    public void onCreated(Iterable<CacheEntryEvent<? extends Integer, ? extends Integer>> e) {
      count(created, e);
    }

    @Override
    public void onUpdated(Iterable<CacheEntryEvent<? extends Integer, ? extends Integer>> e) {
      count(updated, e);
    }

    @Override
    public void onRemoved(Iterable<CacheEntryEvent<? extends Integer, ? extends Integer>> e) {
      count(removed, e);
    }

    @Override
    public void onExpired(Iterable<CacheEntryEvent<? extends Integer, ? extends Integer>> e) {
      count(expired, e);
    }

    long total(String type) {
      AtomicIntegerArray counts = type.equals("created") ? created
          : type.equals("updated") ? updated : type.equals("removed") ? removed : expired;
      long sum = 0;
      for (int i = 0; i < counts.length(); i++) {
        sum += counts.get(i);
      }
      return sum;
    }

    boolean sameCounts(Counter other) {
      return toString().equals(other.toString());
    }

    @Override
    public String toString() {
      return "created=" + created + " updated=" + updated + " removed=" + removed
          + " expired=" + expired;
    }
  }
}
