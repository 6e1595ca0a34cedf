/**
 * The implementation of Hourglass. Not API; may change in any release.
 *
 * <p>Start with {@link dev.hourglass.cache.internal.StripedCache}, whose opening note describes
 * the architecture; {@code docs/design.md} has the same story with a diagram.
 */
package dev.hourglass.cache.internal;
