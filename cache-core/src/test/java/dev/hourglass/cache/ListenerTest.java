package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.RecordingListener.Removal;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Removal listeners: delivery, failures and executors. */
final class ListenerTest {

  @Test
  void throwingListener_isLoggedAndTheCacheCarriesOn() {
    AtomicInteger calls = new AtomicInteger();
    Cache<String, String> cache = Hourglass.newBuilder().executor(Runnable::run).maximumSize(2)
        .removalListener((String k, String v, RemovalCause c) -> {
          calls.incrementAndGet();
          throw new IllegalStateException("listener failed for " + k);
        }).build();
    try (CapturedLog log = new CapturedLog()) {
      cache.put("a", "1");
      cache.put("a", "2");
      cache.put("b", "1");
      cache.put("c", "1");
      cache.invalidate("b");
      cache.invalidateAll();
      assertThat(log.records).as("each failure logged").hasSize(4)
          .allMatch(r -> r.getThrown().getMessage().startsWith("listener failed for "));
    }
    assertThat(calls).hasValue(4);
    assertThat(cache.estimatedSize()).isZero();
    cache.put("d", "1");
    assertThat(cache.getIfPresent("d")).isEqualTo("1");
  }

  @Test
  void rejectingExecutor_deliversOnTheCallingThread() {
    RecordingListener<String, String> listener = new RecordingListener<>();
    Cache<String, String> cache = Hourglass.newBuilder()
        .executor(task -> { throw new RejectedExecutionException("full"); })
        .removalListener(listener).build();
    cache.put("a", "1");
    cache.invalidate("a");
    assertThat(listener.list()).containsExactly(new Removal<>("a", "1", RemovalCause.EXPLICIT));
  }

  @Test
  void defaultExecutor_deliversAsynchronously() {
    RecordingListener<String, String> listener = new RecordingListener<>();
    Cache<String, String> cache = Hourglass.newBuilder().removalListener(listener).build();
    cache.put("a", "1");
    cache.put("a", "2");
    LoadingTest.waitUntil(() -> listener.removals.size() == 1);
    assertThat(listener.list()).containsExactly(new Removal<>("a", "1", RemovalCause.REPLACED));
  }

  @Test
  void removalCause_wasEvicted() {
    assertThat(RemovalCause.EXPLICIT.wasEvicted()).isFalse();
    assertThat(RemovalCause.REPLACED.wasEvicted()).isFalse();
    assertThat(RemovalCause.EXPIRED.wasEvicted()).isTrue();
    assertThat(RemovalCause.SIZE.wasEvicted()).isTrue();
  }
}
