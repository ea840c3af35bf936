package dev.mcpauthz.authn;

import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.as.AuthorizationServerMetadata;
import com.nimbusds.oauth2.sdk.http.HTTPRequestConfigurator;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;

/**
 * Discovery of an issuer's endpoints: OpenID Connect discovery first, then RFC 8414 authorization
 * server metadata (which Nimbus resolves with the path-insertion rule). Both verify that the
 * document's {@code issuer} equals the configured issuer exactly.
 */
public final class IssuerMetadata {
  private IssuerMetadata() {}

  public record Endpoints(URI jwksUri, URI introspectionEndpoint) {}

  public static Endpoints discover(String issuer, Duration timeout) throws IOException, GeneralException {
    int ms = (int) timeout.toMillis();
    HTTPRequestConfigurator cfg = req -> {
      req.setConnectTimeout(ms);
      req.setReadTimeout(ms);
    };
    Issuer iss = new Issuer(issuer);
    try {
      OIDCProviderMetadata oidc = OIDCProviderMetadata.resolve(iss, cfg);
      return new Endpoints(oidc.getJWKSetURI(), oidc.getIntrospectionEndpointURI());
    } catch (GeneralException | IOException oidcFailure) {
      AuthorizationServerMetadata as = AuthorizationServerMetadata.resolve(iss, cfg);
      return new Endpoints(as.getJWKSetURI(), as.getIntrospectionEndpointURI());
    }
  }
}
