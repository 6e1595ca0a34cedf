package dev.hourglass.cache.internal;

import dev.hourglass.cache.Cache;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * {@code synchronous().asMap()} of an asynchronous cache: a {@link ConcurrentMap} of values over
 * the engine's map of futures. A read waits for a future still loading and answers its value, or
 * nothing if it fails; iteration shows only the entries whose futures hold values, and never
 * waits. Writes store completed futures. A conditional write compares values with
 * {@code equals} and changes the entry only if it still holds the very future whose value it
 * compared, retrying otherwise, as the engine's own map view does.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class ValueMapView<K, V> extends AbstractMap<K, V> implements ConcurrentMap<K, V> {
  private final ConcurrentMap<K, CompletableFuture<V>> futures;
  /** The synchronous view, whose {@code get(key, function)} serves computeIfAbsent. */
  private final Cache<K, V> cache;
  private Set<Map.Entry<K, V>> entrySet;

  ValueMapView(ConcurrentMap<K, CompletableFuture<V>> futures, Cache<K, V> cache) {
    this.futures = futures;
    this.cache = cache;
  }

  private static <V> CompletableFuture<V> completed(V value) {
    return CompletableFuture.completedFuture(Objects.requireNonNull(value, "value"));
  }

  @Override
  public int size() {
    return futures.size();
  }

  @Override
  public boolean isEmpty() {
    return !entrySet().iterator().hasNext();
  }

  @Override
  public boolean containsKey(Object key) {
    return get(key) != null;
  }

  @Override
  public boolean containsValue(Object value) {
    Objects.requireNonNull(value, "value");
    for (Map.Entry<K, V> entry : entrySet()) {
      if (value.equals(entry.getValue())) {
        return true;
      }
    }
    return false;
  }

  @Override
  public V get(Object key) {
    Objects.requireNonNull(key, "key");
    return FutureValues.awaitQuietly(futures.get(key));
  }

  @Override
  public V put(K key, V value) {
    Objects.requireNonNull(key, "key");
    return FutureValues.awaitQuietly(futures.put(key, completed(value)));
  }

  @Override
  public V putIfAbsent(K key, V value) {
    Objects.requireNonNull(key, "key");
    CompletableFuture<V> future = completed(value);
    for (;;) {
      CompletableFuture<V> present = futures.putIfAbsent(key, future);
      if (present == null) {
        return null;
      }
      V current = FutureValues.awaitQuietly(present);
      if (current != null) {
        return current;
      }
      futures.remove(key, present); // failed: it is on its way out; help, then try again
    }
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> map) {
    cache.putAll(map);
  }

  @Override
  public V remove(Object key) {
    Objects.requireNonNull(key, "key");
    return FutureValues.awaitQuietly(futures.remove(key));
  }

  @Override
  public boolean remove(Object key, Object value) {
    Objects.requireNonNull(key, "key");
    if (value == null) {
      return false;
    }
    for (;;) {
      CompletableFuture<V> present = futures.get(key);
      V current = FutureValues.awaitQuietly(present);
      if ((current == null) || !value.equals(current)) {
        return false;
      }
      if (futures.remove(key, present)) {
        return true;
      } // the entry changed since: look again
    }
  }

  @Override
  public V replace(K key, V value) {
    Objects.requireNonNull(key, "key");
    CompletableFuture<V> future = completed(value);
    for (;;) {
      CompletableFuture<V> present = futures.get(key);
      V current = FutureValues.awaitQuietly(present);
      if (current == null) {
        return null;
      }
      if (futures.replace(key, present, future)) {
        return current;
      }
    }
  }

  @Override
  public boolean replace(K key, V oldValue, V newValue) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(oldValue, "oldValue");
    CompletableFuture<V> future = completed(newValue);
    for (;;) {
      CompletableFuture<V> present = futures.get(key);
      V current = FutureValues.awaitQuietly(present);
      if ((current == null) || !oldValue.equals(current)) {
        return false;
      }
      if (futures.replace(key, present, future)) {
        return true;
      }
    }
  }

  @Override
  public V computeIfAbsent(K key, Function<? super K, ? extends V> mappingFunction) {
    // The cache's get: single flight, a hit or a miss counted, as the synchronous cache's view.
    return cache.get(key, mappingFunction);
  }

  @Override
  public V computeIfPresent(K key,
      BiFunction<? super K, ? super V, ? extends V> remappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(remappingFunction, "remappingFunction");
    return compute(key, (k, old) -> (old == null) ? null : remappingFunction.apply(k, old));
  }

  /**
   * Runs in the engine's compute, which holds no lock while it does: waiting there for a future
   * still loading blocks only this key's other writers.
   */
  @Override
  public V compute(K key, BiFunction<? super K, ? super V, ? extends V> remappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(remappingFunction, "remappingFunction");
    CompletableFuture<V> result = futures.compute(key, (k, present) -> {
      V old = FutureValues.awaitQuietly(present); // a failed future computes from nothing
      V value = remappingFunction.apply(k, old);
      if (value == null) {
        return null;
      }
      return (value == old) ? present : CompletableFuture.completedFuture(value);
    });
    return FutureValues.valueOf(result);
  }

  @Override
  public V merge(K key, V value,
      BiFunction<? super V, ? super V, ? extends V> remappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(remappingFunction, "remappingFunction");
    return compute(key, (k, old) -> (old == null) ? value : remappingFunction.apply(old, value));
  }

  @Override
  public void clear() {
    futures.clear();
  }

  @Override
  public Set<Map.Entry<K, V>> entrySet() {
    Set<Map.Entry<K, V>> view = entrySet;
    return (view == null) ? (entrySet = new EntrySet()) : view;
  }

  /** The entries whose futures hold values. */
  private final class EntrySet extends AbstractSet<Map.Entry<K, V>> {
    @Override
    public int size() {
      return ValueMapView.this.size();
    }

    @Override
    public boolean contains(Object o) {
      if (!(o instanceof Map.Entry)) {
        return false;
      }
      Map.Entry<?, ?> entry = (Map.Entry<?, ?>) o;
      if ((entry.getKey() == null) || (entry.getValue() == null)) {
        return false;
      }
      V value = get(entry.getKey());
      return (value != null) && value.equals(entry.getValue());
    }

    @Override
    public boolean remove(Object o) {
      if (!(o instanceof Map.Entry)) {
        return false;
      }
      Map.Entry<?, ?> entry = (Map.Entry<?, ?>) o;
      return (entry.getKey() != null) && ValueMapView.this.remove(entry.getKey(), entry.getValue());
    }

    @Override
    public void clear() {
      ValueMapView.this.clear();
    }

    @Override
    public Iterator<Map.Entry<K, V>> iterator() {
      return new EntryIterator();
    }
  }

  /** Walks the engine's entries, skipping futures without a value; never waits. */
  private final class EntryIterator implements Iterator<Map.Entry<K, V>> {
    private final Iterator<Map.Entry<K, CompletableFuture<V>>> delegate =
        futures.entrySet().iterator();
    private Map.Entry<K, V> next;
    private Map.Entry<K, CompletableFuture<V>> lastReturned;
    private Map.Entry<K, CompletableFuture<V>> nextSource;

    @Override
    public boolean hasNext() {
      while ((next == null) && delegate.hasNext()) {
        Map.Entry<K, CompletableFuture<V>> candidate = delegate.next();
        V value = FutureValues.valueOf(candidate.getValue());
        if (value != null) {
          next = new WriteThroughEntry(candidate.getKey(), value);
          nextSource = candidate;
        }
      }
      return next != null;
    }

    @Override
    public Map.Entry<K, V> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Map.Entry<K, V> result = next;
      lastReturned = nextSource;
      next = null;
      return result;
    }

    @Override
    public void remove() {
      if (lastReturned == null) {
        throw new IllegalStateException("next() was not called, or remove() was already called");
      }
      futures.remove(lastReturned.getKey()); // by key, as a ConcurrentHashMap iterator does
      lastReturned = null;
    }
  }

  /** An entry whose {@code setValue} writes through to the cache. */
  private final class WriteThroughEntry extends AbstractMap.SimpleEntry<K, V> {
    private static final long serialVersionUID = 1L;

    WriteThroughEntry(K key, V value) {
      super(key, value);
    }

    @Override
    public V setValue(V value) {
      Objects.requireNonNull(value, "value");
      put(getKey(), value);
      return super.setValue(value);
    }
  }
}
