package dev.hourglass.cache.jcache;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.WeakHashMap;
import java.util.concurrent.locks.ReentrantLock;
import javax.cache.CacheManager;
import javax.cache.configuration.OptionalFeature;
import javax.cache.spi.CachingProvider;

/**
 * The Hourglass JCache (JSR-107) provider. With {@code javax.cache:cache-api} beside
 * {@code cache-core}, {@code Caching.getCachingProvider()} finds it on the class path (it is
 * named in {@code META-INF/services}); on the module path, where an optional module cannot offer
 * a service, name it: {@code Caching.getCachingProvider(
 * "dev.hourglass.cache.jcache.HourglassCachingProvider")}, or set the system property
 * {@code javax.cache.spi.CachingProvider} to that name.
 *
 * <p>Cache managers are kept per class loader and URI, and a closed one is forgotten, so the
 * next request makes a new one. Thread-safe: managers are made and closed under one lock.
 */
// JCache types in the signatures: the API is optional (requires static) by design, and whoever
// calls this class has it; javac would have it required transitively.
@SuppressWarnings("exports")
public final class HourglassCachingProvider implements CachingProvider {
  private static final URI DEFAULT_URI = URI.create(HourglassCachingProvider.class.getName());

  /** Guards {@code managers}: orders the making and closing of managers. */
  private final ReentrantLock lock = new ReentrantLock();
  private final Map<ClassLoader, Map<URI, JCacheManager>> managers = new WeakHashMap<>();

  /** The provider, as the service loader makes it. */
  public HourglassCachingProvider() {}

  @Override
  public CacheManager getCacheManager(URI uri, ClassLoader classLoader, Properties properties) {
    URI managerUri = (uri == null) ? getDefaultURI() : uri;
    ClassLoader loader = (classLoader == null) ? getDefaultClassLoader() : classLoader;
    Properties managerProperties = (properties == null) ? new Properties() : properties;
    lock.lock(); // one manager per loader and URI
    try {
      Map<URI, JCacheManager> byUri = managers.computeIfAbsent(loader, l -> new HashMap<>());
      JCacheManager manager = byUri.get(managerUri);
      if (manager == null) {
        manager = new JCacheManager(this, managerUri, loader, managerProperties);
        byUri.put(managerUri, manager);
      }
      return manager;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public ClassLoader getDefaultClassLoader() {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return (context != null) ? context : HourglassCachingProvider.class.getClassLoader();
  }

  @Override
  public URI getDefaultURI() {
    return DEFAULT_URI;
  }

  @Override
  public Properties getDefaultProperties() {
    return new Properties();
  }

  @Override
  public CacheManager getCacheManager(URI uri, ClassLoader classLoader) {
    return getCacheManager(uri, classLoader, getDefaultProperties());
  }

  @Override
  public CacheManager getCacheManager() {
    return getCacheManager(getDefaultURI(), getDefaultClassLoader());
  }

  @Override
  public void close() {
    List<JCacheManager> toClose = new ArrayList<>();
    lock.lock(); // takes every manager out at once
    try {
      for (Map<URI, JCacheManager> byUri : managers.values()) {
        toClose.addAll(byUri.values());
      }
      managers.clear();
    } finally {
      lock.unlock();
    }
    toClose.forEach(JCacheManager::close);
  }

  @Override
  public void close(ClassLoader classLoader) {
    ClassLoader loader = (classLoader == null) ? getDefaultClassLoader() : classLoader;
    Map<URI, JCacheManager> byUri;
    lock.lock(); // takes the loader's managers out at once
    try {
      byUri = managers.remove(loader);
    } finally {
      lock.unlock();
    }
    if (byUri != null) {
      new ArrayList<>(byUri.values()).forEach(JCacheManager::close);
    }
  }

  @Override
  public void close(URI uri, ClassLoader classLoader) {
    URI managerUri = (uri == null) ? getDefaultURI() : uri;
    ClassLoader loader = (classLoader == null) ? getDefaultClassLoader() : classLoader;
    JCacheManager manager;
    lock.lock(); // takes the one manager out
    try {
      Map<URI, JCacheManager> byUri = managers.get(loader);
      manager = (byUri == null) ? null : byUri.remove(managerUri);
      if ((byUri != null) && byUri.isEmpty()) {
        managers.remove(loader);
      }
    } finally {
      lock.unlock();
    }
    if (manager != null) {
      manager.close();
    }
  }

  /** Called by a manager's close: the next request for its URI and loader makes a new one. */
  void closed(JCacheManager manager) {
    lock.lock(); // forgets the manager, unless a new one already took its place
    try {
      Map<URI, JCacheManager> byUri = managers.get(manager.getClassLoader());
      if (byUri != null) {
        byUri.remove(manager.getURI(), manager);
        if (byUri.isEmpty()) {
          managers.remove(manager.getClassLoader());
        }
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean isSupported(OptionalFeature optionalFeature) {
    return optionalFeature == OptionalFeature.STORE_BY_REFERENCE;
  }

  @Override
  public String toString() {
    return "HourglassCachingProvider";
  }
}
