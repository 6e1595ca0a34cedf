package dev.hourglass.cache.jcache;

import javax.cache.configuration.CacheEntryListenerConfiguration;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Factory;
import javax.cache.expiry.ExpiryPolicy;
import javax.cache.integration.CacheLoader;
import javax.cache.integration.CacheWriter;

/**
 * What {@code Cache.getConfiguration} returns: a copy of the cache's configuration at that moment
 * that refuses every change (JSR-107: "the returned value must be immutable"), so that no caller
 * can change a running cache by changing it. Use the cache manager and the cache to change one:
 * {@code enableStatistics}, {@code enableManagement}, {@code registerCacheEntryListener}.
 */
final class ConfigurationSnapshot<K, V> extends HourglassConfiguration<K, V> {
  private static final long serialVersionUID = 1L;

  /** False while the superclass constructors copy through the setters. */
  private final boolean frozen;

  ConfigurationSnapshot(CompleteConfiguration<K, V> configuration) {
    super(configuration);
    frozen = true;
  }

  /** The listener configurations, unmodifiable (the superclass hands out its own set). */
  @Override
  public Iterable<CacheEntryListenerConfiguration<K, V>> getCacheEntryListenerConfigurations() {
    java.util.List<CacheEntryListenerConfiguration<K, V>> copy = new java.util.ArrayList<>();
    super.getCacheEntryListenerConfigurations().forEach(copy::add);
    return java.util.Collections.unmodifiableList(copy);
  }

  private void refuse() {
    if (frozen) {
      throw new UnsupportedOperationException("a cache's configuration cannot be changed through"
          + " getConfiguration(): use the cache manager's enableStatistics/enableManagement or"
          + " the cache's registerCacheEntryListener");
    }
  }

  @Override
  public HourglassConfiguration<K, V> setTypes(Class<K> keyType, Class<V> valueType) {
    refuse();
    return super.setTypes(keyType, valueType);
  }

  @Override
  public HourglassConfiguration<K, V> addCacheEntryListenerConfiguration(
      CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    refuse();
    super.addCacheEntryListenerConfiguration(listenerConfiguration);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> removeCacheEntryListenerConfiguration(
      CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    refuse();
    super.removeCacheEntryListenerConfiguration(listenerConfiguration);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setCacheLoaderFactory(
      Factory<? extends CacheLoader<K, V>> factory) {
    refuse();
    super.setCacheLoaderFactory(factory);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setCacheWriterFactory(
      Factory<? extends CacheWriter<? super K, ? super V>> factory) {
    refuse();
    super.setCacheWriterFactory(factory);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setExpiryPolicyFactory(
      Factory<? extends ExpiryPolicy> factory) {
    refuse();
    super.setExpiryPolicyFactory(factory);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setReadThrough(boolean isReadThrough) {
    refuse();
    super.setReadThrough(isReadThrough);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setWriteThrough(boolean isWriteThrough) {
    refuse();
    super.setWriteThrough(isWriteThrough);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setStoreByValue(boolean isStoreByValue) {
    refuse();
    super.setStoreByValue(isStoreByValue);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setStatisticsEnabled(boolean enabled) {
    refuse();
    super.setStatisticsEnabled(enabled);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setManagementEnabled(boolean enabled) {
    refuse();
    super.setManagementEnabled(enabled);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setSpec(String spec) {
    refuse();
    return super.setSpec(spec);
  }

  @Override
  public HourglassConfiguration<K, V> setWeigherFactory(
      Factory<dev.hourglass.cache.Weigher<? super K, ? super V>> weigherFactory) {
    refuse();
    return super.setWeigherFactory(weigherFactory);
  }

  @Override
  public HourglassConfiguration<K, V> setCopierFactory(Factory<Copier> copierFactory) {
    refuse();
    return super.setCopierFactory(copierFactory);
  }
}
