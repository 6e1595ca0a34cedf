package dev.hourglass.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Hourglass#from(String)}: every setting of the grammar reaches the builder as the
 * matching builder call would, the settings take effect in the caches built, and every bad spec
 * is an IllegalArgumentException that quotes the setting at fault.
 */
class SpecStringTest {

  @Test
  void everySetting_matchesTheBuilderCall() {
    assertThat(Hourglass.from(" initialCapacity = 64 , concurrencyLevel=8, maximumSize=10_000, "
        + "expireAfterWrite=5m, expireAfterAccess=90s, refreshAfterWrite=PT1M, recordStats ")
        .toString()).isEqualTo(Hourglass.newBuilder().initialCapacity(64).concurrencyLevel(8)
            .maximumSize(10_000).expireAfterWrite(Duration.ofMinutes(5))
            .expireAfterAccess(Duration.ofSeconds(90)).refreshAfterWrite(Duration.ofMinutes(1))
            .recordStats().toString());
    assertThat(Hourglass.from("maximumWeight=1024").toString())
        .isEqualTo(Hourglass.newBuilder().maximumWeight(1024).toString());
  }

  @ParameterizedTest
  @CsvSource({
      "7ns, PT0.000000007S", "7us, PT0.000007S", "7ms, PT0.007S", "7s, PT7S", "7m, PT7M",
      "7h, PT7H", "7d, PT168H", "0s, PT0S", "7MS, PT0.007S", "pt1h2m, PT1H2M"})
  void durations_takeEveryUnit(String value, String iso) {
    assertThat(Hourglass.from("expireAfterWrite=" + value).toString())
        .isEqualTo("CacheBuilder{expireAfterWrite=" + iso + "}");
  }

  @Test
  void emptyOrBlankSpec_isTheDefaults() {
    assertThat(Hourglass.from("").toString()).isEqualTo("CacheBuilder{}");
    assertThat(Hourglass.from("  ").toString()).isEqualTo("CacheBuilder{}");
  }

  @Test
  void settings_takeEffect_inTheCachesBuilt() {
    FakeTicker ticker = new FakeTicker();
    Cache<String, String> cache = Hourglass.from("maximumSize=2,expireAfterWrite=1m,recordStats")
        .ticker(ticker).executor(Runnable::run).scheduler(Scheduler.disabledScheduler()).build();
    cache.put("a", "A");
    assertThat(cache.getIfPresent("a")).isEqualTo("A");
    assertThat(cache.getIfPresent("b")).isNull();
    assertThat(cache.stats().hitCount()).isEqualTo(1);
    assertThat(cache.stats().missCount()).isEqualTo(1);
    for (int i = 0; i < 10; i++) {
      cache.put("k" + i, "v");
    }
    cache.cleanUp();
    assertThat(cache.estimatedSize()).isLessThanOrEqualTo(2);
    cache.put("late", "L");
    ticker.advance(Duration.ofMinutes(1));
    assertThat(cache.getIfPresent("late")).as("expired after write").isNull();
  }

  @Test
  void refreshAfterWrite_fromTheSpec_reloadsOnARead() {
    FakeTicker ticker = new FakeTicker();
    int[] loads = {0};
    LoadingCache<String, Integer> cache = Hourglass.from("refreshAfterWrite=10s")
        .ticker(ticker).executor(Runnable::run).build(key -> ++loads[0]);
    assertThat(cache.get("k")).isEqualTo(1);
    ticker.advance(Duration.ofSeconds(10));
    assertThat(cache.get("k")).as("the old value, reloading").isEqualTo(1);
    assertThat(cache.get("k")).as("reloaded on the same thread").isEqualTo(2);
  }

  @Test
  void nullSpec_isNamed() {
    assertThatThrownBy(() -> Hourglass.from(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("spec");
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "maximumSize=10,maxSize=5 | maxSize=5 | unknown setting 'maxSize'",
      "maximumSize=10,,recordStats | '' | an empty setting",
      "maximumSize=10, | '' | an empty setting",
      "maximumSize | maximumSize | needs a value",
      "maximumSize= | maximumSize= | needs a value",
      "maximumSize=ten | maximumSize=ten | 'ten' is not a whole number",
      "maximumSize=1_ | maximumSize=1_ | is not a whole number",
      "maximumSize=99999999999999999999 | maximumSize=99999999999999999999 | out of long range",
      "maximumSize=-1 | maximumSize=-1 | maximumSize",
      "initialCapacity=3000000000 | initialCapacity=3000000000 | out of int range",
      "concurrencyLevel=0 | concurrencyLevel=0 | concurrencyLevel must be positive",
      "maximumSize=1,maximumSize=2 | maximumSize=2 | already set by 'maximumSize=1'",
      "maximumSize=1,maximumWeight=2 | maximumWeight=2 | excludes 'maximumSize=1'",
      "recordStats=true | recordStats=true | is a flag and takes no value",
      "recordStats,recordStats | recordStats | already set",
      "expireAfterWrite=5 | expireAfterWrite=5 | needs a unit",
      "expireAfterWrite=5y | expireAfterWrite=5y | unknown unit 'y'",
      "expireAfterWrite=m | expireAfterWrite=m | is not a whole number",
      "expireAfterWrite=-5m | expireAfterWrite=-5m | expireAfterWrite",
      "expireAfterAccess=PT | expireAfterAccess=PT | not an ISO-8601 duration",
      "expireAfterAccess=9223372036854775807d | expireAfterAccess=9223372036854775807d | out of range",
      "refreshAfterWrite=0s | refreshAfterWrite=0s | refreshAfterWrite must be positive",
      "weigher=x | weigher=x | unknown setting 'weigher'"})
  void badSpecs_areIllegalArguments_quotingTheSetting(String spec, String setting, String why) {
    assertThatThrownBy(() -> Hourglass.from(spec)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("spec '" + spec + "': setting '" + setting + "': ")
        .hasMessageContaining(why);
  }

  @ParameterizedTest
  @ValueSource(strings = {"maximumSize=-1", "concurrencyLevel=0", "refreshAfterWrite=0s"})
  void valuesTheBuilderRejects_keepItsExceptionAsTheCause(String spec) {
    assertThatThrownBy(() -> Hourglass.from(spec)).isInstanceOf(IllegalArgumentException.class)
        .cause().isInstanceOf(IllegalArgumentException.class);
  }
}
