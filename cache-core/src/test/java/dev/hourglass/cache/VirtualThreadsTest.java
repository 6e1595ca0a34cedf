package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hourglass.cache.internal.Invariants;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;

/**
 * Loads from 10,000 virtual threads (JDK 21+), watched by the JDK's pinning diagnostics: the JFR
 * event {@code jdk.VirtualThreadPinned} with no duration threshold, which reports every time a
 * virtual thread blocks while it cannot unmount from its carrier. ({@code -Djdk.tracePinnedThreads}
 * reported the same on JDK 21 to 23 and was removed in JDK 24; the event exists on every JDK with
 * virtual threads.) The cache blocks only in {@code ReentrantLock} and {@code CountDownLatch}, never
 * in a monitor or a native frame, so no event may name it.
 *
 * <p>A control shows the detector works on the running JDK: virtual threads that block in a class
 * initializer, which pins on every JDK, must be reported. Its events arrive after the cache's, so
 * once they are seen, the cache's would have been too. A control event is told apart by its thread,
 * not by its stack: the control threads that wait for another thread's initializer to finish block
 * before any frame of the class is on their stack (JDK 25 reports them as a contended monitor enter
 * under {@code Executors$RunnableAdapter.call}).
 */
final class VirtualThreadsTest {
  static final int THREADS = 10_000;
  static final int KEYS = 1_000;

  /** Released by the test once the control's virtual threads are submitted. */
  static final CountDownLatch CONTROL_RELEASE = new CountDownLatch(1);

  /** The virtual thread running {@link SlowInit}'s initializer, published before it parks. */
  static volatile Thread initializing;

  /** A class whose initializer blocks: initializing it from virtual threads pins them. */
  static final class SlowInit {
    static {
      initializing = Thread.currentThread(); // volatile: the test sees it before the park below
      try {
        CONTROL_RELEASE.await(1, TimeUnit.MINUTES); // parks inside the initializer
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    static void touch() {}
  }

  @Test
  void loadsFrom10kVirtualThreads_neverPinACarrier() throws Exception {
    assumeTrue(Runtime.version().feature() >= 21, "virtual threads need JDK 21+");
    // Warm-up, unrecorded: the first use of each class loads it, and class loading takes a
    // monitor in the class loader (that pin is the JDK's, once, not the cache's).
    run(newCache(), new AtomicInteger());

    Cache<Integer, Integer> cache = newCache();
    AtomicInteger loads = new AtomicInteger();
    Queue<RecordedEvent> pinned = new ConcurrentLinkedQueue<>();
    Set<Long> controlThreads = ConcurrentHashMap.newKeySet();
    try (RecordingStream stream = new RecordingStream()) {
      stream.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
      stream.onEvent("jdk.VirtualThreadPinned", pinned::add);
      stream.startAsync();

      run(cache, loads);

      // The control: pins on every JDK with virtual threads, so the detector must report it.
      ExecutorService virtualThreads = newVirtualThreadPerTaskExecutor();
      List<Future<?>> control = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        control.add(virtualThreads.submit(() -> {
          controlThreads.add(Thread.currentThread().getId()); // before it can block in SlowInit
          SlowInit.touch();
        }));
      }
      // Release only once the initializer has parked: released earlier, nothing would block.
      long parkDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!isParked(initializing) && (System.nanoTime() < parkDeadline)) {
        Thread.onSpinWait();
      }
      assertThat(isParked(initializing)).as("the control's initializer parked").isTrue();
      CONTROL_RELEASE.countDown();
      for (Future<?> f : control) {
        f.get(1, TimeUnit.MINUTES);
      }
      virtualThreads.shutdown();
      assertThat(virtualThreads.awaitTermination(1, TimeUnit.MINUTES)).isTrue();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (pinned.stream().noneMatch(e -> isControl(e, controlThreads))
          && (System.nanoTime() < deadline)) {
        Thread.sleep(100); // real time is the point here: JFR flushes events about once a second
      }
    }

    assertThat(controlThreads).as("control threads").hasSize(4);
    assertThat(pinned).as("the control's pinning was reported")
        .anyMatch(e -> isControl(e, controlThreads));
    List<String> byTheCache = new ArrayList<>();
    for (RecordedEvent event : pinned) {
      if (!isControl(event, controlThreads)) {
        byTheCache.add(event.toString());
      }
    }
    assertThat(byTheCache).as("pinned virtual threads outside the control").isEmpty();
    assertThat(loads.get()).as("loads").isBetween(KEYS, THREADS);
    assertThat(cache.stats().hitCount() + cache.stats().missCount()).isEqualTo(THREADS);
    Invariants.check(cache);
  }

  private static boolean isParked(Thread thread) {
    // A pinned timed park reads TIMED_WAITING on JDK 25; accept WAITING for JDKs that report it so.
    Thread.State state = (thread == null) ? null : thread.getState();
    return (state == Thread.State.TIMED_WAITING) || (state == Thread.State.WAITING);
  }

  private static Cache<Integer, Integer> newCache() {
    return Hourglass.newBuilder().maximumSize(KEYS / 2)
        .expireAfterAccess(Duration.ofMinutes(5)).recordStats().build();
  }

  /**
   * 10,000 virtual threads, ten per key: nine of them wait for the tenth's load, and every loader
   * parks until all threads are submitted.
   */
  private static void run(Cache<Integer, Integer> cache, AtomicInteger loads) throws Exception {
    CountDownLatch submitted = new CountDownLatch(1);
    ExecutorService virtualThreads = newVirtualThreadPerTaskExecutor();
    List<Future<Integer>> results = new ArrayList<>();
    for (int i = 0; i < THREADS; i++) {
      int key = i % KEYS;
      results.add(virtualThreads.submit(() -> {
        Integer value = cache.get(key, k -> {
          loads.incrementAndGet();
          try {
            submitted.await(); // parks the loading virtual thread, while waiters park on its load
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return k * 2;
        });
        cache.asMap().merge(key + KEYS, 1, Integer::sum); // stripe locks, contended
        return value;
      }));
    }
    submitted.countDown();
    for (int i = 0; i < THREADS; i++) {
      assertThat(results.get(i).get(1, TimeUnit.MINUTES)).isEqualTo((i % KEYS) * 2);
    }
    virtualThreads.shutdown();
    assertThat(virtualThreads.awaitTermination(1, TimeUnit.MINUTES)).isTrue();
  }

  /** The control's threads are the only ones that touch SlowInit, so its events are theirs. */
  private static boolean isControl(RecordedEvent event, Set<Long> controlThreads) {
    return (event.getThread() != null) && controlThreads.contains(event.getThread().getJavaThreadId());
  }

  private static ExecutorService newVirtualThreadPerTaskExecutor() throws ReflectiveOperationException {
    // Compiled for Java 17: reach the JDK 21 factory reflectively.
    return (ExecutorService) Executors.class.getMethod("newVirtualThreadPerTaskExecutor").invoke(null);
  }
}
