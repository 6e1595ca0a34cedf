package dev.hourglass.cache.internal;

/** Rethrows a caught throwable unchanged, so a waiter sees exactly what the loader threw. */
final class Throwables {
  private Throwables() {}

  @SuppressWarnings("unchecked")
  static <T extends Throwable> RuntimeException sneakyThrow(Throwable t) throws T {
    throw (T) t;
  }
}
