package dev.mcpauthz.it.keycloak;

import java.time.Duration;

/**
 * Tokens from one token-endpoint response. {@link #toString()} never shows the token values, so a
 * TokenSet can appear in assertion messages and logs.
 *
 * @param accessToken the access token (a signed JWT with Keycloak)
 * @param refreshToken the refresh token, or null when none was issued
 * @param expiresIn the access token's lifetime as stated by {@code expires_in}, or null
 * @param scope the granted scope as stated by {@code scope}, or null
 */
public record TokenSet(String accessToken, String refreshToken, Duration expiresIn, String scope) {

  @Override
  public String toString() {
    return "TokenSet[accessToken=" + redact(accessToken) + ", refreshToken=" + redact(refreshToken)
        + ", expiresIn=" + expiresIn + ", scope=" + scope + "]";
  }

  private static String redact(String token) {
    return token == null ? "null" : "<redacted " + token.length() + " chars>";
  }
}
