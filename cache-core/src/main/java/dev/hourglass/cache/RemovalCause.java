package dev.hourglass.cache;

/**
 * Why an entry left the cache, as reported to a {@link RemovalListener}.
 *
 * <p>Enum constants are immutable and thread-safe.
 */
public enum RemovalCause {
  /**
   * The entry was removed by the user: {@link Cache#invalidate}, {@link Cache#invalidateAll},
   * {@code asMap().remove}, a {@code compute} that returned {@code null}, or the removal through a
   * view or iterator.
   */
  EXPLICIT {
    @Override
    public boolean wasEvicted() {
      return false;
    }
  },

  /** The entry's value was replaced by the user, by {@code put}, {@code replace}, {@code compute} or {@code merge}. */
  REPLACED {
    @Override
    public boolean wasEvicted() {
      return false;
    }
  },

  /** The entry's time to live or idle time elapsed. */
  EXPIRED {
    @Override
    public boolean wasEvicted() {
      return true;
    }
  },

  /** The entry was evicted to keep the cache within its maximum size or weight. */
  SIZE {
    @Override
    public boolean wasEvicted() {
      return true;
    }
  };

  /**
   * Returns whether the cache removed the entry on its own, rather than at the user's request.
   *
   * @return {@code true} for {@link #EXPIRED} and {@link #SIZE}
   */
  public abstract boolean wasEvicted();
}
