/**
 * Hourglass: an embeddable, lock-striped concurrent cache with prompt TTL expiration.
 *
 * <p>Only {@code dev.hourglass.cache} is exported; the implementation in
 * {@code dev.hourglass.cache.internal} is not API and may change in any release.
 */
module dev.hourglass.cache {
  requires org.jctools.core;
  // @GuardedBy for the compile-time lock check; class retention, absent at run time.
  requires static com.google.errorprone.annotations;

  exports dev.hourglass.cache;
}
