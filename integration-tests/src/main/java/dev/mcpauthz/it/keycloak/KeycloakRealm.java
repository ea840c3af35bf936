package dev.mcpauthz.it.keycloak;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.oauth2.sdk.AccessTokenResponse;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.ResourceOwnerPasswordCredentialsGrant;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.AccessToken;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.token.Tokens;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/** {@link RealmHandle} for a realm that {@link KeycloakServer} created. Token requests use Nimbus. */
final class KeycloakRealm implements RealmHandle {

  private final RealmSpec spec;
  private final String issuer;
  private final KeycloakAdmin admin;

  KeycloakRealm(RealmSpec spec, URI baseUri, KeycloakAdmin admin) {
    this.spec = spec;
    this.issuer = baseUri.resolve("/realms/" + KeycloakAdmin.encode(spec.name())).toString();
    this.admin = admin;
  }

  RealmSpec spec() {
    return spec;
  }

  @Override
  public String name() {
    return spec.name();
  }

  @Override
  public String issuer() {
    return issuer;
  }

  @Override
  public URI jwksUri() {
    return URI.create(issuer + "/protocol/openid-connect/certs");
  }

  @Override
  public URI tokenEndpoint() {
    return URI.create(issuer + "/protocol/openid-connect/token");
  }

  @Override
  public URI discoveryUri() {
    return URI.create(issuer + "/.well-known/openid-configuration");
  }

  @Override
  public String audienceResource() {
    return spec.audienceResource();
  }

  @Override
  public TokenSet passwordGrant(String clientId, String clientSecret, String user, String password, String scope,
      String resource) {
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(password, "password");
    return token(clientId, clientSecret, new ResourceOwnerPasswordCredentialsGrant(user, new Secret(password)),
        scope, resource);
  }

  @Override
  public TokenSet refresh(String clientId, String clientSecret, String refreshToken, String resource) {
    Objects.requireNonNull(refreshToken, "refreshToken");
    return token(clientId, clientSecret, new RefreshTokenGrant(new RefreshToken(refreshToken)), null, resource);
  }

  @Override
  public String userId(String user) {
    return admin.findUserId(spec.name(), user)
        .orElseThrow(() -> new IllegalArgumentException("no user '" + user + "' in realm " + spec.name()));
  }

  @Override
  public void revokeConsent(String user, String clientId) {
    admin.revokeConsent(spec.name(), userId(user), clientId);
  }

  @Override
  public void revokeUserSessions(String user) {
    String id = admin.findUserId(spec.name(), user)
        .orElseThrow(() -> new IllegalArgumentException("no user '" + user + "' in realm " + spec.name()));
    admin.logoutUser(spec.name(), id);
  }

  @Override
  public void setAccessTokenLifespan(Duration d) {
    if (d == null || d.toSeconds() < 1) {
      throw new IllegalArgumentException("access token lifespan must be at least 1 s: " + d);
    }
    ObjectNode update = KeycloakAdmin.object();
    update.put("accessTokenLifespan", Math.toIntExact(d.toSeconds()));
    admin.updateRealm(spec.name(), update);
  }

  private TokenSet token(String clientId, String clientSecret, AuthorizationGrant grant, String scope,
      String resource) {
    Objects.requireNonNull(clientId, "clientId");
    ClientID id = new ClientID(clientId);
    TokenRequest.Builder builder = clientSecret == null
        ? new TokenRequest.Builder(tokenEndpoint(), id, grant)
        : new TokenRequest.Builder(tokenEndpoint(), new ClientSecretBasic(id, new Secret(clientSecret)), grant);
    if (scope != null && !scope.isBlank()) {
      builder.scope(Scope.parse(scope));
    }
    if (resource != null) {
      builder.resource(URI.create(resource));
    }
    HTTPRequest httpRequest = builder.build().toHTTPRequest();
    httpRequest.setConnectTimeout(5_000);
    httpRequest.setReadTimeout(60_000);
    TokenResponse response;
    try {
      response = TokenResponse.parse(httpRequest.send());
    } catch (IOException e) {
      throw new UncheckedIOException("token request to " + tokenEndpoint() + " failed", e);
    } catch (ParseException e) {
      // The message names the missing or bad field; Nimbus does not put token values in it.
      throw new IllegalStateException("unparseable token response from " + tokenEndpoint() + ": " + e.getMessage());
    }
    if (!response.indicatesSuccess()) {
      ErrorObject error = response.toErrorResponse().getErrorObject();
      throw new KeycloakTokenException(error.getCode(), error.getDescription(), error.getHTTPStatusCode());
    }
    AccessTokenResponse success = response.toSuccessResponse();
    Tokens tokens = success.getTokens();
    AccessToken at = tokens.getAccessToken();
    RefreshToken rt = tokens.getRefreshToken();
    return new TokenSet(at.getValue(), rt == null ? null : rt.getValue(),
        at.getLifetime() > 0 ? Duration.ofSeconds(at.getLifetime()) : null,
        at.getScope() == null ? null : at.getScope().toString());
  }

  @Override
  public String toString() {
    return "KeycloakRealm[" + issuer + "]";
  }
}
