package dev.mcpauthz.upstream;

import java.net.URI;
import java.util.Objects;

/**
 * One authorization_code grant (RFC 6749 §4.1.3) with its PKCE verifier (RFC 7636 §4.5).
 *
 * @param code the authorization code from the redirect (never logged)
 * @param codeVerifier the PKCE code verifier (never logged)
 * @param redirectUri the redirect_uri sent in the authorization request; must be identical
 * @param resource RFC 8707 resource indicator; null when not sent
 * @param decisionId correlates logs with the consent flow that started it
 */
public record CodeExchange(String code, String codeVerifier, URI redirectUri, URI resource, String decisionId) {
  public CodeExchange {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(redirectUri, "redirectUri");
  }

  @Override
  public String toString() {
    return "CodeExchange[redirectUri=" + redirectUri + ", resource=" + resource + ", pkce=" + (codeVerifier != null)
        + ", decisionId=" + decisionId + "]";
  }
}
