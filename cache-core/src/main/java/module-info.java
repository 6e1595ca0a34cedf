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

  // Optional integrations: each package works when its library is present, and the core never
  // loads them. No "provides" for the JCache provider: a service of an absent optional module
  // fails module resolution, so on the module path it is named (see HourglassCachingProvider).
  requires static cache.api;
  requires static java.management;

  exports dev.hourglass.cache;
  exports dev.hourglass.cache.jcache;
}
