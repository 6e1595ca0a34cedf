package dev.hourglass.cache;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * One cache configuration of the test matrix, with a fake ticker, a manual scheduler, a same-thread
 * executor and (optionally) a recording listener, so expiry and maintenance are deterministic.
 */
public final class CacheContext {
  public enum Bound { UNBOUNDED, SIZE, WEIGHT }

  public enum Expiration { NONE, AFTER_WRITE, AFTER_ACCESS, VARIABLE, WRITE_AND_ACCESS }

  public static final long MAXIMUM = 1_000;
  public static final Duration TTL = Duration.ofMinutes(1);

  public final Bound bound;
  public final Expiration expiration;
  public final boolean stats;
  public final boolean listen;
  public final FakeTicker ticker = new FakeTicker(-Duration.ofDays(1).toNanos()); // negative times too
  public final ManualScheduler scheduler = new ManualScheduler();
  public final RecordingListener<Integer, Integer> listener = new RecordingListener<>();

  CacheContext(Bound bound, Expiration expiration, boolean stats, boolean listen) {
    this.bound = bound;
    this.expiration = expiration;
    this.stats = stats;
    this.listen = listen;
  }

  /** Every combination of bound, expiration, statistics and listener: 60 configurations. */
  public static Stream<CacheContext> all() {
    List<CacheContext> contexts = new ArrayList<>();
    for (Bound bound : Bound.values()) {
      for (Expiration expiration : Expiration.values()) {
        for (boolean stats : new boolean[] {false, true}) {
          for (boolean listen : new boolean[] {false, true}) {
            contexts.add(new CacheContext(bound, expiration, stats, listen));
          }
        }
      }
    }
    return contexts.stream();
  }

  public Cache<Integer, Integer> build() {
    return configure(Hourglass.newBuilder()).build();
  }

  public LoadingCache<Integer, Integer> build(CacheLoader<Integer, Integer> loader) {
    return configure(Hourglass.newBuilder()).build(loader);
  }

  /** Builds this configuration for any key and value types (the recording listener is not used). */
  public <K, V> Cache<K, V> buildAny(RemovalListener<K, V> anyListener) {
    CacheBuilder<K, V> b = configure(Hourglass.newBuilder(), anyListener);
    return b.build();
  }

  /** An asynchronous cache of this shape, whose listener is {@code anyListener}. */
  public <K, V> AsyncCache<K, V> buildAnyAsync(RemovalListener<K, V> anyListener) {
    CacheBuilder<K, V> b = configure(Hourglass.newBuilder(), anyListener);
    return b.buildAsync();
  }

  private CacheBuilder<Integer, Integer> configure(CacheBuilder<Object, Object> raw) {
    return configure(raw, listener);
  }

  @SuppressWarnings("unchecked")
  private <K, V> CacheBuilder<K, V> configure(
      CacheBuilder<Object, Object> raw, RemovalListener<K, V> removalListener) {
    CacheBuilder<K, V> b = (CacheBuilder<K, V>) (CacheBuilder<?, ?>) raw;
    b.ticker(ticker).scheduler(scheduler).executor(Runnable::run);
    if (stats) {
      b.recordStats();
    }
    switch (bound) {
      case SIZE -> b.maximumSize(MAXIMUM);
      case WEIGHT -> b.maximumWeight(MAXIMUM * 10).weigher((K k, V v) -> 10);
      default -> { }
    }
    switch (expiration) {
      case AFTER_WRITE -> b.expireAfterWrite(TTL);
      case AFTER_ACCESS -> b.expireAfterAccess(TTL);
      case VARIABLE -> b.expireAfter(Expiry.writing((K k, V v) -> TTL));
      case WRITE_AND_ACCESS -> b.expireAfterWrite(TTL.multipliedBy(2)).expireAfterAccess(TTL);
      default -> { }
    }
    if (listen) {
      b.removalListener(removalListener);
    }
    return b;
  }

  public boolean expires() {
    return expiration != Expiration.NONE;
  }

  @Override
  public String toString() {
    return bound + "/" + expiration + (stats ? "/stats" : "") + (listen ? "/listener" : "");
  }
}
