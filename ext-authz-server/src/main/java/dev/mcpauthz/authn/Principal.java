package dev.mcpauthz.authn;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A verified caller. Audiences are stored normalised by {@link ResourceUri} so the per-request
 * audience check is a string comparison.
 */
public record Principal(
    String subject,
    String issuer,
    String issuerId,
    String clientId,
    Set<String> scopes,
    List<String> audiences,
    Instant expiresAt,
    TokenKind kind,
    Map<String, Object> claims) {

  /**
   * @param claims every verified claim as JSON values (String, Number, Boolean, List, Map; dates in
   *     epoch seconds), read by per-tool policy conditions; never logged
   */
  public Principal {
    claims = claims == null ? Map.of() : java.util.Collections.unmodifiableMap(claims);
  }

  public Principal(
      String subject, String issuer, String issuerId, String clientId, Set<String> scopes, List<String> audiences,
      Instant expiresAt, TokenKind kind) {
    this(subject, issuer, issuerId, clientId, scopes, audiences, expiresAt, kind, Map.of());
  }

  public enum TokenKind {
    JWT,
    OPAQUE
  }

  public boolean hasAudience(String normalizedResource) {
    for (int i = 0; i < audiences.size(); i++) {
      if (audiences.get(i).equals(normalizedResource)) {
        return true;
      }
    }
    return false;
  }

  public String scopeString() {
    return String.join(" ", scopes);
  }
}
