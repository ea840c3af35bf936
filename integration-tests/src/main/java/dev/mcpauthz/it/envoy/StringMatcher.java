package dev.mcpauthz.it.envoy;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The subset of Envoy's {@code envoy.type.matcher.v3.StringMatcher} that the ext_authz filter uses
 * for {@code allowed_headers} / {@code disallowed_headers} (matched against lower-cased header
 * keys, pseudo-headers included).
 */
public record StringMatcher(Kind kind, String value, boolean ignoreCase) {

  public enum Kind { EXACT, PREFIX, SUFFIX, CONTAINS, SAFE_REGEX }

  public StringMatcher {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(value, "value");
    if (kind == Kind.SAFE_REGEX) {
      Pattern.compile(value); // fail fast, like Envoy's config validation
    }
  }

  public static StringMatcher exact(String value) { return new StringMatcher(Kind.EXACT, value, false); }

  public static StringMatcher prefix(String value) { return new StringMatcher(Kind.PREFIX, value, false); }

  public static StringMatcher suffix(String value) { return new StringMatcher(Kind.SUFFIX, value, false); }

  public static StringMatcher contains(String value) { return new StringMatcher(Kind.CONTAINS, value, false); }

  public static StringMatcher regex(String value) { return new StringMatcher(Kind.SAFE_REGEX, value, false); }

  public StringMatcher withIgnoreCase() { return new StringMatcher(kind, value, true); }

  public boolean matches(String input) {
    if (kind == Kind.SAFE_REGEX) {
      // Envoy's RE2 safe_regex is a full match; ignore_case does not apply to regex matchers.
      return Pattern.compile(value).matcher(input).matches();
    }
    String in = ignoreCase ? input.toLowerCase(Locale.ROOT) : input;
    String v = ignoreCase ? value.toLowerCase(Locale.ROOT) : value;
    return switch (kind) {
      case EXACT -> in.equals(v);
      case PREFIX -> in.startsWith(v);
      case SUFFIX -> in.endsWith(v);
      case CONTAINS -> in.contains(v);
      case SAFE_REGEX -> throw new AssertionError();
    };
  }
}
