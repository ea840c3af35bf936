package dev.mcpauthz.consent;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.AuthenticationRequest;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.Prompt;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import dev.mcpauthz.config.AuthzConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Set;

/**
 * The consent pages' OpenID Connect client at one inbound issuer: authorization code with PKCE S256
 * and a nonce, ID token validated by Nimbus (signature from the issuer's JWKS, {@code iss}, {@code
 * aud}, {@code exp}, {@code nonce}). Only the verified {@code sub} is kept: it is compared with the
 * user an elicitation was minted for (MCP 2025-11-25 client/elicitation, "Phishing": the user who
 * opens the URL must be the user who was prompted). Runs on the consent pages' virtual threads, so
 * Nimbus's blocking HTTP is fine here and never touches the Check path.
 */
public final class SignInClient {
  private static final int TIMEOUT_MS = 5_000;

  private final AuthzConfig.Issuer issuer;
  private final ClientID clientId;
  private final Secret secret;
  private volatile OIDCProviderMetadata metadata;
  private volatile IDTokenValidator validator;

  /** A signed-in user. */
  public record Identity(String issuer, String subject) {}

  /** The issuer refused or failed the sign-in; the message is safe to show (no token, no code). */
  public static final class SignInException extends Exception {
    private static final long serialVersionUID = 1L;

    public SignInException(String message) {
      super(message, null, false, false);
    }
  }

  public SignInClient(AuthzConfig.Issuer issuer, AuthzConfig.SignIn signIn) {
    this.issuer = issuer;
    this.clientId = new ClientID(signIn.clientId());
    try {
      this.secret = new Secret(signIn.clientSecret() != null ? signIn.clientSecret()
          : Files.readString(signIn.clientSecretFile()).strip());
    } catch (IOException e) {
      throw new UncheckedIOException("consent.sign_in " + issuer.id() + ": cannot read client_secret_file", e);
    }
  }

  public String issuerId() {
    return issuer.id();
  }

  public String issuerUrl() {
    return issuer.issuer();
  }

  /** OIDC discovery, once; retried on the next sign-in if the issuer was down. */
  private OIDCProviderMetadata metadata() throws SignInException {
    OIDCProviderMetadata m = metadata;
    if (m == null) {
      try {
        m = OIDCProviderMetadata.resolve(new Issuer(issuer.issuer()), TIMEOUT_MS, TIMEOUT_MS);
        Set<JWSAlgorithm> algorithms = new HashSet<>();
        issuer.algorithms().forEach(a -> algorithms.add(JWSAlgorithm.parse(a)));
        JWKSource<SecurityContext> keys = JWKSourceBuilder.create(m.getJWKSetURI().toURL()).build();
        validator = new IDTokenValidator(m.getIssuer(), clientId, new JWSVerificationKeySelector<>(algorithms, keys),
            null);
        validator.setMaxClockSkew((int) issuer.clockSkew().toSeconds());
        metadata = m;
      } catch (IOException | com.nimbusds.oauth2.sdk.GeneralException e) {
        throw new SignInException("the sign-in service (" + issuer.issuer() + ") could not be reached");
      }
    }
    return m;
  }

  /** Whether authorization responses carry {@code iss} (RFC 9207 §3). */
  public boolean issParameterSupported() throws SignInException {
    return metadata().supportsAuthorizationResponseIssuerParam();
  }

  /** Where to send the browser; {@code forceLogin} asks the issuer to show its login even with a session. */
  public URI authorizationUrl(URI redirect, String state, CodeVerifier verifier, Nonce nonce, boolean forceLogin)
      throws SignInException {
    AuthenticationRequest.Builder b = new AuthenticationRequest.Builder(ResponseType.CODE, new Scope("openid"),
        clientId, redirect)
        .endpointURI(metadata().getAuthorizationEndpointURI())
        .state(new State(state))
        .nonce(nonce)
        .codeChallenge(verifier, CodeChallengeMethod.S256);
    if (forceLogin) {
      b.prompt(new Prompt(Prompt.Type.LOGIN));
    }
    return b.build().toURI();
  }

  /** Exchanges the code (with the PKCE verifier) and validates the ID token. */
  public Identity exchange(String code, URI redirect, CodeVerifier verifier, Nonce nonce) throws SignInException {
    OIDCProviderMetadata m = metadata();
    HTTPRequest request = new TokenRequest(m.getTokenEndpointURI(), new ClientSecretBasic(clientId, secret),
        new AuthorizationCodeGrant(new AuthorizationCode(code), redirect, verifier)).toHTTPRequest();
    request.setConnectTimeout(TIMEOUT_MS);
    request.setReadTimeout(TIMEOUT_MS);
    TokenResponse response;
    try {
      response = OIDCTokenResponseParser.parse(request.send());
    } catch (IOException e) {
      throw new SignInException("the sign-in service did not answer");
    } catch (ParseException e) {
      throw new SignInException("the sign-in service sent an unreadable answer");
    }
    if (!response.indicatesSuccess()) {
      TokenErrorResponse error = response.toErrorResponse();
      throw new SignInException("the sign-in service refused the sign-in ("
          + (error.getErrorObject() == null ? "no error code" : error.getErrorObject().getCode()) + ")");
    }
    var idToken = ((OIDCTokenResponse) response).getOIDCTokens().getIDToken();
    if (idToken == null) {
      throw new SignInException("the sign-in service returned no ID token");
    }
    try {
      IDTokenClaimsSet claims = validator.validate(idToken, nonce);
      return new Identity(claims.getIssuer().getValue(), claims.getSubject().getValue());
    } catch (com.nimbusds.jose.proc.BadJOSEException | com.nimbusds.jose.JOSEException e) {
      throw new SignInException("the ID token from the sign-in service is not valid");
    }
  }
}
