package dev.hourglass.cache.internal;

/**
 * One cache entry: a link in its stripe's bucket chain, in the policy's access order, and in one
 * expiration structure (the write-order queue or a timer-wheel bucket).
 *
 * <h2>Concurrency</h2>
 * {@code key} and {@code hash} are final. {@code value} and {@code next} are volatile: readers walk
 * bucket chains and read values without a lock, and a node published into a bucket with a release
 * store is seen whole. A removed node has its value set to {@code null} before it is unlinked, so a
 * reader that still holds it sees a miss. {@code expiresAtNanos} is volatile because readers check
 * it and, for idle-time expiration, push it forward. Every other field is guarded by the stripe
 * lock, except {@code stamp}, which eviction reads without the lock as a hint only.
 *
 * <h2>Memory</h2>
 * One object per entry (no separate map node): with compressed references, about 72 bytes.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class Node<K, V> {
  private static final java.lang.invoke.VarHandle EXPIRES_AT;

  static {
    try {
      EXPIRES_AT = java.lang.invoke.MethodHandles.lookup()
          .findVarHandle(Node.class, "expiresAtNanos", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** {@code expiresAtNanos} of an entry that never expires; readers then skip the ticker. */
  static final long NEVER = Long.MIN_VALUE;

  /** Flag: the node sits in its stripe's write-order queue. */
  static final byte IN_WRITE_QUEUE = 1;
  /** Flag: the node's deadline was set by {@code put(key, value, ttl)} and reads do not move it. */
  static final byte CUSTOM_TTL = 2;
  /** Flag: the node was removed from the table; buffered reads of it are ignored. */
  static final byte RETIRED = 4;

  final K key;
  final int hash;
  volatile V value;
  volatile Node<K, V> next;
  volatile long expiresAtNanos;

  /* Guarded by the stripe lock. */
  Node<K, V> accessPrev;
  Node<K, V> accessNext;
  Node<K, V> timePrev;
  Node<K, V> timeNext;
  long weight;
  int wheelSlot = -1;
  byte flags;

  /** Recency stamp from the cache's clock; written under the lock, read racily by eviction. */
  int stamp;

  Node(K key, int hash, V value, Node<K, V> next) {
    this.key = key;
    this.hash = hash;
    this.value = value;
    this.next = next;
    this.expiresAtNanos = NEVER;
  }

  /**
   * Moves the deadline from {@code expected} to {@code next} for a reader, unless a writer (or
   * another reader) changed it since it was read: a read must never overwrite a deadline that a
   * concurrent write just set.
   */
  boolean casExpiresAt(long expected, long next) {
    return EXPIRES_AT.compareAndSet(this, expected, next); // orders against writers' volatile stores
  }

  boolean has(byte flag) {
    return (flags & flag) != 0;
  }

  void set(byte flag, boolean on) {
    flags = (byte) (on ? (flags | flag) : (flags & ~flag));
  }

  /** Whether the node's deadline has passed at {@code now}, comparing by difference to survive wrap-around. */
  static boolean isExpired(long expiresAtNanos, long now) {
    return (expiresAtNanos != NEVER) && (now - expiresAtNanos >= 0);
  }

  @Override
  public String toString() {
    return "Node[" + key + "=" + value + "]";
  }
}
