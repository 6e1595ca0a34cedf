package dev.hourglass.cache.internal;

import java.util.AbstractCollection;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The {@link ConcurrentMap} view of a {@link StripedCache}.
 *
 * <h2>Concurrency</h2>
 * Every operation goes to the cache and has its guarantees: lock-free reads, per-key atomic
 * updates through in-flight markers, no user function under a lock. Value comparisons
 * ({@code remove(k, v)}, {@code replace(k, old, new)}) call {@code equals} outside the lock and
 * then commit only if the entry still holds the very instance compared, retrying otherwise.
 * Iterators are weakly consistent: they copy one stripe's nodes at a time under its lock, never
 * return an entry twice, never return an expired entry, and never throw
 * {@link java.util.ConcurrentModificationException}.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class MapView<K, V> extends AbstractMap<K, V> implements ConcurrentMap<K, V> {
  private final StripedCache<K, V> cache;
  private Set<K> keySet;
  private Collection<V> values;
  private Set<Map.Entry<K, V>> entrySet;

  MapView(StripedCache<K, V> cache) {
    this.cache = cache;
  }

  @Override
  public int size() {
    return (int) Math.min(cache.exactSize(), Integer.MAX_VALUE);
  }

  @Override
  public boolean isEmpty() {
    return !new EntryIterator().hasNext();
  }

  @Override
  public boolean containsKey(Object key) {
    Objects.requireNonNull(key, "key");
    return cache.read(key, false) != null;
  }

  @Override
  public boolean containsValue(Object value) {
    Objects.requireNonNull(value, "value");
    for (EntryIterator it = new EntryIterator(); it.hasNext(); ) {
      if (value.equals(it.next().getValue())) {
        return true;
      }
    }
    return false;
  }

  @Override
  public V get(Object key) {
    Objects.requireNonNull(key, "key");
    return cache.read(key, true);
  }

  @Override
  public V put(K key, V value) {
    return cache.put(key, value, Expiration.NO_TTL, false);
  }

  @Override
  public V putIfAbsent(K key, V value) {
    return cache.put(key, value, Expiration.NO_TTL, true);
  }

  @Override
  public void putAll(Map<? extends K, ? extends V> map) {
    cache.putAll(map);
  }

  @Override
  public V remove(Object key) {
    return cache.remove(key, null);
  }

  @Override
  public boolean remove(Object key, Object value) {
    Objects.requireNonNull(key, "key");
    if (value == null) {
      return false;
    }
    for (;;) {
      V current = cache.read(key, false);
      if ((current == null) || !value.equals(current)) {
        return false;
      }
      if (cache.remove(key, current) != null) {
        return true;
      }
    }
  }

  @Override
  public V replace(K key, V value) {
    return cache.replace(key, null, value);
  }

  @Override
  public boolean replace(K key, V oldValue, V newValue) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(oldValue, "oldValue");
    Objects.requireNonNull(newValue, "newValue");
    for (;;) {
      V current = cache.read(key, false);
      if ((current == null) || !oldValue.equals(current)) {
        return false;
      }
      if (cache.replace(key, current, newValue) != null) {
        return true;
      }
    }
  }

  @Override
  public V computeIfAbsent(K key, Function<? super K, ? extends V> mappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(mappingFunction, "mappingFunction");
    return cache.flights.computeIfAbsent(key, mappingFunction, true);
  }

  @Override
  public V computeIfPresent(K key,
      BiFunction<? super K, ? super V, ? extends V> remappingFunction) {
    return cache.flights.compute(key, remappingFunction, SingleFlight.ComputeKind.IF_PRESENT);
  }

  @Override
  public V compute(K key, BiFunction<? super K, ? super V, ? extends V> remappingFunction) {
    return cache.flights.compute(key, remappingFunction, SingleFlight.ComputeKind.COMPUTE);
  }

  @Override
  public V merge(K key, V value,
      BiFunction<? super V, ? super V, ? extends V> remappingFunction) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(remappingFunction, "remappingFunction");
    return cache.flights.compute(key,
        (k, old) -> (old == null) ? value : remappingFunction.apply(old, value),
        SingleFlight.ComputeKind.COMPUTE);
  }

  @Override
  public void clear() {
    cache.invalidateAll();
  }

  @Override
  public Set<K> keySet() {
    Set<K> view = keySet;
    return (view == null) ? (keySet = new KeySet()) : view;
  }

  @Override
  public Collection<V> values() {
    Collection<V> view = values;
    return (view == null) ? (values = new Values()) : view;
  }

  @Override
  public Set<Map.Entry<K, V>> entrySet() {
    Set<Map.Entry<K, V>> view = entrySet;
    return (view == null) ? (entrySet = new EntrySet()) : view;
  }

  private static final int SPLITERATOR_CHARACTERISTICS =
      Spliterator.DISTINCT | Spliterator.NONNULL | Spliterator.CONCURRENT;

  final class KeySet extends AbstractSet<K> {
    @Override
    public int size() {
      return MapView.this.size();
    }

    @Override
    public boolean isEmpty() {
      return MapView.this.isEmpty();
    }

    @Override
    public boolean contains(Object o) {
      return containsKey(o);
    }

    @Override
    public boolean remove(Object o) {
      return MapView.this.remove(o) != null;
    }

    @Override
    public void clear() {
      MapView.this.clear();
    }

    @Override
    public Iterator<K> iterator() {
      EntryIterator entries = new EntryIterator();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return entries.hasNext();
        }

        @Override
        public K next() {
          return entries.next().getKey();
        }

        @Override
        public void remove() {
          entries.remove();
        }
      };
    }

    @Override
    public Spliterator<K> spliterator() {
      return Spliterators.spliteratorUnknownSize(iterator(), SPLITERATOR_CHARACTERISTICS);
    }
  }

  final class Values extends AbstractCollection<V> {
    @Override
    public int size() {
      return MapView.this.size();
    }

    @Override
    public boolean isEmpty() {
      return MapView.this.isEmpty();
    }

    @Override
    public boolean contains(Object o) {
      return containsValue(o);
    }

    @Override
    public void clear() {
      MapView.this.clear();
    }

    @Override
    public Iterator<V> iterator() {
      EntryIterator entries = new EntryIterator();
      return new Iterator<>() {
        @Override
        public boolean hasNext() {
          return entries.hasNext();
        }

        @Override
        public V next() {
          return entries.next().getValue();
        }

        @Override
        public void remove() {
          entries.remove();
        }
      };
    }

    @Override
    public Spliterator<V> spliterator() {
      return Spliterators.spliteratorUnknownSize(iterator(),
          Spliterator.NONNULL | Spliterator.CONCURRENT);
    }
  }

  final class EntrySet extends AbstractSet<Map.Entry<K, V>> {
    @Override
    public int size() {
      return MapView.this.size();
    }

    @Override
    public boolean isEmpty() {
      return MapView.this.isEmpty();
    }

    @Override
    public boolean contains(Object o) {
      if (!(o instanceof Map.Entry)) {
        return false;
      }
      Map.Entry<?, ?> e = (Map.Entry<?, ?>) o;
      Object key = e.getKey();
      Object value = e.getValue();
      if ((key == null) || (value == null)) {
        return false;
      }
      V current = cache.read(key, false);
      return (current != null) && current.equals(value);
    }

    @Override
    public boolean remove(Object o) {
      if (!(o instanceof Map.Entry)) {
        return false;
      }
      Map.Entry<?, ?> e = (Map.Entry<?, ?>) o;
      Object key = e.getKey();
      return (key != null) && MapView.this.remove(key, e.getValue());
    }

    @Override
    public void clear() {
      MapView.this.clear();
    }

    @Override
    public Iterator<Map.Entry<K, V>> iterator() {
      return new EntryIterator();
    }

    @Override
    public Spliterator<Map.Entry<K, V>> spliterator() {
      return Spliterators.spliteratorUnknownSize(iterator(), SPLITERATOR_CHARACTERISTICS);
    }
  }

  /** Walks the stripes in turn, copying one stripe's live nodes at a time under its lock. */
  final class EntryIterator implements Iterator<Map.Entry<K, V>> {
    private int stripeIndex;
    private Object[] snapshot = new Object[0];
    private int position;
    private K nextKey;
    private V nextValue;
    private K lastKey;

    @Override
    public boolean hasNext() {
      if (nextKey != null) {
        return true;
      }
      for (;;) {
        while (position < snapshot.length) {
          @SuppressWarnings("unchecked")
          Node<K, V> node = (Node<K, V>) snapshot[position++];
          V value = cache.peekValue(node); // the read path's consistent pair, then the ticker
          if (value != null) {
            nextKey = node.key;
            nextValue = value;
            return true;
          }
        }
        if (stripeIndex >= cache.stripes.length) {
          snapshot = new Object[0];
          return false;
        }
        snapshot = cache.stripes[stripeIndex++].snapshot();
        position = 0;
      }
    }

    @Override
    public Map.Entry<K, V> next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Map.Entry<K, V> entry = new WriteThroughEntry(nextKey, nextValue);
      lastKey = nextKey;
      nextKey = null;
      nextValue = null;
      return entry;
    }

    @Override
    public void remove() {
      if (lastKey == null) {
        throw new IllegalStateException("next() was not called, or remove() was already called");
      }
      cache.remove(lastKey, null);
      lastKey = null;
    }
  }

  /** An entry whose {@code setValue} writes through to the cache. */
  @SuppressWarnings("serial") // views are not serializable
  final class WriteThroughEntry extends AbstractMap.SimpleEntry<K, V> {
    WriteThroughEntry(K key, V value) {
      super(key, value);
    }

    @Override
    public V setValue(V value) {
      Objects.requireNonNull(value, "value");
      cache.put(getKey(), value, Expiration.NO_TTL, false);
      return super.setValue(value);
    }
  }
}
