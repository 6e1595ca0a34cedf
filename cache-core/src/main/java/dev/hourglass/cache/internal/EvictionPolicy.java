package dev.hourglass.cache.internal;

/**
 * The eviction policy of one stripe: the seam behind which LRU ({@link LruPolicy}) or any other
 * policy decides what a size-bounded cache keeps. A cache without a bound has none.
 *
 * <p>A policy owns all of its state: its per-stripe structures and counters, and on each node the
 * {@code policy*} fields of {@link Node} ({@code policyPrev}, {@code policyNext},
 * {@code policyRank}, {@code policyTick}), which nothing else reads or writes. Nothing outside
 * a policy knows which policy it is: {@link Stripe} tells it of inserts, updates, removals and
 * applied reads, the read path asks it whether a hit is worth recording, and {@link Eviction}
 * compares the ranks of the stripes' candidates to choose a stripe to evict from.
 *
 * <h2>Concurrency</h2>
 * Every method runs under the stripe lock, except the two the read path and victim sampling call
 * without it, {@link #worthRecording} and {@link #candidateHint} (with {@link #rank} of its
 * answer): those read racily, and a stale answer may cost a recorded read too many or too few or
 * a less good choice of stripe, never a wrong eviction (the stripe re-checks under its lock).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
interface EvictionPolicy<K, V> {

  /**
   * On the read path, without the lock: whether a hit on {@code node} should be offered to the
   * stripe's read buffer. Must not write shared memory: a hit that is not worth recording then
   * costs no write at all.
   *
   * @param size the stripe's entry count, read racily
   */
  boolean worthRecording(Node<K, V> node, int size);

  /** A node was added to the stripe's table. */
  void onInsert(Node<K, V> node, int size);

  /** A node in the table was written (a new value). */
  void onUpdate(Node<K, V> node, int size);

  /** A buffered hit on a node still in the table is applied; a batch ends with {@link #endReads}. */
  void onRead(Node<K, V> node, int size);

  /** The current batch of applied reads is over. */
  void endReads();

  /** A node left the table. */
  void onRemove(Node<K, V> node);

  /** The node this stripe would evict now, or null; a node weighing zero is never a victim. */
  Node<K, V> victim();

  /**
   * Without the lock: the node this stripe would probably evict, or null when it holds none, for
   * comparing stripes by {@link #rank}. A hint only; the stripe decides under its lock.
   */
  Node<K, V> candidateHint();

  /**
   * The rank of a node, comparable across the stripes of one cache: of two candidates, the one
   * with the lower rank (compared as {@code a - b < 0}, so ranks may wrap) goes first. May be read
   * without the lock, racily.
   */
  int rank(Node<K, V> node);

  /** The stripe was emptied. */
  void clear();

  /**
   * Makes the policies of one cache: what they share across stripes (a clock their ranks come
   * from) lives in the factory.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   */
  interface Factory<K, V> {
    /** A new, empty policy for one stripe. */
    EvictionPolicy<K, V> newStripePolicy();
  }
}
