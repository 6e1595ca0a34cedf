package dev.hourglass.cache.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * A bin holding many colliding nodes, searched in O(log n) instead of a linear chain walk, so keys
 * that share a hash code (by accident or crafted by an attacker) cannot turn every operation into
 * a scan. A stripe's bin becomes a tree bin when its chain reaches {@link #TREEIFY_THRESHOLD}
 * nodes and at least a quarter of them share the {@link Comparable} class of its newest key.
 *
 * <p>In the table a tree bin is represented by a marker {@link Node} whose hash is
 * {@link #TREE_HASH}, which no key's spread hash equals (spread hashes are non-negative), and
 * whose key field holds this object. A chain walk therefore never matches the marker, and a miss
 * that ends at a marker goes on here.
 *
 * <p>Nodes whose keys the tree cannot order (another class, a {@code compareTo} tie between keys
 * that are not equal, a {@code compareTo} that throws) are kept in {@code others}, searched
 * linearly: they stay correct, just not fast.
 *
 * <h2>Concurrency</h2>
 * The tree is persistent: its nodes are immutable (final fields), and a writer, under the stripe
 * lock, builds a new path from the root and publishes the new root with a volatile store. A
 * lock-free reader loads the root once and searches a snapshot that cannot change under it.
 * {@code others} is a copy-on-write array published the same way. Turning a chain into a tree
 * changes no node's {@code next} link, so a reader still walking the old chain reaches every node
 * it held; a node removed since is seen with a null value (a miss), as in a chain.
 *
 * @param <K> the type of keys
 * @param <V> the type of values
 */
final class TreeBin<K, V> {
  /** Hash of a tree bin's marker node; {@link StripedCache#spread} never returns a negative value. */
  static final int TREE_HASH = -1;
  /** Chain length at which a bin becomes a tree. */
  static final int TREEIFY_THRESHOLD = 8;

  @SuppressWarnings("rawtypes")
  private static final Node[] NO_NODES = new Node[0];

  /** An immutable AVL tree node; a new path is built for every change. */
  static final class TreeNode<K, V> {
    final Node<K, V> entry;
    final TreeNode<K, V> left;
    final TreeNode<K, V> right;
    final int height;

    TreeNode(Node<K, V> entry, TreeNode<K, V> left, TreeNode<K, V> right) {
      this.entry = entry;
      this.left = left;
      this.right = right;
      this.height = Math.max(height(left), height(right)) + 1;
    }
  }

  /** The one key class the tree orders; its instances are compared with {@code compareTo}. */
  private final Class<?> keyClass;
  /** The tree's root; replaced whole by writers (volatile publish of immutable nodes). */
  private volatile TreeNode<K, V> root;
  /** Nodes the tree cannot order; replaced whole by writers (copy-on-write, volatile publish). */
  private volatile Node<K, V>[] others;

  @SuppressWarnings("unchecked")
  private TreeBin(Class<?> keyClass) {
    this.keyClass = keyClass;
    this.others = (Node<K, V>[]) NO_NODES;
  }

  /** The tree bin a marker node stands for. */
  @SuppressWarnings("unchecked")
  static <K, V> TreeBin<K, V> of(Node<K, V> marker) {
    return (TreeBin<K, V>) (Object) marker.key;
  }

  static boolean isMarker(Node<?, ?> node) {
    return (node != null) && (node.hash == TREE_HASH);
  }

  /**
   * Builds a tree bin from a chain, or returns null when the chain is too short or too few of its
   * keys share a comparable class. Calls the keys' {@code compareTo}; if one throws, the chain
   * stays a chain. Changes no node.
   */
  @SuppressWarnings("unchecked")
  static <K, V> Node<K, V> treeify(Node<K, V> head) {
    if ((head == null) || !(head.key instanceof Comparable)) {
      return null;
    }
    int length = 0;
    for (Node<K, V> e = head; e != null; e = e.next) {
      length++;
    }
    if (length < TREEIFY_THRESHOLD) {
      return null;
    }
    Class<?> keyClass = head.key.getClass();
    int eligible = 0;
    for (Node<K, V> e = head; e != null; e = e.next) {
      if (e.key.getClass() == keyClass) {
        eligible++;
      }
    }
    if (4 * eligible < length) {
      return null; // mostly other classes: a tree would hardly shorten the walk
    }
    TreeBin<K, V> bin = new TreeBin<>(keyClass);
    Node<K, V>[] sorted = (Node<K, V>[]) new Node<?, ?>[eligible];
    List<Node<K, V>> rest = new ArrayList<>();
    int i = 0;
    for (Node<K, V> e = head; e != null; e = e.next) {
      if (e.key.getClass() == keyClass) {
        sorted[i++] = e;
      } else {
        rest.add(e);
      }
    }
    try {
      Arrays.sort(sorted, (a, b) -> compare(a.hash, a.key, b));
    } catch (RuntimeException | Error e) {
      // A compareTo that throws anything (or breaks the contract): keep the chain. Treeifying
      // runs under the lock in the middle of an insert or a resize, which must complete.
      return null;
    }
    int kept = 0;
    for (int j = 0; j < sorted.length; j++) {
      if ((kept > 0) && (compare(sorted[j].hash, sorted[j].key, sorted[kept - 1]) == 0)) {
        rest.add(sorted[j]); // a tie between unequal keys: the tree cannot hold both
      } else {
        sorted[kept++] = sorted[j];
      }
    }
    bin.root = build(sorted, 0, kept);
    bin.others = rest.toArray((Node<K, V>[]) NO_NODES);
    return bin.marker();
  }

  private Node<K, V> marker() {
    @SuppressWarnings("unchecked")
    K self = (K) (Object) this;
    return new Node<>(self, TREE_HASH, null);
  }

  /* ---------------- Lock-free lookup ---------------- */

  /** Finds the node of {@code key}, or null; safe without the lock. */
  Node<K, V> find(Object key, int hash) {
    TreeNode<K, V> t = root; // volatile: a whole, immutable snapshot
    if (key.getClass() == keyClass) {
      try {
        while (t != null) {
          Node<K, V> e = t.entry;
          int c = compare(hash, key, e);
          if (c == 0) {
            if ((e.key == key) || key.equals(e.key)) {
              return e;
            }
            break; // a tie with an unequal key: ours, if present, is among the others
          }
          t = (c < 0) ? t.left : t.right;
        }
      } catch (RuntimeException e) {
        Node<K, V> found = scan(root, key, hash); // compareTo threw: fall back to equals
        if (found != null) {
          return found;
        }
      }
    }
    for (Node<K, V> e : others) { // volatile: a whole, immutable array
      if ((e.hash == hash) && ((e.key == key) || key.equals(e.key))) {
        return e;
      }
    }
    return null;
  }

  private static <K, V> Node<K, V> scan(TreeNode<K, V> t, Object key, int hash) {
    while (t != null) {
      Node<K, V> e = t.entry;
      if ((e.hash == hash) && ((e.key == key) || key.equals(e.key))) {
        return e;
      }
      Node<K, V> found = scan(t.left, key, hash);
      if (found != null) {
        return found;
      }
      t = t.right;
    }
    return null;
  }

  /* ---------------- Mutation, under the stripe lock ---------------- */

  /** Adds a node whose key is not in the bin. Never throws for a misbehaving {@code compareTo}. */
  void insert(Node<K, V> node) {
    if (node.key.getClass() == keyClass) {
      TreeNode<K, V> updated;
      try {
        updated = insert(root, node);
      } catch (RuntimeException | Error e) {
        updated = null; // compareTo threw anything: the node goes with the others
      }
      if (updated != null) {
        root = updated; // volatile: publishes the new path, and the node, to readers
        return;
      }
    }
    Node<K, V>[] old = others;
    Node<K, V>[] grown = Arrays.copyOf(old, old.length + 1);
    grown[old.length] = node;
    others = grown; // volatile: publishes the array and the node to readers
  }

  /** Removes a node, found by identity. */
  void remove(Node<K, V> node) {
    Node<K, V>[] old = others;
    for (int i = 0; i < old.length; i++) {
      if (old[i] == node) {
        Node<K, V>[] shrunk = Arrays.copyOf(old, old.length - 1);
        System.arraycopy(old, i + 1, shrunk, i, old.length - i - 1);
        others = shrunk; // volatile: readers see the old array or the new, both valid
        return;
      }
    }
    TreeNode<K, V> updated;
    try {
      updated = delete(root, node);
    } catch (RuntimeException | Error e) {
      updated = null; // compareTo threw (anything) now though it ordered the node before
    }
    if (updated == null) {
      updated = rebuildWithout(node); // identity only, no compareTo
    }
    root = (updated == EMPTY) ? null : updated; // volatile: publishes the new path
  }

  /**
   * Puts {@code fresh}, a node of the same key, where {@code old} is: a new path to it, found by
   * identity (no {@code compareTo}), published at once, so a reader finds one of the two nodes.
   */
  void replace(Node<K, V> old, Node<K, V> fresh) {
    Node<K, V>[] was = others;
    for (int i = 0; i < was.length; i++) {
      if (was[i] == old) {
        Node<K, V>[] copy = was.clone();
        copy[i] = fresh;
        others = copy; // volatile: publishes the array and the fresh node to readers
        return;
      }
    }
    TreeNode<K, V> updated = replace(root, old, fresh);
    if (updated == null) {
      throw new IllegalStateException("Node not in its bin: " + old);
    }
    root = updated; // volatile: publishes the new path and the fresh node to readers
  }

  /** The subtree with {@code old} swapped for {@code fresh}, or null if it is not there. */
  private static <K, V> TreeNode<K, V> replace(TreeNode<K, V> t, Node<K, V> old,
      Node<K, V> fresh) {
    if (t == null) {
      return null;
    }
    if (t.entry == old) {
      return new TreeNode<>(fresh, t.left, t.right);
    }
    TreeNode<K, V> left = replace(t.left, old, fresh);
    if (left != null) {
      return new TreeNode<>(t.entry, left, t.right);
    }
    TreeNode<K, V> right = replace(t.right, old, fresh);
    return (right == null) ? null : new TreeNode<>(t.entry, t.left, right);
  }

  /** Every node of the bin, in no particular order. */
  void forEach(Consumer<Node<K, V>> action) {
    forEach(root, action);
    for (Node<K, V> e : others) {
      action.accept(e);
    }
  }

  private static <K, V> void forEach(TreeNode<K, V> t, Consumer<Node<K, V>> action) {
    while (t != null) {
      forEach(t.left, action);
      action.accept(t.entry);
      t = t.right;
    }
  }

  /* ---------------- Persistent AVL tree ---------------- */

  /** Result of {@link #delete} when the tree becomes empty (null means "not found"). */
  @SuppressWarnings("rawtypes")
  private static final TreeNode EMPTY = new TreeNode<>(null, null, null);

  @SuppressWarnings("unchecked")
  private static int compare(int hash, Object key, Node<?, ?> node) {
    int c = Integer.compare(hash, node.hash);
    return (c != 0) ? c : ((Comparable<Object>) key).compareTo(node.key);
  }

  private static int height(TreeNode<?, ?> t) {
    return (t == null) ? 0 : t.height;
  }

  /** A new tree with {@code node} added, or null if an unequal key compares as equal to it. */
  private static <K, V> TreeNode<K, V> insert(TreeNode<K, V> t, Node<K, V> node) {
    if (t == null) {
      return new TreeNode<>(node, null, null);
    }
    int c = compare(node.hash, node.key, t.entry);
    if (c == 0) {
      return null;
    }
    if (c < 0) {
      TreeNode<K, V> left = insert(t.left, node);
      return (left == null) ? null : balance(t.entry, left, t.right);
    }
    TreeNode<K, V> right = insert(t.right, node);
    return (right == null) ? null : balance(t.entry, t.left, right);
  }

  /** A new tree without {@code node}; {@link #EMPTY} if nothing is left; null if not found. */
  @SuppressWarnings("unchecked")
  private static <K, V> TreeNode<K, V> delete(TreeNode<K, V> t, Node<K, V> node) {
    if (t == null) {
      return null;
    }
    if (t.entry == node) {
      TreeNode<K, V> joined = join(t.left, t.right);
      return (joined == null) ? (TreeNode<K, V>) EMPTY : joined;
    }
    int c = compare(node.hash, node.key, t.entry);
    if (c == 0) {
      return null;
    }
    TreeNode<K, V> child = delete((c < 0) ? t.left : t.right, node);
    if (child == null) {
      return null;
    }
    if (child == EMPTY) {
      child = null;
    }
    return (c < 0) ? balance(t.entry, child, t.right) : balance(t.entry, t.left, child);
  }

  /** Joins two trees whose keys are all ordered left before right. */
  private static <K, V> TreeNode<K, V> join(TreeNode<K, V> left, TreeNode<K, V> right) {
    if (left == null) {
      return right;
    }
    if (right == null) {
      return left;
    }
    TreeNode<K, V> min = right;
    while (min.left != null) {
      min = min.left;
    }
    return balance(min.entry, left, withoutMin(right));
  }

  private static <K, V> TreeNode<K, V> withoutMin(TreeNode<K, V> t) {
    if (t.left == null) {
      return t.right;
    }
    return balance(t.entry, withoutMin(t.left), t.right);
  }

  private static <K, V> TreeNode<K, V> balance(
      Node<K, V> entry, TreeNode<K, V> left, TreeNode<K, V> right) {
    int hl = height(left);
    int hr = height(right);
    if (hl > hr + 1) {
      if (height(left.left) >= height(left.right)) {
        return new TreeNode<>(left.entry, left.left, new TreeNode<>(entry, left.right, right));
      }
      TreeNode<K, V> lr = left.right;
      return new TreeNode<>(lr.entry,
          new TreeNode<>(left.entry, left.left, lr.left), new TreeNode<>(entry, lr.right, right));
    }
    if (hr > hl + 1) {
      if (height(right.right) >= height(right.left)) {
        return new TreeNode<>(right.entry, new TreeNode<>(entry, left, right.left), right.right);
      }
      TreeNode<K, V> rl = right.left;
      return new TreeNode<>(rl.entry,
          new TreeNode<>(entry, left, rl.left), new TreeNode<>(right.entry, rl.right, right.right));
    }
    return new TreeNode<>(entry, left, right);
  }

  /** A balanced tree of {@code sorted[from, to)}. */
  private static <K, V> TreeNode<K, V> build(Node<K, V>[] sorted, int from, int to) {
    if (from >= to) {
      return null;
    }
    int mid = (from + to) >>> 1;
    return new TreeNode<>(sorted[mid], build(sorted, from, mid), build(sorted, mid + 1, to));
  }

  /** The tree without {@code node}, rebuilt in order by identity alone; throws if absent. */
  @SuppressWarnings("unchecked")
  private TreeNode<K, V> rebuildWithout(Node<K, V> node) {
    List<Node<K, V>> inOrder = new ArrayList<>();
    forEach(root, inOrder::add);
    if (!inOrder.remove(node)) {
      throw new IllegalStateException("Node not in its bin: " + node);
    }
    TreeNode<K, V> rebuilt = build(inOrder.toArray((Node<K, V>[]) NO_NODES), 0, inOrder.size());
    return (rebuilt == null) ? (TreeNode<K, V>) EMPTY : rebuilt;
  }
}
