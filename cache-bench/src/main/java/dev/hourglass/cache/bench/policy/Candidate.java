package dev.hourglass.cache.bench.policy;

/**
 * An eviction policy on its own, over dense integer keys (0 to distinct - 1), for choosing the
 * cache's policy by hit rate before building it into the engine. Single-threaded, deterministic.
 */
interface Candidate {
  /** Records an access; returns whether it hit. A miss admits the key (or not) and evicts. */
  boolean access(int key);
}
