package dev.hourglass.cache.micrometer;

import dev.hourglass.cache.AsyncCache;
import dev.hourglass.cache.Cache;
import dev.hourglass.cache.CacheBuilder;
import dev.hourglass.cache.CacheStats;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.TimeGauge;
import io.micrometer.core.instrument.binder.cache.CacheMeterBinder;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A Micrometer {@link io.micrometer.core.instrument.binder.MeterBinder MeterBinder} that publishes
 * a cache's size and {@link CacheStats statistics} under the meter names Micrometer's own cache
 * binders use, so dashboards built for them show Hourglass caches too. Instances are immutable and
 * thread-safe; the meters read the cache whenever the registry publishes, from any thread.
 *
 * <pre>{@code
 * LoadingCache<Long, Order> orders = HourglassCacheMetrics.monitor(registry,
 *     Hourglass.newBuilder().maximumSize(50_000).recordStats().build(orderRepository::find),
 *     "orders", "tier", "web");
 * }</pre>
 *
 * <h2>Meters</h2>
 * Each is tagged {@code cache=<cacheName>} and the caller's tags.
 * <table>
 *   <caption>The published meters</caption>
 *   <tr><th>Name</th><th>Type</th><th>Extra tag</th><th>Reads</th></tr>
 *   <tr><td>{@code cache.size}</td><td>gauge</td><td></td>
 *       <td>{@link Cache#estimatedSize()}</td></tr>
 *   <tr><td>{@code cache.gets}</td><td>function counter</td><td>{@code result=hit}</td>
 *       <td>{@link CacheStats#hitCount()}</td></tr>
 *   <tr><td>{@code cache.gets}</td><td>function counter</td><td>{@code result=miss}</td>
 *       <td>{@link CacheStats#missCount()}</td></tr>
 *   <tr><td>{@code cache.puts}</td><td>function counter</td><td></td>
 *       <td>{@link CacheStats#putCount()}</td></tr>
 *   <tr><td>{@code cache.load}</td><td>function counter</td><td>{@code result=success}</td>
 *       <td>{@link CacheStats#loadSuccessCount()}</td></tr>
 *   <tr><td>{@code cache.load}</td><td>function counter</td><td>{@code result=failure}</td>
 *       <td>{@link CacheStats#loadFailureCount()}</td></tr>
 *   <tr><td>{@code cache.load.duration}</td><td>time gauge</td><td></td>
 *       <td>{@link CacheStats#totalLoadTimeNanos()}, in the registry's base time unit</td></tr>
 *   <tr><td>{@code cache.evictions}</td><td>function counter</td><td></td>
 *       <td>{@link CacheStats#evictionCount()}</td></tr>
 *   <tr><td>{@code cache.eviction.weight}</td><td>function counter</td><td></td>
 *       <td>{@link CacheStats#evictionWeight()}</td></tr>
 * </table>
 *
 * <h2>Design</h2>
 * <ol>
 *   <li><b>{@code cache.puts} is the put count.</b> Hourglass counts the values writes store
 *       ({@link CacheStats#putCount()}), apart from loads. Micrometer's binders for Guava and
 *       Caffeine, whose caches count no writes, publish the load count as {@code cache.puts},
 *       which reads zero for a cache filled by {@code put}; here the two are apart:
 *       {@code cache.puts} for writes, {@code cache.load{result=success}} for loads.
 *   <li><b>Without {@link CacheBuilder#recordStats()}</b> every statistic is zero, and a zero
 *       meter would claim "no traffic". Only {@code cache.size} is published then, which is true
 *       either way; nothing is logged, since binding every cache of an application by name, with
 *       statistics on for only some, is a reasonable thing to do. Whether a cache records is
 *       asked once, here: the builder fixes it for the cache's life.
 *   <li><b>Loads on every cache.</b> A plain {@link Cache} loads too ({@code get(key, function)},
 *       {@code getAll}), and counts it; so the load meters are published for every cache that
 *       records statistics, not only for a {@code LoadingCache}.
 *   <li><b>Reachability.</b> Following Micrometer's convention, the meters do not keep the cache
 *       alive: {@link CacheMeterBinder} holds it through a weak reference, and the meters added
 *       here are registered on the cache itself (which Micrometer holds weakly) with functions that
 *       capture nothing. Once the application drops the cache, its gauges read {@code NaN} and its
 *       counters keep their last value. Removing the meters is the application's part, as for any
 *       binder.
 *   <li><b>Asynchronous caches</b> are bound through their {@link AsyncCache#synchronous()} view,
 *       whose statistics and size are the cache's. The view is what is weakly held: an Hourglass
 *       asynchronous cache keeps its one view for its whole life, so the meters live as long as
 *       the cache does.
 *   <li><b>Cost and consistency.</b> Each meter read takes its own {@link Cache#stats()} snapshot
 *       (a sum of striped counters, no lock), so the meters of one publication may come from
 *       slightly different instants, as the counts within one snapshot already may.
 * </ol>
 *
 * <p>Meters are identified by name and tags, so give each cache bound to one registry its own
 * name: binding a second cache under a name already bound leaves the first one's meters in place.
 */
// "exports": the signatures name Micrometer types, which the module requires static, not
// transitive. Code that calls this class names MeterRegistry itself, so it requires micrometer.core
// anyway; transitive would only make every reader of the core read Micrometer whenever present.
@SuppressWarnings("exports")
public final class HourglassCacheMetrics extends CacheMeterBinder<Cache<?, ?>> {

  /**
   * What {@link CacheMeterBinder}'s {@code hitCount()} and {@code putCount()} return for a count
   * the cache does not keep; it then registers no meter for it.
   */
  private static final long NOT_COUNTED = -1L;

  /** Whether the cache was built with {@code recordStats()}; fixed for the cache's life. */
  private final boolean recordingStats;

  /**
   * Creates a binder for {@code cache}; {@link #bindTo(MeterRegistry)} registers its meters. For
   * a framework that takes a {@code MeterBinder}; otherwise {@code monitor} is shorter.
   *
   * @param cache the cache to publish, held weakly
   * @param cacheName the value of the {@code cache} tag
   * @param tags more tags for every meter
   * @throws NullPointerException if {@code cache}, {@code cacheName}, {@code tags} or any tag is
   *     null
   */
  public HourglassCacheMetrics(Cache<?, ?> cache, String cacheName, Iterable<Tag> tags) {
    super(Objects.requireNonNull(cache, "cache"), Objects.requireNonNull(cacheName, "cacheName"),
        copyOf(tags));
    this.recordingStats = cache.policy().isRecordingStats();
  }

  /**
   * Publishes {@code cache}'s meters to {@code registry}.
   *
   * @param <C> the cache's type
   * @param registry the registry to publish to
   * @param cache the cache to publish, held weakly
   * @param cacheName the value of the {@code cache} tag
   * @param tags more tags for every meter, as key and value pairs: {@code "tier", "web"}
   * @return {@code cache}
   * @throws NullPointerException if {@code registry}, {@code cache}, {@code cacheName},
   *     {@code tags} or any of its strings is null
   * @throws IllegalArgumentException if {@code tags} has an odd number of strings
   */
  public static <C extends Cache<?, ?>> C monitor(MeterRegistry registry, C cache,
      String cacheName, String... tags) {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(cacheName, "cacheName");
    return monitor(registry, cache, cacheName, pairs(tags));
  }

  /**
   * Publishes {@code cache}'s meters to {@code registry}.
   *
   * @param <C> the cache's type
   * @param registry the registry to publish to
   * @param cache the cache to publish, held weakly
   * @param cacheName the value of the {@code cache} tag
   * @param tags more tags for every meter
   * @return {@code cache}
   * @throws NullPointerException if {@code registry}, {@code cache}, {@code cacheName},
   *     {@code tags} or any tag is null
   */
  public static <C extends Cache<?, ?>> C monitor(MeterRegistry registry, C cache,
      String cacheName, Iterable<Tag> tags) {
    Objects.requireNonNull(registry, "registry");
    new HourglassCacheMetrics(cache, cacheName, tags).bindTo(registry);
    return cache;
  }

  /**
   * Publishes an asynchronous cache's meters to {@code registry}, read through its
   * {@link AsyncCache#synchronous() synchronous view}.
   *
   * @param <C> the cache's type
   * @param registry the registry to publish to
   * @param cache the cache to publish; its synchronous view is held weakly
   * @param cacheName the value of the {@code cache} tag
   * @param tags more tags for every meter, as key and value pairs: {@code "tier", "web"}
   * @return {@code cache}
   * @throws NullPointerException if {@code registry}, {@code cache}, {@code cacheName},
   *     {@code tags} or any of its strings is null
   * @throws IllegalArgumentException if {@code tags} has an odd number of strings
   */
  public static <C extends AsyncCache<?, ?>> C monitor(MeterRegistry registry, C cache,
      String cacheName, String... tags) {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(cacheName, "cacheName");
    return monitor(registry, cache, cacheName, pairs(tags));
  }

  /**
   * Publishes an asynchronous cache's meters to {@code registry}, read through its
   * {@link AsyncCache#synchronous() synchronous view}.
   *
   * @param <C> the cache's type
   * @param registry the registry to publish to
   * @param cache the cache to publish; its synchronous view is held weakly
   * @param cacheName the value of the {@code cache} tag
   * @param tags more tags for every meter
   * @return {@code cache}
   * @throws NullPointerException if {@code registry}, {@code cache}, {@code cacheName},
   *     {@code tags} or any tag is null
   */
  public static <C extends AsyncCache<?, ?>> C monitor(MeterRegistry registry, C cache,
      String cacheName, Iterable<Tag> tags) {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(cache, "cache");
    new HourglassCacheMetrics(cache.synchronous(), cacheName, tags).bindTo(registry);
    return cache;
  }

  /* ---------------- The common meters, which CacheMeterBinder registers ---------------- */

  /**
   * Returns the cache's estimated size, published as {@code cache.size}.
   *
   * @return {@link Cache#estimatedSize()}, or {@code null} once the cache was collected
   */
  @Override
  protected Long size() {
    Cache<?, ?> cache = getCache();
    return (cache == null) ? null : cache.estimatedSize();
  }

  /**
   * Returns the hit count, published as {@code cache.gets{result=hit}}.
   *
   * @return {@link CacheStats#hitCount()}; -1 (not published) if the cache does not record
   *     statistics; 0 once the cache was collected
   */
  @Override
  protected long hitCount() {
    if (!recordingStats) {
      return NOT_COUNTED;
    }
    CacheStats stats = statsOrNull();
    return (stats == null) ? 0 : stats.hitCount();
  }

  /**
   * Returns the miss count, published as {@code cache.gets{result=miss}}.
   *
   * @return {@link CacheStats#missCount()}, or {@code null} (not published) if the cache does not
   *     record statistics or was collected
   */
  @Override
  protected Long missCount() {
    CacheStats stats = recordingStats ? statsOrNull() : null;
    return (stats == null) ? null : stats.missCount();
  }

  /**
   * Returns the eviction count, published as {@code cache.evictions}: removals for size and for
   * expiration.
   *
   * @return {@link CacheStats#evictionCount()}, or {@code null} (not published) if the cache does
   *     not record statistics or was collected
   */
  @Override
  protected Long evictionCount() {
    CacheStats stats = recordingStats ? statsOrNull() : null;
    return (stats == null) ? null : stats.evictionCount();
  }

  /**
   * Returns the values writes stored ({@link CacheStats#putCount()}), or -1 (no meter) when the
   * cache keeps no statistics.
   *
   * @return the put count, or -1
   */
  @Override
  protected long putCount() {
    CacheStats stats = recordingStats ? statsOrNull() : null;
    return (stats == null) ? NOT_COUNTED : stats.putCount();
  }

  /* ---------------- The meters Hourglass adds ---------------- */

  /**
   * Registers the load and eviction-weight meters, if the cache records statistics. Each is
   * registered on the cache, which Micrometer holds weakly, with a function that captures nothing.
   *
   * @param registry the registry to publish to
   */
  @Override
  protected void bindImplementationSpecificMetrics(MeterRegistry registry) {
    Cache<?, ?> cache = getCache();
    if ((cache == null) || !recordingStats) {
      return;
    }
    Iterable<Tag> tags = getTagsWithCacheName();
    FunctionCounter.builder("cache.load", cache, c -> c.stats().loadSuccessCount())
        .tags(tags).tag("result", "success")
        .description("Loads that produced a value and stored it")
        .register(registry);
    FunctionCounter.builder("cache.load", cache, c -> c.stats().loadFailureCount())
        .tags(tags).tag("result", "failure")
        .description("Loads that threw, returned null, or whose value could not be stored")
        .register(registry);
    TimeGauge.builder("cache.load.duration", cache, TimeUnit.NANOSECONDS,
            c -> c.stats().totalLoadTimeNanos())
        .tags(tags)
        .description("Total time spent loading, successful or not, by the cache's ticker")
        .register(registry);
    FunctionCounter.builder("cache.eviction.weight", cache, c -> c.stats().evictionWeight())
        .tags(tags)
        .description("Total weight of the entries evicted for size or expiration")
        .register(registry);
  }

  /** A snapshot of the cache's statistics, or {@code null} once the cache was collected. */
  private CacheStats statsOrNull() {
    Cache<?, ?> cache = getCache();
    return (cache == null) ? null : cache.stats();
  }

  /** A copy of {@code tags}, read once, with a null tag rejected by its position. */
  private static Tags copyOf(Iterable<Tag> tags) {
    Objects.requireNonNull(tags, "tags");
    List<Tag> copy = new ArrayList<>();
    for (Tag tag : tags) {
      copy.add(Objects.requireNonNull(tag, () -> "tags[" + copy.size() + "]"));
    }
    return Tags.of(copy);
  }

  /** Key and value strings as tags, with a null string rejected by its position. */
  private static Tags pairs(String... keyValues) {
    Objects.requireNonNull(keyValues, "tags");
    if ((keyValues.length % 2) != 0) {
      throw new IllegalArgumentException(
          "tags must be key and value pairs, an even number of strings: " + keyValues.length);
    }
    List<Tag> tags = new ArrayList<>(keyValues.length / 2);
    for (int i = 0; i < keyValues.length; i += 2) {
      String key = Objects.requireNonNull(keyValues[i], "tags[" + i + "]");
      String value = Objects.requireNonNull(keyValues[i + 1], "tags[" + (i + 1) + "]");
      tags.add(Tag.of(key, value));
    }
    return Tags.of(tags);
  }
}
