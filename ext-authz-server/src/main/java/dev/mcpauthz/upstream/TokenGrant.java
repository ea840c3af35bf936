package dev.mcpauthz.upstream;

import java.time.Instant;
import java.util.List;

/**
 * A successful token response, normalised across providers.
 *
 * @param refreshToken the new refresh token, or null when the provider does not rotate (keep the
 *     old one)
 * @param expiresAt access-token expiry; null when the provider sent no {@code expires_in} (the
 *     vault then applies its configured default lifetime)
 * @param scopes granted scopes; null when the response omitted {@code scope} (RFC 6749 §5.1:
 *     unchanged)
 */
public record TokenGrant(String accessToken, String refreshToken, Instant expiresAt, List<String> scopes) {
  public TokenGrant {
    scopes = scopes == null ? null : List.copyOf(scopes);
  }

  @Override
  public String toString() {
    return "TokenGrant[expiresAt=" + expiresAt + ", scopes=" + scopes + ", rotated=" + (refreshToken != null) + "]";
  }
}
