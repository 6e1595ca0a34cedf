package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.RecordingListener.Removal;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentMap;
import org.junit.jupiter.api.Test;

/** The {@code asMap()} view: ConcurrentMap semantics, views, iterators, notifications. */
final class MapViewTest {
  private final RecordingListener<String, String> listener = new RecordingListener<>();
  private final FakeTicker ticker = new FakeTicker();
  private final Cache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run)
      .ticker(ticker).scheduler(Scheduler.disabledScheduler())
      .maximumSize(100).removalListener(listener).build();
  private final ConcurrentMap<String, String> map = cache.asMap();

  @Test
  void conditionalOperations() {
    map.put("a", "1");
    assertThat(map.remove("a", "2")).isFalse();
    assertThat(map.replace("a", "2", "3")).isFalse();
    assertThat(map.replace("a", new String("1"), "3")).as("compares by equals").isTrue();
    assertThat(map.replace("b", "x")).isNull();
    assertThat(map.containsKey("b")).isFalse();
    assertThat(map.replace("a", "4")).isEqualTo("3");
    assertThat(map.remove("a", new String("4"))).isTrue();
    assertThat(map.remove("a", null)).isFalse();
    assertThat(map).isEmpty();
    assertThat(listener.list()).containsExactly(
        new Removal<>("a", "1", RemovalCause.REPLACED),
        new Removal<>("a", "3", RemovalCause.REPLACED),
        new Removal<>("a", "4", RemovalCause.EXPLICIT));
  }

  @Test
  void computeFamily() {
    assertThat(map.computeIfAbsent("a", k -> "1")).isEqualTo("1");
    assertThat(map.computeIfAbsent("a", k -> "2")).isEqualTo("1");
    assertThat(map.computeIfAbsent("n", k -> null)).isNull();
    assertThat(map.computeIfPresent("a", (k, v) -> v + "+")).isEqualTo("1+");
    assertThat(map.computeIfPresent("zz", (k, v) -> "never")).isNull();
    assertThat(map.containsKey("zz")).isFalse();
    assertThat(map.compute("a", (k, v) -> null)).isNull();
    assertThat(map.containsKey("a")).isFalse();
    assertThat(map.compute("b", (k, v) -> (v == null) ? "new" : "old")).isEqualTo("new");
    assertThat(map.merge("b", "x", String::concat)).isEqualTo("newx");
    assertThat(map.merge("c", "x", String::concat)).isEqualTo("x");
    assertThat(map.merge("c", "x", (a, b) -> null)).isNull();
    assertThat(map).containsExactly(Map.entry("b", "newx"));
    assertThat(listener.list()).extracting(Removal::cause).containsExactly(
        RemovalCause.REPLACED, RemovalCause.EXPLICIT, RemovalCause.REPLACED, RemovalCause.EXPLICIT);
  }

  @Test
  void computeFunctionThrows_nothingChanges() {
    map.put("a", "1");
    RuntimeException failure = new RuntimeException("remap");
    assertThatThrownBy(() -> map.compute("a", (k, v) -> { throw failure; })).isSameAs(failure);
    assertThatThrownBy(() -> map.merge("a", "2", (x, y) -> { throw failure; })).isSameAs(failure);
    assertThat(map).containsExactly(Map.entry("a", "1"));
    map.put("a", "2"); // the key is usable: no marker was left behind
    assertThat(map.get("a")).isEqualTo("2");
  }

  @Test
  void iterators_removeAndSetValue() {
    for (int i = 0; i < 10; i++) {
      map.put("k" + i, "v" + i);
    }
    Iterator<Map.Entry<String, String>> it = map.entrySet().iterator();
    assertThatThrownBy(it::remove).isInstanceOf(IllegalStateException.class);
    int seen = 0;
    while (it.hasNext()) {
      Map.Entry<String, String> e = it.next();
      seen++;
      if (e.getKey().equals("k3")) {
        it.remove();
      } else if (e.getKey().equals("k4")) {
        assertThat(e.setValue("new")).isEqualTo("v4");
      }
    }
    assertThat(seen).isEqualTo(10);
    assertThatThrownBy(it::next).isInstanceOf(NoSuchElementException.class);
    assertThat(map).hasSize(9).containsEntry("k4", "new").doesNotContainKey("k3");
    map.keySet().remove("k5");
    map.values().remove("v6");
    map.entrySet().remove(Map.entry("k7", "v7"));
    assertThat(map.entrySet().remove(Map.entry("k8", "other"))).isFalse();
    assertThat(map.entrySet().contains(Map.entry("k8", "v8"))).isTrue();
    assertThat(map.keySet()).containsExactlyInAnyOrder("k0", "k1", "k2", "k4", "k8", "k9");
    map.keySet().clear();
    assertThat(map).isEmpty();
  }

  @Test
  void iterator_weaklyConsistent_underModification() {
    Cache<String, String> unbounded = Hourglass.newBuilder().concurrencyLevel(8).build();
    ConcurrentMap<String, String> view = unbounded.asMap();
    for (int i = 0; i < 1_000; i++) {
      view.put("stable" + i, "v");
      view.put("doomed" + i, "v");
    }
    java.util.List<String> seen = new java.util.ArrayList<>();
    int step = 0;
    for (String key : view.keySet()) {
      seen.add(key);
      view.put("extra" + step, "v"); // growth and resizes during iteration
      view.remove("doomed" + step);
      step++;
    }
    assertThat(seen).doesNotHaveDuplicates();
    assertThat(seen.stream().filter(k -> k.startsWith("stable"))).hasSize(1_000);
  }

  @Test
  void equalsAndHashCode_asAMap() {
    map.put("a", "1");
    map.put("b", "2");
    Map<String, String> expected = new HashMap<>(Map.of("a", "1", "b", "2"));
    assertThat(map).isEqualTo(expected);
    assertThat(expected).isEqualTo(map);
    assertThat(map.hashCode()).isEqualTo(expected.hashCode());
    assertThat(map).isNotEqualTo(Map.of("a", "1"));
    assertThat(map.getOrDefault("zz", "d")).isEqualTo("d");
    map.replaceAll((k, v) -> v + v);
    assertThat(map).isEqualTo(Map.of("a", "11", "b", "22"));
    StringBuilder visited = new StringBuilder();
    map.forEach((k, v) -> visited.append(k));
    assertThat(visited.toString()).hasSize(2);
  }

  @Test
  void expiredEntries_invisibleThroughEveryView() {
    Cache<String, String> timed = Hourglass.newBuilder().ticker(ticker)
        .scheduler(Scheduler.disabledScheduler()).expireAfterWrite(Duration.ofSeconds(1)).build();
    ConcurrentMap<String, String> view = timed.asMap();
    view.put("a", "1");
    ticker.advance(Duration.ofSeconds(1));
    assertThat(view.get("a")).isNull();
    assertThat(view.containsKey("a")).isFalse();
    assertThat(view.containsValue("1")).isFalse();
    assertThat(view.size()).isZero();
    assertThat(view.isEmpty()).isTrue();
    assertThat(view.entrySet()).isEmpty();
    assertThat(view.values()).isEmpty();
    assertThat(view.putIfAbsent("a", "2")).isNull();
    assertThat(view.get("a")).isEqualTo("2");
    ticker.advance(Duration.ofSeconds(1));
    assertThat(view.replace("a", "3")).isNull();
    assertThat(view.remove("a")).isNull();
    assertThat(view.computeIfPresent("a", (k, v) -> "4")).isNull();
    assertThat(view.merge("a", "5", String::concat)).isEqualTo("5");
  }

  @Test
  void nullsRejected() {
    assertThatThrownBy(() -> map.put("a", null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> map.putIfAbsent(null, "a")).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> map.containsValue(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> map.replace("a", null, "b")).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> map.computeIfAbsent("a", null)).isInstanceOf(NullPointerException.class);
    assertThat(map).isEmpty();
  }
}
