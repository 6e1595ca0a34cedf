package dev.hourglass.cache.bench;

import java.util.concurrent.ThreadLocalRandom;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;

/**
 * A thread's position in a benchmark's precomputed key stream of {@link #STREAM} keys, starting at
 * a random offset so that threads do not walk the stream in lockstep.
 */
@State(Scope.Thread)
public class KeyCursor {
  /** Length of every benchmark's key stream: a power of two, indexed with {@link #MASK}. */
  public static final int STREAM = 1 << 20;
  public static final int MASK = STREAM - 1;

  int index = ThreadLocalRandom.current().nextInt(STREAM);

  /** The next index into the stream. */
  int next() {
    return index++ & MASK;
  }
}
