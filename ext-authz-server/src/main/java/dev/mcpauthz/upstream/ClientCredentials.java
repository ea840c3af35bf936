package dev.mcpauthz.upstream;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.PrivateKeyJWT;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.id.ClientID;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.AuthzConfig.ClientAuth;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.RSAPrivateKey;
import java.util.List;

/**
 * The client's credentials for one provider and the Nimbus token requests built with them
 * (RFC 6749 §2.3): {@code client_secret_basic} (Nimbus form-urlencodes id and secret before
 * Base64, §2.3.1), {@code client_secret_post}, {@code private_key_jwt} (RFC 7523 §2.2: a fresh
 * assertion with iss = sub = client_id, aud = token endpoint, jti and exp for every request) and
 * {@code none} (public client: client_id in the body, §3.2.1).
 */
final class ClientCredentials {
  private final ClientAuth method;
  private final ClientID clientId;
  private final Secret secret;
  private final SigningKey signingKey;

  private ClientCredentials(ClientAuth method, ClientID clientId, Secret secret, SigningKey signingKey) {
    this.method = method;
    this.clientId = clientId;
    this.secret = secret;
    this.signingKey = signingKey;
  }

  /** Reads secret and key files now, so a missing or malformed file fails at start. */
  static ClientCredentials of(AuthzConfig.Provider p) {
    ClientID id = new ClientID(p.clientId());
    return switch (p.clientAuth()) {
      case CLIENT_SECRET_BASIC, CLIENT_SECRET_POST -> new ClientCredentials(p.clientAuth(), id, secret(p), null);
      case PRIVATE_KEY_JWT -> new ClientCredentials(p.clientAuth(), id, null, SigningKey.load(p.privateKeyFile()));
      case NONE -> new ClientCredentials(p.clientAuth(), id, null, null);
    };
  }

  private static Secret secret(AuthzConfig.Provider p) {
    if (p.clientSecret() != null) {
      return new Secret(p.clientSecret());
    }
    try {
      return new Secret(Files.readString(p.clientSecretFile()).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("provider " + p.id() + ": cannot read client_secret_file", e);
    }
  }

  /** A new request for every attempt: a private_key_jwt assertion must not be replayed (jti). */
  HTTPRequest request(URI endpoint, AuthorizationGrant grant, URI resource, List<String> scopes) {
    TokenRequest.Builder b = switch (method) {
      case CLIENT_SECRET_BASIC -> new TokenRequest.Builder(endpoint, new ClientSecretBasic(clientId, secret), grant);
      case CLIENT_SECRET_POST -> new TokenRequest.Builder(endpoint, new ClientSecretPost(clientId, secret), grant);
      case PRIVATE_KEY_JWT -> new TokenRequest.Builder(endpoint, assertion(endpoint), grant);
      case NONE -> new TokenRequest.Builder(endpoint, clientId, grant);
    };
    if (resource != null) {
      b.resource(resource); // RFC 8707 §2: on every token request, refresh included
    }
    if (!scopes.isEmpty()) {
      b.scope(new Scope(scopes.toArray(String[]::new))); // RFC 6749 §6: omitted = as originally granted
    }
    return b.build().toHTTPRequest();
  }

  private PrivateKeyJWT assertion(URI endpoint) {
    try {
      JWSAlgorithm alg = signingKey.algorithm();
      if (signingKey.key() instanceof RSAPrivateKey rsa) {
        return new PrivateKeyJWT(clientId, endpoint, alg, rsa, signingKey.keyId(), null);
      }
      return new PrivateKeyJWT(clientId, endpoint, alg, (ECPrivateKey) signingKey.key(), signingKey.keyId(), null);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign the client assertion: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "ClientCredentials[" + method + ", client_id=" + clientId + "]";
  }
}
