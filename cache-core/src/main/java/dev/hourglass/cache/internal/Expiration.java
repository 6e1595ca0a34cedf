package dev.hourglass.cache.internal;

import dev.hourglass.cache.Expiry;
import dev.hourglass.cache.Ticker;

/**
 * The expiration rules of one cache, decided once when it is built: the deadline of a write, the
 * extension of a deadline on a read, and which time structure a node goes in. It holds no entries
 * and no per-stripe state; {@link Stripe} keeps the structures (the write-order queue and the
 * {@link TimerWheel}) and asks these rules.
 *
 * <h2>Rules</h2>
 * <ul>
 *   <li>A write's deadline is, in this order of precedence: its own time to live ({@code put} with
 *       a {@code Duration}), the fixed time to live, the fixed idle time (the earlier of the two
 *       when both are set), or the {@link Expiry}'s answer for a create or an update of the live
 *       entry seen; without any of them, {@link Node#NEVER}.
 *   <li>A read restarts a fixed idle time only when the current deadline would end it early, and
 *       then with {@link #accessToleranceNanos} added, but never past the write's own deadline
 *       when a fixed time to live is set too (the node's write time, {@link Nodes.Stamped}); or
 *       it asks the {@code Expiry} for {@code expireAfterRead}. An entry with its own time to
 *       live is never extended. A read therefore only ever moves a fixed deadline later.
 *   <li>A node with a fixed time to live and no idle time goes to the stripe's write-order
 *       queue, which is then deadline order, unless its deadline is earlier than the tail's (a
 *       writer that lagged, a ticker that went back): every other timed node goes to the timer
 *       wheel.
 * </ul>
 *
 * <h2>Time</h2>
 * Deadlines are ticker readings; durations are capped at {@link #MAX_DURATION_NANOS} (about 146
 * years) so that {@code now + duration} cannot overflow, and deadlines are compared by difference,
 * so wrap-around and a ticker that goes backwards break nothing.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class Expiration<K, V> {
  /** Longest duration honoured; longer ones are "never" in practice and would overflow. */
  static final long MAX_DURATION_NANOS = Long.MAX_VALUE >> 1;
  /** A write that follows the cache's rules, not a time to live of its own. */
  static final long NO_TTL = -1;

  /** Fixed time to live, or -1. */
  final long expireAfterWriteNanos;
  /** Fixed idle time, or -1. */
  final long expireAfterAccessNanos;
  /**
   * How late an idle entry may expire, to spare readers a write: a read restarts the idle time
   * only when the current deadline would end it early, and then sets it this much later than
   * required, so reads closer together than this write the deadline once. Never early; late by at
   * most min(1 ms, idle time / 64).
   */
  final long accessToleranceNanos;
  /** Per-entry expiry, or null. */
  final Expiry<? super K, ? super V> expiry;
  final Ticker ticker;
  /** Whether the settings make entries expire at all. */
  private final boolean configured;
  /** Whether the cache refreshes entries, so that every write records its time. */
  private final boolean refreshes;
  /**
   * Set, once and for good, by the first write with a time to live of its own in a cache whose
   * settings do not expire entries: from then on writes read the ticker and maintenance expires.
   * Volatile: a write that sees it false cannot have a timed entry to follow.
   */
  private volatile boolean perEntryTtlUsed;

  Expiration(long expireAfterWriteNanos, long expireAfterAccessNanos,
      Expiry<? super K, ? super V> expiry, Ticker ticker, boolean refreshes) {
    this.refreshes = refreshes;
    this.expireAfterWriteNanos = Math.min(expireAfterWriteNanos, MAX_DURATION_NANOS);
    this.expireAfterAccessNanos = Math.min(expireAfterAccessNanos, MAX_DURATION_NANOS);
    this.accessToleranceNanos = Math.min(1_000_000L, Math.max(0, this.expireAfterAccessNanos) >> 6);
    this.expiry = expiry;
    this.ticker = ticker;
    this.configured = (expireAfterWriteNanos >= 0) || (expireAfterAccessNanos >= 0)
        || (expiry != null);
  }

  /** Whether the settings make entries expire. */
  boolean configured() {
    return configured;
  }

  /**
   * Whether writes read the ticker: any entry may have a deadline (the settings, or a write with
   * its own time to live), or the cache refreshes, so each write records its time.
   */
  boolean timed() {
    return configured || refreshes || perEntryTtlUsed;
  }

  /** Marks that a write with its own time to live happened (see perEntryTtlUsed). */
  void perEntryTtlUsed() {
    if (!perEntryTtlUsed) {
      perEntryTtlUsed = true; // volatile: later writes of any thread read the ticker
    }
  }

  /** The ticker reading a write or maintenance works with: zero when nothing can expire. */
  long now() {
    return timed() ? ticker.read() : 0;
  }

  /**
   * Whether a fixed time to live keeps nodes in the stripes' write-order queues: only without an
   * idle time, which reads extend out of write order.
   */
  boolean usesWriteOrder() {
    return (expireAfterWriteNanos >= 0) && (expireAfterAccessNanos < 0);
  }

  /** Whether nodes must record their write time: a fixed time to live caps idle extensions. */
  boolean needsWriteTime() {
    return (expireAfterWriteNanos >= 0) && (expireAfterAccessNanos >= 0);
  }

  /** Whether a write must run the {@code Expiry} on the entry it replaces, before locking. */
  boolean asksExpiryOnWrite(long ttlNanos) {
    return (expiry != null) && (ttlNanos < 0);
  }

  /** Whether a read may move a deadline earlier (an {@code Expiry}), so its node must be re-slotted. */
  boolean readsMayShorten() {
    return expiry != null;
  }

  /**
   * The deadline of a write at {@code now}: a per-entry TTL, the cache's fixed expiration, or the
   * expiry's answer for a create (no live entry seen) or an update of the entry seen.
   */
  long writeDeadline(K key, V value, boolean seenLive, long seenDeadline, long now,
      long ttlNanos) {
    if (ttlNanos >= 0) {
      return deadlineOf(now, ttlNanos);
    } else if ((expireAfterWriteNanos >= 0) && (expireAfterAccessNanos >= 0)) {
      return deadlineOf(now, Math.min(expireAfterWriteNanos, expireAfterAccessNanos));
    } else if (expireAfterWriteNanos >= 0) {
      return deadlineOf(now, expireAfterWriteNanos);
    } else if (expireAfterAccessNanos >= 0) {
      return deadlineOf(now, expireAfterAccessNanos);
    } else if (expiry != null) {
      // A live entry that never expires, with an Expiry, is an asynchronous cache's future that
      // was still loading: what replaces it is its first value, a create.
      long duration = (seenLive && (seenDeadline != Long.MAX_VALUE))
          ? expiry.expireAfterUpdate(key, value, now, seenDeadline - now)
          : expiry.expireAfterCreate(key, value, now);
      return deadlineOf(now, duration);
    }
    return Node.NEVER;
  }

  /**
   * {@code now + duration}, the duration clamped to [0, MAX_DURATION_NANOS]. The one deadline that
   * collides with {@link Node#NEVER} moves a nanosecond: later for a positive duration, earlier
   * (so it has passed at {@code now}) for a zero one.
   */
  static long deadlineOf(long now, long durationNanos) {
    long duration = Math.min(Math.max(durationNanos, 0), MAX_DURATION_NANOS);
    long deadline = now + duration;
    if (deadline == Node.NEVER) {
      return (duration == 0) ? deadline - 1 : deadline + 1;
    }
    return deadline;
  }

  /** {@link #liveDeadline}'s answer for an entry that is absent, removed, expired or unexpected. */
  static final long NOT_LIVE = Node.NEVER;

  /**
   * For a write that looks at the entry before locking: the deadline of {@code node} if it holds
   * a live value at {@code now} (and that value is {@code expected}, when not null), read as a
   * consistent pair (see Node); otherwise {@link #NOT_LIVE}. A live entry that never expires
   * answers {@code Long.MAX_VALUE}, so that NOT_LIVE means "not live" only; no rule reads that
   * deadline (only an {@code Expiry} reads a deadline, and with one every deadline is finite:
   * {@link #deadlineOf} never returns NEVER).
   */
  static long liveDeadline(Node<?, ?> node, Object expected, long now) {
    if (node == null) {
      return NOT_LIVE;
    }
    long deadline;
    Object value;
    int seq;
    do { // a pair that was true at once: see Node, "Value and deadline"
      seq = node.writeSeqAcquire();
      deadline = node.expiresAt();
      value = node.value;
    } while (!node.unchangedSince(seq, deadline));
    if ((value == null) || Node.isExpired(deadline, now)
        || ((expected != null) && (value != expected))) {
      return NOT_LIVE;
    }
    return (deadline == Node.NEVER) ? Long.MAX_VALUE : deadline;
  }

  /** Whether a read may move a deadline: a fixed idle time or an {@code Expiry}. */
  boolean extendsOnRead() {
    return (expireAfterAccessNanos >= 0) || (expiry != null);
  }

  /**
   * Moves a deadline for a read. Returns whether it moved a per-entry deadline earlier, which the
   * caller must make known to the wheel; a deadline that moved later needs nothing (see
   * TimerWheel).
   */
  boolean extendOnRead(Node<K, V> node, V value, long deadline, long now, int seq) {
    if (node.has(Node.CUSTOM_TTL)) { // racy read of the flags: a stale answer is caught below
      return false;
    }
    long next;
    if (expireAfterAccessNanos >= 0) {
      // Restart only if the current deadline would end the idle time early, and then with the
      // tolerance added: never early, late by at most the tolerance, one write per tolerance.
      if (deadlineOf(now, expireAfterAccessNanos) - deadline <= 0) {
        return false;
      }
      next = deadlineOf(now, expireAfterAccessNanos + accessToleranceNanos);
      if (expireAfterWriteNanos >= 0) {
        // Never past the write's own deadline: the entry expires at whichever comes first.
        long cap = deadlineOf(node.writtenAtNanos(), expireAfterWriteNanos);
        if (next - cap > 0) {
          next = cap;
        }
        if (next - deadline <= 0) {
          return false;
        }
      }
    } else if (expiry != null) {
      next = deadlineOf(now, expiry.expireAfterRead(node.key, value, now, deadline - now));
      if (next == deadline) {
        return false;
      }
    } else {
      return false;
    }
    return moveDeadlineForRead(node, seq, deadline, next) && (next - deadline < 0);
  }

  /**
   * Moves a deadline for a read of the value that the pair {@code (seq, deadline)} was read with.
   * The CAS compares the deadline only, and a write of another value may have kept the same
   * deadline (a stuck ticker, an expiry that keeps it on update, or a put with its own TTL): so
   * the write count is checked before (a write that came while the expiry ran), and after (a
   * write that landed between that check and the CAS, whose deadline is then put back). Returns
   * whether the deadline moved.
   */
  static boolean moveDeadlineForRead(Node<?, ?> node, int seq, long deadline, long next) {
    if (!node.unchangedSince(seq, deadline)) {
      return false; // the value read is no longer there: its read extends nothing
    }
    if (!node.casExpiresAt(deadline, next)) {
      return false; // a writer or another reader moved it first
    }
    if (node.writeSeqAcquire() != seq) { // the CAS is a full fence: a write begun before it shows
      node.casExpiresAt(next, deadline); // undo, unless that write stored its own deadline since
      return false;
    }
    return true;
  }
}
