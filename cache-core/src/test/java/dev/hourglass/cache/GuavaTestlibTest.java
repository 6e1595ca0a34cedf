package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.collect.testing.ConcurrentMapTestSuiteBuilder;
import com.google.common.collect.testing.TestStringMapGenerator;
import com.google.common.collect.testing.features.CollectionFeature;
import com.google.common.collect.testing.features.CollectionSize;
import com.google.common.collect.testing.features.MapFeature;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import junit.framework.TestCase;
import junit.framework.TestFailure;
import junit.framework.TestResult;
import junit.framework.TestSuite;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Guava's collection conformance suites, which we did not write, against {@code asMap()} of every
 * cache shape of the test matrix (48 configurations: bound x expiration x stats x listener).
 * {@link ConcurrentMapTestSuiteBuilder} derives the key-set, values, entry-set and entry suites
 * from the map suite. No test is suppressed.
 *
 * <p>The suites are JUnit 3 {@code TestCase}s; each becomes a JUnit 5 dynamic test here, so they
 * run on the module path with the rest of the tests and need no vintage engine.
 */
final class GuavaTestlibTest {
  private static final AtomicInteger CASES_RUN = new AtomicInteger();

  @TestFactory
  Stream<DynamicNode> concurrentMapSuite_overEveryShape() {
    return CacheContext.all().map(context -> toDynamic(suiteFor(context)));
  }

  /** The same suites against {@code synchronous().asMap()} of every asynchronous shape. */
  @TestFactory
  Stream<DynamicNode> concurrentMapSuite_overEveryAsyncShape_synchronousView() {
    return CacheContext.all().map(context -> toDynamic(suiteFor(context, true)));
  }

  @AfterAll
  static void everySuiteRan() {
    // Guards against a suite builder that silently produced nothing (for example, after a feature
    // set that matches no tester). Guava 33.8.0's builder derives 932 cases per configuration;
    // both factories run the 48 configurations.
    assertThat(CASES_RUN.get()).isGreaterThanOrEqualTo(2 * 48 * 900);
  }

  static junit.framework.Test suiteFor(CacheContext context) {
    return suiteFor(context, false);
  }

  static junit.framework.Test suiteFor(CacheContext context, boolean async) {
    return ConcurrentMapTestSuiteBuilder.using(new TestStringMapGenerator() {
          @Override
          protected Map<String, String> create(Map.Entry<String, String>[] entries) {
            RemovalListener<String, String> ignore = (String k, String v, RemovalCause c) -> {};
            Cache<String, String> cache = async
                ? context.buildAnyAsync(ignore).synchronous() : context.buildAny(ignore);
            for (Map.Entry<String, String> entry : entries) {
              cache.put(entry.getKey(), entry.getValue());
            }
            return cache.asMap();
          }
        })
        .named((async ? "async " : "") + context)
        .withFeatures(
            MapFeature.GENERAL_PURPOSE,
            CollectionFeature.SUPPORTS_ITERATOR_REMOVE,
            CollectionSize.ANY)
        .createTestSuite();
  }

  private static DynamicNode toDynamic(junit.framework.Test test) {
    if (test instanceof TestSuite) {
      TestSuite suite = (TestSuite) test;
      List<DynamicNode> children = new ArrayList<>();
      for (junit.framework.Test child : Collections.list(suite.tests())) {
        children.add(toDynamic(child));
      }
      return DynamicContainer.dynamicContainer(suite.getName(), children);
    }
    TestCase testCase = (TestCase) test;
    return DynamicTest.dynamicTest(testCase.getName(), () -> run(testCase));
  }

  private static void run(TestCase testCase) throws Throwable {
    TestResult result = new TestResult();
    testCase.run(result);
    CASES_RUN.incrementAndGet();
    for (TestFailure failure : Collections.list(result.errors())) {
      throw failure.thrownException();
    }
    for (TestFailure failure : Collections.list(result.failures())) {
      throw failure.thrownException();
    }
    assertThat(result.runCount()).isEqualTo(1);
  }
}
