/**
 * Benchmarks comparing Hourglass with ConcurrentHashMap, Caffeine and Guava.
 *
 * <p>Placeholder: the JMH suite, memory-per-entry and hit-rate simulator arrive with the
 * benchmark issue. This module is never deployed.
 */
package dev.hourglass.cache.bench;
