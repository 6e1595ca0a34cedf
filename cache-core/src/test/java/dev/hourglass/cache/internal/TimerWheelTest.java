package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

final class TimerWheelTest {
  private static final long BUCKET = 1L << TimerWheel.SHIFTS[0];

  /**
   * Random deadlines from milliseconds to years, random advance steps, negative start times: a node
   * is never expired before its deadline, and always within one level-0 bucket after it.
   */
  @ParameterizedTest
  @ValueSource(longs = {0L, -123_456_789_000L, 1L << 40, Long.MIN_VALUE / 4,
      Long.MAX_VALUE - 3_600_000_000_000L, Long.MAX_VALUE - (1L << 28) / 2})
  void advance_expiresEachNodeOnTimeAndNeverEarly(long start) { // the last two wrap past MAX
    Random random = new Random(start ^ 42);
    TimerWheel<Integer, Integer> wheel = new TimerWheel<>(start);
    List<TimedNode<Integer, Integer>> nodes = new ArrayList<>();
    for (int i = 0; i < 5_000; i++) {
      TimedNode<Integer, Integer> node = new TimedNode<>(i, i, i);
      long range = switch (i % 5) {
        case 0 -> TimeUnit.SECONDS.toNanos(2);
        case 1 -> TimeUnit.MINUTES.toNanos(5);
        case 2 -> TimeUnit.HOURS.toNanos(30);
        case 3 -> TimeUnit.DAYS.toNanos(400);
        default -> TimeUnit.DAYS.toNanos(365L * 20);
      };
      node.expiresAtNanos = start + 1 + (long) (random.nextDouble() * range);
      wheel.schedule(node);
      nodes.add(node);
    }
    List<TimedNode<Integer, Integer>> expired = new ArrayList<>();
    long now = start;
    long horizon = start + TimeUnit.DAYS.toNanos(365L * 21);
    while (now - horizon < 0) {
      long step = switch (random.nextInt(4)) {
        case 0 -> random.nextInt((int) BUCKET);
        case 1 -> TimeUnit.SECONDS.toNanos(1 + random.nextInt(30));
        case 2 -> TimeUnit.HOURS.toNanos(1 + random.nextInt(48));
        default -> TimeUnit.DAYS.toNanos(1 + random.nextInt(60));
      };
      now += step;
      long at = now;
      wheel.advance(now, node -> {
        assertThat(at - node.expiresAtNanos).as("never early").isGreaterThanOrEqualTo(0);
        expired.add(node);
      });
      for (TimedNode<Integer, Integer> node : nodes) {
        if (node.wheelSlot >= 0) {
          assertThat(now - node.expiresAtNanos).as("within one bucket").isLessThan(BUCKET);
        }
      }
    }
    assertThat(expired).hasSize(nodes.size());
    assertThat(wheel.size()).isZero();
  }

  /**
   * The current bucket's lower bound stays true: a node whose deadline moves earlier inside the
   * current bucket, and one scheduled there after a scan, are both found due.
   */
  @ParameterizedTest
  @ValueSource(longs = {0L, Long.MAX_VALUE - 1})
  void currentBucket_boundFollowsDeadlinesMovedEarlier(long start) {
    TimerWheel<Integer, Integer> wheel = new TimerWheel<>(start);
    TimedNode<Integer, Integer> late = new TimedNode<>(1, 1, 1);
    late.expiresAtNanos = start + BUCKET - 1; // end of the current bucket
    wheel.schedule(late);
    List<TimedNode<Integer, Integer>> expired = new ArrayList<>();
    assertThat(wheel.currentBucketMayHaveExpired(start)).as("unknown before a scan").isTrue();
    wheel.expireCurrentBucket(start, expired::add);
    assertThat(expired).isEmpty();
    assertThat(wheel.currentBucketMayHaveExpired(start + 1)).as("bound known, nothing due").isFalse();
    late.expiresAtNanos = start + 1; // an expireAfterRead moved it earlier, same bucket
    wheel.reschedule(late);
    assertThat(wheel.currentBucketMayHaveExpired(start + 1)).isTrue();
    TimedNode<Integer, Integer> past = new TimedNode<>(2, 2, 2);
    past.expiresAtNanos = start - 5; // a lagging writer's deadline, already passed
    wheel.schedule(past);
    wheel.expireCurrentBucket(start + 1, expired::add);
    assertThat(expired).containsExactlyInAnyOrder(late, past);
    assertThat(wheel.size()).isZero();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 7, 300})
  void rescheduleAndRemove_keepTheWheelConsistent(int seed) {
    Random random = new Random(seed);
    TimerWheel<Integer, Integer> wheel = new TimerWheel<>(0);
    List<TimedNode<Integer, Integer>> nodes = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      TimedNode<Integer, Integer> node = new TimedNode<>(i, i, i);
      node.expiresAtNanos = 1 + (long) (random.nextDouble() * TimeUnit.HOURS.toNanos(2));
      wheel.schedule(node);
      nodes.add(node);
    }
    for (int i = 0; i < 2_000; i++) {
      TimedNode<Integer, Integer> node = nodes.get(random.nextInt(nodes.size()));
      if (random.nextBoolean()) {
        node.expiresAtNanos = 1 + (long) (random.nextDouble() * TimeUnit.HOURS.toNanos(2));
        wheel.reschedule(node);
      } else if (node.wheelSlot >= 0) {
        wheel.remove(node);
      }
    }
    long remaining = nodes.stream().filter(n -> n.wheelSlot >= 0).count();
    assertThat(wheel.size()).isEqualTo((int) remaining);
    List<TimedNode<Integer, Integer>> expired = new ArrayList<>();
    wheel.advance(TimeUnit.HOURS.toNanos(3), expired::add);
    assertThat(expired).hasSize((int) remaining);
    assertThat(wheel.size()).isZero();
  }
}
