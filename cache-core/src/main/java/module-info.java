/**
 * Hourglass: an embeddable, lock-striped concurrent cache with prompt TTL expiration.
 *
 * <p>{@code dev.hourglass.cache} is the API. {@code dev.hourglass.cache.micrometer} publishes a
 * cache's statistics to Micrometer; it is optional, and the only package that needs Micrometer on
 * the path. The implementation in {@code dev.hourglass.cache.internal} is not API and may change in
 * any release.
 */
// micrometer.core is an automatic module, named in Micrometer's manifest (Automatic-Module-Name),
// as every Micrometer 1.x release is; javac warns of any requires on one.
@SuppressWarnings("requires-automatic")
module dev.hourglass.cache {
  requires org.jctools.core;
  // @GuardedBy for the compile-time lock check; class retention, absent at run time.
  requires static com.google.errorprone.annotations;
  // Only for dev.hourglass.cache.micrometer, whose users bring Micrometer; the core loads without.
  requires static micrometer.core;

  exports dev.hourglass.cache;
  exports dev.hourglass.cache.micrometer;
}
