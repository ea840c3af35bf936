package dev.mcpauthz.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * A name pattern of a policy rule. {@code ?} is one character, {@code *} any run of characters;
 * for resource URIs ({@code segmented}) {@code *} and {@code ?} stop at {@code /} and {@code **}
 * crosses it. {@code \} escapes the next character. Matching is linear in pattern × name length with
 * no backtracking blow-up (a dynamic programme over name positions), so hostile names cannot make
 * it slow.
 */
public final class Glob {
  private static final int LITERAL = 0;
  private static final int ONE = 1;
  private static final int STAR = 2;
  private static final int DOUBLE_STAR = 3;

  private final String pattern;
  private final boolean segmented;
  private final int[] kinds;
  private final char[] chars;
  private final String literalPrefix;

  private Glob(String pattern, boolean segmented, int[] kinds, char[] chars, String literalPrefix) {
    this.pattern = pattern;
    this.segmented = segmented;
    this.kinds = kinds;
    this.chars = chars;
    this.literalPrefix = literalPrefix;
  }

  /** True when the text has an unescaped wildcard, i.e. it is a pattern rather than an exact name. */
  public static boolean isPattern(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\\') {
        i++;
      } else if (c == '*' || c == '?') {
        return true;
      }
    }
    return false;
  }

  /** The exact name an escape-only pattern stands for ({@code a\*b} → {@code a*b}). */
  public static String unescape(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\\' && i + 1 < text.length()) {
        c = text.charAt(++i);
      }
      sb.append(c);
    }
    return sb.toString();
  }

  /** @throws IllegalArgumentException for an empty pattern, a trailing {@code \} or {@code ***} */
  public static Glob compile(String pattern, boolean segmented) {
    if (pattern.isEmpty()) {
      throw new IllegalArgumentException("empty pattern");
    }
    List<Integer> kinds = new ArrayList<>();
    StringBuilder chars = new StringBuilder();
    StringBuilder prefix = new StringBuilder();
    boolean inPrefix = true;
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '\\') {
        if (i + 1 == pattern.length()) {
          throw new IllegalArgumentException("pattern ends with an escape character");
        }
        char next = pattern.charAt(++i);
        kinds.add(LITERAL);
        chars.append(next);
        if (inPrefix) {
          prefix.append(next);
        }
      } else if (c == '*') {
        int run = 1;
        while (i + 1 < pattern.length() && pattern.charAt(i + 1) == '*') {
          run++;
          i++;
        }
        if (run > 2) {
          throw new IllegalArgumentException("'***' is not a wildcard; use '*' or '**'");
        }
        kinds.add(run == 2 && segmented ? DOUBLE_STAR : segmented ? STAR : DOUBLE_STAR);
        chars.append('\0');
        inPrefix = false;
      } else if (c == '?') {
        kinds.add(ONE);
        chars.append('\0');
        inPrefix = false;
      } else {
        kinds.add(LITERAL);
        chars.append(c);
        if (inPrefix) {
          prefix.append(c);
        }
      }
    }
    int[] k = kinds.stream().mapToInt(Integer::intValue).toArray();
    return new Glob(pattern, segmented, k, chars.toString().toCharArray(), prefix.toString());
  }

  public String pattern() {
    return pattern;
  }

  public boolean matches(String name) {
    if (!name.startsWith(literalPrefix)) {
      return false;
    }
    int n = name.length();
    boolean[] cur = new boolean[n + 1];
    boolean[] next = new boolean[n + 1];
    cur[0] = true;
    for (int t = 0; t < kinds.length; t++) {
      java.util.Arrays.fill(next, false);
      boolean any = false;
      switch (kinds[t]) {
        case LITERAL -> {
          char c = chars[t];
          for (int j = 0; j < n; j++) {
            if (cur[j] && name.charAt(j) == c) {
              next[j + 1] = true;
              any = true;
            }
          }
        }
        case ONE -> {
          for (int j = 0; j < n; j++) {
            if (cur[j] && !(segmented && name.charAt(j) == '/')) {
              next[j + 1] = true;
              any = true;
            }
          }
        }
        case STAR -> {
          // any run without '/': reachable while no '/' was crossed since a reachable position
          boolean open = false;
          for (int j = 0; j <= n; j++) {
            if (cur[j]) {
              open = true;
            }
            if (open) {
              next[j] = true;
              any = true;
            }
            if (j < n && name.charAt(j) == '/') {
              open = false;
            }
          }
        }
        default -> {
          boolean open = false;
          for (int j = 0; j <= n; j++) {
            open |= cur[j];
            if (open) {
              next[j] = true;
              any = true;
            }
          }
        }
      }
      if (!any) {
        return false;
      }
      boolean[] swap = cur;
      cur = next;
      next = swap;
    }
    return cur[n];
  }

  @Override
  public String toString() {
    return pattern;
  }
}
