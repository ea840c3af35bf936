package dev.mcpauthz.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.AuthorizationRequest;
import com.nimbusds.oauth2.sdk.AuthorizationResponse;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.as.AuthorizationServerMetadata;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.token.Tokens;
import com.nimbusds.openid.connect.sdk.Nonce;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponseParser;
import com.nimbusds.openid.connect.sdk.claims.IDTokenClaimsSet;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.validators.IDTokenValidator;
import dev.mcpauthz.testing.LoopbackAuthorizationServer.AccessTokenFormat;
import dev.mcpauthz.testing.LoopbackAuthorizationServer.Client;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Date;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fixture against the specifications, driven the way a relying party drives a real provider:
 * Nimbus builds the requests and parses the answers, redirects are followed by hand.
 */
class LoopbackAuthorizationServerTest {
  private static final ClientID CLIENT_ID = new ClientID("mcp-authz");
  private static final Secret SECRET = new Secret("s3cret");
  private static final URI REDIRECT = URI.create("http://127.0.0.1:9/auth/callback");
  private static final URI RESOURCE = URI.create("https://mcp.example.com/mcp");
  private static final Scope OIDC_SCOPE = new Scope("openid", "profile");

  private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private LoopbackAuthorizationServer as;

  @AfterEach
  void stop() {
    if (as != null) {
      as.close();
    }
  }

  private LoopbackAuthorizationServer start(LoopbackAuthorizationServer.Builder builder) {
    as = builder.client(Client.confidential(CLIENT_ID.getValue(), SECRET.getValue(), REDIRECT.toString())).start();
    return as;
  }

  private LoopbackAuthorizationServer start() {
    return start(LoopbackAuthorizationServer.builder());
  }

  // ---- Discovery ----

  @Test
  void servesRfc8414AndOidcDiscoveryDocumentsNamingItsEndpoints() throws Exception {
    start();

    for (URI uri : List.of(as.rfc8414MetadataUri(), as.openIdConfigurationUri())) {
      HttpResponse<String> response = get(uri);
      assertThat(response.statusCode()).as(uri.toString()).isEqualTo(200);
      OIDCProviderMetadata m = OIDCProviderMetadata.parse(response.body());
      assertThat(m.getIssuer().getValue()).isEqualTo(as.issuer());
      assertThat(m.getAuthorizationEndpointURI()).isEqualTo(as.authorizationEndpoint());
      assertThat(m.getTokenEndpointURI()).isEqualTo(as.tokenEndpoint());
      assertThat(m.getJWKSetURI()).isEqualTo(as.jwksUri());
      assertThat(m.getCodeChallengeMethods()).containsExactly(CodeChallengeMethod.S256);
      assertThat(m.supportsAuthorizationResponseIssuerParam()).isTrue();
      assertThat(m.getResponseTypes()).containsExactly(ResponseType.CODE);
      assertThat(m.getGrantTypes()).containsExactly(GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN);
      assertThat(m.getTokenEndpointAuthMethods()).contains(ClientAuthenticationMethod.CLIENT_SECRET_BASIC,
          ClientAuthenticationMethod.CLIENT_SECRET_POST);
      assertThat(m.getIDTokenJWSAlgs()).containsExactly(JWSAlgorithm.RS256);
    }
  }

  @Test
  void discoveryUrlsFollowRfc8414PathInsertionAndOidcAppending() {
    start(LoopbackAuthorizationServer.builder().issuerPath("/tenants/acme"));

    URI issuer = URI.create(as.issuer());
    assertThat(issuer.getHost()).isEqualTo("127.0.0.1");
    assertThat(issuer.getPath()).isEqualTo("/tenants/acme");
    assertThat(as.rfc8414MetadataUri().getPath()).isEqualTo("/.well-known/oauth-authorization-server/tenants/acme");
    assertThat(as.openIdConfigurationUri().toString()).isEqualTo(as.issuer() + "/.well-known/openid-configuration");
  }

  @Test
  void aServerWithoutRfc9207SaysSoAndSendsNoIss() throws Exception {
    start(LoopbackAuthorizationServer.builder().issParameterSupported(false));

    AuthorizationServerMetadata m = AuthorizationServerMetadata.parse(get(as.rfc8414MetadataUri()).body());
    assertThat(m.supportsAuthorizationResponseIssuerParam()).isFalse();
    assertThat(authorize(new Flow()).getIssuer()).isNull();
  }

  @Test
  void jwksPublishesOnlyThePublicSigningKey() throws Exception {
    start();

    JWKSet published = JWKSet.parse(get(as.jwksUri()).body());
    assertThat(published.getKeys()).hasSize(1);
    RSAKey key = (RSAKey) published.getKeys().get(0);
    assertThat(key.isPrivate()).isFalse();
    assertThat(key.getKeyID()).isEqualTo(as.jwkSet().getKeys().get(0).getKeyID());
  }

  // ---- The happy path ----

  @Test
  void authorizationCodeWithPkceYieldsTokensAndAnIdTokenValidAgainstTheJwks() throws Exception {
    start();
    Flow flow = new Flow();

    AuthorizationResponse response = authorize(flow);

    assertThat(response.indicatesSuccess()).isTrue();
    assertThat(response.getState()).isEqualTo(flow.state);
    assertThat(response.getIssuer()).isEqualTo(new Issuer(as.issuer()));
    var recorded = as.lastAuthorizeRequest();
    assertThat(recorded.status()).isEqualTo(302);
    assertThat(recorded.subject()).isEqualTo(LoopbackAuthorizationServer.DEFAULT_SUBJECT);
    assertThat(recorded.nonce()).isEqualTo(flow.nonce.getValue());
    assertThat(recorded.resources()).containsExactly(RESOURCE.toString());
    assertThat(recorded.codeChallengeMethod()).isEqualTo("S256");
    assertThat(as.issuedCodes()).isEqualTo(1);

    OIDCTokenResponse tokens = success(redeem(flow, response.toSuccessResponse().getAuthorizationCode()));

    assertThat(tokens.getTokens().getBearerAccessToken().getValue()).isNotBlank();
    assertThat(tokens.getTokens().getBearerAccessToken().getLifetime()).isEqualTo(300);
    assertThat(tokens.getTokens().getBearerAccessToken().getScope()).isEqualTo(OIDC_SCOPE);
    assertThat(tokens.getTokens().getRefreshToken()).isNotNull();
    IDTokenClaimsSet idToken = idTokenValidator().validate(tokens.getOIDCTokens().getIDToken(), flow.nonce);
    assertThat(idToken.getSubject().getValue()).isEqualTo("alice");
    assertThat(idToken.getAudience()).containsExactly(new com.nimbusds.oauth2.sdk.id.Audience(CLIENT_ID));
    assertThat(tokens.getOIDCTokens().getIDToken().getHeader().toJSONObject()).containsKey("kid");

    var tokenRequest = as.lastTokenRequest();
    assertThat(tokenRequest.grantType()).isEqualTo("authorization_code");
    assertThat(tokenRequest.clientId()).isEqualTo(CLIENT_ID.getValue());
    assertThat(tokenRequest.clientAuthMethod()).isEqualTo("client_secret_basic");
    assertThat(tokenRequest.param("code_verifier")).isEqualTo(flow.verifier.getValue());
    assertThat(tokenRequest.resources()).containsExactly(RESOURCE.toString());
    assertThat(tokenRequest.succeeded()).isTrue();
    assertThat(as.tokenCalls("authorization_code")).isEqualTo(1);
  }

  @Test
  void signInAsSwitchesTheUserOfLaterAuthorizations() throws Exception {
    start();
    as.signInAs("bob");
    Flow flow = new Flow();

    OIDCTokenResponse tokens = success(redeem(flow, authorize(flow).toSuccessResponse().getAuthorizationCode()));

    assertThat(idTokenValidator().validate(tokens.getOIDCTokens().getIDToken(), flow.nonce).getSubject().getValue())
        .isEqualTo("bob");
    assertThat(as.lastAuthorizeRequest().subject()).isEqualTo("bob");
  }

  @Test
  void jwtAccessTokensAreSignedForTheRequestedResource() throws Exception {
    start(LoopbackAuthorizationServer.builder().accessTokens(AccessTokenFormat.JWT)
        .accessTokenLifetime(Duration.ofMinutes(2)));
    Flow flow = new Flow().scope(new Scope("mcp:tools"));

    Tokens tokens = redeem(flow, authorize(flow).toSuccessResponse().getAuthorizationCode())
        .toSuccessResponse().getTokens();

    assertThat(tokens.getAccessToken().getLifetime()).isEqualTo(120);
    SignedJWT jwt = SignedJWT.parse(tokens.getAccessToken().getValue());
    JWSVerifier verifier = new RSASSAVerifier((RSAKey) JWKSet.parse(get(as.jwksUri()).body()).getKeys().get(0));
    assertThat(jwt.verify(verifier)).isTrue();
    assertThat(jwt.getHeader().getType().getType()).isEqualTo("at+jwt");
    JWTClaimsSet claims = jwt.getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(as.issuer());
    assertThat(claims.getAudience()).containsExactly(RESOURCE.toString());
    assertThat(claims.getSubject()).isEqualTo("alice");
    assertThat(claims.getStringClaim("scope")).isEqualTo("mcp:tools");
    assertThat(claims.getExpirationTime()).isAfter(new Date());
    assertThat(tokens.toOIDCTokens().getIDToken()).as("no openid scope, no ID token").isNull();
  }

  @Test
  void clientSecretPostAndPublicClientsAuthenticateToo() throws Exception {
    start();
    as.register(Client.publicClient("cli", REDIRECT.toString()));
    Flow post = new Flow();
    Flow publicClient = new Flow().client(new ClientID("cli"));

    assertThat(redeem(post, authorize(post).toSuccessResponse().getAuthorizationCode(),
        new ClientSecretPost(CLIENT_ID, SECRET)).indicatesSuccess()).isTrue();
    assertThat(as.lastTokenRequest().clientAuthMethod()).isEqualTo("client_secret_post");
    assertThat(as.lastTokenRequest().parameters()).doesNotContainKey("client_secret");

    AuthorizationCode code = authorize(publicClient).toSuccessResponse().getAuthorizationCode();
    HTTPResponse response = sendRaw(new com.nimbusds.oauth2.sdk.TokenRequest.Builder(as.tokenEndpoint(),
        new ClientID("cli"), new AuthorizationCodeGrant(code, REDIRECT, publicClient.verifier)).build());
    assertThat(response.getStatusCode()).isEqualTo(200);
    assertThat(response.getCacheControl()).isEqualTo("no-store"); // RFC 6749 §5.1
    assertThat(as.lastTokenRequest().clientAuthMethod()).isEqualTo("none");
  }

  // ---- Authorization endpoint refusals ----

  @Test
  void aWrongClientSecretIsInvalidClientWithABasicChallenge() throws Exception {
    start();
    Flow flow = new Flow();
    AuthorizationCode code = authorize(flow).toSuccessResponse().getAuthorizationCode();

    var wrongSecret = new ClientSecretBasic(CLIENT_ID, new Secret("wrong"));
    HTTPResponse response = sendRaw(new com.nimbusds.oauth2.sdk.TokenRequest.Builder(as.tokenEndpoint(), wrongSecret,
        new AuthorizationCodeGrant(code, REDIRECT, flow.verifier)).build());

    assertThat(response.getStatusCode()).isEqualTo(401);
    assertThat(response.getWWWAuthenticate()).startsWith("Basic");
    assertThat(error(OIDCTokenResponseParser.parse(response)).getCode()).isEqualTo("invalid_client");
    assertThat(as.lastTokenRequest().status()).isEqualTo(401);
    assertThat(as.lastTokenRequest().error()).isEqualTo("invalid_client");
  }

  @Test
  void anUnregisteredRedirectUriGetsAnErrorPageNeverARedirect() throws Exception {
    start();
    Flow flow = new Flow().redirect(URI.create("http://127.0.0.1:9/elsewhere"));

    HttpResponse<String> response = get(flow.request(as).toURI());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("Location")).isEmpty();
    assertThat(response.body()).contains("redirect_uri");
    assertThat(as.lastAuthorizeRequest().error()).isEqualTo("invalid_request");
    assertThat(as.lastAuthorizeRequest().location()).isNull();
    assertThat(as.issuedCodes()).isZero();
  }

  @Test
  void anUnknownClientGetsAnErrorPage() throws Exception {
    start();

    HttpResponse<String> response = get(new Flow().client(new ClientID("nobody")).request(as).toURI());

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.headers().firstValue("Location")).isEmpty();
    assertThat(as.lastAuthorizeRequest().error()).isEqualTo("invalid_client");
  }

  @Test
  void missingOrPlainPkceIsRefusedByRedirectWithState() throws Exception {
    start();
    Flow flow = new Flow();
    URI withS256 = flow.request(as).toURI();
    URI withoutPkce = withoutParams(withS256, "code_challenge", "code_challenge_method");
    URI plain = URI.create(withS256.toString().replace("code_challenge_method=S256", "code_challenge_method=plain"));

    for (URI uri : List.of(withoutPkce, plain, withoutParams(withS256, "code_challenge_method"))) {
      AuthorizationResponse response = AuthorizationResponse.parse(redirectOf(uri));
      assertThat(response.indicatesSuccess()).as(uri.toString()).isFalse();
      assertThat(response.toErrorResponse().getErrorObject().getCode()).isEqualTo("invalid_request");
      assertThat(response.getState()).isEqualTo(flow.state);
      assertThat(response.getIssuer()).isEqualTo(new Issuer(as.issuer()));
    }
    assertThat(as.issuedCodes()).isZero();
  }

  @Test
  void aResponseTypeOtherThanCodeIsUnsupported() throws Exception {
    start();
    URI token = URI.create(new Flow().request(as).toURI().toString()
        .replace("response_type=code", "response_type=token"));

    AuthorizationResponse response = AuthorizationResponse.parse(redirectOf(token));

    assertThat(response.toErrorResponse().getErrorObject().getCode()).isEqualTo("unsupported_response_type");
  }

  @Test
  void aScriptedDenialRedirectsWithAccessDeniedUntilAccessIsGrantedAgain() throws Exception {
    start();
    as.denyAccess();
    Flow flow = new Flow();

    AuthorizationResponse denied = authorize(flow);

    assertThat(denied.indicatesSuccess()).isFalse();
    assertThat(denied.toErrorResponse().getErrorObject().getCode()).isEqualTo("access_denied");
    assertThat(denied.getState()).isEqualTo(flow.state);
    assertThat(denied.getIssuer()).isEqualTo(new Issuer(as.issuer()));
    assertThat(as.lastAuthorizeRequest().error()).isEqualTo("access_denied");
    assertThat(as.issuedCodes()).isZero();

    as.grantAccess();
    assertThat(authorize(new Flow()).indicatesSuccess()).isTrue();
    assertThat(as.issuedCodes()).isEqualTo(1);
  }

  @Test
  void otherScriptedRefusalsUseTheirErrorCode() throws Exception {
    start();
    as.refuseAuthorizations("temporarily_unavailable");

    assertThat(authorize(new Flow()).toErrorResponse().getErrorObject().getCode()).isEqualTo("temporarily_unavailable");
  }

  // ---- RFC 9207 iss, as scripted ----

  @Test
  void issIsPresentOmittedOrWrongAsScripted() throws Exception {
    start();

    assertThat(authorize(new Flow()).getIssuer()).isEqualTo(new Issuer(as.issuer()));

    as.omitIss();
    assertThat(authorize(new Flow()).getIssuer()).isNull();
    assertThat(as.lastAuthorizeRequest().location().getQuery()).doesNotContain("iss=");

    as.sendIss("https://attacker.example");
    assertThat(authorize(new Flow()).getIssuer()).isEqualTo(new Issuer("https://attacker.example"));
    as.denyAccess();
    assertThat(authorize(new Flow()).getIssuer()).as("error responses carry iss too")
        .isEqualTo(new Issuer("https://attacker.example"));

    as.grantAccess().sendCorrectIss();
    assertThat(authorize(new Flow()).getIssuer()).isEqualTo(new Issuer(as.issuer()));
  }

  // ---- Token endpoint refusals ----

  @Test
  void aCodeIsSingleUseAndItsReplayRevokesTheTokensOfTheFirstUse() throws Exception {
    start();
    Flow flow = new Flow();
    AuthorizationCode code = authorize(flow).toSuccessResponse().getAuthorizationCode();
    RefreshToken refreshToken = redeem(flow, code).toSuccessResponse().getTokens().getRefreshToken();

    TokenResponse replay = redeem(flow, code);

    assertThat(error(replay).getCode()).isEqualTo("invalid_grant");
    assertThat(error(refresh(refreshToken)).getCode()).as("the first use's refresh token is revoked")
        .isEqualTo("invalid_grant");
    assertThat(as.tokenCalls("authorization_code")).isEqualTo(2);
    assertThat(as.tokenRequests().get(1).error()).isEqualTo("invalid_grant");
  }

  @Test
  void aWrongOrMissingCodeVerifierIsInvalidGrant() throws Exception {
    start();
    Flow wrong = new Flow();
    Flow missing = new Flow();
    AuthorizationCode wrongCode = authorize(wrong).toSuccessResponse().getAuthorizationCode();
    AuthorizationCode missingCode = authorize(missing).toSuccessResponse().getAuthorizationCode();

    TokenResponse wrongVerifier = exchange(wrongCode, REDIRECT, new CodeVerifier(), null);
    TokenResponse noVerifier = exchange(missingCode, REDIRECT, null, null);

    assertThat(error(wrongVerifier).getCode()).isEqualTo("invalid_grant");
    assertThat(error(noVerifier).getCode()).isEqualTo("invalid_grant");
    assertThat(error(redeem(wrong, wrongCode)).getCode()).as("the failed attempt consumed the code")
        .isEqualTo("invalid_grant");
  }

  @Test
  void aRedirectUriDifferentFromTheAuthorizationRequestIsInvalidGrant() throws Exception {
    URI other = URI.create("http://127.0.0.1:9/other");
    start();
    as.register(Client.confidential(CLIENT_ID.getValue(), SECRET.getValue(), REDIRECT.toString(), other.toString()));
    Flow registeredButDifferent = new Flow();
    Flow trailingSlash = new Flow();
    AuthorizationCode first = authorize(registeredButDifferent).toSuccessResponse().getAuthorizationCode();
    AuthorizationCode second = authorize(trailingSlash).toSuccessResponse().getAuthorizationCode();

    TokenResponse toOther = exchange(first, other, registeredButDifferent.verifier, null);
    TokenResponse withSlash = exchange(second, URI.create(REDIRECT + "/"), trailingSlash.verifier, null);

    for (TokenResponse response : List.of(toOther, withSlash)) {
      assertThat(error(response).getCode()).isEqualTo("invalid_grant");
      assertThat(error(response).getDescription()).contains("redirect_uri");
    }
  }

  @Test
  void aResourceNotInTheAuthorizationRequestIsInvalidTarget() throws Exception {
    start();
    Flow flow = new Flow();
    AuthorizationCode code = authorize(flow).toSuccessResponse().getAuthorizationCode();

    TokenResponse response = exchange(code, REDIRECT, flow.verifier, URI.create("https://other.example.com/mcp"));

    assertThat(error(response).getCode()).isEqualTo("invalid_target");
  }

  @Test
  void anExpiredCodeIsInvalidGrant() throws Exception {
    MutableClock clock = MutableClock.start();
    start(LoopbackAuthorizationServer.builder().clock(clock).codeLifetime(Duration.ofSeconds(30)));
    Flow flow = new Flow();
    AuthorizationCode code = authorize(flow).toSuccessResponse().getAuthorizationCode();

    clock.advance(Duration.ofSeconds(30));

    assertThat(error(redeem(flow, code)).getDescription()).contains("expired");
  }

  // ---- Refresh ----

  @Test
  void refreshTokensRotateAndAReusedOneRevokesTheWholeGrant() throws Exception {
    start();
    Flow flow = new Flow();
    RefreshToken first = redeem(flow, authorize(flow).toSuccessResponse().getAuthorizationCode())
        .toSuccessResponse().getTokens().getRefreshToken();

    OIDCTokenResponse refreshed = success(refresh(first));
    RefreshToken second = refreshed.getTokens().getRefreshToken();

    assertThat(second).isNotNull().isNotEqualTo(first);
    assertThat(refreshed.getTokens().getAccessToken().getScope()).isEqualTo(OIDC_SCOPE);
    IDTokenClaimsSet idToken = idTokenValidator().validate(refreshed.getOIDCTokens().getIDToken(), null);
    assertThat(idToken.getNonce()).as("OIDC §12.2: no nonce after a refresh").isNull();
    assertThat(as.tokenCalls("refresh_token")).isEqualTo(1);

    assertThat(error(refresh(first)).getCode()).as("the retired token").isEqualTo("invalid_grant");
    assertThat(error(refresh(second)).getCode()).as("the grant is revoked").isEqualTo("invalid_grant");
    assertThat(as.tokenCalls("refresh_token")).isEqualTo(3);
  }

  @Test
  void withoutRotationTheRefreshTokenStaysValidAndNoneIsReturned() throws Exception {
    start(LoopbackAuthorizationServer.builder().rotateRefreshTokens(false));
    Flow flow = new Flow();
    RefreshToken token = redeem(flow, authorize(flow).toSuccessResponse().getAuthorizationCode())
        .toSuccessResponse().getTokens().getRefreshToken();

    Tokens once = refresh(token).toSuccessResponse().getTokens();
    Tokens twice = refresh(token).toSuccessResponse().getTokens();

    assertThat(once.getRefreshToken()).isNull();
    assertThat(twice.getAccessToken()).isNotEqualTo(once.getAccessToken());
  }

  @Test
  void aRefreshMayNarrowTheScopeButNotWidenIt() throws Exception {
    start();
    Flow flow = new Flow();
    RefreshToken token = redeem(flow, authorize(flow).toSuccessResponse().getAuthorizationCode())
        .toSuccessResponse().getTokens().getRefreshToken();

    TokenResponse wider = send(new com.nimbusds.oauth2.sdk.TokenRequest.Builder(as.tokenEndpoint(),
        basic(), new RefreshTokenGrant(token)).scope(new Scope("openid", "admin")).build());
    TokenResponse narrower = send(new com.nimbusds.oauth2.sdk.TokenRequest.Builder(as.tokenEndpoint(),
        basic(), new RefreshTokenGrant(token)).scope(new Scope("profile")).build());

    assertThat(error(wider).getCode()).isEqualTo("invalid_scope");
    assertThat(narrower.toSuccessResponse().getTokens().getAccessToken().getScope()).isEqualTo(new Scope("profile"));
  }

  // ---- Forgeries ----

  @Test
  void aForeignIdTokenFailsSignatureValidationWhileAMintedOneValidates() throws Exception {
    start();
    Nonce nonce = new Nonce();

    var foreign = JWTParser.parse(as.foreignIdToken(CLIENT_ID.getValue(), nonce.getValue()));
    var minted = JWTParser.parse(as.mintIdToken(CLIENT_ID.getValue(), c -> c.claim("nonce", nonce.getValue())));

    assertThat(((SignedJWT) foreign).getHeader().getKeyID()).isEqualTo(((SignedJWT) minted).getHeader().getKeyID());
    assertThatThrownBy(() -> idTokenValidator().validate(foreign, nonce)).isInstanceOf(BadJOSEException.class);
    assertThat(idTokenValidator().validate(minted, nonce).getSubject().getValue()).isEqualTo("alice");
  }

  @Test
  void twoServersDoNotAcceptEachOthersIdTokens() throws Exception {
    start();
    try (var other = LoopbackAuthorizationServer.builder().start()) {
      var token = JWTParser.parse(other.mintIdToken(CLIENT_ID.getValue(), c -> c.issuer(as.issuer())));

      assertThatThrownBy(() -> idTokenValidator().validate(token, null)).isInstanceOf(BadJOSEException.class);
    }
  }

  // ---- Helpers ----

  /** One authorization attempt's secrets and parameters. */
  private static final class Flow {
    final CodeVerifier verifier = new CodeVerifier();
    final State state = new State();
    final Nonce nonce = new Nonce();
    private Scope scope = OIDC_SCOPE;
    private ClientID client = CLIENT_ID;
    private URI redirect = REDIRECT;

    Flow scope(Scope s) {
      scope = s;
      return this;
    }

    Flow client(ClientID c) {
      client = c;
      return this;
    }

    Flow redirect(URI r) {
      redirect = r;
      return this;
    }

    /** The OIDC nonce rides along as an extra parameter, so one builder serves OAuth and OIDC flows. */
    AuthorizationRequest request(LoopbackAuthorizationServer server) {
      return new AuthorizationRequest.Builder(ResponseType.CODE, client)
          .endpointURI(server.authorizationEndpoint())
          .redirectionURI(redirect)
          .scope(scope)
          .state(state)
          .customParameter("nonce", nonce.getValue())
          .codeChallenge(verifier, CodeChallengeMethod.S256)
          .resources(RESOURCE)
          .build();
    }
  }

  /** Sends the authorization request and parses the redirect it answers (a 302 is asserted). */
  private AuthorizationResponse authorize(Flow flow) throws Exception {
    return AuthorizationResponse.parse(redirectOf(flow.request(as).toURI()));
  }

  private URI redirectOf(URI authorizationRequest) throws IOException, InterruptedException {
    HttpResponse<String> response = get(authorizationRequest);
    assertThat(response.statusCode()).as(response.body()).isEqualTo(302);
    return URI.create(response.headers().firstValue("Location").orElseThrow());
  }

  private HttpResponse<String> get(URI uri) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private TokenResponse redeem(Flow flow, AuthorizationCode code) throws Exception {
    return redeem(flow, code, basic());
  }

  private TokenResponse redeem(Flow flow, AuthorizationCode code, ClientAuthentication auth) throws Exception {
    return send(new com.nimbusds.oauth2.sdk.TokenRequest.Builder(as.tokenEndpoint(), auth,
        new AuthorizationCodeGrant(code, REDIRECT, flow.verifier)).resource(RESOURCE).build());
  }

  private TokenResponse exchange(AuthorizationCode code, URI redirect, CodeVerifier verifier, URI resource)
      throws Exception {
    var builder = new com.nimbusds.oauth2.sdk.TokenRequest.Builder(as.tokenEndpoint(), basic(),
        new AuthorizationCodeGrant(code, redirect, verifier));
    if (resource != null) {
      builder.resource(resource);
    }
    return send(builder.build());
  }

  private TokenResponse refresh(RefreshToken token) throws Exception {
    return send(new com.nimbusds.oauth2.sdk.TokenRequest.Builder(as.tokenEndpoint(), basic(),
        new RefreshTokenGrant(token)).build());
  }

  private TokenResponse send(com.nimbusds.oauth2.sdk.TokenRequest request) throws Exception {
    return OIDCTokenResponseParser.parse(sendRaw(request));
  }

  private static HTTPResponse sendRaw(com.nimbusds.oauth2.sdk.TokenRequest request) throws IOException {
    HTTPRequest http = request.toHTTPRequest();
    http.setConnectTimeout(5_000);
    http.setReadTimeout(10_000);
    return http.send();
  }

  private static ClientSecretBasic basic() {
    return new ClientSecretBasic(CLIENT_ID, SECRET);
  }

  private static OIDCTokenResponse success(TokenResponse response) {
    assertThat(response.indicatesSuccess()).as(() -> "expected tokens, got " + response.toHTTPResponse().getBody())
        .isTrue();
    return (OIDCTokenResponse) response.toSuccessResponse();
  }

  private static ErrorObject error(TokenResponse response) {
    assertThat(response.indicatesSuccess()).as("expected a token error").isFalse();
    return ((TokenErrorResponse) response).getErrorObject();
  }

  private IDTokenValidator idTokenValidator() throws Exception {
    return new IDTokenValidator(new Issuer(as.issuer()), CLIENT_ID, JWSAlgorithm.RS256, as.jwksUri().toURL());
  }

  private static URI withoutParams(URI uri, String... names) {
    String query = uri.getRawQuery();
    for (String name : names) {
      query = query.replaceAll("(^|&)" + name + "=[^&]*", "");
    }
    return URI.create(uri.toString().substring(0, uri.toString().indexOf('?') + 1) + query.replaceFirst("^&", ""));
  }
}
