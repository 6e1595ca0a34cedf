/**
 * The implementation of Hourglass. Not API; may change in any release. Every type here but
 * {@link dev.hourglass.cache.internal.CacheSpec}, the builder's way in, is package-private.
 *
 * <p>{@code docs/design.md} tells the design once and opens with a table of where each concern
 * lives (read path, write protocol, stripes, expiration, eviction, policy, loading,
 * maintenance); each class note says what its class owns.
 */
package dev.hourglass.cache.internal;
