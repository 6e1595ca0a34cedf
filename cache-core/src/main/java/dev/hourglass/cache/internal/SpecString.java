package dev.hourglass.cache.internal;

import dev.hourglass.cache.CacheBuilder;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Parses a cache specification string, such as
 * {@code maximumSize=10000,expireAfterWrite=5m,refreshAfterWrite=1m,recordStats}, onto a builder:
 * the form frameworks use to configure a cache without code ({@code Hourglass.from}, the JCache
 * provider, Spring's {@code application.properties}).
 *
 * <h2>Grammar</h2>
 * Settings are separated by commas; blanks around a setting, its name and its value are ignored.
 * A setting is {@code name=value}, or a bare {@code name} for a flag:
 * <ul>
 *   <li>{@code initialCapacity}, {@code concurrencyLevel}: an {@code int};
 *   <li>{@code maximumSize}, {@code maximumWeight}: a {@code long} (underscores may group
 *       digits, as in Java: {@code 10_000});
 *   <li>{@code expireAfterWrite}, {@code expireAfterAccess}, {@code refreshAfterWrite}: a
 *       duration, a whole number followed by its unit, one of {@code ns us ms s m h d}
 *       ({@code 90s}, {@code 5m}), or ISO-8601 ({@code PT1M30S});
 *   <li>{@code recordStats}: a flag, no value.
 * </ul>
 * The whole spec may be empty (or blank): the builder's defaults. Every error is an
 * {@link IllegalArgumentException} that quotes the setting at fault and the spec: an unknown name,
 * a missing, malformed or out-of-range value, a flag given a value, an empty setting, a name
 * given twice, {@code maximumSize} with {@code maximumWeight}, and any value the builder rejects
 * (its message is kept, and its exception is the cause).
 *
 * <p>Stateless and thread-safe; the builder it fills is not (see CacheBuilder).
 */
public final class SpecString {
  private static final Map<String, Kind> SETTINGS = Map.of(
      "initialCapacity", Kind.INT,
      "concurrencyLevel", Kind.INT,
      "maximumSize", Kind.LONG,
      "maximumWeight", Kind.LONG,
      "expireAfterWrite", Kind.DURATION,
      "expireAfterAccess", Kind.DURATION,
      "refreshAfterWrite", Kind.DURATION,
      "recordStats", Kind.FLAG);

  private enum Kind { INT, LONG, DURATION, FLAG }

  private SpecString() {}

  /**
   * Applies {@code spec} to {@code builder}: see the class note for the grammar.
   *
   * @param <K> the builder's key type
   * @param <V> the builder's value type
   * @param spec the settings, comma-separated
   * @param builder the builder to configure; none of the spec's settings may be set on it yet
   * @return {@code builder}
   * @throws NullPointerException if {@code spec} or {@code builder} is null
   * @throws IllegalArgumentException if the spec is malformed, quoting the setting at fault
   */
  public static <K, V> CacheBuilder<K, V> apply(String spec, CacheBuilder<K, V> builder) {
    if (spec == null) {
      throw new NullPointerException("spec");
    }
    if (builder == null) {
      throw new NullPointerException("builder");
    }
    if (spec.isBlank()) {
      return builder;
    }
    Map<String, String> seen = new HashMap<>();
    for (String part : spec.split(",", -1)) {
      String setting = part.strip();
      if (setting.isEmpty()) {
        throw bad(spec, part, "an empty setting (two commas, or one at an end)");
      }
      int eq = setting.indexOf('=');
      String name = (eq < 0) ? setting : setting.substring(0, eq).strip();
      String value = (eq < 0) ? null : setting.substring(eq + 1).strip();
      Kind kind = SETTINGS.get(name);
      if (kind == null) {
        throw bad(spec, setting, "unknown setting '" + name + "'; known: "
            + String.join(", ", new java.util.TreeSet<>(SETTINGS.keySet())));
      }
      String earlier = seen.putIfAbsent(name, setting);
      if (earlier != null) {
        throw bad(spec, setting, "'" + name + "' is already set by '" + earlier + "'");
      }
      String other = name.equals("maximumSize") ? "maximumWeight"
          : name.equals("maximumWeight") ? "maximumSize" : null;
      if ((other != null) && seen.containsKey(other)) {
        throw bad(spec, setting, "'" + name + "' excludes '" + seen.get(other) + "'");
      }
      if (kind == Kind.FLAG) {
        if (value != null) {
          throw bad(spec, setting, "'" + name + "' is a flag and takes no value");
        }
      } else if ((value == null) || value.isEmpty()) {
        throw bad(spec, setting, "'" + name + "' needs a value: " + name + "=" + example(kind));
      }
      try {
        set(builder, name, kind, value, spec, setting);
      } catch (IllegalArgumentException | IllegalStateException e) {
        if (e.getMessage() != null && e.getMessage().startsWith("spec '")) {
          throw e; // already quotes the setting
        }
        IllegalArgumentException wrapped = bad(spec, setting, e.getMessage());
        wrapped.initCause(e);
        throw wrapped;
      }
    }
    return builder;
  }

  /**
   * Returns the settings of a valid {@code spec}, name to value (null for a flag), in order: for
   * integrations that map some settings onto their own words (the JCache provider).
   *
   * @param spec the settings, comma-separated
   * @return the settings, a new mutable map
   * @throws NullPointerException if {@code spec} is null
   * @throws IllegalArgumentException if the spec is malformed, as {@link #apply} says
   */
  public static Map<String, String> settings(String spec) {
    apply(spec, dev.hourglass.cache.Hourglass.newBuilder()); // validates, quoting what is wrong
    Map<String, String> settings = new java.util.LinkedHashMap<>();
    if (spec.isBlank()) {
      return settings;
    }
    for (String part : spec.split(",", -1)) {
      String setting = part.strip();
      int eq = setting.indexOf('=');
      settings.put((eq < 0) ? setting : setting.substring(0, eq).strip(),
          (eq < 0) ? null : setting.substring(eq + 1).strip());
    }
    return settings;
  }

  /**
   * Joins settings, as {@link #settings} returns them, back into a spec.
   *
   * @param settings name to value, null for a flag
   * @return the spec
   */
  public static String join(Map<String, String> settings) {
    StringBuilder spec = new StringBuilder();
    for (Map.Entry<String, String> setting : settings.entrySet()) {
      if (spec.length() > 0) {
        spec.append(',');
      }
      spec.append(setting.getKey());
      if (setting.getValue() != null) {
        spec.append('=').append(setting.getValue());
      }
    }
    return spec.toString();
  }

  /**
   * Parses a duration value of a spec ({@code 5m}, {@code PT5M}).
   *
   * @param value the value
   * @return the duration
   * @throws IllegalArgumentException if it is malformed, quoting it
   */
  public static Duration duration(String value) {
    return parseDuration(value, value, value);
  }

  private static void set(CacheBuilder<?, ?> builder, String name, Kind kind, String value,
      String spec, String setting) {
    switch (name) {
      case "initialCapacity":
        builder.initialCapacity(parseInt(value, spec, setting));
        break;
      case "concurrencyLevel":
        builder.concurrencyLevel(parseInt(value, spec, setting));
        break;
      case "maximumSize":
        builder.maximumSize(parseLong(value, spec, setting));
        break;
      case "maximumWeight":
        builder.maximumWeight(parseLong(value, spec, setting));
        break;
      case "expireAfterWrite":
        builder.expireAfterWrite(parseDuration(value, spec, setting));
        break;
      case "expireAfterAccess":
        builder.expireAfterAccess(parseDuration(value, spec, setting));
        break;
      case "refreshAfterWrite":
        builder.refreshAfterWrite(parseDuration(value, spec, setting));
        break;
      case "recordStats":
        builder.recordStats();
        break;
      default:
        throw new AssertionError(name + " of kind " + kind); // SETTINGS and this switch agree
    }
  }

  private static String example(Kind kind) {
    return (kind == Kind.DURATION) ? "5m" : "10000";
  }

  private static int parseInt(String value, String spec, String setting) {
    long parsed = parseLong(value, spec, setting);
    if ((int) parsed != parsed) {
      throw bad(spec, setting, "'" + value + "' is out of int range");
    }
    return (int) parsed;
  }

  private static long parseLong(String value, String spec, String setting) {
    if (!isNumber(value)) {
      throw bad(spec, setting, "'" + value + "' is not a whole number");
    }
    try {
      return Long.parseLong(value.replace("_", ""));
    } catch (NumberFormatException e) {
      IllegalArgumentException wrapped = bad(spec, setting, "'" + value + "' is out of long range");
      wrapped.initCause(e);
      throw wrapped;
    }
  }

  /** Digits, optionally signed (the builder names a negative value), with Java's underscores. */
  private static boolean isNumber(String value) {
    int start = (value.startsWith("-") || value.startsWith("+")) ? 1 : 0;
    if ((value.length() == start) || !Character.isDigit(value.charAt(start))
        || !Character.isDigit(value.charAt(value.length() - 1))) {
      return false;
    }
    for (int i = start; i < value.length(); i++) {
      char c = value.charAt(i);
      if (!(c >= '0' && c <= '9') && (c != '_')) {
        return false;
      }
    }
    return true;
  }

  private static Duration parseDuration(String value, String spec, String setting) {
    if ((value.charAt(0) == 'P') || (value.charAt(0) == 'p')
        || (value.length() > 1 && value.charAt(0) == '-'
            && (value.charAt(1) == 'P' || value.charAt(1) == 'p'))) {
      try {
        return Duration.parse(value);
      } catch (DateTimeParseException e) {
        IllegalArgumentException wrapped = bad(spec, setting,
            "'" + value + "' is not an ISO-8601 duration");
        wrapped.initCause(e);
        throw wrapped;
      }
    }
    for (int i = 0; i < value.length(); i++) {
      if (Character.isWhitespace(value.charAt(i)) || Character.isSpaceChar(value.charAt(i))) {
        throw bad(spec, setting, "'" + value + "' has a blank inside: write the number and its"
            + " unit together (5m)");
      }
    }
    int unitAt = value.length();
    while ((unitAt > 0) && Character.isLetter(value.charAt(unitAt - 1))) {
      unitAt--;
    }
    String amount = value.substring(0, unitAt).strip();
    String unit = value.substring(unitAt).toLowerCase(Locale.ROOT);
    if (unit.isEmpty()) {
      throw bad(spec, setting, "'" + value + "' needs a unit: one of ns, us, ms, s, m, h, d");
    }
    long count = parseLong(amount, spec, setting);
    try {
      switch (unit) {
        case "ns":
          return Duration.ofNanos(count);
        case "us":
          return Duration.ofNanos(Math.multiplyExact(count, 1_000L));
        case "ms":
          return Duration.ofMillis(count);
        case "s":
          return Duration.ofSeconds(count);
        case "m":
          return Duration.ofMinutes(count);
        case "h":
          return Duration.ofHours(count);
        case "d":
          return Duration.ofDays(count);
        default:
          throw bad(spec, setting, "unknown unit '" + value.substring(unitAt)
              + "': one of ns, us, ms, s, m, h, d");
      }
    } catch (ArithmeticException e) {
      IllegalArgumentException wrapped = bad(spec, setting, "'" + value + "' is out of range");
      wrapped.initCause(e);
      throw wrapped;
    }
  }

  private static IllegalArgumentException bad(String spec, String setting, String why) {
    return new IllegalArgumentException(
        "spec '" + spec + "': setting '" + setting.strip() + "': " + why);
  }
}
