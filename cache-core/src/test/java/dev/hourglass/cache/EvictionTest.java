package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hourglass.cache.RecordingListener.Removal;
import org.junit.jupiter.api.Test;

/** Size and weight bounds. */
final class EvictionTest {
  private final RecordingListener<String, String> listener = new RecordingListener<>();

  private CacheBuilder<String, String> builder() {
    return Hourglass.newBuilder().executor(Runnable::run)
        .scheduler(Scheduler.disabledScheduler()).removalListener(listener);
  }

  @Test
  void maximumSize_keepsWhatWasUsed_andANewcomerMustOutscoreMain() {
    // The first overflow fills main up to its share (90% of 3: two entries), oldest first, with
    // no contest: "a" (read once) and "b". "c" then contests main's victim: "a" spends its hit
    // and goes round, "b" is the victim, and "c" ties with it, so main stays as it is and "c"
    // leaves. "d", the newest, waits in the small queue.
    Cache<String, String> cache = builder().concurrencyLevel(1).maximumSize(3).build();
    cache.put("a", "1");
    cache.put("b", "2");
    cache.put("c", "3");
    assertThat(cache.getIfPresent("a")).isEqualTo("1");
    cache.put("d", "4");
    assertThat(cache.asMap()).containsOnlyKeys("a", "b", "d");
    assertThat(listener.list()).containsExactly(new Removal<>("c", "3", RemovalCause.SIZE));
  }

  @Test
  void maximumSize_holdsExactlyTheBound_acrossStripes() {
    Cache<String, String> cache = builder().concurrencyLevel(64).maximumSize(100).recordStats().build();
    for (int i = 0; i < 10_000; i++) {
      cache.put("k" + i, "v");
    }
    assertThat(cache.estimatedSize()).isEqualTo(100);
    assertThat(cache.asMap()).hasSize(100);
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(9_900);
    assertThat(cache.stats().evictionCount()).isEqualTo(9_900);
    assertThat(cache.stats().evictionWeight()).isEqualTo(9_900);
  }

  @Test
  void maximumSize_zero_keepsNothing() {
    Cache<String, String> cache = builder().maximumSize(0).build();
    cache.put("a", "1");
    assertThat(cache.getIfPresent("a")).isNull();
    assertThat(cache.get("b", k -> "2")).isEqualTo("2");
    assertThat(cache.estimatedSize()).isZero();
    assertThat(listener.withCause(RemovalCause.SIZE)).hasSize(2);
  }

  @Test
  void maximumWeight_boundsTotalWeight() {
    Cache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.length()).build();
    for (int i = 0; i < 50; i++) {
      cache.put("k" + i, "0123456789");
    }
    assertThat(cache.estimatedSize()).isEqualTo(10);
    cache.put("k49", "01234567890123456789"); // the update doubles this entry's weight
    assertThat(cache.estimatedSize()).isEqualTo(9);
    assertThat(cache.getIfPresent("k49")).hasSize(20);
  }

  @Test
  void maximumWeight_heavierThanBound_evictedAtOnceAlone() {
    Cache<String, String> cache = builder().maximumWeight(10)
        .weigher((String k, String v) -> v.length()).build();
    cache.put("small", "12345");
    cache.put("huge", "12345678901");
    assertThat(cache.asMap()).containsOnlyKeys("small");
    assertThat(listener.list()).containsExactly(new Removal<>("huge", "12345678901", RemovalCause.SIZE));
  }

  @Test
  void maximumWeight_zeroWeightEntriesAreNeverEvicted() {
    Cache<String, String> cache = builder().maximumWeight(2)
        .weigher((String k, String v) -> v.isEmpty() ? 0 : 1).build();
    for (int i = 0; i < 10; i++) {
      cache.put("free" + i, "");
    }
    for (int i = 0; i < 10; i++) {
      cache.put("paid" + i, "x");
    }
    assertThat(cache.estimatedSize()).isEqualTo(12);
    assertThat(listener.withCause(RemovalCause.SIZE)).extracting(Removal::key)
        .allMatch(k -> k.startsWith("paid"));
  }

  @Test
  void weigher_negative_rejectedAndNothingChanges() {
    Cache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> v.equals("bad") ? -1 : 1).build();
    cache.put("a", "good");
    assertThatThrownBy(() -> cache.put("a", "bad"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("weigher returned a negative weight: -1");
    assertThatThrownBy(() -> cache.get("b", k -> "bad")).isInstanceOf(IllegalArgumentException.class);
    assertThat(cache.asMap()).containsExactly(java.util.Map.entry("a", "good"));
    assertThat(listener.list()).isEmpty();
  }

  @Test
  void weigher_throwing_leavesCacheConsistent() {
    Cache<String, String> cache = builder().maximumWeight(100)
        .weigher((String k, String v) -> {
          if (v.equals("boom")) {
            throw new IllegalStateException("weigher failed");
          }
          return 1;
        }).build();
    cache.put("a", "ok");
    assertThatThrownBy(() -> cache.put("a", "boom")).hasMessage("weigher failed");
    assertThatThrownBy(() -> cache.asMap().compute("a", (k, v) -> "boom")).hasMessage("weigher failed");
    assertThat(cache.getIfPresent("a")).isEqualTo("ok");
    assertThat(cache.asMap().compute("a", (k, v) -> v + "!")).isEqualTo("ok!");
  }

  @Test
  void invalidate_releasesWeight() {
    Cache<String, String> cache = builder().maximumSize(2).build();
    cache.put("a", "1");
    cache.put("b", "2");
    cache.invalidate("a");
    cache.put("c", "3");
    assertThat(cache.asMap()).containsOnlyKeys("b", "c");
    cache.invalidateAll();
    cache.put("d", "4");
    cache.put("e", "5");
    assertThat(cache.asMap()).containsOnlyKeys("d", "e");
  }
}
