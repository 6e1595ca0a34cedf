package dev.hourglass.cache.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.HashMap;
import java.util.Map;
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
 * key; it is therefore bracketed by {@code resizeSeq} (odd while relinking, a seqlock): a reader
 * that found nothing re-reads the counter and retries, or looks up under the lock, if a resize
 * overlapped. A hit needs no such check: a node found with the key and a non-null value is an
 * answer that was true during the read.
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
  /** Entries in the table; written under the lock, volatile so estimatedSize reads it without one. */
  volatile int count;
  /** Sum of the entries' weights; guarded by the lock. */
  long weightedSize;

  /** Access order for eviction and idle expiration, or null when neither is configured. */
  final LruPolicy<K, V> policy;
  /** Write order for a fixed time to live, or null. */
  final WriteOrderDeque<K, V> writeOrder;
  /** Per-entry deadlines; created on first use; guarded by the lock. */
  TimerWheel<K, V> wheel;
  /** Lossy buffer of hits waiting to be applied to the policy, or null when no policy needs them. */
  final MpscAtomicArrayQueue<Node<K, V>> readBuffer;
  /** In-flight loads and computes by key; created on first use; guarded by the lock. */
  private Map<Object, Flight> flights;

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
      int seq = resizeSeq; // volatile read: a resize that starts later bumps it before relinking
      Node<K, V>[] tab = table;
      for (Node<K, V> e = binAcquire(tab, hash & (tab.length - 1)); e != null; e = e.next) {
        if ((e.hash == hash) && ((e.key == key) || key.equals(e.key))) {
          return e;
        }
      }
      // The chain reads above are volatile, so this read is ordered after them (seqlock check).
      if (((seq & 1) == 0) && (seq == resizeSeq)) {
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

  /* ---------------- Mutation, under the lock ---------------- */

  Node<K, V> findLocked(Object key, int hash) {
    Node<K, V>[] tab = table;
    for (Node<K, V> e = tab[hash & (tab.length - 1)]; e != null; e = e.next) {
      if ((e.hash == hash) && ((e.key == key) || key.equals(e.key))) {
        return e;
      }
    }
    return null;
  }

  /** Links a new, fully initialized node at the head of its bin. */
  void insert(Node<K, V> node) {
    Node<K, V>[] tab = table;
    int index = node.hash & (tab.length - 1);
    node.next = tab[index];
    BIN.setRelease(tab, index, node); // publishes the node's fields to lock-free readers
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
    if (e == node) {
      BIN.setRelease(tab, index, node.next); // readers see either chain, both valid
    } else {
      while ((e != null) && (e.next != node)) {
        e = e.next;
      }
      if (e == null) {
        throw new IllegalStateException("Node not in its bin: " + node);
      }
      e.next = node.next; // volatile store: readers see either chain, both valid
    }
    count = count - 1;
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
    for (Node<K, V> head : old) {
      for (Node<K, V> e = head; e != null; ) {
        Node<K, V> next = e.next;
        int index = e.hash & (length - 1);
        e.next = tab[index];
        tab[index] = e;
        e = next;
      }
    }
    table = tab; // volatile publish of the filled table
    resizeSeq = resizeSeq + 1; // even: relinking done
  }

  /* ---------------- In-flight markers ---------------- */

  Flight flight(Object key) {
    return (flights == null) ? null : flights.get(key);
  }

  void addFlight(Flight flight) {
    if (flights == null) {
      flights = new HashMap<>();
    }
    flights.put(flight.key, flight);
  }

  void removeFlight(Flight flight) {
    if (flights != null) {
      flights.remove(flight.key, flight);
    }
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
