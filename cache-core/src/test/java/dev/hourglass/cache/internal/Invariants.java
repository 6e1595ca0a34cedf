package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hourglass.cache.Cache;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Checks, stripe by stripe under its lock, that a cache's internal structures agree with each
 * other: every node in the table is live, findable and in the right stripe; the policy order, the
 * write-order queue and the timer wheel hold exactly the table's nodes (no orphans, no leaks);
 * counts and weights are the sums over the table; no in-flight marker or held lock is left
 * behind. Call it when the cache is quiescent.
 */
public final class Invariants {
  private Invariants() {}

  /** The cache's global weight counter, the quantity its bound applies to (read without locks). */
  public static long totalWeight(Cache<?, ?> cache) {
    return engineOf(cache).totalWeight();
  }

  /** The engine behind a cache, or behind an asynchronous cache's synchronous view. */
  private static StripedCache<?, ?> engineOf(Cache<?, ?> cache) {
    return (cache instanceof SyncView) ? ((SyncView<?, ?>) cache).async.engine
        : (StripedCache<?, ?>) cache;
  }

  @SuppressWarnings("unchecked")
  public static void check(Cache<?, ?> cache) throws InterruptedException {
    StripedCache<Object, Object> striped = (StripedCache<Object, Object>) engineOf(cache);
    long weightSum = 0;
    long admissionSum = 0;
    for (Stripe<Object, Object> stripe : striped.stripes) {
      assertThat(stripe.isHeldByCurrentThread()).as("this thread still holds a stripe lock")
          .isFalse();
      assertThat(stripe.tryLock(10, TimeUnit.SECONDS)).as("a stripe lock is still held").isTrue();
      try {
        weightSum += checkStripe(striped, stripe);
        if (stripe.policy != null) {
          admissionSum += stripe.policy.admissionWeight();
        }
      } finally {
        stripe.unlock();
      }
    }
    if (striped.eviction != null) {
      assertThat(striped.totalWeight()).as("total weight").isEqualTo(weightSum);
      assertThat(striped.eviction.admissionWeight()).as("cache-wide admission weight")
          .isEqualTo(admissionSum);
      assertThat(weightSum).as("weight within the bound")
          .isLessThanOrEqualTo(striped.eviction.maximum());
    }
  }

  private static long checkStripe(StripedCache<Object, Object> striped,
      Stripe<Object, Object> stripe) {
    Node<Object, Object>[] nodes = StripeTable.nodesOf(stripe.table, stripe.count);
    assertThat(nodes).as("nodes in the table").hasSize(stripe.count);
    Set<Node<Object, Object>> table = Collections.newSetFromMap(new IdentityHashMap<>());
    long weight = 0;
    int timed = 0;
    for (Node<Object, Object> node : nodes) {
      assertThat(table.add(node)).as("node linked twice: %s", node).isTrue();
      assertThat(node.has(Node.RETIRED)).as("retired node in the table: %s", node).isFalse();
      assertThat(node.value).as("live node without a value").isNotNull();
      if (striped.async) { // a future not yet a value weighs nothing and never expires
        if (node.has(Node.PENDING)) {
          if (striped.eviction != null) {
            assertThat(node.weight()).as("weight of a pending future").isZero();
          }
          assertThat(node.expiresAt()).as("deadline of a pending future").isEqualTo(Node.NEVER);
        } else {
          assertThat(FutureValues.isReady(node.value)).as("settled node holds a value").isTrue();
        }
      } else {
        assertThat(node.has(Node.PENDING)).as("pending node in a synchronous cache").isFalse();
      }
      assertThat(node.hash).isEqualTo(StripedCache.spread(node.key.hashCode()));
      assertThat(striped.stripeFor(node.hash)).as("node in the wrong stripe").isSameAs(stripe);
      assertThat(stripe.findLocked(node.key, node.hash)).as("node not findable").isSameAs(node);
      weight += node.weight();
      assertThat(node.shape() & ~Nodes.TIMED).as("node class of %s", node)
          .isEqualTo(striped.nodeShape & ~Nodes.TIMED);
      if (((striped.nodeShape & Nodes.TIMED) != 0) || (node.expiresAt() != Node.NEVER)) {
        assertThat(node.timed()).as("a node that may expire is timed: %s", node).isTrue();
      }
      if (node.has(Node.IN_WRITE_QUEUE) || (node.wheelSlot() >= 0)) {
        timed++;
      }
    }
    assertThat(stripe.weightedSize()).as("stripe weight").isEqualTo(weight);
    assertThat(stripe.flightCount()).as("in-flight markers left behind").isZero();

    assertThat(stripe.policy != null).as("a policy iff bounded").isEqualTo(striped.eviction != null);
    if (stripe.policy instanceof TinyLfuPolicy) {
      TinyLfuPolicy<Object, Object> policy = (TinyLfuPolicy<Object, Object>) stripe.policy;
      int[] counts = new int[2];
      long[] weights = new long[2];
      boolean[] inMain = {false, true};
      List<PolicyDeque<Object, Object>> deques = List.of(policy.small(), policy.main());
      for (int q = 0; q < 2; q++) {
        Node<Object, Object> prev = null;
        for (Node<Object, Object> e = deques.get(q).head; e != null; e = e.policyNext()) {
          assertThat(table).as("policy holds a node not in the table").contains(e);
          assertThat(e.policyPrev()).isSameAs(prev);
          assertThat(e.has(Node.IN_MAIN)).as("queue tag of %s", e).isEqualTo(inMain[q]);
          assertThat(e.freqOpaque()).as("hit count").isBetween(0, TinyLfuPolicy.MAX_FREQ);
          assertThat(e.policyCredit).as("credited hits").isBetween((byte) 0, (byte) 3);
          if (prev != null) {
            assertThat(e.policyRank() - prev.policyRank()).as("ranks grow along a queue")
                .isPositive();
          }
          prev = e;
          counts[q]++;
          weights[q] += e.weight();
        }
        assertThat(deques.get(q).tail).isSameAs(prev);
      }
      assertThat(counts[0] + counts[1]).as("nodes in the policy's queues").isEqualTo(nodes.length);
      assertThat(new long[] {policy.small().count, policy.main().count})
          .as("queue counts").containsExactly(counts[0], counts[1]);
      assertThat(new long[] {policy.small().weight, policy.main().weight})
          .as("queue weights").containsExactly(weights[0], weights[1]);
    }
    int queued = 0;
    if (stripe.writeOrder != null) {
      TimedNode<Object, Object> prev = null;
      for (TimedNode<Object, Object> e = stripe.writeOrder.head; e != null; e = e.timeNext) {
        assertThat(table).as("write queue holds a node not in the table").contains(e);
        assertThat(e.has(Node.IN_WRITE_QUEUE)).isTrue();
        assertThat(e.timePrev).isSameAs(prev);
        prev = e;
        queued++;
      }
    }
    int wheeled = (stripe.wheel == null) ? 0 : stripe.wheel.size();
    assertThat(queued + wheeled).as("nodes in the expiration structures").isEqualTo(timed);
    return weight;
  }
}
