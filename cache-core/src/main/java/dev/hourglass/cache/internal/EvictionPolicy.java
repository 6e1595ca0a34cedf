package dev.hourglass.cache.internal;

/**
 * The eviction policy of one stripe: the seam behind which a policy ({@link TinyLfuPolicy})
 * decides what a size-bounded cache keeps. A cache without a bound has none.
 *
 * <p>A policy owns all of its state: its per-stripe structures and counters, and on each node the
 * {@code policy*} fields of {@link Node}, which nothing else reads or writes. Nothing outside a
 * policy knows which policy it is: {@link Stripe} tells it of inserts, updates and removals, the
 * read path of hits, and {@link Eviction} asks the policies of a sample of stripes for their
 * candidates to choose a stripe to evict from.
 *
 * <p>A policy keeps its nodes in two segments: an admission segment that new entries enter, and a
 * main segment. Eviction across stripes first asks the cache's {@link Factory} which segment to
 * take from, given the sampled stripes' weights, then takes the oldest candidate of that segment.
 *
 * <h2>Concurrency</h2>
 * Every method runs under the stripe lock, except {@link #onHit}, which the read path calls, and
 * {@link #head}, {@link #rank}, {@link #admissionWeight} and {@link #weight}, which victim
 * sampling calls:
 * those run without it. {@code onHit} may write only the node's own policy fields, and only when
 * their value changes, so that a hit on a hot entry writes nothing at all. The sampling methods
 * read racily, and a stale answer costs a less good choice of stripe, never a wrong eviction (the
 * stripe decides under its lock).
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
interface EvictionPolicy<K, V> {

  /**
   * On the read path, without the lock: a hit on a live node. Writes at most the node's own
   * policy fields, and only when they change; never shared state.
   */
  void onHit(Node<K, V> node);

  /** A node was added to the stripe's table; {@code size} is the stripe's entry count. */
  void onInsert(Node<K, V> node, int size);

  /** A node in the table was written; its weight changed by {@code weightDelta}. */
  void onUpdate(Node<K, V> node, long weightDelta);

  /** A node left the table. */
  void onRemove(Node<K, V> node);

  /**
   * {@code fresh}, a copy of {@code old} with its flags, counters and weight, takes its place
   * (see Stripe#update): it takes the old node's place in the policy's structures too.
   */
  void onReplace(Node<K, V> old, Node<K, V> fresh);

  /**
   * The node this stripe evicts now, preferring the admission segment if {@code admission}, or
   * null when it holds none of positive weight; the contest between the segments, if any, is
   * decided within the stripe. It may rearrange its structures to decide. With
   * {@code admission} and {@code mainHasRoom} (the cache is filling), it only moves nodes from
   * the admission segment to main, uncontested, and returns null ({@link #moved}). With
   * {@code bounded}, looking for main's victim stops (returning null, {@link #rotated} true)
   * once this stripe's main candidate ranks after {@code limitRank}, so that the oldest
   * candidate of another stripe is looked at next.
   */
  Node<K, V> victim(boolean admission, boolean mainHasRoom, boolean bounded, int limitRank);

  /**
   * For a contest across two stripes, in the stripe of the admission candidate (after
   * {@link #prepareVictim} in the victim's, unless main has room): moves to main the nodes at the admission segment's old end that need no contest (all of them
   * down to the segment's share with {@code mainHasRoom}), and returns the frequency of the node
   * then at that end, which is the candidate ({@link #head}); or -1 when there is none.
   */
  int prepareAdmission(boolean mainHasRoom);

  /**
   * For a contest across two stripes, the first step, in the stripe of main's victim: brings main's victim to main's old end
   * ({@link #head}) and returns its frequency, -1 when main holds no node of positive weight, or
   * -2 when it stopped at the limit (as {@link #victim} does with {@code bounded}).
   */
  int prepareVictim(boolean bounded, int limitRank);

  /** Whether the last look for main's victim stopped at the limit. */
  boolean rotated();

  /**
   * Whether the last {@link #victim} call, asked with {@code mainHasRoom}, only moved nodes from
   * the admission segment to main and chose no victim, so that eviction samples main anew.
   */
  boolean moved();

  /**
   * The node at the old end of a segment, or null: under the lock, the node a contest step acts
   * on; without it (victim sampling), the candidate to compare stripes by {@link #rank}, a hint.
   */
  Node<K, V> head(boolean admission);

  /** The candidate won the contest: moves the admission segment's oldest node to main. */
  void admitHead();

  /** Without the lock, racily: the weight in this stripe's admission segment. */
  long admissionWeight();

  /** Without the lock, racily: the weight this stripe's policy holds in all. */
  long weight();

  /**
   * The rank of a node, comparable across the stripes of one cache: of two candidates, the one
   * with the lower rank (compared as {@code a - b < 0}, so ranks may wrap) goes first. May be read
   * without the lock, racily.
   */
  int rank(Node<K, V> node);

  /**
   * How worth keeping the policy rates a node, for the hottest and coldest snapshots of
   * {@code Policy.Eviction}: higher is hotter, and nodes that tie are ordered by {@link #rank}.
   * Under the lock; changes nothing, the frequency estimate included.
   */
  long retention(Node<K, V> node);

  /** The stripe was emptied. */
  void clear();

  /**
   * Makes the policies of one cache and decides between their segments: what they share across
   * stripes (a clock their ranks come from) lives here.
   *
   * @param <K> the type of keys
   * @param <V> the type of values
   */
  interface Factory<K, V> {
    /** A new, empty policy for one stripe. */
    EvictionPolicy<K, V> newStripePolicy();

    /**
     * The weight in all the stripes' admission segments: exact once the writes that changed it
     * have returned (each stripe adds its changes under its lock), so read without a lock it may
     * lag racing writers by their entries.
     */
    long admissionWeight();

    /**
     * Whether eviction should take from the admission segments, given the cache-wide admission
     * weight ({@link #admissionWeight}) and total weight.
     */
    boolean evictFromAdmission(long admissionWeight, long totalWeight);

    /**
     * Whether main has room for a node of {@code candidateWeight} leaving the admission segment,
     * so that it moves there without a contest, given the cache-wide admission and total weights
     * and the bound.
     */
    boolean mainHasRoom(long admissionWeight, long totalWeight, long maximum, long candidateWeight);

    /** The admission contest: whether a candidate of this frequency replaces a victim of that. */
    boolean admits(int candidateFreq, int victimFreq);
  }
}
