package dev.mcpauthz.upstream;

import java.net.URI;
import java.util.List;

/**
 * One refresh_token grant.
 *
 * @param providerId configured provider id
 * @param refreshToken the refresh token (never logged)
 * @param resource RFC 8707 resource indicator, sent on every token request; null when the
 *     provider is configured with send_resource: false
 * @param scopes scopes to request; empty means "the originally granted scopes" (RFC 6749 §6)
 * @param decisionId correlates audit events with the Check that triggered the refresh
 */
public record RefreshRequest(
    String providerId, String refreshToken, URI resource, List<String> scopes, String decisionId) {
  public RefreshRequest {
    scopes = scopes == null ? List.of() : List.copyOf(scopes);
  }

  @Override
  public String toString() {
    return "RefreshRequest[provider=" + providerId + ", resource=" + resource + ", scopes=" + scopes + "]";
  }
}
