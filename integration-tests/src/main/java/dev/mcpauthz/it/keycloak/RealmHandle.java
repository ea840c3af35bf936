package dev.mcpauthz.it.keycloak;

import java.net.URI;
import java.time.Duration;

/** A realm on a running {@link KeycloakServer}, with the operations tests need. */
public interface RealmHandle {

  /** The realm name. */
  String name();

  /** {@code http://127.0.0.1:<port>/realms/<name>}: the {@code iss} of the realm's tokens. */
  String issuer();

  URI jwksUri();

  URI tokenEndpoint();

  /** The OpenID Connect discovery document, {@code <issuer>/.well-known/openid-configuration}. */
  URI discoveryUri();

  /** The RFC 8707 resource the realm is set up for ({@link RealmSpec#audienceResource()}), or null. */
  String audienceResource();

  /**
   * A resource-owner password grant (test clients only).
   *
   * @param clientSecret null for a public client
   * @param scope space-separated scopes, or null
   * @param resource RFC 8707 {@code resource} parameter, or null
   * @throws KeycloakTokenException when the token endpoint answers with an OAuth error
   */
  TokenSet passwordGrant(String clientId, String clientSecret, String user, String password, String scope,
      String resource);

  /**
   * A refresh-token grant. With the realm's rotation settings the old refresh token is spent: using it
   * again fails with {@code invalid_grant}.
   *
   * @throws KeycloakTokenException when the token endpoint answers with an OAuth error
   */
  TokenSet refresh(String clientId, String clientSecret, String refreshToken, String resource);

  /** The user's id in this realm: the {@code sub} of the tokens the realm issues for the user. */
  String userId(String user);

  /**
   * Takes back the consent the user gave {@code clientId} on Keycloak's consent screen (and its
   * offline tokens), so the next authorization of a {@link ClientSpec#consentRequired()} client
   * shows the screen again. No error when there was none.
   */
  void revokeConsent(String user, String clientId);

  /** Logs the user out of every session, which invalidates the user's refresh tokens. */
  void revokeUserSessions(String user);

  /** Changes the realm's access token lifetime for tokens issued from now on. */
  void setAccessTokenLifespan(Duration d);
}
