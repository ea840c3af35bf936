package dev.mcpauthz.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses durations the way operators write them in YAML: {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, or ISO-8601. */
public final class DurationValue {
  private static final Pattern SIMPLE = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

  private DurationValue() {}

  public static Duration parse(String text) {
    String trimmed = text.trim();
    Matcher m = SIMPLE.matcher(trimmed);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    try {
      return Duration.parse(trimmed);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration (use e.g. 250ms, 30s, 5m, 1h or ISO-8601 PT30S)");
    }
  }
}
