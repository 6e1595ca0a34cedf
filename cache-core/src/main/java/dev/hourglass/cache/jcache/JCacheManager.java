package dev.hourglass.cache.jcache;

import dev.hourglass.cache.internal.SpecString;
import java.lang.ref.WeakReference;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantLock;
import javax.cache.Cache;
import javax.cache.CacheException;
import javax.cache.CacheManager;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.MutableConfiguration;
import javax.cache.spi.CachingProvider;

/**
 * The caches of one URI and class loader (JSR-107 chapter 3).
 *
 * <p>A cache made with a plain JCache configuration takes the Hourglass settings from the
 * manager's properties: {@code hourglass.spec.<cache name>}, or else {@code hourglass.spec}, an
 * Hourglass spec string (see {@link HourglassConfiguration}).
 *
 * <h2>Concurrency</h2>
 * Caches are held in a concurrent map; creating, destroying and closing run under one lock,
 * which orders a cache's creation against the manager's close, so that no cache is created into
 * a closed manager. Lookups need no lock.
 */
final class JCacheManager implements CacheManager {
  /** The property of the spec for every cache, and the prefix of one cache's own. */
  static final String SPEC_PROPERTY = "hourglass.spec";

  private final HourglassCachingProvider provider;
  private final URI uri;
  private final WeakReference<ClassLoader> classLoader;
  private final Properties properties;
  private final ConcurrentMap<String, JCache<?, ?>> caches = new ConcurrentHashMap<>();
  /** Orders creation, destruction and close of caches against each other and the close. */
  private final ReentrantLock lock = new ReentrantLock();
  private volatile boolean closed;

  JCacheManager(HourglassCachingProvider provider, URI uri, ClassLoader classLoader,
      Properties properties) {
    this.provider = provider;
    this.uri = uri;
    this.classLoader = new WeakReference<>(classLoader);
    this.properties = properties;
  }

  @Override
  public CachingProvider getCachingProvider() {
    return provider;
  }

  @Override
  public URI getURI() {
    return uri;
  }

  @Override
  public ClassLoader getClassLoader() {
    ClassLoader loader = classLoader.get();
    return (loader == null) ? provider.getDefaultClassLoader() : loader;
  }

  @Override
  public Properties getProperties() {
    return properties;
  }

  @Override
  public <K, V, C extends Configuration<K, V>> Cache<K, V> createCache(String cacheName,
      C configuration) {
    requireOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    Objects.requireNonNull(configuration, "configuration");
    lock.lock(); // orders the creation against other creations and the manager's close
    try {
      requireOpen();
      if (caches.containsKey(cacheName)) {
        throw new CacheException("a cache named " + cacheName + " already exists in " + uri);
      }
      JCache<K, V> cache = new JCache<>(cacheName, this, copyOf(cacheName, configuration));
      CompleteConfiguration<K, V> own = cache.configuration(); // with its spec applied
      try {
        if (own.isManagementEnabled()) {
          MBeans.register(cache, cache.mxBean(), MBeans.Kind.CONFIGURATION);
        }
        if (own.isStatisticsEnabled()) {
          MBeans.register(cache, cache.statistics(), MBeans.Kind.STATISTICS);
        }
      } catch (RuntimeException e) {
        cache.close(); // created whole or not at all: its beans go, its callbacks are closed
        throw e;
      }
      caches.put(cacheName, cache);
      return cache;
    } finally {
      lock.unlock();
    }
  }

  /** The cache's own copy of the configuration, with the properties' spec if it has none. */
  private <K, V> HourglassConfiguration<K, V> copyOf(String cacheName,
      Configuration<K, V> configuration) {
    HourglassConfiguration<K, V> copy;
    if (configuration instanceof CompleteConfiguration) {
      copy = new HourglassConfiguration<>((CompleteConfiguration<K, V>) configuration);
    } else {
      MutableConfiguration<K, V> basic = new MutableConfiguration<K, V>()
          .setTypes(configuration.getKeyType(), configuration.getValueType())
          .setStoreByValue(configuration.isStoreByValue());
      copy = new HourglassConfiguration<>(basic);
    }
    if (!(configuration instanceof HourglassConfiguration)) {
      String own = properties.getProperty(SPEC_PROPERTY + "." + cacheName);
      String spec = (own != null) ? own : properties.getProperty(SPEC_PROPERTY, "");
      if ((own == null) && !(copy.getExpiryPolicyFactory().create()
          instanceof javax.cache.expiry.EternalExpiryPolicy)) {
        // The manager-wide default stands for an expiry only where the cache has none of its own.
        Map<String, String> settings = SpecString.settings(spec);
        settings.remove("expireAfterWrite");
        settings.remove("expireAfterAccess");
        spec = SpecString.join(settings);
      }
      copy.setSpec(spec);
    }
    return copy;
  }

  @Override
  public <K, V> Cache<K, V> getCache(String cacheName, Class<K> keyType, Class<V> valueType) {
    requireOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    Objects.requireNonNull(keyType, "keyType");
    Objects.requireNonNull(valueType, "valueType");
    JCache<?, ?> cache = caches.get(cacheName);
    if (cache == null) {
      return null;
    }
    CompleteConfiguration<?, ?> configuration = cache.configuration();
    if (!keyType.equals(configuration.getKeyType())) {
      throw new ClassCastException("cache " + cacheName + " has key type "
          + configuration.getKeyType().getName() + ", not " + keyType.getName());
    }
    if (!valueType.equals(configuration.getValueType())) {
      throw new ClassCastException("cache " + cacheName + " has value type "
          + configuration.getValueType().getName() + ", not " + valueType.getName());
    }
    @SuppressWarnings("unchecked") // its configured types are K and V, as checked
    Cache<K, V> typed = (Cache<K, V>) cache;
    return typed;
  }

  @Override
  @SuppressWarnings("unchecked") // JSR-107 1.1: the caller vouches for the types
  public <K, V> Cache<K, V> getCache(String cacheName) {
    requireOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    return (Cache<K, V>) caches.get(cacheName);
  }

  @Override
  public Iterable<String> getCacheNames() {
    requireOpen();
    return Collections.unmodifiableList(new ArrayList<>(caches.keySet()));
  }

  @Override
  public void destroyCache(String cacheName) {
    requireOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    JCache<?, ?> cache;
    lock.lock(); // orders the removal against a creation of the same name
    try {
      cache = caches.remove(cacheName);
    } finally {
      lock.unlock();
    }
    if (cache != null) {
      cache.clear();
      cache.close();
    }
  }

  @Override
  public void enableManagement(String cacheName, boolean enabled) {
    requireOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    JCache<?, ?> cache = caches.get(cacheName);
    if (cache == null) {
      return;
    }
    cache.setManagementEnabled(enabled);
    if (enabled) {
      MBeans.register(cache, cache.mxBean(), MBeans.Kind.CONFIGURATION);
    } else {
      MBeans.unregister(cache, cache.mxBean(), MBeans.Kind.CONFIGURATION);
    }
  }

  @Override
  public void enableStatistics(String cacheName, boolean enabled) {
    requireOpen();
    Objects.requireNonNull(cacheName, "cacheName");
    JCache<?, ?> cache = caches.get(cacheName);
    if (cache == null) {
      return;
    }
    cache.setStatisticsEnabled(enabled);
    if (enabled) {
      MBeans.register(cache, cache.statistics(), MBeans.Kind.STATISTICS);
    } else {
      MBeans.unregister(cache, cache.statistics(), MBeans.Kind.STATISTICS);
    }
  }

  /** Called by a cache's close: the manager forgets it and its management beans go. */
  void closed(JCache<?, ?> cache) {
    caches.remove(cache.getName(), cache);
    MBeans.unregister(cache, cache.mxBean(), MBeans.Kind.CONFIGURATION);
    MBeans.unregister(cache, cache.statistics(), MBeans.Kind.STATISTICS);
  }

  @Override
  public void close() {
    List<JCache<?, ?>> toClose;
    lock.lock(); // no cache is created into the manager once it is closed
    try {
      if (closed) {
        return;
      }
      closed = true;
      toClose = new ArrayList<>(caches.values());
    } finally {
      lock.unlock();
    }
    provider.closed(this);
    for (JCache<?, ?> cache : toClose) {
      cache.close();
    }
    caches.clear();
  }

  @Override
  public boolean isClosed() {
    return closed;
  }

  @Override
  public <T> T unwrap(Class<T> clazz) {
    Objects.requireNonNull(clazz, "clazz");
    if (clazz.isInstance(this)) {
      return clazz.cast(this);
    }
    throw new IllegalArgumentException("cannot unwrap an Hourglass cache manager to "
        + clazz.getName());
  }

  private void requireOpen() {
    if (closed) {
      throw new IllegalStateException("cache manager " + uri + " is closed");
    }
  }

  @Override
  public String toString() {
    return "JCacheManager{" + uri + "}";
  }
}
