/**
 * Publishes Hourglass caches' statistics to Micrometer: {@link
 * dev.hourglass.cache.micrometer.HourglassCacheMetrics}.
 *
 * <p>Optional: the only package of {@code cache-core} that needs {@code micrometer-core}, which the
 * jar declares optional and the module requires {@code static}. An application that uses this
 * package puts Micrometer on its own class or module path; one that does not never loads it.
 */
package dev.hourglass.cache.micrometer;
