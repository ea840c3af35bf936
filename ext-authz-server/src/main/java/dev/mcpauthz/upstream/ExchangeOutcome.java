package dev.mcpauthz.upstream;

import java.time.Duration;

/** What an authorization_code exchange came to, after the provider profile normalised the response. */
public sealed interface ExchangeOutcome {
  /** Tokens for the user; {@code grant.refreshToken()} is null when the provider issued none. */
  record Exchanged(TokenGrant grant, int attempts) implements ExchangeOutcome {}

  /**
   * The provider refused the code (expired, already used, PKCE verifier or redirect_uri wrong):
   * the user has to authorize again.
   *
   * @param error normalised OAuth error code, e.g. invalid_grant
   * @param providerCode the provider's own code when it differs (e.g. bad_verification_code), or null
   */
  record Rejected(String error, String providerCode) implements ExchangeOutcome {}

  /** Transient failure or misconfiguration; same reasons as {@link RefreshOutcome.Failed}. */
  record Failed(String reason, Duration retryAfter, int attempts) implements ExchangeOutcome {}
}
