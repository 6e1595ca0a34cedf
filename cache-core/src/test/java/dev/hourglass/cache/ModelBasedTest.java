package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random operation sequences, replayed on Hourglass and on a plain reference model driven by the
 * same fake ticker. After every step the visible contents agree; at the end every value written has
 * been notified exactly once with the cause the model predicts, or is still present. A failure
 * names its seed; rerun it alone by putting that seed in {@link #SEEDS_PER_SHAPE}'s loop.
 */
final class ModelBasedTest {
  static final int SEEDS_PER_SHAPE = 400;
  static final int STEPS = 60;
  static final int KEYS = 8;
  static final long TTL = Duration.ofSeconds(10).toNanos();
  static final long NEVER = Long.MIN_VALUE;

  /** The model's entry: a value and its deadline (NEVER for none). */
  record Entry(Integer value, long deadline) {
    boolean live(long now) {
      return (deadline == NEVER) || (now - deadline < 0);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"none", "expireAfterWrite", "expiry"})
  void randomSequences_agreeWithTheModel(String shape) {
    for (int seed = 0; seed < SEEDS_PER_SHAPE; seed++) {
      try {
        run(shape, seed);
      } catch (AssertionError e) {
        throw new AssertionError("shape " + shape + ", seed " + seed + ": " + e.getMessage(), e);
      }
    }
  }

  private static void run(String shape, long seed) {
    Random random = new Random(seed);
    FakeTicker ticker = new FakeTicker(random.nextLong() >> 8);
    RecordingListener<Integer, Integer> listener = new RecordingListener<>();
    CacheBuilder<Integer, Integer> builder = Hourglass.newBuilder().ticker(ticker)
        .executor(Runnable::run).scheduler(Scheduler.disabledScheduler())
        .concurrencyLevel(1 + random.nextInt(4)).removalListener(listener);
    long policyTtl = NEVER;
    if (shape.equals("expireAfterWrite")) {
      builder.expireAfterWrite(Duration.ofNanos(TTL));
      policyTtl = TTL;
    } else if (shape.equals("expiry")) {
      builder = builder.expireAfter(Expiry.writing((Integer k, Integer v) -> Duration.ofNanos(TTL)));
      policyTtl = TTL;
    }
    Cache<Integer, Integer> cache = builder.build();
    Map<Integer, Entry> model = new HashMap<>();
    Map<Integer, RemovalCause> fates = new HashMap<>(); // value id -> expected cause
    int[] ids = {1_000};

    for (int step = 0; step < STEPS; step++) {
      long now = ticker.read();
      Integer key = random.nextInt(KEYS);
      Entry e = model.get(key);
      boolean live = (e != null) && e.live(now);
      int op = random.nextInt(10);
      String what = "step " + step + " op " + op + " key " + key;
      switch (op) {
        case 0, 1 -> { // put
          Integer v = ++ids[0];
          cache.put(key, v);
          retire(e, live, RemovalCause.REPLACED, fates);
          model.put(key, new Entry(v, deadline(now, policyTtl)));
        }
        case 2 -> { // put with its own TTL, sometimes zero
          Integer v = ++ids[0];
          long ttl = random.nextBoolean() ? 0 : Duration.ofSeconds(1 + random.nextInt(20)).toNanos();
          cache.put(key, v, Duration.ofNanos(ttl));
          retire(e, live, RemovalCause.REPLACED, fates);
          if (ttl == 0) {
            fates.put(v, RemovalCause.EXPIRED); // dead on arrival: never stored
            model.remove(key);
          } else {
            model.put(key, new Entry(v, now + ttl));
          }
        }
        case 3 -> assertThat(cache.getIfPresent(key)).as(what).isEqualTo(live ? e.value() : null);
        case 4 -> { // invalidate
          cache.invalidate(key);
          retire(e, live, RemovalCause.EXPLICIT, fates);
          model.remove(key);
        }
        case 5 -> { // compute: increment-like replace, or remove
          boolean remove = random.nextInt(3) == 0;
          Integer v = ++ids[0];
          Integer result = cache.asMap().compute(key, (k, old) -> {
            assertThat(old).as(what + " compute sees").isEqualTo(live ? e.value() : null);
            return remove ? null : v;
          });
          if (remove) {
            assertThat(result).isNull();
            retire(e, live, RemovalCause.EXPLICIT, fates);
            model.remove(key);
          } else {
            assertThat(result).isEqualTo(v);
            retire(e, live, RemovalCause.REPLACED, fates);
            model.put(key, new Entry(v, deadline(now, policyTtl)));
          }
        }
        case 6 -> { // putIfAbsent
          Integer v = ++ids[0];
          Integer previous = cache.asMap().putIfAbsent(key, v);
          if (live) {
            assertThat(previous).as(what).isEqualTo(e.value());
            fates.put(v, null); // never stored
          } else {
            assertThat(previous).as(what).isNull();
            retire(e, false, null, fates);
            model.put(key, new Entry(v, deadline(now, policyTtl)));
          }
        }
        case 7 -> { // get with a mapping function
          Integer v = ++ids[0];
          Integer got = cache.get(key, k -> v);
          if (live) {
            assertThat(got).as(what).isEqualTo(e.value());
            fates.put(v, null);
          } else {
            assertThat(got).as(what).isEqualTo(v);
            retire(e, false, null, fates);
            model.put(key, new Entry(v, deadline(now, policyTtl)));
          }
        }
        case 8 -> ticker.advance(Duration.ofMillis(random.nextInt(12_000)));
        default -> cache.cleanUp();
      }
      // After every step the visible contents agree.
      long at = ticker.read();
      Map<Integer, Integer> expected = new HashMap<>();
      model.forEach((k, entry) -> {
        if (entry.live(at)) {
          expected.put(k, entry.value());
        }
      });
      assertThat(cache.asMap()).as("contents after " + what).isEqualTo(expected);
    }

    // Everything timed expires; afterwards each value was notified once with its fate.
    ticker.advance(Duration.ofDays(1));
    cache.cleanUp();
    long end = ticker.read();
    model.forEach((k, entry) -> {
      if (!entry.live(end)) {
        fates.put(entry.value(), RemovalCause.EXPIRED);
      }
    });
    Map<Integer, RemovalCause> notified = new HashMap<>();
    for (RecordingListener.Removal<Integer, Integer> r : listener.list()) {
      assertThat(notified.put(r.value(), r.cause())).as("notified twice: " + r).isNull();
    }
    Map<Integer, RemovalCause> expectedFates = new HashMap<>();
    fates.forEach((v, cause) -> {
      if (cause != null) {
        expectedFates.put(v, cause);
      }
    });
    assertThat(notified).as("removal causes").isEqualTo(expectedFates);
    assertThat(cache.estimatedSize()).isEqualTo(model.values().stream().filter(x -> x.live(end)).count());
  }

  private static long deadline(long now, long ttl) {
    return (ttl == NEVER) ? NEVER : now + ttl;
  }

  /** Records the fate of the value an operation displaces: its cause if live, else EXPIRED. */
  private static void retire(Entry e, boolean live, RemovalCause causeIfLive,
      Map<Integer, RemovalCause> fates) {
    if (e != null) {
      fates.put(e.value(), live ? causeIfLive : RemovalCause.EXPIRED);
    }
  }
}
