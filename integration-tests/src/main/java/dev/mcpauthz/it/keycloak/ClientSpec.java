package dev.mcpauthz.it.keycloak;

import java.util.List;
import java.util.Objects;

/**
 * An OIDC client of a test realm.
 *
 * @param clientId the client id
 * @param secret the client secret of a confidential client; null makes a public client
 * @param redirectUris allowed redirect URIs (authorization-code flow)
 * @param pkceS256 require PKCE with S256 on the authorization-code flow
 * @param directAccessGrants allow the resource-owner password grant (tests only)
 * @param serviceAccount enable the client-credentials grant (confidential clients only)
 * @param consentRequired Keycloak shows its consent screen ("Do you grant these access
 *     privileges?") on the authorization-code flow until the user granted the requested scopes
 *     once; {@link RealmHandle#revokeConsent} takes the grant back
 */
public record ClientSpec(String clientId, String secret, List<String> redirectUris, boolean pkceS256,
    boolean directAccessGrants, boolean serviceAccount, boolean consentRequired) {

  /** Loopback redirect URIs, as native and CLI MCP clients use (RFC 8252). */
  public static final List<String> LOOPBACK_REDIRECTS = List.of("http://127.0.0.1/*", "http://localhost/*");

  /** Without Keycloak's consent screen. */
  public ClientSpec(String clientId, String secret, List<String> redirectUris, boolean pkceS256,
      boolean directAccessGrants, boolean serviceAccount) {
    this(clientId, secret, redirectUris, pkceS256, directAccessGrants, serviceAccount, false);
  }

  public ClientSpec {
    Objects.requireNonNull(clientId, "clientId");
    redirectUris = redirectUris == null ? List.of() : List.copyOf(redirectUris);
    if (secret == null && serviceAccount) {
      throw new IllegalArgumentException("a public client cannot have a service account: " + clientId);
    }
  }

  /** A confidential client (client_secret_basic) with password and client-credentials grants. */
  public static ClientSpec confidential(String clientId, String secret) {
    return new ClientSpec(clientId, Objects.requireNonNull(secret, "secret"), LOOPBACK_REDIRECTS, false, true, true);
  }

  /** A public client that must use PKCE S256, with the password grant enabled for tests. */
  public static ClientSpec publicPkce(String clientId) {
    return new ClientSpec(clientId, null, LOOPBACK_REDIRECTS, true, true, false);
  }

  /**
   * The same client with exactly these redirect URIs (Keycloak compares them as given; no
   * wildcard), e.g. {@code <public_base_url>/auth/callback} for a web application.
   */
  public ClientSpec withRedirectUris(String... uris) {
    return new ClientSpec(clientId, secret, List.of(uris), pkceS256, directAccessGrants, serviceAccount,
        consentRequired);
  }

  /** The same client, with or without Keycloak's consent screen. */
  public ClientSpec withConsentRequired(boolean required) {
    return new ClientSpec(clientId, secret, redirectUris, pkceS256, directAccessGrants, serviceAccount, required);
  }

  public boolean isPublic() {
    return secret == null;
  }

  @Override
  public String toString() {
    return "ClientSpec[clientId=" + clientId + ", public=" + isPublic() + ", redirectUris=" + redirectUris
        + ", pkceS256=" + pkceS256 + ", directAccessGrants=" + directAccessGrants
        + ", serviceAccount=" + serviceAccount + ", consentRequired=" + consentRequired + "]";
  }
}
