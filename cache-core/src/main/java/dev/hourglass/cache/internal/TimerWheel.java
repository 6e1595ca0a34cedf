package dev.hourglass.cache.internal;

import java.util.function.Consumer;

/**
 * A hierarchical timer wheel [1] holding the nodes whose deadlines are set per entry (by an
 * {@code Expiry} or by {@code put(key, value, ttl)}): scheduling, rescheduling and removal are O(1),
 * and expiring a node costs O(1) amortized, however the deadlines are spread.
 *
 * <h2>Layout</h2>
 * Six levels of 64 buckets. A level-{@code L} bucket spans {@code 2^SHIFTS[L]} nanoseconds: about
 * 0.27 s, 17 s, 18 min, 19.5 h, 52 days and 9 years. A node goes to the lowest level whose full turn
 * (64 buckets) covers its remaining time. On level 0 it sits in the bucket of its deadline, which is
 * expired once that bucket's time has fully passed: so an entry leaves memory at most one level-0
 * span (0.27 s) after its deadline, plus the delay until the next maintenance. On higher levels it
 * sits in the bucket just <em>before</em> its deadline's bucket, so it is cascaded down when its
 * deadline's bucket begins, never late. The buckets are head references into doubly linked lists
 * through {@code timePrev}/{@code timeNext}; the node remembers its slot, so no sentinel objects are
 * needed (384 references per wheel).
 *
 * <h2>Time</h2>
 * Ticks use arithmetic shifts, so negative {@link System#nanoTime()} readings order correctly, and
 * tick counts are compared by masked difference, so a ticker that wraps past
 * {@link Long#MAX_VALUE} keeps the wheel turning (bucket indices are continuous modulo 64 across
 * the wrap). The
 * wheel's time never moves backwards by itself: a ticker that lags a little (a writer preempted
 * after reading it) is ignored until it catches up, and a deadline already in the past goes to
 * the current level-0 bucket. A ticker that jumps far back is handled by its owner with
 * {@link #rebuild}, which re-slots every node at the new time (O(n), once per jump), so expired
 * entries do not wait for the ticker to catch up with the old time.
 *
 * <h2>The current bucket</h2>
 * The current level-0 bucket is the one place an expired node can still be after {@link #advance}
 * (a node scheduled with a deadline at or before the wheel's time goes there, and so does a
 * deadline of the current 0.27 s). The wheel keeps a lower bound of the deadlines in it, so
 * {@link #expireCurrentBucket} runs (O(bucket size)) only when something there may have expired:
 * once per bucket turn, or when a node with a deadline due now was added.
 *
 * <h2>Deadlines that move</h2>
 * A node whose deadline moved later than its bucket (an idle entry that was read) needs no
 * rescheduling: when its bucket fires the node is found unexpired and scheduled again. A deadline
 * that moved earlier must be rescheduled by the owner ({@link #reschedule}, or {@link #rebuild}
 * when it is not known which node moved), or the node would expire late.
 *
 * <h2>Concurrency</h2>
 * Not thread-safe: guarded by the stripe lock.
 *
 * <p>[1] G. Varghese and T. Lauck, "Hashed and Hierarchical Timing Wheels: Data Structures for the
 * Efficient Implementation of a Timer Facility", SOSP 1987.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class TimerWheel<K, V> {
  static final int BUCKET_BITS = 6;
  static final int BUCKETS = 1 << BUCKET_BITS;
  static final int[] SHIFTS = {28, 34, 40, 46, 52, 58};
  static final int LEVELS = SHIFTS.length;

  private final TimedNode<K, V>[] heads;
  private long nanos;
  private int size;
  /** Whether {@link #currentMin} is a lower bound of the current bucket's deadlines. */
  private boolean currentMinKnown;
  /** With {@link #currentMinKnown}: whether the current bucket is empty (then no bound). */
  private boolean currentEmpty;
  /** A lower bound of the deadlines in the current level-0 bucket, when known. */
  private long currentMin;

  @SuppressWarnings("unchecked")
  TimerWheel(long nowNanos) {
    this.heads = (TimedNode<K, V>[]) new TimedNode<?, ?>[LEVELS * BUCKETS];
    this.nanos = nowNanos;
  }

  int size() {
    return size;
  }

  /** Adds a node by its {@code expiresAtNanos}. */
  void schedule(TimedNode<K, V> node) {
    long deadline = node.expiresAtNanos;
    int slot = slotFor(deadline);
    if (currentMinKnown && (slot == currentSlot())) {
      if (currentEmpty || (deadline - currentMin < 0)) {
        currentMin = deadline; // removals never lower the bound, so only additions move it
      }
      currentEmpty = false;
    }
    TimedNode<K, V> head = heads[slot];
    node.timePrev = null;
    node.timeNext = head;
    if (head != null) {
      head.timePrev = node;
    }
    heads[slot] = node;
    node.wheelSlot = (short) slot;
    size++;
  }

  /** Moves a node to the bucket of its current deadline. */
  void reschedule(TimedNode<K, V> node) {
    if (node.wheelSlot >= 0) {
      long deadline = node.expiresAtNanos;
      int slot = slotFor(deadline);
      if (slot == node.wheelSlot) {
        if (currentMinKnown && (slot == currentSlot()) && (deadline - currentMin < 0)) {
          currentMin = deadline; // moved earlier within the current bucket: keep the bound true
        }
        return;
      }
      remove(node);
    }
    schedule(node);
  }

  /** Removes a node from its bucket, if it is in one. */
  void remove(TimedNode<K, V> node) {
    int slot = node.wheelSlot;
    if (slot < 0) {
      return;
    }
    TimedNode<K, V> prev = node.timePrev;
    TimedNode<K, V> next = node.timeNext;
    if (prev == null) {
      heads[slot] = next;
    } else {
      prev.timeNext = next;
    }
    if (next != null) {
      next.timePrev = prev;
    }
    node.timePrev = null;
    node.timeNext = null;
    node.wheelSlot = -1;
    size--;
  }

  /** Whether moving to {@code nowNanos} would complete a level-0 bucket (else advancing is a no-op). */
  boolean hasDueBuckets(long nowNanos) {
    return (nowNanos - nanos > 0) && (ticksBetween(nowNanos, nanos, SHIFTS[0]) > 0);
  }

  /**
   * How many ticks of {@code 2^shift} nanoseconds lie between two readings, {@code later} not
   * before {@code earlier}: the difference of the ticks, masked so that a ticker that wrapped past
   * {@link Long#MAX_VALUE} between them still counts forward.
   */
  private static long ticksBetween(long later, long earlier, int shift) {
    return ((later >> shift) - (earlier >> shift)) & (-1L >>> shift);
  }

  private int currentSlot() {
    return (int) ((nanos >> SHIFTS[0]) & (BUCKETS - 1));
  }

  /** Whether a node of the current level-0 bucket may have expired at {@code nowNanos}. */
  boolean currentBucketMayHaveExpired(long nowNanos) {
    return !currentMinKnown || (!currentEmpty && (nowNanos - currentMin >= 0));
  }

  /**
   * Moves the wheel's time to {@code nowNanos}, handing every node whose deadline has passed to
   * {@code onExpired} (already detached from the wheel) and cascading the others down.
   */
  void advance(long nowNanos, Consumer<TimedNode<K, V>> onExpired) {
    long previous = nanos;
    if (nowNanos - previous <= 0) {
      return;
    }
    nanos = nowNanos;
    if (ticksBetween(nowNanos, previous, SHIFTS[0]) > 0) {
      currentMinKnown = false; // a new current bucket: its bound is found by its first scan
    }
    for (int level = 0; level < LEVELS; level++) {
      int shift = SHIFTS[level];
      long previousTicks = previous >> shift;
      long delta = ticksBetween(nowNanos, previous, shift);
      if (delta <= 0) {
        break; // coarser levels have not moved either
      }
      int count = (int) Math.min(delta, BUCKETS);
      for (int i = 0; i < count; i++) {
        int slot = level * BUCKETS + (int) ((previousTicks + i) & (BUCKETS - 1));
        expireBucket(slot, nowNanos, onExpired);
      }
    }
  }

  /**
   * Removes the expired nodes of the current level-0 bucket, the only place where a node whose
   * deadline has passed can still be after {@link #advance}: a node is cascaded down no later than
   * the start of its deadline's bucket on every level. O(bucket size), so it serves exact answers
   * ({@code size()}, {@code cleanUp()}) rather than every write.
   */
  void expireCurrentBucket(long nowNanos, Consumer<TimedNode<K, V>> onExpired) {
    int slot = currentSlot();
    boolean empty = true;
    long min = 0;
    for (TimedNode<K, V> node = heads[slot]; node != null; ) {
      TimedNode<K, V> next = node.timeNext;
      long deadline = node.expiresAtNanos;
      if (Node.isExpired(deadline, nowNanos)) {
        remove(node);
        onExpired.accept(node);
      } else if (empty || (deadline - min < 0)) {
        empty = false;
        min = deadline;
      }
      node = next;
    }
    // The bound is taken now, before onExpired's callers can schedule anything new here.
    currentMinKnown = true;
    currentEmpty = empty;
    currentMin = min;
  }

  private void expireBucket(int slot, long nowNanos, Consumer<TimedNode<K, V>> onExpired) {
    // Detach the whole list first: a node rescheduled below may land in this same slot again.
    TimedNode<K, V> node = heads[slot];
    heads[slot] = null;
    while (node != null) {
      TimedNode<K, V> next = node.timeNext;
      node.timePrev = null;
      node.timeNext = null;
      node.wheelSlot = -1;
      size--;
      if (Node.isExpired(node.expiresAtNanos, nowNanos)) {
        onExpired.accept(node);
      } else {
        schedule(node);
      }
      node = next;
    }
  }

  private int slotFor(long deadline) {
    long delta = deadline - nanos;
    if (delta <= 0) {
      return (int) ((nanos >> SHIFTS[0]) & (BUCKETS - 1));
    }
    for (int level = 0; level < LEVELS - 1; level++) {
      if (delta < (1L << (SHIFTS[level] + BUCKET_BITS))) {
        long ticks = deadline >> SHIFTS[level];
        if (level > 0) {
          ticks--; // cascade at the start of the deadline's bucket, not at its end
        }
        return level * BUCKETS + (int) (ticks & (BUCKETS - 1));
      }
    }
    int top = LEVELS - 1;
    long ticks = (deadline >> SHIFTS[top]) - 1;
    return top * BUCKETS + (int) (ticks & (BUCKETS - 1));
  }

  /** The wheel's time: the latest reading it advanced to. */
  long nanos() {
    return nanos;
  }

  /**
   * Sets the wheel's time to {@code wheelNanos} (which may be earlier than its current time) and
   * puts every node in the bucket of its current deadline. O(n).
   */
  @SuppressWarnings("unchecked")
  void rebuild(long wheelNanos) {
    TimedNode<K, V>[] nodes = (TimedNode<K, V>[]) new TimedNode<?, ?>[size];
    int n = 0;
    for (int slot = 0; slot < heads.length; slot++) {
      for (TimedNode<K, V> node = heads[slot]; node != null; node = node.timeNext) {
        nodes[n++] = node;
      }
      heads[slot] = null;
    }
    size = 0;
    nanos = wheelNanos;
    currentMinKnown = false;
    for (int i = 0; i < n; i++) {
      TimedNode<K, V> node = nodes[i];
      node.wheelSlot = -1;
      schedule(node);
    }
  }

  void clear() {
    java.util.Arrays.fill(heads, null);
    size = 0;
    currentMinKnown = false;
  }
}
