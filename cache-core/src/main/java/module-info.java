/**
 * Hourglass: an embeddable, lock-striped concurrent cache with prompt TTL expiration.
 *
 * <p>{@code dev.hourglass.cache} is the API. Two optional integrations are exported beside it,
 * each needing its library only when used: {@code dev.hourglass.cache.jcache}, a JCache
 * (JSR-107) provider, and {@code dev.hourglass.cache.micrometer}, which publishes a cache's
 * statistics to Micrometer. The implementation in {@code dev.hourglass.cache.internal} is not API
 * and may change in any release.
 */
// cache.api and micrometer.core are automatic modules (named by their jar and by Micrometer's
// manifest); javac warns of any requires on one.
@SuppressWarnings("requires-automatic")
module dev.hourglass.cache {
  requires org.jctools.core;
  // @GuardedBy for the compile-time lock check; class retention, absent at run time.
  requires static com.google.errorprone.annotations;
  // Optional integrations: each package works when its library is present, and the core never
  // loads them. No "provides" for the JCache provider: a service of an absent optional module
  // fails module resolution, so on the module path it is named (see HourglassCachingProvider).
  requires static cache.api;
  requires static java.management;
  requires static micrometer.core;

  exports dev.hourglass.cache;
  exports dev.hourglass.cache.jcache;
  exports dev.hourglass.cache.micrometer;
}
