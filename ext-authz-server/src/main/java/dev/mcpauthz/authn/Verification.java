package dev.mcpauthz.authn;

/** The outcome of verifying an inbound token. */
public sealed interface Verification {
  /** The token is valid; audience and scopes are checked by the caller for the target server. */
  record Verified(Principal principal) implements Verification {}

  /** RFC 6750 invalid_token: the client must get a new token. {@code reason} is a metric label. */
  record Rejected(String reason, String description) implements Verification {}

  /** The token cannot be judged now (IdP unreachable): 503, never a prompt to re-authenticate. */
  record Unavailable(String description) implements Verification {}

  static Rejected rejected(String reason, String description) {
    return new Rejected(reason, description);
  }
}
