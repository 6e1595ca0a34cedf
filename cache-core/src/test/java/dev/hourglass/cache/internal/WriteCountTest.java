package dev.hourglass.cache.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The write count that pairs a timed node's value with its deadline for lock-free readers (see
 * Node, "Value and deadline") sees through a deadline that comes back to the one a reader loaded,
 * however many writes ran while that reader stalled, short of 32,768. A byte count, as the node
 * had before, was fooled after 128: a reader took the long deadline, the short-lived value
 * written in between and the long deadline again, and returned that value past its deadline.
 */
class WriteCountTest {
  private static final long LONG = 3_600_000_000_000L;
  private static final long SHORT = 50L;

  @Test
  void stalledReader_seesTheWrites_whenTheDeadlineComesBack_afterAByteCountWouldWrap() {
    for (int writes : new int[] {2, 128, 256, 1_000, 32_766}) {
      TimedNode<String, String> node = new TimedNode<>("k", 1, null);
      node.setValueAndDeadline("long", LONG);
      int seq = node.writeSeqAcquire(); // the stalled reader's first loads
      long deadline = node.expiresAt();
      for (int i = 0; i < writes; i += 2) {
        node.setValueAndDeadline("short", SHORT);
        node.setValueAndDeadline("long", LONG); // the same deadline as the reader loaded
      }
      assertThat(node.expiresAt()).isEqualTo(deadline);
      assertThat(node.unchangedSince(seq, deadline)).as("after %s writes", writes).isFalse();
    }
  }

  @Test
  void reader_acceptsThePair_whenNoWriteRan_andNotWhileOneIsUnderWay() {
    TimedNode<String, String> node = new TimedNode<>("k", 1, null);
    node.setValueAndDeadline("v", LONG);
    int seq = node.writeSeqAcquire();
    assertThat(seq & 1).as("even between writes").isZero();
    assertThat(node.unchangedSince(seq, node.expiresAt())).isTrue();
    assertThat(node.unchangedSince(seq + 1, node.expiresAt())).as("an odd count").isFalse();
    assertThat(node.unchangedSince(seq, SHORT)).as("another deadline").isFalse();
  }

  @Test
  void theCount_wrapsAround_withoutBreakingThePairCheck() {
    TimedNode<String, String> node = new TimedNode<>("k", 1, null);
    for (int i = 0; i < 70_000; i++) { // past the 16-bit wrap
      node.setValueAndDeadline("v" + (i & 1), LONG + (i & 1));
      int seq = node.writeSeqAcquire();
      assertThat(seq & 1).isZero();
      assertThat(node.unchangedSince(seq, node.expiresAt())).isTrue();
    }
  }
}
