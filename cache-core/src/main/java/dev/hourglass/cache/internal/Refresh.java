package dev.hourglass.cache.internal;

import java.util.concurrent.CompletableFuture;

/**
 * One refresh of one entry ({@code refreshAfterWrite}, or {@code refresh(key)}): the token that a
 * reader claims on the entry's node to start it, and the future its callers get.
 *
 * <h2>Life</h2>
 * A reader that finds its entry due CASes the node's refresh state from null (or from a refresh
 * that failed long enough ago) to a new {@code Refresh}, so concurrent readers start one reload at
 * most. Every write of the value clears the state under the stripe lock. The reload's result is
 * installed only if, under that lock, the node is still in the table, live, and still carries this
 * very token: a write that came meanwhile wins and the result is dropped, and an entry that
 * expired or was removed is not brought back. A reload that fails, or returns null, leaves the
 * old value and stays on the node as a failed refresh: readers start the next one a refresh
 * interval after the failure, not on every read while the source is down.
 *
 * <h2>Concurrency</h2>
 * The node's state is a VarHandle field read with acquire and claimed by CAS; the failure time is
 * written before the future completes and read only by readers that found this refresh failed
 * (through the node's acquire read, after the CAS that published it, see {@link #fail}).
 */
final class Refresh {
  /** Completed with the reloaded value (or null), or exceptionally with the reload's failure. */
  final CompletableFuture<Object> future = new CompletableFuture<>();
  /** The ticker reading when the reload was started, for the load time. */
  final long startedAtNanos;
  /** When it failed; meaningful once {@link #failed} is true. */
  private volatile long failedAtNanos;
  private volatile boolean failed;

  /**
   * For a node that cannot carry the token (a loading cache without {@code refreshAfterWrite}):
   * that node, and its write count when the refresh read its value, which the install compares
   * instead of the token (a write since then changes the count, a removal the node). Null and 0
   * for a token. A write moves the count by two, and it wraps (a byte on an untimed node, 16 bits
   * on a timed one): a dropped write goes unseen only if exactly a multiple of 128 (32,768)
   * writes ran during one reload and the last of them stored the very value object the reload
   * started from, which the install also compares.
   */
  final Object node;
  final int seq;

  Refresh(long startedAtNanos) {
    this(startedAtNanos, null, 0);
  }

  Refresh(long startedAtNanos, Object node, int seq) {
    this.startedAtNanos = startedAtNanos;
    this.node = node;
    this.seq = seq;
  }

  /** Marks the refresh failed at {@code now}, before its state is left on the node. */
  void fail(long now) {
    failedAtNanos = now; // volatile: before the flag, so a reader that sees it sees the time
    failed = true;
  }

  /** Whether the refresh failed (it stays on the node for the back-off). */
  boolean failed() {
    return failed;
  }

  /**
   * Whether a reader at {@code now} may start a new refresh in place of this one: only after it
   * failed, and a whole interval after that.
   */
  boolean retryable(long now, long intervalNanos) {
    return failed && (now - failedAtNanos >= intervalNanos);
  }
}
