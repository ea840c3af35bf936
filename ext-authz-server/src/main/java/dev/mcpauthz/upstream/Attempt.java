package dev.mcpauthz.upstream;

import java.time.Duration;

/** What one HTTP attempt at the token endpoint came to, after the provider profile normalised it. */
sealed interface Attempt {
  /** A token response (RFC 6749 §5.1). */
  record Granted(TokenGrant grant) implements Attempt {}

  /** The grant or code is refused for good (RFC 6749 §5.2 invalid_grant and equivalents). */
  record Rejected(String error, String providerCode) implements Attempt {}

  /**
   * Worth retrying: the IdP is unavailable or overloaded.
   *
   * @param retryAfter what the IdP asked for ({@code Retry-After}), or null
   * @param status the HTTP status, 0 when no response arrived
   */
  record Transient(String reason, Duration retryAfter, int status) implements Attempt {}

  /** Not worth retrying and not the user's fault (client misconfigured, garbage on a 200). */
  record Broken(String reason, Duration retryAfter) implements Attempt {}
}
