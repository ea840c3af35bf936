package dev.mcpauthz.upstream;

import java.time.Duration;

/** What a refresh came to, after the provider profile normalised the response. */
public sealed interface RefreshOutcome {
  /** New tokens. */
  record Refreshed(TokenGrant grant, int attempts) implements RefreshOutcome {}

  /**
   * The grant is dead ({@code invalid_grant} or a provider equivalent): the user must consent
   * again. The vault first re-reads its record, because another replica may have rotated it.
   *
   * @param error normalised OAuth error code, e.g. invalid_grant
   * @param providerCode the provider's own code when it differs (e.g. AADSTS70008), or null
   */
  record Revoked(String error, String providerCode) implements RefreshOutcome {}

  /**
   * Transient failure after bounded retries, or the circuit breaker is open. Never a reason to
   * ask for consent.
   *
   * @param reason low-cardinality reason: timeout, connect, io (connection dropped), http_5xx,
   *     http_429, temporarily_unavailable, server_error, circuit_open, discovery,
   *     invalid_response, invalid_request, client_misconfigured, provider_error, internal_error,
   *     shutdown
   *     (docs/providers.md)
   * @param retryAfter how long the caller should wait, never null
   */
  record Failed(String reason, Duration retryAfter, int attempts) implements RefreshOutcome {}
}
