package dev.hourglass.cache.jcache;

import dev.hourglass.cache.internal.SpecString;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.Weigher;
import java.util.Objects;
import javax.cache.configuration.CompleteConfiguration;
import javax.cache.configuration.Configuration;
import javax.cache.configuration.Factory;
import javax.cache.configuration.FactoryBuilder;
import javax.cache.configuration.MutableConfiguration;

/**
 * A JCache configuration with the settings JCache has no words for: the bound on size and the
 * other settings of an Hourglass spec string ({@code maximumSize=10000,recordStats}, see
 * {@link Hourglass#from(String)}), and the {@link Copier} of a store-by-value cache. Pass it to
 * {@code CacheManager.createCache} like a {@link MutableConfiguration}, which it extends; a
 * provider that is not Hourglass sees a plain one.
 *
 * <pre>{@code
 * Cache<String, Book> books = cacheManager.createCache("books",
 *     HourglassConfiguration.<String, Book>from("maximumSize=10000")
 *         .setTypes(String.class, Book.class)
 *         .setExpiryPolicyFactory(CreatedExpiryPolicy.factoryOf(Duration.TEN_MINUTES))
 *         .setStatisticsEnabled(true));
 * }</pre>
 *
 * <p>The spec's durations ({@code expireAfterWrite}, {@code expireAfterAccess}) stand for a JCache
 * {@code ExpiryPolicy} when none is set: created-or-updated and touched expiry, respectively.
 * {@code refreshAfterWrite} is rejected, as JCache has no refresh. A spec's
 * {@code maximumWeight} bounds the cache by the weigher set with {@link #setWeigherFactory}
 * (one without the other fails {@code createCache}, quoting the setting). Like its superclass, it is
 * mutable and not thread-safe; a cache takes a copy when created.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
// JCache types in the signatures: the API is optional (requires static) by design, and whoever
// calls this class has it; javac would have it required transitively.
@SuppressWarnings("exports")
public class HourglassConfiguration<K, V> extends MutableConfiguration<K, V> {
  private static final long serialVersionUID = 1L;

  /** The Hourglass spec string; empty for none. */
  private String spec = "";
  /** The store-by-value copier's factory; null for the default. */
  private Factory<Copier> copierFactory;
  /** The factory of the weigher that a spec's maximumWeight bounds by; null for none. */
  private Factory<Weigher<? super K, ? super V>> weigherFactory;

  /** A configuration with JCache's defaults and an empty spec. */
  public HourglassConfiguration() {}

  /**
   * Copies a configuration, with its Hourglass settings if it has them.
   *
   * @param configuration the configuration to copy
   * @throws NullPointerException if {@code configuration} is null
   */
  public HourglassConfiguration(CompleteConfiguration<K, V> configuration) {
    super(Objects.requireNonNull(configuration, "configuration"));
    if (configuration instanceof HourglassConfiguration) {
      HourglassConfiguration<K, V> other = (HourglassConfiguration<K, V>) configuration;
      this.spec = other.spec;
      this.copierFactory = other.copierFactory;
      this.weigherFactory = other.weigherFactory;
    }
  }

  /**
   * Returns a configuration with JCache's defaults and the settings of {@code spec}.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   * @param spec an Hourglass spec string, see {@link Hourglass#from(String)}
   * @return a new configuration
   * @throws NullPointerException if {@code spec} is null
   * @throws IllegalArgumentException if {@code spec} is malformed, or sets
   *     {@code refreshAfterWrite}, quoting the setting at fault
   */
  public static <K, V> HourglassConfiguration<K, V> from(String spec) {
    return new HourglassConfiguration<K, V>().setSpec(spec);
  }

  /**
   * Returns the Hourglass spec string, empty if none was set.
   *
   * @return the spec
   */
  public String getSpec() {
    return spec;
  }

  /**
   * Sets the Hourglass settings, as a spec string (see {@link Hourglass#from(String)}).
   *
   * @param spec the spec; empty for none
   * @return this configuration
   * @throws NullPointerException if {@code spec} is null
   * @throws IllegalArgumentException if {@code spec} is malformed, or sets
   *     {@code refreshAfterWrite} (JCache has no refresh), quoting the setting at fault
   */
  public HourglassConfiguration<K, V> setSpec(String spec) {
    Objects.requireNonNull(spec, "spec");
    java.util.Map<String, String> settings = SpecString.settings(spec); // validates it
    for (String setting : settings.keySet()) {
      if (setting.equals("refreshAfterWrite")) {
        throw new IllegalArgumentException("spec '" + spec + "': setting 'refreshAfterWrite="
            + settings.get(setting) + "': JCache has no refresh");
      }
    }
    this.spec = spec;
    return this;
  }

  /**
   * Returns the factory of the copier a store-by-value cache uses, or null for the default
   * ({@link Copier#serializing()}).
   *
   * @return the copier factory, or null
   */
  public Factory<Copier> getCopierFactory() {
    return copierFactory;
  }

  /**
   * Sets the factory of the copier a store-by-value cache uses; null restores the default
   * ({@link Copier#serializing()}). A store-by-reference cache copies nothing.
   *
   * @param copierFactory the factory, or null
   * @return this configuration
   */
  public HourglassConfiguration<K, V> setCopierFactory(Factory<Copier> copierFactory) {
    this.copierFactory = copierFactory;
    return this;
  }

  /**
   * Sets the copier a store-by-value cache uses: a shorthand for
   * {@code setCopierFactory(FactoryBuilder.factoryOf(copier))}.
   *
   * @param copier the copier, serializable (configurations are)
   * @return this configuration
   * @throws NullPointerException if {@code copier} is null
   */
  public HourglassConfiguration<K, V> setCopier(Copier copier) {
    Objects.requireNonNull(copier, "copier");
    return setCopierFactory(new FactoryBuilder.SingletonFactory<>(copier));
  }

  /**
   * Returns the factory of the weigher that the spec's {@code maximumWeight} bounds by, or null.
   *
   * @return the weigher factory, or null
   */
  public Factory<Weigher<? super K, ? super V>> getWeigherFactory() {
    return weigherFactory;
  }

  /**
   * Sets the factory of the weigher that weighs each entry (its key and value) for the spec's
   * {@code maximumWeight}; null for none. A weigher needs {@code maximumWeight} in the spec, and
   * {@code maximumWeight} needs a weigher: {@code createCache} refuses one without the other.
   * The weigher runs on each write with no lock held; a negative weight or an exception fails
   * that write and changes nothing.
   *
   * @param weigherFactory the factory, serializable (configurations are), or null
   * @return this configuration
   */
  public HourglassConfiguration<K, V> setWeigherFactory(
      Factory<Weigher<? super K, ? super V>> weigherFactory) {
    this.weigherFactory = weigherFactory;
    return this;
  }

  /** The same as {@link MutableConfiguration#setTypes}, returning this type. */
  @Override
  public HourglassConfiguration<K, V> setTypes(Class<K> keyType, Class<V> valueType) {
    super.setTypes(keyType, valueType);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> addCacheEntryListenerConfiguration(
      javax.cache.configuration.CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    super.addCacheEntryListenerConfiguration(listenerConfiguration);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> removeCacheEntryListenerConfiguration(
      javax.cache.configuration.CacheEntryListenerConfiguration<K, V> listenerConfiguration) {
    super.removeCacheEntryListenerConfiguration(listenerConfiguration);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setCacheLoaderFactory(
      Factory<? extends javax.cache.integration.CacheLoader<K, V>> factory) {
    super.setCacheLoaderFactory(factory);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setCacheWriterFactory(
      Factory<? extends javax.cache.integration.CacheWriter<? super K, ? super V>> factory) {
    super.setCacheWriterFactory(factory);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setExpiryPolicyFactory(
      Factory<? extends javax.cache.expiry.ExpiryPolicy> factory) {
    super.setExpiryPolicyFactory(factory);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setReadThrough(boolean isReadThrough) {
    super.setReadThrough(isReadThrough);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setWriteThrough(boolean isWriteThrough) {
    super.setWriteThrough(isWriteThrough);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setStoreByValue(boolean isStoreByValue) {
    super.setStoreByValue(isStoreByValue);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setStatisticsEnabled(boolean enabled) {
    super.setStatisticsEnabled(enabled);
    return this;
  }

  @Override
  public HourglassConfiguration<K, V> setManagementEnabled(boolean enabled) {
    super.setManagementEnabled(enabled);
    return this;
  }

  /** Whether {@code configuration} carries Hourglass settings. */
  static boolean isHourglass(Configuration<?, ?> configuration) {
    return configuration instanceof HourglassConfiguration;
  }

  /*
   * equals and hashCode are MutableConfiguration's: they compare the JCache settings only. A plain
   * MutableConfiguration compares so with any other (it cannot know the Hourglass settings), so
   * counting the spec and the copier here would make equality one-sided.
   */
}
