package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.internal.Invariants;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random sequences against a reference model of refresh-after-write with expire-after-write, on
 * a loading cache with a fake ticker and a same-thread executor, so that a refresh runs inside
 * the read that starts it and the model can predict it: a read of a live entry older than the
 * interval returns the old value, then the reload replaces it (reported REPLACED, counted as a
 * load) or fails (counted, the old value kept, and no new refresh until an interval after the
 * failure); explicit refreshes reload whether due or not, and load an absent key; writes clear a
 * failed refresh. After every step: each result, the contents (read quietly), the statistics,
 * the notifications and the engine's invariants. Expired entries may be reported at any later
 * step (by whichever clean-up reaches them), but only once, and all by the end.
 */
final class RefreshModelTest {
  private static final int KEYS = 6;
  private static final int STEPS = 80;
  private static final long TTL = Duration.ofSeconds(10).toNanos();
  private static final long REFRESH = Duration.ofSeconds(3).toNanos();
  private static final long NONE = Long.MIN_VALUE;

  /** The model's entry: its value, when it was written, and when its last refresh failed. */
  record Entry(Integer value, long writtenAt, long failedAt) {
    boolean live(long now) {
      return now - (writtenAt + TTL) < 0;
    }

    boolean due(long now) {
      return (now - writtenAt >= REFRESH) && ((failedAt == NONE) || (now - failedAt >= REFRESH));
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 4})
  void randomSequences_agreeWithTheModel(int stripes) throws Exception {
    long[] seeds = LongStream.range(0, Integer.getInteger("hourglass.model.seeds", 400)).toArray();
    try (CapturedLog log = new CapturedLog()) { // failed reloads are logged: kept out of the build
      for (long seed : seeds) {
        try {
          new Run(stripes, seed).run();
        } catch (AssertionError e) {
          throw new AssertionError("stripes " + stripes + ", seed " + seed + ": " + e.getMessage(),
              e);
        }
      }
      assertThat(log.records).as("the failed reloads, logged").isNotEmpty();
    }
  }

  static final class Run {
    final Random random;
    final FakeTicker ticker;
    final RecordingListener<Integer, Integer> listener = new RecordingListener<>();
    final LoadingCache<Integer, Integer> cache;
    final Map<Integer, Entry> model = new HashMap<>();
    final AtomicInteger ids = new AtomicInteger(1_000);
    /** Whether the next reload fails, and how. 0: succeeds, 1: throws, 2: returns null. */
    int nextFault;
    int seen;
    long hits;
    long misses;
    long loadSuccesses;
    long loadFailures;

    Run(int stripes, long seed) {
      this.random = new Random(seed);
      this.ticker = new FakeTicker(random.nextLong() >> 8);
      this.cache = Hourglass.newBuilder().ticker(ticker).executor(Runnable::run)
          .scheduler(Scheduler.disabledScheduler()).recordStats().concurrencyLevel(stripes)
          .expireAfterWrite(Duration.ofNanos(TTL)).refreshAfterWrite(Duration.ofNanos(REFRESH))
          .removalListener(listener)
          .build(new CacheLoader<Integer, Integer>() {
            @Override
            public Integer load(Integer key) {
              return ids.incrementAndGet();
            }

            @Override
            public Integer reload(Integer key, Integer old) throws IOException {
              switch (nextFault) {
                case 1 -> throw new IOException("source down");
                case 2 -> {
                  return null;
                }
                default -> {
                  return ids.incrementAndGet();
                }
              }
            }
          });
    }

    void run() throws InterruptedException {
      for (int step = 0; step < STEPS; step++) {
        step(step);
        Invariants.check(cache);
      }
      ticker.advance(Duration.ofDays(1));
      cache.cleanUp();
      List<Object[]> none = new ArrayList<>();
      checkNotifications("final clean-up", none);
      assertThat(model).as("every value expired and reported").isEmpty();
    }

    private void step(int step) {
      int op = random.nextInt(7);
      Integer key = random.nextInt(KEYS);
      nextFault = (random.nextInt(4) == 0) ? 1 + random.nextInt(2) : 0;
      long now = ticker.read();
      Entry e = model.get(key);
      boolean live = (e != null) && e.live(now);
      String what = "step " + step + " op " + op + " key " + key;
      List<Object[]> expected = new ArrayList<>();
      switch (op) {
        case 0 -> { // put: a write clears any failed refresh
          Integer v = ids.incrementAndGet();
          cache.put(key, v);
          if (e != null) {
            expected.add(new Object[] {e.value(), live ? RemovalCause.REPLACED : RemovalCause.EXPIRED});
          }
          model.put(key, new Entry(v, now, NONE));
        }
        case 1 -> { // getIfPresent: a read
          Integer got = cache.getIfPresent(key);
          assertThat(got).as(what).isEqualTo(live ? e.value() : null);
          if (live) {
            hits++;
            read(key, e, now, expected);
          } else {
            misses++;
          }
        }
        case 2 -> { // LoadingCache.get: a read, or a load
          Integer got = cache.get(key);
          if (live) {
            assertThat(got).as(what).isEqualTo(e.value());
            hits++;
            read(key, e, now, expected);
          } else {
            misses++;
            loadSuccesses++;
            assertThat(got).as(what).isEqualTo(ids.get());
            if (e != null) {
              expected.add(new Object[] {e.value(), RemovalCause.EXPIRED});
            }
            model.put(key, new Entry(got, now, NONE));
          }
        }
        case 3 -> { // explicit refresh: reloads whether due or not; loads an absent key
          CompletableFuture<Integer> future = cache.refresh(key);
          assertThat(future).as(what).isDone();
          if (live) {
            reload(key, e, now, expected, future, what);
          } else {
            misses++;
            loadSuccesses++;
            assertThat(future.join()).as(what).isEqualTo(ids.get());
            if (e != null) {
              expected.add(new Object[] {e.value(), RemovalCause.EXPIRED});
            }
            model.put(key, new Entry(ids.get(), now, NONE));
          }
        }
        case 4 -> { // invalidate
          cache.invalidate(key);
          if (e != null) {
            expected.add(new Object[] {e.value(), live ? RemovalCause.EXPLICIT : RemovalCause.EXPIRED});
            model.remove(key);
          }
        }
        case 5 -> ticker.advanceNanos(random.nextInt(4_000) * 1_000_000L); // up to 4 s
        default -> cache.cleanUp();
      }
      checkNotifications(what, expected);
      long at = ticker.read();
      for (int k = 0; k < KEYS; k++) {
        Entry entry = model.get(k);
        assertThat(cache.policy().getIfPresentQuietly(k)).as("%s: contents of key %s", what, k)
            .isEqualTo(((entry != null) && entry.live(at)) ? entry.value() : null);
      }
      CacheStats stats = cache.stats();
      assertThat(stats.hitCount()).as(what + " hits").isEqualTo(hits);
      assertThat(stats.missCount()).as(what + " misses").isEqualTo(misses);
      assertThat(stats.loadSuccessCount()).as(what + " load successes").isEqualTo(loadSuccesses);
      assertThat(stats.loadFailureCount()).as(what + " load failures").isEqualTo(loadFailures);
    }

    /** A read of a live entry: a due one is reloaded inline, after the read returned. */
    private void read(Integer key, Entry e, long now, List<Object[]> expected) {
      if (e.due(now)) {
        reload(key, e, now, expected, null, "read");
      }
    }

    private void reload(Integer key, Entry e, long now, List<Object[]> expected,
        CompletableFuture<Integer> future, String what) {
      if (nextFault == 0) {
        loadSuccesses++;
        Integer v = ids.get();
        expected.add(new Object[] {e.value(), RemovalCause.REPLACED});
        model.put(key, new Entry(v, now, NONE));
        if (future != null) {
          assertThat(future.join()).as(what).isEqualTo(v);
        }
      } else {
        loadFailures++;
        model.put(key, new Entry(e.value(), e.writtenAt(), now)); // kept; retried an interval on
        if ((future != null) && (nextFault == 1)) {
          assertThat(future).as(what).isCompletedExceptionally();
        } else if (future != null) {
          assertThat(future.join()).as(what + ": a null reload completes with null").isNull();
        }
      }
    }

    private void checkNotifications(String what, List<Object[]> expected) {
      List<RecordingListener.Removal<Integer, Integer>> all = listener.list();
      List<RecordingListener.Removal<Integer, Integer>> fresh = all.subList(seen, all.size());
      seen = all.size();
      long now = ticker.read();
      List<Object[]> unmatched = new ArrayList<>(expected);
      for (RecordingListener.Removal<Integer, Integer> r : fresh) {
        if (unmatched.removeIf(x -> x[0].equals(r.value()) && (x[1] == r.cause()))) {
          continue;
        }
        // Otherwise only an expired value the model still holds, reported by a clean-up.
        Entry entry = model.get(r.key());
        assertThat(r.cause()).as("%s: unexpected %s", what, r).isEqualTo(RemovalCause.EXPIRED);
        assertThat(entry).as("%s: expired value not held: %s", what, r).isNotNull();
        assertThat(entry.value()).as("%s: expired another value: %s", what, r).isEqualTo(r.value());
        assertThat(entry.live(now)).as("%s: reported expired while live: %s", what, r).isFalse();
        model.remove(r.key());
      }
      // An expected EXPIRED may have come at an earlier step, from a clean-up.
      unmatched.removeIf(x -> x[1] == RemovalCause.EXPIRED);
      assertThat(unmatched).as("%s: predicted notifications not delivered", what).isEmpty();
    }
  }
}
