package dev.hourglass.cache.bench;

import dev.hourglass.cache.Cache;
import dev.hourglass.cache.Hourglass;
import dev.hourglass.cache.Scheduler;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Function;

/** The implementations compared: Hourglass and its anchors. */
public enum Impl {
  HOURGLASS("Hourglass") {
    @Override
    public BenchCache create(Shape shape, long maximumSize, boolean deterministic) {
      var builder = Hourglass.newBuilder();
      if (shape != Shape.UNBOUNDED) {
        builder.maximumSize(maximumSize);
      }
      if (deterministic) {
        builder.executor(Runnable::run).scheduler(Scheduler.disabledScheduler());
      }
      switch (shape) {
        case SIZE_WRITE -> builder.expireAfterWrite(Shape.TTL);
        case SIZE_ACCESS -> builder.expireAfterAccess(Shape.TTL);
        case SIZE_VARIABLE -> builder.expireAfter(
            dev.hourglass.cache.Expiry.<Object, Object>writing((k, v) -> Shape.TTL));
        default -> { }
      }
      Cache<Integer, Integer> cache = builder.build();
      return new BenchCache() {
        @Override
        public Integer get(Integer key) {
          return cache.getIfPresent(key);
        }

        @Override
        public void put(Integer key, Integer value) {
          cache.put(key, value);
        }

        @Override
        public void putWithTtl(Integer key, Integer value) {
          cache.put(key, value, Shape.TTL);
        }

        @Override
        public Integer computeIfAbsent(Integer key) {
          return cache.get(key, IDENTITY);
        }

        @Override
        public Object unwrap() {
          return cache;
        }

        @Override
        public void cleanUp() {
          cache.cleanUp();
        }
      };
    }
  },

  CAFFEINE("Caffeine") {
    @Override
    public BenchCache create(Shape shape, long maximumSize, boolean deterministic) {
      var builder = com.github.benmanes.caffeine.cache.Caffeine.newBuilder();
      if (shape != Shape.UNBOUNDED) {
        builder.maximumSize(maximumSize);
      }
      if (deterministic) {
        builder.executor((Executor) Runnable::run);
      }
      switch (shape) {
        case SIZE_WRITE -> builder.expireAfterWrite(Shape.TTL);
        case SIZE_ACCESS -> builder.expireAfterAccess(Shape.TTL);
        case SIZE_VARIABLE -> builder.expireAfter(
            com.github.benmanes.caffeine.cache.Expiry.<Object, Object>writing((k, v) -> Shape.TTL));
        default -> { }
      }
      com.github.benmanes.caffeine.cache.Cache<Integer, Integer> cache = builder.build();
      var variable = cache.policy().expireVariably().orElse(null);
      return new BenchCache() {
        @Override
        public Integer get(Integer key) {
          return cache.getIfPresent(key);
        }

        @Override
        public void put(Integer key, Integer value) {
          cache.put(key, value);
        }

        @Override
        public void putWithTtl(Integer key, Integer value) {
          if (variable == null) {
            cache.put(key, value);
          } else {
            variable.put(key, value, Shape.TTL);
          }
        }

        @Override
        public Integer computeIfAbsent(Integer key) {
          return cache.get(key, IDENTITY);
        }

        @Override
        public Object unwrap() {
          return cache;
        }

        @Override
        public void cleanUp() {
          cache.cleanUp();
        }
      };
    }
  },

  GUAVA("Guava") {
    @Override
    public boolean supports(Shape shape) {
      return shape != Shape.SIZE_VARIABLE;
    }

    @Override
    public BenchCache create(Shape shape, long maximumSize, boolean deterministic) {
      var builder = com.google.common.cache.CacheBuilder.newBuilder();
      if (shape != Shape.UNBOUNDED) {
        builder.maximumSize(maximumSize);
      }
      switch (shape) {
        case SIZE_WRITE -> builder.expireAfterWrite(Shape.TTL);
        case SIZE_ACCESS -> builder.expireAfterAccess(Shape.TTL);
        case SIZE_VARIABLE -> throw new UnsupportedOperationException("Guava has no per-entry TTL");
        default -> { }
      }
      com.google.common.cache.LoadingCache<Integer, Integer> cache = builder.build(
          com.google.common.cache.CacheLoader.from(key -> key));
      return new BenchCache() {
        @Override
        public Integer get(Integer key) {
          return cache.getIfPresent(key);
        }

        @Override
        public void put(Integer key, Integer value) {
          cache.put(key, value);
        }

        @Override
        public void putWithTtl(Integer key, Integer value) {
          cache.put(key, value);
        }

        @Override
        public Integer computeIfAbsent(Integer key) {
          return cache.getUnchecked(key);
        }

        @Override
        public Object unwrap() {
          return cache;
        }

        @Override
        public void cleanUp() {
          cache.cleanUp();
        }
      };
    }
  },

  /** The unbounded upper limit: no eviction, no expiry, no policy; it ignores the shape. */
  CHM("ConcurrentHashMap") {
    @Override
    public BenchCache create(Shape shape, long maximumSize, boolean deterministic) {
      ConcurrentHashMap<Integer, Integer> map = new ConcurrentHashMap<>();
      return new BenchCache() {
        @Override
        public Integer get(Integer key) {
          return map.get(key);
        }

        @Override
        public void put(Integer key, Integer value) {
          map.put(key, value);
        }

        @Override
        public void putWithTtl(Integer key, Integer value) {
          map.put(key, value);
        }

        @Override
        public Integer computeIfAbsent(Integer key) {
          return map.computeIfAbsent(key, IDENTITY);
        }

        @Override
        public Object unwrap() {
          return map;
        }

        @Override
        public void cleanUp() {}
      };
    }
  };

  static final Function<Integer, Integer> IDENTITY = key -> key;

  public final String label;

  Impl(String label) {
    this.label = label;
  }

  /**
   * Creates an empty cache of this implementation.
   *
   * @param deterministic run maintenance and notifications on the calling thread (for memory
   *     snapshots and hit-rate replays)
   */
  public abstract BenchCache create(Shape shape, long maximumSize, boolean deterministic);

  public boolean supports(Shape shape) {
    return true;
  }
}
