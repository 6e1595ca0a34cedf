package dev.hourglass.cache.internal;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.google.errorprone.annotations.concurrent.LockMethod;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The hash table of one stripe, and the stripe's lock (this object): the superclass of
 * {@link Stripe}, so that a hit loads the stripe and its table and nothing else. It owns the bins,
 * their lock-free lookup and their mutation under the lock; {@link Stripe} owns everything else
 * the lock guards.
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
abstract class StripeTable<K, V> extends ReentrantLock {
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

  @SuppressWarnings("unchecked")
  StripeTable(int initialTableLength) {
    this.table = (Node<K, V>[]) new Node<?, ?>[initialTableLength];
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
        // A resize keeps overlapping: look up once under the lock instead of spinning. Reentrant
        // on purpose: a read from a key's compareTo during this thread's own resize may look.
        super.lock();
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
   *
   * @throws IllegalStateException if this thread holds the lock already (see {@link #lock})
   */
  @LockMethod("this")
  final void lockForWrite() {
    if (tryAcquire()) {
      return;
    }
    for (int i = 0; i < SPINS; i++) {
      Thread.onSpinWait();
      if (!isLocked() && tryAcquire()) {
        return;
      }
    }
    lock();
  }

  /** One attempt at the lock, refusing re-entry like {@link #lock}. */
  private boolean tryAcquire() {
    if (!super.tryLock()) { // acquire on success, as lock()
      return false;
    }
    refuseReentry();
    return true;
  }

  /**
   * Takes the lock, which must not be held by this thread already. The only user code that runs
   * under a stripe lock is a key's {@code equals} (and {@code compareTo} in a tree bin); one that
   * calls back into the cache to change this stripe would change it in the middle of the change
   * that called it (a second node for one key, a table resized under a walk). The lock is
   * reentrant, so such a call would not even wait: it fails instead, and the outer operation
   * fails with it, as with any exception from {@code equals}. Reads from {@code equals} take no
   * lock and work. (A callback that writes to another stripe is not detected: two threads doing
   * so crosswise could deadlock, as with any two locks taken in opposite orders.)
   *
   * @throws IllegalStateException if this thread holds the lock already
   */
  @Override
  public final void lock() {
    super.lock(); // acquire: orders the previous holder's writes before ours
    refuseReentry();
  }

  /**
   * Takes the lock if it is free; false if another thread holds it or this thread does (a
   * reader's maintenance called from a key's {@code equals} under the lock, which must not run
   * in the middle of the holder's change: the holder maintains anyway).
   */
  @Override
  public final boolean tryLock() {
    if (!super.tryLock()) { // acquire on success, as lock()
      return false;
    }
    if (getHoldCount() != 1) {
      unlock(); // re-entered from user code under our own lock: leave the stripe to the holder
      return false;
    }
    return true;
  }

  private void refuseReentry() {
    if (getHoldCount() != 1) { // read by the owner only: no ordering needed
      unlock();
      throw new IllegalStateException("A key's equals or compareTo called back into the cache "
          + "while the cache held the lock it runs under: such a callback may read the cache, "
          + "never write, clean up, size exactly or iterate it");
    }
  }

  /* ---------------- Mutation, under the lock ---------------- */

  @GuardedBy("this")
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
  @GuardedBy("this")
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
  @GuardedBy("this")
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

  /**
   * Puts {@code fresh}, a fully initialized node of the same key and hash, where {@code old} is in
   * its bin. {@code old} keeps its next link, so readers standing on it go on; a reader sees one
   * of the two nodes, never neither. The count stays.
   */
  @GuardedBy("this")
  void replace(Node<K, V> old, Node<K, V> fresh) {
    Node<K, V>[] tab = table;
    int index = old.hash & (tab.length - 1);
    Node<K, V> e = tab[index];
    if (TreeBin.isMarker(e)) {
      TreeBin.of(e).replace(old, fresh);
      return;
    }
    fresh.initNext(old.next);
    if (e == old) {
      BIN.setRelease(tab, index, fresh); // publishes the fresh node's fields to lock-free readers
      return;
    }
    while ((e != null) && (e.next != old)) {
      e = e.next;
    }
    if (e == null) {
      throw new IllegalStateException("Node not in its bin: " + old);
    }
    e.setNextRelease(fresh); // publishes the fresh node's fields to lock-free readers
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

  /** The stripe's nodes at one moment, taken under the lock (for iteration). */
  final Node<K, V>[] snapshot() {
    lock(); // a consistent set of the nodes, so an iterator sees none twice
    try {
      return nodesOf(table, count);
    } finally {
      unlock();
    }
  }

  /** Removes every node from the table, returning the old bins for notification. */
  @SuppressWarnings("unchecked")
  @GuardedBy("this")
  Node<K, V>[] clearTable() {
    Node<K, V>[] old = table;
    resizeSeq = resizeSeq + 1; // readers of the old bins retry, then see the empty table
    table = (Node<K, V>[]) new Node<?, ?>[Math.min(old.length, 16)];
    resizeSeq = resizeSeq + 1;
    count = 0;
    return old;
  }

  @SuppressWarnings("unchecked")
  @GuardedBy("this")
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
    table = tab; // volatile publish of the filled table
    resizeSeq = resizeSeq + 1; // even: relinking done
    if (hadTrees) {
      // Only now, on the published table: treeifying calls the keys' compareTo, which may read
      // the cache (and must then find a whole table) or throw. It relinks nothing, so readers
      // on a chain reach all of its nodes; each tree bin is published whole.
      for (int i = 0; i < length; i++) {
        Node<K, V> marker = TreeBin.treeify(tab[i]);
        if (marker != null) {
          BIN.setRelease(tab, i, marker); // publishes the tree bin, built from final fields
        }
      }
    }
  }

  private static <K, V> void relink(Node<K, V>[] tab, Node<K, V> e) {
    int index = e.hash & (tab.length - 1);
    e.setNextRelease(tab[index]); // after resizeSeq's odd store: a reader that sees it retries
    tab[index] = e;
  }
}
