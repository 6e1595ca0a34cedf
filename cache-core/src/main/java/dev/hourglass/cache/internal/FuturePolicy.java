package dev.hourglass.cache.internal;

import dev.hourglass.cache.Policy;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/**
 * The {@link Policy} of an asynchronous cache's synchronous view: the engine's, with values for
 * futures. Only what shows a value changes: the quiet lookup and the snapshots answer the values
 * of futures that hold one, without waiting, and leave out those still loading. The views that
 * take only keys are the engine's own. Whether the cache is weighted is the user's setting (the
 * engine weighs every bounded asynchronous cache, a future still loading weighing 0).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class FuturePolicy<K, V> implements Policy<K, V> {
  private final Policy<K, CompletableFuture<V>> engine;
  private final Optional<Eviction<K, V>> eviction;

  FuturePolicy(Policy<K, CompletableFuture<V>> engine, boolean weighted) {
    this.engine = engine;
    this.eviction = engine.eviction().map(bound -> new Bound(bound, weighted));
  }

  @Override
  public boolean isRecordingStats() {
    return engine.isRecordingStats();
  }

  @Override
  public V getIfPresentQuietly(K key) {
    return FutureValues.valueOf(engine.getIfPresentQuietly(key));
  }

  @Override
  public Optional<Eviction<K, V>> eviction() {
    return eviction;
  }

  @Override
  @SuppressWarnings("unchecked") // takes only keys: the same view serves values and futures
  public Optional<FixedExpiration<K, V>> expireAfterWrite() {
    return (Optional<FixedExpiration<K, V>>) (Optional<?>) engine.expireAfterWrite();
  }

  @Override
  @SuppressWarnings("unchecked") // takes only keys
  public Optional<FixedExpiration<K, V>> expireAfterAccess() {
    return (Optional<FixedExpiration<K, V>>) (Optional<?>) engine.expireAfterAccess();
  }

  @Override
  @SuppressWarnings("unchecked") // takes only keys and durations
  public Optional<VarExpiration<K, V>> expireVariably() {
    return (Optional<VarExpiration<K, V>>) (Optional<?>) engine.expireVariably();
  }

  @Override
  @SuppressWarnings("unchecked") // takes only keys
  public Optional<FixedRefresh<K, V>> refreshAfterWrite() {
    return (Optional<FixedRefresh<K, V>>) (Optional<?>) engine.refreshAfterWrite();
  }

  @Override
  public String toString() {
    return engine.toString();
  }

  /** The size bound, with values for futures. */
  private final class Bound implements Eviction<K, V> {
    private final Eviction<K, CompletableFuture<V>> bound;
    private final boolean weighted;

    Bound(Eviction<K, CompletableFuture<V>> bound, boolean weighted) {
      this.bound = bound;
      this.weighted = weighted;
    }

    @Override
    public boolean isWeighted() {
      return weighted;
    }

    @Override
    public OptionalLong weightOf(K key) {
      return weighted ? bound.weightOf(key) : OptionalLong.empty();
    }

    @Override
    public OptionalLong weightedSize() {
      return weighted ? bound.weightedSize() : OptionalLong.empty();
    }

    @Override
    public long getMaximum() {
      return bound.getMaximum();
    }

    @Override
    public void setMaximum(long maximum) {
      bound.setMaximum(maximum);
    }

    @Override
    public Map<K, V> hottest(int limit) {
      return snapshot(limit, true);
    }

    @Override
    public Map<K, V> coldest(int limit) {
      return snapshot(limit, false);
    }

    /**
     * Up to {@code limit} entries with values: the engine's snapshot leaves futures still loading
     * in, so a larger one is asked for while they crowd out the values (each ask doubles).
     */
    private Map<K, V> snapshot(int limit, boolean hottest) {
      if (limit < 0) {
        throw new IllegalArgumentException("limit must not be negative: " + limit);
      }
      for (int ask = limit; ; ask = (ask > (Integer.MAX_VALUE >> 1)) ? Integer.MAX_VALUE : 2 * ask) {
        Map<K, CompletableFuture<V>> futures = hottest ? bound.hottest(ask) : bound.coldest(ask);
        Map<K, V> values = FutureValues.readyValues(futures);
        if ((values.size() >= limit) || (futures.size() < ask) || (ask == Integer.MAX_VALUE)) {
          return (values.size() <= limit) ? values : first(values, limit);
        }
      }
    }

    private Map<K, V> first(Map<K, V> values, int limit) {
      Map<K, V> result = new LinkedHashMap<>();
      for (Map.Entry<K, V> e : values.entrySet()) {
        if (result.size() == limit) {
          break;
        }
        result.put(e.getKey(), e.getValue());
      }
      return Collections.unmodifiableMap(result);
    }


    @Override
    public String toString() {
      return bound.toString();
    }
  }
}
