package dev.hourglass.cache.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.jctools.queues.atomic.MpscAtomicArrayQueue;

/**
 * One stripe of the table: a hash table of its own, its eviction order, its expiration structures,
 * its read buffer and its in-flight markers, all guarded by the stripe's lock (this object).
 *
 * <h2>Concurrency</h2>
 * Writers hold the lock. Readers take none: they read {@code table} (volatile), the bin head with
 * an acquire load, and the chain through volatile {@code next} links. Writers only ever insert at a
 * bin's head with a release store and unlink a node by pointing its predecessor past it, keeping
 * the removed node's own {@code next}, so a reader standing on a removed node still reaches the
 * rest of the chain. A resize relinks nodes, which could make a concurrent reader miss a present
 * key; it is therefore bracketed by {@code resizeSeq} (odd while relinking) and ends by publishing
 * a new table. A reader that found nothing checks that no resize is running and the table is the
 * one it walked, and otherwise retries (or looks up under the lock). A hit needs no check at all:
 * a node found with the key and a non-null value is an answer that was true during the read.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
@SuppressWarnings("serial") // never serialized
final class Stripe<K, V> extends ReentrantLock {
  private static final VarHandle BIN = MethodHandles.arrayElementVarHandle(Node[].class);
  private static final int MAX_TABLE_LENGTH = 1 << 30;

  /** The bins; replaced whole on resize (volatile publish of the filled new array). */
  volatile Node<K, V>[] table;
  /** Seqlock counter, odd while a resize relinks nodes. */
  volatile int resizeSeq;
  /**
   * Entries in the table. Written under the lock; read without it by estimatedSize, the cleaner and
   * readers as an estimate (a racy int read never tears).
   */
  int count;
  /** Counters written on every write or drain, kept off the cache lines readers load. */
  final Counters counters = new Counters();

  /**
   * The stripe's write-hot counters, padded on both sides. Readers load {@code table},
   * {@code policy} and {@code readBuffer} on every hit; if these counters shared a cache line with
   * them, every write and every drain would evict that line from every reader's cache (this was
   * measured: bounded reads stopped scaling past a few cores). HotSpot lays out fields of one
   * size in declaration order, so the long padding surrounds the counters. Guarded by the lock.
   */
  static final class Counters {
    long p0, p1, p2, p3, p4, p5, p6, p7;
    /** Sum of the entries' weights. */
    long weightedSize;
    /** This stripe's recency clock (see StripedCache.nextStamp). */
    long stampClock;
    /** Moves of the policy order (see LruPolicy). */
    long moves;
    long q0, q1, q2, q3, q4, q5, q6, q7;
  }

  /** Access order for eviction, or null when the cache has no size bound. */
  final LruPolicy<K, V> policy;
  /** Write order for a fixed time to live, or null. */
  final WriteOrderDeque<K, V> writeOrder;
  /** Per-entry, idle and out-of-order deadlines; created on first use; guarded by the lock. */
  TimerWheel<K, V> wheel;
  /** Lossy buffer of hits waiting to be applied to the policy, or null when no policy needs them. */
  final MpscAtomicArrayQueue<Node<K, V>> readBuffer;
  /**
   * In-flight loads and computes: a small chained hash table by the keys' spread hashes, created
   * on first use; guarded by the lock.
   */
  private Flight[] flights;
  private int flightCount;
  /**
   * How many times {@code invalidateAll} has emptied this stripe; guarded by the lock. A flight
   * registered under an older count installs nothing: its load began before the invalidation.
   */
  int generation;
  /**
   * Set by a reader whose {@code Expiry.expireAfterRead} moved a deadline earlier but whose read
   * the lossy buffer dropped: the wheel then holds the node in a bucket that is too late, until
   * {@link StripedCache} re-slots the wheel. Volatile: the reader's deadline CAS happens before
   * this store, so whoever reads {@code true} (under the lock) also sees the new deadline.
   */
  volatile boolean wheelStale;

  @SuppressWarnings("unchecked")
  Stripe(int initialTableLength, boolean needsPolicy, boolean needsWriteOrder, int readBufferSize) {
    this.table = (Node<K, V>[]) new Node<?, ?>[initialTableLength];
    this.policy = needsPolicy ? new LruPolicy<>() : null;
    this.writeOrder = needsWriteOrder ? new WriteOrderDeque<>() : null;
    this.readBuffer = (readBufferSize > 0) ? new MpscAtomicArrayQueue<>(readBufferSize) : null;
  }

  /* ---------------- Lock-free lookup ---------------- */

  /** Finds the node of {@code key} without locking; may return a node removed concurrently. */
  Node<K, V> find(Object key, int hash) {
    for (int attempt = 0; ; attempt++) {
      Node<K, V>[] tab = table;
      Node<K, V> head = binAcquire(tab, hash & (tab.length - 1));
      for (Node<K, V> e = head; e != null; e = e.next) {
        if ((e.hash == hash) && ((e.key == key) || key.equals(e.key))) {
          return e;
        }
      }
      if (TreeBin.isMarker(head)) { // never matched above: a marker's hash is no key's hash
        Node<K, V> e = TreeBin.of(head).find(key, hash);
        if (e != null) {
          return e;
        }
      }
      // A miss is true unless a resize relinked nodes during the walk: then it is either still
      // running (odd counter) or has published a new table. These volatile reads are ordered
      // after the chain's volatile reads, so a relink we walked through is seen here.
      if (((resizeSeq & 1) == 0) && (table == tab)) {
        return null;
      }
      if (attempt >= 2) {
        lock(); // a resize keeps overlapping: look up once under the lock instead of spinning
        try {
          return findLocked(key, hash);
        } finally {
          unlock();
        }
      }
      Thread.onSpinWait();
    }
  }

  @SuppressWarnings("unchecked")
  private static <K, V> Node<K, V> binAcquire(Node<K, V>[] tab, int index) {
    return (Node<K, V>) BIN.getAcquire(tab, index); // pairs with the release store in insert
  }

  /* ---------------- Locking ---------------- */

  private static final int SPINS = 64;

  /**
   * Takes the lock for a write. Critical sections are a few dozen instructions, so a writer that
   * finds the lock held spins briefly (re-reading it without writing, so the holder's cache line
   * is not stolen) before parking: parking and unparking cost far more than the wait. The lock
   * itself (acquire on success) orders everything the previous holder wrote before our reads.
   */
  void lockForWrite() {
    if (tryLock()) {
      return;
    }
    for (int i = 0; i < SPINS; i++) {
      Thread.onSpinWait();
      if (!isLocked() && tryLock()) {
        return;
      }
    }
    lock();
  }

  /* ---------------- Mutation, under the lock ---------------- */

  Node<K, V> findLocked(Object key, int hash) {
    Node<K, V>[] tab = table;
    Node<K, V> head = tab[hash & (tab.length - 1)];
    if (TreeBin.isMarker(head)) {
      return TreeBin.of(head).find(key, hash);
    }
    for (Node<K, V> e = head; e != null; e = e.next) {
      if ((e.hash == hash) && ((e.key == key) || key.equals(e.key))) {
        return e;
      }
    }
    return null;
  }

  /**
   * Links a new, fully initialized node into its bin: at the head of a chain, or into a tree bin.
   * A chain that reaches {@link TreeBin#TREEIFY_THRESHOLD} nodes becomes a tree bin.
   */
  void insert(Node<K, V> node) {
    Node<K, V>[] tab = table;
    int index = node.hash & (tab.length - 1);
    Node<K, V> head = tab[index];
    if (TreeBin.isMarker(head)) {
      TreeBin.of(head).insert(node);
    } else {
      node.initNext(head);
      BIN.setRelease(tab, index, node); // publishes the node's fields to lock-free readers
      if ((head != null) && (head.next != null) && (count >= TreeBin.TREEIFY_THRESHOLD)) {
        Node<K, V> marker = TreeBin.treeify(node);
        if (marker != null) {
          // Relinks nothing: readers still on the chain reach all of its nodes. Release:
          // publishes the tree bin, built from final fields and volatile stores, whole.
          BIN.setRelease(tab, index, marker);
        }
      }
    }
    int n = count + 1;
    count = n;
    if ((n > tab.length - (tab.length >>> 2)) && (tab.length < MAX_TABLE_LENGTH)) {
      resize(tab);
    }
  }

  /** Unlinks a node from its bin, keeping its {@code next} so that readers standing on it go on. */
  void unlink(Node<K, V> node) {
    Node<K, V>[] tab = table;
    int index = node.hash & (tab.length - 1);
    Node<K, V> e = tab[index];
    if (TreeBin.isMarker(e)) {
      TreeBin.of(e).remove(node);
    } else if (e == node) {
      BIN.setRelease(tab, index, node.next); // readers see either chain, both valid
    } else {
      while ((e != null) && (e.next != node)) {
        e = e.next;
      }
      if (e == null) {
        throw new IllegalStateException("Node not in its bin: " + node);
      }
      e.setNextRelease(node.next); // readers see either chain, both valid
    }
    count = count - 1;
  }

  /** Every node in {@code bins}, chains and tree bins alike; {@code count} sizes the result. */
  @SuppressWarnings("unchecked")
  static <K, V> Node<K, V>[] nodesOf(Node<K, V>[] bins, int count) {
    List<Node<K, V>> nodes = new ArrayList<>(count);
    for (Node<K, V> head : bins) {
      if (TreeBin.isMarker(head)) {
        TreeBin.of(head).forEach(nodes::add);
      } else {
        for (Node<K, V> e = head; e != null; e = e.next) {
          nodes.add(e);
        }
      }
    }
    return nodes.toArray((Node<K, V>[]) new Node<?, ?>[0]);
  }

  /** Removes every node from the table, returning the old bins for notification. */
  @SuppressWarnings("unchecked")
  Node<K, V>[] clearTable() {
    Node<K, V>[] old = table;
    resizeSeq = resizeSeq + 1; // readers of the old bins retry, then see the empty table
    table = (Node<K, V>[]) new Node<?, ?>[Math.min(old.length, 16)];
    resizeSeq = resizeSeq + 1;
    count = 0;
    return old;
  }

  @SuppressWarnings("unchecked")
  private void resize(Node<K, V>[] old) {
    int length = old.length << 1;
    Node<K, V>[] tab = (Node<K, V>[]) new Node<?, ?>[length];
    resizeSeq = resizeSeq + 1; // odd: relinking starts; ordered before the next stores below
    boolean hadTrees = false;
    for (Node<K, V> head : old) {
      if (TreeBin.isMarker(head)) {
        hadTrees = true;
        TreeBin.of(head).forEach(e -> relink(tab, e));
      } else {
        for (Node<K, V> e = head; e != null; ) {
          Node<K, V> next = e.next;
          relink(tab, e);
          e = next;
        }
      }
    }
    if (hadTrees) {
      for (int i = 0; i < length; i++) {
        Node<K, V> marker = TreeBin.treeify(tab[i]);
        if (marker != null) {
          tab[i] = marker; // plain: the new table is published below
        }
      }
    }
    table = tab; // volatile publish of the filled table
    resizeSeq = resizeSeq + 1; // even: relinking done
  }

  private static <K, V> void relink(Node<K, V>[] tab, Node<K, V> e) {
    int index = e.hash & (tab.length - 1);
    e.setNextRelease(tab[index]); // after resizeSeq's odd store: a reader that sees it retries
    tab[index] = e;
  }

  /* ---------------- In-flight markers ---------------- */

  /**
   * Looks up the flight of {@code key}. Calls the key's {@code equals}, which may throw: nothing is
   * registered or changed by a lookup, so a throw leaves nothing behind.
   */
  Flight flight(Object key, int hash) {
    Flight[] tab = flights;
    if (flightCount == 0) {
      return null;
    }
    for (Flight f = tab[hash & (tab.length - 1)]; f != null; f = f.next) {
      if ((f.hash == hash) && ((f.key == key) || key.equals(f.key))) {
        return f;
      }
    }
    return null;
  }

  /** Registers a flight, stamping it with the stripe's current clear count. Calls no user code. */
  void addFlight(Flight flight) {
    Flight[] tab = flights;
    if (tab == null) {
      tab = flights = new Flight[8];
    } else if (flightCount >= tab.length - (tab.length >>> 2)) {
      tab = flights = growFlights(tab);
    }
    int index = flight.hash & (tab.length - 1);
    flight.next = tab[index];
    tab[index] = flight;
    flightCount++;
    flight.generation = generation;
  }

  private static Flight[] growFlights(Flight[] old) {
    Flight[] tab = new Flight[old.length << 1];
    for (Flight head : old) {
      for (Flight f = head; f != null; ) {
        Flight next = f.next;
        int index = f.hash & (tab.length - 1);
        f.next = tab[index];
        tab[index] = f;
        f = next;
      }
    }
    return tab;
  }

  /**
   * Unregisters a flight by identity, using only its stored hash: no user code runs, so this
   * cannot fail. Removing a flight that is not registered does nothing.
   */
  void removeFlight(Flight flight) {
    Flight[] tab = flights;
    if (tab == null) {
      return;
    }
    int index = flight.hash & (tab.length - 1);
    Flight prev = null;
    for (Flight f = tab[index]; f != null; prev = f, f = f.next) {
      if (f == flight) {
        if (prev == null) {
          tab[index] = f.next;
        } else {
          prev.next = f.next;
        }
        f.next = null;
        flightCount--;
        return;
      }
    }
  }

  /** In-flight loads and computes of this stripe; under the lock (for invariant checks). */
  int flightCount() {
    return flightCount;
  }

  /* ---------------- Expiration structures ---------------- */

  TimerWheel<K, V> wheel(long now) {
    if (wheel == null) {
      wheel = new TimerWheel<>(now);
    }
    return wheel;
  }

  /** Whether anything in this stripe may expire; read by the cleaner before taking the lock. */
  boolean mayHaveTimedEntries() {
    return count > 0;
  }
}
