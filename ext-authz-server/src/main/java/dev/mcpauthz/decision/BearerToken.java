package dev.mcpauthz.decision;

/** Extraction of the access token from {@code Authorization} per RFC 6750 §2.1. */
final class BearerToken {
  private BearerToken() {}

  sealed interface Result permits Absent, Malformed, Present {}

  /** No credentials, or another auth scheme: answered with a plain challenge. */
  record Absent() implements Result {}

  record Malformed(String description) implements Result {}

  record Present(String token) implements Result {}

  private static final Absent ABSENT = new Absent();

  static Result from(String authorization) {
    if (authorization == null || authorization.isEmpty()) {
      return ABSENT;
    }
    if (authorization.trim().equalsIgnoreCase("Bearer")) {
      return new Malformed("the Bearer credentials are empty");
    }
    if (authorization.length() < 7 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return ABSENT; // another scheme (Basic, DPoP, ...): challenge for Bearer
    }
    int start = 7;
    while (start < authorization.length() && authorization.charAt(start) == ' ') {
      start++;
    }
    String token = authorization.substring(start);
    if (token.isEmpty()) {
      return new Malformed("the Bearer credentials are empty");
    }
    if (!isB64Token(token)) {
      return new Malformed("the Bearer credentials are not a valid b64token (RFC 6750 section 2.1)");
    }
    return new Present(token);
  }

  /** b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
  static boolean isB64Token(String s) {
    int i = 0;
    int n = s.length();
    while (i < n) {
      char c = s.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
      if (!ok) {
        break;
      }
      i++;
    }
    if (i == 0) {
      return false;
    }
    while (i < n && s.charAt(i) == '=') {
      i++;
    }
    return i == n;
  }

  /**
   * OAuth 2.1 §5.2 / RFC 6750 §2.3: a token in the URI query is never accepted (it leaks into
   * logs and Referer headers); the request is refused outright.
   */
  static boolean inQuery(String path) {
    if (path == null) {
      return false;
    }
    int q = path.indexOf('?');
    if (q < 0) {
      return false;
    }
    int i = q + 1;
    while (i < path.length()) {
      int amp = path.indexOf('&', i);
      int end = amp < 0 ? path.length() : amp;
      if (path.startsWith("access_token=", i) || (end - i == 12 && path.startsWith("access_token", i))) {
        return true;
      }
      i = end + 1;
    }
    return false;
  }
}
