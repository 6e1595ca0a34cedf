package dev.hourglass.cache.internal;

import dev.hourglass.cache.Expiry;
import dev.hourglass.cache.Policy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.PriorityQueue;

/**
 * The {@link Policy} of one cache: views over its settings and lock-free looks at its entries.
 * It holds no state of its own but the views, so any number of them may exist.
 *
 * <h2>How entries are looked at</h2>
 * A per-entry question ({@code ageOf}, {@code getExpiresAfter}, {@code weightOf}) reads the
 * key's node as a reader does, without a lock: value and deadline as one consistent pair (see
 * {@link Node}), following a node that a timed copy replaced ({@link Node#MOVED}). It records no
 * access. The ages come from what the node keeps, never from a field added for this view:
 * <ul>
 *   <li>a node that records its write time ({@link Nodes.Stamped}: a refreshing cache, or both
 *       durations) gives the time since the write exactly;
 *   <li>otherwise an age under a fixed duration is that duration less the time left, which is
 *       exact for a time to live and, for an idle time, short by at most the read tolerance
 *       (see Expiration#accessToleranceNanos);
 *   <li>an entry whose deadline is its own ({@link Node#CUSTOM_TTL}) has no age under a fixed
 *       duration.
 * </ul>
 *
 * <h2>Snapshots</h2>
 * {@code hottest} and {@code coldest} lock one stripe at a time and rate its live nodes by the
 * policy's {@link EvictionPolicy#retention} and {@link EvictionPolicy#rank}, keeping the best
 * {@code limit} in a heap: memory is O(limit), not O(size). No user code runs under a lock; the
 * result map is filled (keys' {@code hashCode} and {@code equals}) after the last unlock.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class PolicyView<K, V> implements Policy<K, V> {
  private final StripedCache<K, V> cache;
  private final Optional<Eviction<K, V>> eviction;
  private final Optional<FixedExpiration<K, V>> expireAfterWrite;
  private final Optional<FixedExpiration<K, V>> expireAfterAccess;
  private final Optional<VarExpiration<K, V>> expireVariably;
  private final Optional<FixedRefresh<K, V>> refreshAfterWrite;

  PolicyView(StripedCache<K, V> cache) {
    this.cache = cache;
    Expiration<K, V> rules = cache.expiration;
    this.eviction = (cache.eviction == null) ? Optional.empty() : Optional.of(new Bound());
    this.expireAfterWrite = (rules.expireAfterWriteNanos < 0) ? Optional.empty()
        : Optional.of(new Fixed(rules.expireAfterWriteNanos,
            cache.builtWriteNanos, true));
    this.expireAfterAccess = (rules.expireAfterAccessNanos < 0) ? Optional.empty()
        : Optional.of(new Fixed(rules.expireAfterAccessNanos,
            cache.builtAccessNanos, false));
    this.expireVariably = Optional.of(new Variable());
    this.refreshAfterWrite = (cache.refreshAfterNanos() < 0) ? Optional.empty()
        : Optional.of(new Refreshing());
  }

  @Override
  public boolean isRecordingStats() {
    return cache.stats != null;
  }

  @Override
  public V getIfPresentQuietly(K key) {
    Seen<K, V> seen = look(key); // no access, extension, refresh or clean-up of expired entries
    return (seen == null) ? null : seen.value;
  }

  @Override
  public Optional<Eviction<K, V>> eviction() {
    return eviction;
  }

  @Override
  public Optional<FixedExpiration<K, V>> expireAfterWrite() {
    return expireAfterWrite;
  }

  @Override
  public Optional<FixedExpiration<K, V>> expireAfterAccess() {
    return expireAfterAccess;
  }

  @Override
  public Optional<VarExpiration<K, V>> expireVariably() {
    return expireVariably;
  }

  @Override
  public Optional<FixedRefresh<K, V>> refreshAfterWrite() {
    return refreshAfterWrite;
  }

  @Override
  public String toString() {
    return "Policy[" + cache + "]";
  }

  /* ---------------- Looking at one entry ---------------- */

  /** A live entry as one lock-free look saw it: its node and deadline, and the ticker then. */
  private record Seen<K, V>(Node<K, V> node, V value, long deadline, long now) {}

  /** The key's live entry, or null; records no access. */
  private Seen<K, V> look(K key) {
    Objects.requireNonNull(key, "key");
    int hash = StripedCache.spread(key.hashCode());
    for (;;) {
      Node<K, V> node = cache.stripeFor(hash).find(key, hash);
      if (node == null) {
        return null;
      }
      long deadline;
      V value;
      int seq;
      do { // a pair that was true at once: see Node, "Value and deadline"
        seq = node.writeSeqAcquire();
        deadline = node.expiresAt();
        value = node.value;
      } while (!node.unchangedSince(seq, deadline));
      if (value == null) {
        if (node.has(Node.MOVED)) {
          continue; // a timed copy replaced the node: look again (see Node#MOVED)
        }
        return null;
      }
      long now = cache.ticker().read();
      if ((deadline != Node.NEVER) && (now - deadline >= 0)) {
        return null;
      }
      return new Seen<>(node, value, deadline, now);
    }
  }

  private static Optional<Duration> age(long nanos) {
    return Optional.of(Duration.ofNanos(Math.max(0, nanos)));
  }

  /* ---------------- Views ---------------- */

  /** The size bound. */
  private final class Bound implements Eviction<K, V> {
    @Override
    public boolean isWeighted() {
      return cache.isWeighted();
    }

    @Override
    public OptionalLong weightOf(K key) {
      Seen<K, V> seen = look(key);
      return ((seen == null) || !cache.isWeighted()) ? OptionalLong.empty()
          : OptionalLong.of(seen.node.weight());
    }

    @Override
    public OptionalLong weightedSize() {
      return cache.isWeighted() ? OptionalLong.of(cache.totalWeight()) : OptionalLong.empty();
    }

    @Override
    public long getMaximum() {
      return cache.eviction.maximum();
    }

    @Override
    public void setMaximum(long maximum) {
      if (maximum < 0) {
        throw new IllegalArgumentException("maximum must not be negative: " + maximum);
      }
      cache.setMaximum(maximum);
    }

    @Override
    public Map<K, V> hottest(int limit) {
      return snapshot(limit, true);
    }

    @Override
    public Map<K, V> coldest(int limit) {
      return snapshot(limit, false);
    }

    @Override
    public String toString() {
      return "Eviction[maximum=" + getMaximum() + "]";
    }
  }

  /** A fixed time to live ({@code write}) or idle time. */
  private final class Fixed implements FixedExpiration<K, V> {
    /** The duration the rules apply (capped at Expiration#MAX_DURATION_NANOS). */
    private final long durationNanos;
    /** The duration as configured, which {@link #getExpiresAfter} reports. */
    private final long configuredNanos;
    private final boolean write;

    Fixed(long durationNanos, long configuredNanos, boolean write) {
      this.durationNanos = durationNanos;
      this.configuredNanos = configuredNanos;
      this.write = write;
    }

    @Override
    public Duration getExpiresAfter() {
      return Duration.ofNanos(configuredNanos);
    }

    @Override
    public Optional<Duration> ageOf(K key) {
      Seen<K, V> seen = look(key);
      if ((seen == null) || seen.node.has(Node.CUSTOM_TTL)) {
        return Optional.empty();
      }
      if (write && ((seen.node.shape() & Nodes.WRITE_TIME) != 0)) {
        return age(seen.now - seen.node.writtenAtNanos());
      }
      return age(durationNanos - (seen.deadline - seen.now));
    }

    @Override
    public String toString() {
      return (write ? "ExpireAfterWrite[" : "ExpireAfterAccess[") + getExpiresAfter() + "]";
    }
  }

  /** Each entry's own deadline. */
  private final class Variable implements VarExpiration<K, V> {
    @Override
    public Optional<Duration> getExpiresAfter(K key) {
      Seen<K, V> seen = look(key);
      if (seen == null) {
        return Optional.empty();
      }
      return Optional.of(Duration.ofNanos(
          (seen.deadline == Node.NEVER) ? Long.MAX_VALUE : (seen.deadline - seen.now)));
    }

    @Override
    public boolean setExpiresAfter(K key, Duration duration) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(duration, "duration");
      if (duration.isNegative()) {
        throw new IllegalArgumentException("duration must not be negative: " + duration);
      }
      long nanos = Math.min(Expiry.toNanosSaturated(duration), Expiration.MAX_DURATION_NANOS);
      return cache.retime(key, nanos);
    }

    @Override
    public String toString() {
      return "VarExpiration";
    }
  }

  /** The refresh interval. */
  private final class Refreshing implements FixedRefresh<K, V> {
    @Override
    public Duration getRefreshesAfter() {
      return Duration.ofNanos(cache.builtRefreshNanos); // as configured, uncapped
    }

    @Override
    public Optional<Duration> ageOf(K key) {
      Seen<K, V> seen = look(key);
      return (seen == null) ? Optional.empty() : age(seen.now - seen.node.writtenAtNanos());
    }

    @Override
    public String toString() {
      return "RefreshAfterWrite[" + getRefreshesAfter() + "]";
    }
  }

  /* ---------------- Snapshots ---------------- */

  /** Takes what a stripe offers, under its lock: must run no user code. */
  interface RatingSink<K, V> {
    void accept(K key, V value, long retention, int rank);
  }

  /**
   * One live entry and the policy's rating of it; {@code seen} numbers the entries in the order
   * the snapshot met them, so that entries the policy rates alike (equal ranks of two stripes)
   * still have one order, the same for {@code hottest} and {@code coldest} of an unchanged cache.
   */
  private record Rated<K, V>(K key, V value, long retention, int rank, long seen) {}

  /**
   * Hotter is greater: higher retention, then the later rank (ranks compare by difference), then
   * the later met. A total order.
   */
  private static final Comparator<Rated<?, ?>> HEAT = (a, b) -> {
    int byRetention = Long.compare(a.retention, b.retention);
    if (byRetention != 0) {
      return byRetention;
    }
    int byRank = Integer.signum(a.rank - b.rank);
    return (byRank != 0) ? byRank : Long.compare(a.seen, b.seen);
  };

  private Map<K, V> snapshot(int limit, boolean hottest) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit must not be negative: " + limit);
    }
    if (limit == 0) {
      return Collections.emptyMap();
    }
    // The heap's head is the worst entry kept so far, the one a better one displaces.
    Comparator<Rated<?, ?>> keepOrder = hottest ? HEAT : HEAT.reversed();
    PriorityQueue<Rated<K, V>> kept = new PriorityQueue<>(Math.min(limit, 1024), keepOrder);
    long[] met = new long[1];
    RatingSink<K, V> sink = (key, value, retention, rank) -> {
      kept.add(new Rated<>(key, value, retention, rank, met[0]++));
      if (kept.size() > limit) {
        kept.poll();
      }
    };
    long now = cache.ticker().read();
    for (Stripe<K, V> stripe : cache.stripes) {
      stripe.lock(); // the policy's ratings are guarded by it; refuses a caller under a lock
      try {
        stripe.rateLive(now, sink);
      } finally {
        stripe.unlock();
      }
    }
    List<Rated<K, V>> ordered = new ArrayList<>(kept);
    ordered.sort(keepOrder.reversed()); // best first
    Map<K, V> result = new LinkedHashMap<>();
    for (Rated<K, V> rated : ordered) {
      result.put(rated.key, rated.value);
    }
    return Collections.unmodifiableMap(result);
  }
}
