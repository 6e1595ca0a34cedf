package dev.hourglass.cache;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A ticker that moves only when told to; thread-safe. */
public final class FakeTicker implements Ticker {
  private final AtomicLong nanos;

  public FakeTicker() {
    this(0);
  }

  public FakeTicker(long startNanos) {
    this.nanos = new AtomicLong(startNanos);
  }

  @Override
  public long read() {
    return nanos.get();
  }

  public FakeTicker advance(Duration duration) {
    nanos.addAndGet(duration.toNanos());
    return this;
  }

  public FakeTicker advanceNanos(long delta) {
    nanos.addAndGet(delta);
    return this;
  }

  public void set(long value) {
    nanos.set(value);
  }
}
