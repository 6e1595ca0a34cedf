package dev.hourglass.cache;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Collectors;

/** Records every removal notification; thread-safe. */
public final class RecordingListener<K, V> implements RemovalListener<K, V> {
  public record Removal<K, V>(K key, V value, RemovalCause cause) {}

  public final ConcurrentLinkedQueue<Removal<K, V>> removals = new ConcurrentLinkedQueue<>();

  public RecordingListener() {}

  @Override
  public void onRemoval(K key, V value, RemovalCause cause) {
    removals.add(new Removal<>(key, value, cause));
  }

  public List<Removal<K, V>> list() {
    return List.copyOf(removals);
  }

  public List<Removal<K, V>> withCause(RemovalCause cause) {
    return removals.stream().filter(r -> r.cause() == cause).collect(Collectors.toList());
  }

  public Map<RemovalCause, Long> countsByCause() {
    return removals.stream().collect(Collectors.groupingBy(Removal::cause, Collectors.counting()));
  }
}
