package dev.mcpauthz.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.oauth2.sdk.AccessTokenResponse;
import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.AuthorizationErrorResponse;
import com.nimbusds.oauth2.sdk.AuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.GrantType;
import com.nimbusds.oauth2.sdk.OAuth2Error;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.ResponseMode;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.auth.ClientAuthentication;
import com.nimbusds.oauth2.sdk.auth.ClientAuthenticationMethod;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.ClientSecretPost;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallenge;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.oauth2.sdk.token.BearerAccessToken;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.token.Tokens;
import com.nimbusds.oauth2.sdk.util.URLUtils;
import com.nimbusds.openid.connect.sdk.OIDCScopeValue;
import com.nimbusds.openid.connect.sdk.OIDCTokenResponse;
import com.nimbusds.openid.connect.sdk.SubjectType;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import com.nimbusds.openid.connect.sdk.token.OIDCTokens;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * A real OAuth 2.1 / OpenID Connect authorization server on 127.0.0.1 (ephemeral port) for tests of
 * anything that sends a user through an authorization-code flow: plain HTTP clients that follow
 * redirects by hand can drive it exactly as they would drive a production provider.
 *
 * <ul>
 *   <li>Discovery: RFC 8414 metadata at {@code /.well-known/oauth-authorization-server<issuer path>}
 *       and OpenID Connect metadata at {@code <issuer>/.well-known/openid-configuration}; the same
 *       document, as real providers serve it.
 *   <li>{@code GET <issuer>/authorize}: the authorization-code flow with PKCE S256 (required), RFC 8707
 *       resource indicators and RFC 9207 {@code iss}. The user is "signed in" without a login page
 *       as the subject chosen by {@link #signInAs}. Errors about the client or its redirect_uri are a
 *       400 page (RFC 6749 §4.1.2.1 forbids redirecting them); all others are error redirects.
 *   <li>{@code POST <issuer>/token}: authorization_code and refresh_token grants;
 *       client_secret_basic, client_secret_post, or none for public clients. ID tokens when the
 *       scope has {@code openid}; access tokens opaque or RFC 9068 JWTs.
 *   <li>{@code GET <issuer>/jwks}: the public signing key.
 * </ul>
 *
 * <p>Scriptable at any time: the signed-in user, a refusal ({@link #denyAccess}), and the RFC 9207
 * {@code iss} of authorization responses (omitted, or wrong as in a mix-up attack). Every
 * authorization and token request is recorded with what the server answered.
 *
 * <p>Stricter than the specifications require, where being strict exposes client bugs: redirect_uri
 * is required even for a client with one registered URI; a code is consumed by the first token
 * request that names it, whether or not that request succeeds; a second use of a code and the reuse
 * of a rotated refresh token revoke every refresh token of that grant (OAuth 2.1 §4.1.3, §4.3.1).
 */
public final class LoopbackAuthorizationServer implements AutoCloseable {
  public static final String DEFAULT_ISSUER_PATH = "/realms/loopback";
  public static final String DEFAULT_SUBJECT = "alice";

  /** S256 challenges are the unpadded base64url encoding of a SHA-256 digest (RFC 7636 §4.2). */
  private static final Pattern S256_CHALLENGE = Pattern.compile("[A-Za-z0-9_-]{43}");
  private static final SecureRandom RANDOM = new SecureRandom();

  /**
   * A registered client. Redirect URIs are compared as strings, exactly (OAuth 2.1 §2.3.1).
   *
   * @param secret null for a public client (token endpoint auth method {@code none})
   */
  public record Client(String id, String secret, List<String> redirectUris) {
    public Client {
      if (redirectUris.isEmpty()) {
        throw new IllegalArgumentException("a client needs at least one redirect URI");
      }
      redirectUris = List.copyOf(redirectUris);
    }

    public static Client confidential(String id, String secret, String... redirectUris) {
      return new Client(id, secret, List.of(redirectUris));
    }

    public static Client publicClient(String id, String... redirectUris) {
      return new Client(id, null, List.of(redirectUris));
    }

    public boolean isPublic() {
      return secret == null;
    }

    @Override
    public String toString() {
      return "Client[" + id + (isPublic() ? ", public" : ", confidential") + ", " + redirectUris + "]";
    }
  }

  public enum AccessTokenFormat {
    /** Random strings, meaningless to anyone but this server. */
    OPAQUE,
    /** RFC 9068 JWTs signed with the published key: aud = the resources, else the client_id. */
    JWT
  }

  /**
   * One request to the authorization endpoint and the answer.
   *
   * @param parameters the query parameters, decoded; repeated names keep every value
   * @param subject the user who was signed in; null when the request was refused before sign-in
   * @param status 302 for a redirect to the client, 400 for an error page, 405 for a wrong method
   * @param location the redirect, with {@code code} or {@code error}; null for an error page
   * @param error the OAuth error code sent or shown; null when a code was issued
   */
  public record AuthorizeRequest(Instant receivedAt, Map<String, List<String>> parameters, String subject, int status,
      URI location, String error) {
    public String param(String name) {
      List<String> v = parameters.get(name);
      return v == null || v.isEmpty() ? null : v.get(0);
    }

    public String clientId() {
      return param("client_id");
    }

    public String redirectUri() {
      return param("redirect_uri");
    }

    public String state() {
      return param("state");
    }

    public String nonce() {
      return param("nonce");
    }

    public String scope() {
      return param("scope");
    }

    public String codeChallenge() {
      return param("code_challenge");
    }

    public String codeChallengeMethod() {
      return param("code_challenge_method");
    }

    /** Every RFC 8707 {@code resource} parameter, in order. */
    public List<String> resources() {
      return parameters.getOrDefault("resource", List.of());
    }
  }

  /**
   * One request to the token endpoint and the answer.
   *
   * @param clientId the client that authenticated or identified itself; null when the request could
   *     not be parsed that far
   * @param clientAuthMethod {@code client_secret_basic}, {@code client_secret_post} or {@code none}
   * @param parameters the form parameters, decoded; {@code client_secret} is never recorded
   * @param error the OAuth error code of a refusal; null on success
   */
  public record TokenRequest(Instant receivedAt, String grantType, String clientId, String clientAuthMethod,
      Map<String, List<String>> parameters, int status, String error) {
    public String param(String name) {
      List<String> v = parameters.get(name);
      return v == null || v.isEmpty() ? null : v.get(0);
    }

    public List<String> resources() {
      return parameters.getOrDefault("resource", List.of());
    }

    public boolean succeeded() {
      return status == 200;
    }
  }

  /** Settings fixed for the server's life; clients can also be registered later. */
  public static final class Builder {
    private String issuerPath = DEFAULT_ISSUER_PATH;
    private final List<Client> clients = new ArrayList<>();
    private AccessTokenFormat accessTokens = AccessTokenFormat.OPAQUE;
    private Duration accessTokenLifetime = Duration.ofMinutes(5);
    private Duration codeLifetime = Duration.ofMinutes(1);
    private boolean rotateRefreshTokens = true;
    private boolean issParameterSupported = true;
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /** The path of the issuer URL after {@code http://127.0.0.1:<port>}; must start with '/'. */
    public Builder issuerPath(String path) {
      if (!path.startsWith("/") || path.endsWith("/")) {
        throw new IllegalArgumentException("issuer path must start and not end with '/': " + path);
      }
      this.issuerPath = path;
      return this;
    }

    public Builder client(Client client) {
      clients.add(client);
      return this;
    }

    public Builder accessTokens(AccessTokenFormat format) {
      this.accessTokens = format;
      return this;
    }

    /** {@code expires_in} of access tokens, and the life of ID tokens. */
    public Builder accessTokenLifetime(Duration lifetime) {
      this.accessTokenLifetime = lifetime;
      return this;
    }

    public Builder codeLifetime(Duration lifetime) {
      this.codeLifetime = lifetime;
      return this;
    }

    /**
     * On (default): every refresh answers a new refresh token and retires the one presented. Off: a
     * refresh answers no refresh_token and the presented one stays valid (RFC 6749 §6).
     */
    public Builder rotateRefreshTokens(boolean rotate) {
      this.rotateRefreshTokens = rotate;
      return this;
    }

    /**
     * RFC 9207. Off: the metadata says {@code authorization_response_iss_parameter_supported: false}
     * and responses carry no {@code iss} (until a test {@linkplain #sendIss sends one} anyway).
     */
    public Builder issParameterSupported(boolean supported) {
      this.issParameterSupported = supported;
      return this;
    }

    /** Stamps recordings and tokens and expires codes: a {@link MutableClock} lets codes expire at once. */
    public Builder clock(Clock clock) {
      this.clock = clock;
      return this;
    }

    public LoopbackAuthorizationServer start() {
      try {
        return new LoopbackAuthorizationServer(this);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** What a user authorized: the root of codes and refresh tokens, and what reuse revokes. */
  private record Grant(String id, String clientId, String subject, Scope scope, List<String> resources,
      Instant authTime) {}

  private record IssuedCode(Grant grant, String redirectUri, String codeChallenge, String nonce, Instant expiresAt) {}

  /** What the authorization endpoint answers: a redirect to the client, or a page for the user. */
  private sealed interface Answer {
    record Redirect(URI location, String subject, String error) implements Answer {}

    record ErrorPage(ErrorObject error) implements Answer {}
  }

  /** The client as the token request presents it, before its credentials are checked. */
  private record Caller(String clientId, String method, String secret) {}

  /** A token request refused with an OAuth error (RFC 6749 §5.2). */
  private static final class Refusal extends Exception {
    final ErrorObject error;

    Refusal(ErrorObject error, String description) {
      super(description, null, false, false);
      this.error = error.setDescription(description);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Map<String, Handler> routes = new LinkedHashMap<>();
  private final String issuer;
  private final String issuerPath;
  private final AccessTokenFormat accessTokenFormat;
  private final Duration accessTokenLifetime;
  private final Duration codeLifetime;
  private final boolean rotateRefreshTokens;
  private final boolean issParameterSupported;
  private final Clock clock;
  private final RSAKey signingKey;
  private RSAKey foreignKey; // guarded by this
  private final String metadataJson;

  private final Map<String, Client> clients = new ConcurrentHashMap<>();
  private final Map<String, IssuedCode> codes = new ConcurrentHashMap<>();
  private final Set<String> redeemedCodes = ConcurrentHashMap.newKeySet();
  private final Map<String, Grant> refreshTokens = new ConcurrentHashMap<>();
  /** Retired refresh token → grant id, to recognise reuse after rotation. */
  private final Map<String, String> rotatedRefreshTokens = new ConcurrentHashMap<>();

  private volatile String subject = DEFAULT_SUBJECT;
  private volatile ErrorObject scriptedRefusal;
  private volatile Issuer issInResponses;

  private final List<AuthorizeRequest> authorizeRequests = new CopyOnWriteArrayList<>();
  private final List<TokenRequest> tokenRequests = new CopyOnWriteArrayList<>();
  private final AtomicInteger issuedCodes = new AtomicInteger();

  @FunctionalInterface
  private interface Handler {
    void handle(HttpExchange exchange) throws IOException;
  }

  private LoopbackAuthorizationServer(Builder b) throws IOException {
    issuerPath = b.issuerPath;
    accessTokenFormat = b.accessTokens;
    accessTokenLifetime = b.accessTokenLifetime;
    codeLifetime = b.codeLifetime;
    rotateRefreshTokens = b.rotateRefreshTokens;
    issParameterSupported = b.issParameterSupported;
    clock = b.clock;
    b.clients.forEach(this::register);
    // A key and kid of its own: two servers in one test must not accept each other's tokens.
    signingKey = newKey("loopback-" + HexFormat.of().formatHex(randomBytes(4)));

    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setExecutor(executor);
    issuer = "http://127.0.0.1:" + server.getAddress().getPort() + issuerPath;
    issInResponses = issParameterSupported ? new Issuer(issuer) : null;
    metadataJson = metadata().toJSONObject().toJSONString();
    routes.put("/.well-known/oauth-authorization-server" + issuerPath, this::discovery);
    routes.put(issuerPath + "/.well-known/openid-configuration", this::discovery);
    routes.put(issuerPath + "/authorize", this::authorize);
    routes.put(issuerPath + "/token", this::token);
    routes.put(issuerPath + "/jwks", this::jwks);
    server.createContext("/", this::route);
    server.start();
  }

  public static Builder builder() {
    return new Builder();
  }

  // ---- Addresses ----

  public String issuer() {
    return issuer;
  }

  public URI authorizationEndpoint() {
    return URI.create(issuer + "/authorize");
  }

  public URI tokenEndpoint() {
    return URI.create(issuer + "/token");
  }

  public URI jwksUri() {
    return URI.create(issuer + "/jwks");
  }

  /** RFC 8414 §3.1: the well-known segment goes between the host and the issuer's path. */
  public URI rfc8414MetadataUri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/.well-known/oauth-authorization-server"
        + issuerPath);
  }

  public URI openIdConfigurationUri() {
    return URI.create(issuer + "/.well-known/openid-configuration");
  }

  /** The published keys (public parts only). */
  public JWKSet jwkSet() {
    return new JWKSet(signingKey.toPublicJWK());
  }

  // ---- Scripting ----

  /** Registers a client, or replaces the one with the same id (e.g. once a callback port is known). */
  public LoopbackAuthorizationServer register(Client client) {
    clients.put(client.id(), client);
    return this;
  }

  /** The user every following authorization signs in as. */
  public LoopbackAuthorizationServer signInAs(String subject) {
    this.subject = subject;
    return this;
  }

  /** From now on the user refuses consent: authorizations redirect with {@code error=access_denied}. */
  public LoopbackAuthorizationServer denyAccess() {
    return refuseAuthorizations(OAuth2Error.ACCESS_DENIED_CODE);
  }

  /**
   * From now on valid authorizations redirect with this error instead of a code (RFC 6749 §4.1.2.1
   * or OIDC §3.1.2.6, e.g. {@code login_required}, {@code temporarily_unavailable}).
   */
  public LoopbackAuthorizationServer refuseAuthorizations(String errorCode) {
    this.scriptedRefusal = new ErrorObject(errorCode, "refused as scripted by the test");
    return this;
  }

  /** Undoes {@link #denyAccess} and {@link #refuseAuthorizations}: codes are issued again. */
  public LoopbackAuthorizationServer grantAccess() {
    this.scriptedRefusal = null;
    return this;
  }

  /** From now on authorization responses (codes and errors) carry no {@code iss}. */
  public LoopbackAuthorizationServer omitIss() {
    this.issInResponses = null;
    return this;
  }

  /** From now on authorization responses carry this {@code iss}, e.g. another server's (a mix-up). */
  public LoopbackAuthorizationServer sendIss(String iss) {
    this.issInResponses = new Issuer(iss);
    return this;
  }

  /** From now on authorization responses carry this server's issuer as {@code iss}. */
  public LoopbackAuthorizationServer sendCorrectIss() {
    this.issInResponses = new Issuer(issuer);
    return this;
  }

  // ---- What happened ----

  public List<AuthorizeRequest> authorizeRequests() {
    return List.copyOf(authorizeRequests);
  }

  /** @throws AssertionError when there was none */
  public AuthorizeRequest lastAuthorizeRequest() {
    return last(authorizeRequests, "authorization request");
  }

  public List<TokenRequest> tokenRequests() {
    return List.copyOf(tokenRequests);
  }

  /** @throws AssertionError when there was none */
  public TokenRequest lastTokenRequest() {
    return last(tokenRequests, "token request");
  }

  /** Authorization codes issued so far. */
  public int issuedCodes() {
    return issuedCodes.get();
  }

  /** Token requests with this {@code grant_type} so far, refused ones included. */
  public int tokenCalls(String grantType) {
    return (int) tokenRequests.stream().filter(r -> grantType.equals(r.grantType())).count();
  }

  private static <T> T last(List<T> list, String what) {
    if (list.isEmpty()) {
      throw new AssertionError("no " + what + " was received");
    }
    return list.get(list.size() - 1);
  }

  // ---- Forgeries for attack tests ----

  /**
   * An ID token for {@code clientId} signed with the published key: defaults as this server issues
   * them (sub = the signed-in user, exp after the access-token lifetime), then customised, e.g. to
   * expire it, change its audience or drop its nonce.
   */
  public String mintIdToken(String clientId, Consumer<JWTClaimsSet.Builder> customise) {
    JWTClaimsSet.Builder claims = idTokenClaims(clientId, subject, null, clock.instant(), clock.instant());
    customise.accept(claims);
    return sign(signingKey, JOSEObjectType.JWT, claims.build());
  }

  /**
   * An ID token that looks issued by this server (same iss, kid and claims) but is signed by a key
   * that was never published: only signature verification can tell it apart.
   */
  public String foreignIdToken(String clientId, String nonce) {
    JWTClaimsSet claims = idTokenClaims(clientId, subject, nonce, clock.instant(), clock.instant()).build();
    return sign(foreignKey(), JOSEObjectType.JWT, claims);
  }

  /** Generated on first use: most tests never forge, and a 2048-bit key takes a while. */
  private synchronized RSAKey foreignKey() {
    if (foreignKey == null) {
      foreignKey = newKey(signingKey.getKeyID());
    }
    return foreignKey;
  }

  // ---- HTTP ----

  private void route(HttpExchange ex) throws IOException {
    try (ex) {
      Handler handler = routes.get(ex.getRequestURI().getPath());
      if (handler == null) {
        sendText(ex, 404, "text/plain", "not found");
        return;
      }
      try {
        handler.handle(ex);
      } catch (RuntimeException e) { // a fixture bug: show it to the client and in the test output
        e.printStackTrace();
        sendText(ex, 500, "text/plain", "loopback authorization server failed: " + e);
      }
    }
  }

  private OIDCProviderMetadata metadata() {
    OIDCProviderMetadata m = new OIDCProviderMetadata(new Issuer(issuer), List.of(SubjectType.PUBLIC), jwksUri());
    m.setAuthorizationEndpointURI(authorizationEndpoint());
    m.setTokenEndpointURI(tokenEndpoint());
    m.setResponseTypes(List.of(ResponseType.CODE));
    m.setResponseModes(List.of(ResponseMode.QUERY));
    m.setGrantTypes(List.of(GrantType.AUTHORIZATION_CODE, GrantType.REFRESH_TOKEN));
    m.setCodeChallengeMethods(List.of(CodeChallengeMethod.S256));
    m.setTokenEndpointAuthMethods(List.of(ClientAuthenticationMethod.CLIENT_SECRET_BASIC,
        ClientAuthenticationMethod.CLIENT_SECRET_POST, ClientAuthenticationMethod.NONE));
    m.setIDTokenJWSAlgs(List.of(JWSAlgorithm.RS256));
    m.setScopes(new Scope(OIDCScopeValue.OPENID, OIDCScopeValue.PROFILE, OIDCScopeValue.EMAIL,
        OIDCScopeValue.OFFLINE_ACCESS));
    m.setSupportsAuthorizationResponseIssuerParam(issParameterSupported);
    return m;
  }

  private void discovery(HttpExchange ex) throws IOException {
    sendText(ex, 200, "application/json", metadataJson);
  }

  private void jwks(HttpExchange ex) throws IOException {
    sendText(ex, 200, "application/json", jwkSet().toString());
  }

  // ---- Authorization endpoint ----

  private void authorize(HttpExchange ex) throws IOException {
    Map<String, List<String>> params = frozen(URLUtils.parseParameters(ex.getRequestURI().getRawQuery()));
    Instant receivedAt = clock.instant();
    if (!ex.getRequestMethod().equals("GET")) {
      authorizeRequests.add(new AuthorizeRequest(receivedAt, params, null, 405, null, null));
      sendText(ex, 405, "text/plain", "GET only");
      return;
    }
    switch (decide(params)) {
      case Answer.Redirect r -> {
        authorizeRequests.add(new AuthorizeRequest(receivedAt, params, r.subject(), 302, r.location(), r.error()));
        ex.getResponseHeaders().set("Location", r.location().toString());
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(302, -1);
      }
      case Answer.ErrorPage p -> {
        authorizeRequests.add(new AuthorizeRequest(receivedAt, params, null, 400, null, p.error().getCode()));
        sendText(ex, 400, "text/html; charset=utf-8", "<!doctype html><title>Authorization failed</title><h1>"
            + html(p.error().getCode()) + "</h1><p>" + html(p.error().getDescription()) + "</p>");
      }
    }
  }

  private Answer decide(Map<String, List<String>> p) {
    // RFC 6749 §4.1.2.1: with an unknown client or an unregistered redirect_uri an error redirect
    // would make this server an open redirector, so the user gets a page instead.
    if (repeated(p, "client_id") || repeated(p, "redirect_uri")) {
      return page(OAuth2Error.INVALID_REQUEST, "client_id and redirect_uri must not be repeated");
    }
    String clientId = first(p, "client_id");
    Client client = clientId == null ? null : clients.get(clientId);
    if (client == null) {
      return page(OAuth2Error.INVALID_CLIENT, "unknown client_id");
    }
    String redirectUri = first(p, "redirect_uri");
    if (!client.redirectUris().contains(redirectUri)) {
      return page(OAuth2Error.INVALID_REQUEST, "redirect_uri is missing or not registered for this client");
    }
    String state = first(p, "state");
    ErrorObject invalid = invalidAuthorization(p);
    if (invalid != null) {
      return errorRedirect(redirectUri, invalid, state, null);
    }
    String user = subject;
    ErrorObject refusal = scriptedRefusal;
    if (refusal != null) {
      return errorRedirect(redirectUri, refusal, state, user);
    }
    String code = issueCode(client, redirectUri, p, user);
    URI location = new AuthorizationSuccessResponse(URI.create(redirectUri), new AuthorizationCode(code), null,
        state(state), issInResponses, ResponseMode.QUERY).toURI();
    return new Answer.Redirect(location, user, null);
  }

  /** The checks that, failing, are reported to the client by redirect; null when the request is valid. */
  private static ErrorObject invalidAuthorization(Map<String, List<String>> p) {
    for (var e : p.entrySet()) {
      if (e.getValue().size() > 1 && !e.getKey().equals("resource")) { // RFC 6749 §3.1; RFC 8707 §2 repeats resource
        return OAuth2Error.INVALID_REQUEST.setDescription(e.getKey() + " must not be repeated");
      }
    }
    String responseType = first(p, "response_type");
    if (responseType == null) {
      return OAuth2Error.INVALID_REQUEST.setDescription("response_type is required");
    }
    if (!responseType.equals("code")) {
      return OAuth2Error.UNSUPPORTED_RESPONSE_TYPE.setDescription("only response_type=code is supported");
    }
    String challenge = first(p, "code_challenge");
    if (challenge == null) {
      return OAuth2Error.INVALID_REQUEST.setDescription("code_challenge is required (PKCE)");
    }
    // RFC 7636 §4.4.1: an unsupported method, including the "plain" default, is invalid_request.
    if (!"S256".equals(first(p, "code_challenge_method"))) {
      return OAuth2Error.INVALID_REQUEST.setDescription("transform algorithm not supported: use S256");
    }
    if (!S256_CHALLENGE.matcher(challenge).matches()) {
      return OAuth2Error.INVALID_REQUEST.setDescription("code_challenge is not an S256 challenge");
    }
    for (String resource : p.getOrDefault("resource", List.of())) {
      if (!isResourceIndicator(resource)) {
        return OAuth2Error.INVALID_TARGET.setDescription("resource must be an absolute URI without a fragment");
      }
    }
    return null;
  }

  private String issueCode(Client client, String redirectUri, Map<String, List<String>> p, String user) {
    Instant now = clock.instant();
    String scope = first(p, "scope");
    Grant grant = new Grant(UUID.randomUUID().toString(), client.id(), user, scope == null ? null : Scope.parse(scope),
        List.copyOf(p.getOrDefault("resource", List.of())), now);
    String code = randomValue();
    codes.put(code, new IssuedCode(grant, redirectUri, first(p, "code_challenge"), first(p, "nonce"),
        now.plus(codeLifetime)));
    issuedCodes.incrementAndGet();
    return code;
  }

  private Answer errorRedirect(String redirectUri, ErrorObject error, String state, String user) {
    URI location = new AuthorizationErrorResponse(URI.create(redirectUri), error, state(state), issInResponses,
        ResponseMode.QUERY).toURI();
    return new Answer.Redirect(location, user, error.getCode());
  }

  private static Answer page(ErrorObject error, String description) {
    return new Answer.ErrorPage(error.setDescription(description));
  }

  // ---- Token endpoint ----

  private void token(HttpExchange ex) throws IOException {
    Instant receivedAt = clock.instant();
    String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    Map<String, List<String>> form = new LinkedHashMap<>(URLUtils.parseParameters(body));
    form.remove("client_secret"); // recorded requests never hold secrets
    form = frozen(form);
    String grantType = first(form, "grant_type");
    if (!ex.getRequestMethod().equals("POST")) {
      tokenRequests.add(new TokenRequest(receivedAt, grantType, null, null, form, 405, null));
      sendText(ex, 405, "text/plain", "POST only");
      return;
    }
    Caller caller = null;
    HTTPResponse response;
    String error = null;
    try {
      var request = com.nimbusds.oauth2.sdk.TokenRequest.parse(toNimbus(ex, body));
      caller = caller(request);
      Client client = authenticate(caller);
      response = grant(client, request, first(form, "redirect_uri"));
    } catch (ParseException e) {
      ErrorObject parseError = e.getErrorObject() != null ? e.getErrorObject() : OAuth2Error.INVALID_REQUEST;
      error = parseError.getCode();
      response = new TokenErrorResponse(parseError.setDescription(e.getMessage())).toHTTPResponse();
    } catch (Refusal r) {
      error = r.error.getCode();
      response = refusalResponse(r, caller);
    }
    tokenRequests.add(new TokenRequest(receivedAt, grantType, caller == null ? null : caller.clientId(),
        caller == null ? null : caller.method(), form, response.getStatusCode(), error));
    send(ex, response);
  }

  private HTTPRequest toNimbus(HttpExchange ex, String body) {
    HTTPRequest request = new HTTPRequest(HTTPRequest.Method.POST, tokenEndpoint());
    ex.getRequestHeaders().forEach((name, values) -> request.setHeader(name, values.toArray(String[]::new)));
    request.setBody(body);
    return request;
  }

  private static Caller caller(com.nimbusds.oauth2.sdk.TokenRequest request) throws Refusal {
    if (request.getClientAuthenticationCandidates() != null && request.getClientAuthenticationCandidates().size() > 1) {
      throw new Refusal(OAuth2Error.INVALID_REQUEST, "more than one client authentication method"); // RFC 6749 §2.3
    }
    ClientAuthentication auth = request.getClientAuthentication();
    return switch (auth) {
      case null -> {
        if (request.getClientID() == null) {
          throw new Refusal(OAuth2Error.INVALID_CLIENT, "no client authentication and no client_id");
        }
        yield new Caller(request.getClientID().getValue(), ClientAuthenticationMethod.NONE.getValue(), null);
      }
      case ClientSecretBasic b -> new Caller(b.getClientID().getValue(), b.getMethod().getValue(),
          b.getClientSecret().getValue());
      case ClientSecretPost p -> new Caller(p.getClientID().getValue(), p.getMethod().getValue(),
          p.getClientSecret().getValue());
      default -> throw new Refusal(OAuth2Error.INVALID_CLIENT, auth.getMethod() + " is not supported");
    };
  }

  private Client authenticate(Caller caller) throws Refusal {
    Client client = clients.get(caller.clientId());
    if (client == null) {
      throw new Refusal(OAuth2Error.INVALID_CLIENT, "unknown client");
    }
    if (client.isPublic() != (caller.secret() == null)) {
      throw new Refusal(OAuth2Error.INVALID_CLIENT, client.isPublic()
          ? "a public client does not authenticate" : "client authentication required");
    }
    if (!client.isPublic() && !client.secret().equals(caller.secret())) {
      throw new Refusal(OAuth2Error.INVALID_CLIENT, "client authentication failed");
    }
    return client;
  }

  private HTTPResponse grant(Client client, com.nimbusds.oauth2.sdk.TokenRequest request, String redirectUri)
      throws Refusal {
    return switch (request.getAuthorizationGrant()) {
      case AuthorizationCodeGrant code -> redeem(client, code, request.getResources(), redirectUri);
      case RefreshTokenGrant refresh -> refresh(client, refresh, request.getScope(), request.getResources());
      default -> throw new Refusal(OAuth2Error.UNSUPPORTED_GRANT_TYPE, "only authorization_code and refresh_token");
    };
  }

  /** {@code redirectUri} is the form value as sent: compared as a string, like at the authorization endpoint. */
  private HTTPResponse redeem(Client client, AuthorizationCodeGrant g, List<URI> resources, String redirectUri)
      throws Refusal {
    String value = g.getAuthorizationCode().getValue();
    IssuedCode code = codes.get(value);
    if (code == null) {
      throw new Refusal(OAuth2Error.INVALID_GRANT, "unknown authorization code");
    }
    if (!redeemedCodes.add(value)) {
      // OAuth 2.1 §4.1.3: a replayed code may be stolen; take back what its first use obtained.
      revoke(code.grant().id());
      throw new Refusal(OAuth2Error.INVALID_GRANT, "authorization code was already used");
    }
    if (!clock.instant().isBefore(code.expiresAt())) {
      throw new Refusal(OAuth2Error.INVALID_GRANT, "authorization code expired");
    }
    if (!code.grant().clientId().equals(client.id())) {
      throw new Refusal(OAuth2Error.INVALID_GRANT, "authorization code was issued to another client");
    }
    if (!code.redirectUri().equals(redirectUri)) {
      throw new Refusal(OAuth2Error.INVALID_GRANT, "redirect_uri differs from the authorization request");
    }
    verifyPkce(code, g.getCodeVerifier());
    List<String> audience = narrow(code.grant().resources(), resources);
    return issue(code.grant(), code.grant().scope(), audience, code.nonce(), true);
  }

  /** RFC 7636 §4.6: the verifier must hash to the challenge of the authorization request. */
  private static void verifyPkce(IssuedCode code, CodeVerifier verifier) throws Refusal {
    if (verifier == null) {
      throw new Refusal(OAuth2Error.INVALID_GRANT, "code_verifier is required");
    }
    if (!CodeChallenge.compute(CodeChallengeMethod.S256, verifier).getValue().equals(code.codeChallenge())) {
      throw new Refusal(OAuth2Error.INVALID_GRANT, "code_verifier does not match the code_challenge");
    }
  }

  private HTTPResponse refresh(Client client, RefreshTokenGrant g, Scope requestedScope, List<URI> resources)
      throws Refusal {
    String value = g.getRefreshToken().getValue();
    Grant grant = refreshTokens.get(value);
    if (grant == null) {
      String rotatedFrom = rotatedRefreshTokens.get(value);
      if (rotatedFrom != null) {
        throw reused(rotatedFrom);
      }
      throw new Refusal(OAuth2Error.INVALID_GRANT, "unknown or revoked refresh token");
    }
    if (!grant.clientId().equals(client.id())) {
      throw new Refusal(OAuth2Error.INVALID_GRANT, "refresh token was issued to another client");
    }
    Scope scope = narrow(grant.scope(), requestedScope);
    List<String> audience = narrow(grant.resources(), resources);
    if (rotateRefreshTokens) {
      if (!refreshTokens.remove(value, grant)) {
        throw reused(grant.id()); // a concurrent request rotated it first
      }
      rotatedRefreshTokens.put(value, grant.id());
    }
    return issue(grant, scope, audience, null, rotateRefreshTokens);
  }

  /** OAuth 2.1 §4.3.1: a retired refresh token coming back means one copy leaked; end the grant. */
  private Refusal reused(String grantId) {
    revoke(grantId);
    return new Refusal(OAuth2Error.INVALID_GRANT, "refresh token was already rotated; the grant is revoked");
  }

  private void revoke(String grantId) {
    refreshTokens.values().removeIf(g -> g.id().equals(grantId));
  }

  /** RFC 6749 §6: a refresh may ask for less scope, never more; absent = as granted. */
  private static Scope narrow(Scope granted, Scope requested) throws Refusal {
    if (requested == null) {
      return granted;
    }
    if (granted == null || !granted.containsAll(requested)) {
      throw new Refusal(OAuth2Error.INVALID_SCOPE, "scope exceeds what was granted");
    }
    return requested;
  }

  /** RFC 8707 §2.2: the token request may name resources of the grant, never others; absent = all. */
  private static List<String> narrow(List<String> granted, List<URI> requested) throws Refusal {
    if (requested == null || requested.isEmpty()) {
      return granted;
    }
    List<String> audience = requested.stream().map(URI::toString).toList();
    if (!granted.containsAll(audience)) {
      throw new Refusal(OAuth2Error.INVALID_TARGET, "resource was not part of the authorization request");
    }
    return audience;
  }

  private HTTPResponse issue(Grant grant, Scope scope, List<String> audience, String nonce, boolean withRefreshToken) {
    Instant now = clock.instant();
    var accessToken = new BearerAccessToken(accessTokenValue(grant, scope, audience, now),
        accessTokenLifetime.toSeconds(), scope);
    RefreshToken refreshToken = null;
    if (withRefreshToken) {
      refreshToken = new RefreshToken(randomValue());
      refreshTokens.put(refreshToken.getValue(), grant);
    }
    if (scope != null && scope.contains(OIDCScopeValue.OPENID)) {
      // OIDC §12.2: an ID token from a refresh keeps auth_time and carries no nonce.
      JWTClaimsSet idToken = idTokenClaims(grant.clientId(), grant.subject(), nonce, grant.authTime(), now).build();
      return new OIDCTokenResponse(new OIDCTokens(sign(signingKey, JOSEObjectType.JWT, idToken), accessToken,
          refreshToken)).toHTTPResponse();
    }
    return new AccessTokenResponse(new Tokens(accessToken, refreshToken)).toHTTPResponse();
  }

  private String accessTokenValue(Grant grant, Scope scope, List<String> audience, Instant now) {
    if (accessTokenFormat == AccessTokenFormat.OPAQUE) {
      return randomValue();
    }
    JWTClaimsSet claims = new JWTClaimsSet.Builder()
        .issuer(issuer)
        .subject(grant.subject())
        .audience(audience.isEmpty() ? List.of(grant.clientId()) : audience)
        .claim("client_id", grant.clientId())
        .claim("scope", scope == null ? null : scope.toString())
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(accessTokenLifetime)))
        .jwtID(UUID.randomUUID().toString())
        .build();
    return sign(signingKey, new JOSEObjectType("at+jwt"), claims); // RFC 9068 §2.1
  }

  private JWTClaimsSet.Builder idTokenClaims(String clientId, String sub, String nonce, Instant authTime, Instant now) {
    return new JWTClaimsSet.Builder()
        .issuer(issuer)
        .subject(sub)
        .audience(clientId)
        .claim("nonce", nonce)
        .claim("auth_time", authTime.getEpochSecond())
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(accessTokenLifetime)));
  }

  private static HTTPResponse refusalResponse(Refusal r, Caller caller) {
    HTTPResponse response = new TokenErrorResponse(r.error).toHTTPResponse();
    // RFC 6749 §5.2: a 401 must challenge with the scheme the client tried.
    if (response.getStatusCode() == 401 && caller != null && caller.method().equals("client_secret_basic")) {
      response.setHeader("WWW-Authenticate", "Basic realm=\"loopback\"");
    }
    return response;
  }

  // ---- Helpers ----

  private static void send(HttpExchange ex, HTTPResponse response) throws IOException {
    response.getHeaderMap().forEach((name, values) -> values.forEach(v -> ex.getResponseHeaders().add(name, v)));
    byte[] bytes = response.getBody() == null ? new byte[0] : response.getBody().getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(response.getStatusCode(), bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      ex.getResponseBody().write(bytes);
    }
  }

  private static void sendText(HttpExchange ex, int status, String contentType, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", contentType);
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
  }

  /** An unmodifiable copy in the original order, for records shared with test threads. */
  private static Map<String, List<String>> frozen(Map<String, List<String>> params) {
    Map<String, List<String>> copy = new LinkedHashMap<>();
    params.forEach((name, values) -> copy.put(name, List.copyOf(values)));
    return Collections.unmodifiableMap(copy);
  }

  private static String first(Map<String, List<String>> params, String name) {
    List<String> v = params.get(name);
    return v == null || v.isEmpty() ? null : v.get(0);
  }

  private static boolean repeated(Map<String, List<String>> params, String name) {
    List<String> v = params.get(name);
    return v != null && v.size() > 1;
  }

  private static State state(String value) {
    return value == null ? null : new State(value);
  }

  private static boolean isResourceIndicator(String value) {
    try {
      URI uri = new URI(value);
      return uri.isAbsolute() && uri.getFragment() == null;
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  private static String html(String text) {
    return text == null ? "" : text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private static String sign(RSAKey key, JOSEObjectType type, JWTClaimsSet claims) {
    JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).type(type).build();
    return TestIssuer.sign(key, header, claims);
  }

  private static RSAKey newKey(String kid) {
    try {
      return new RSAKeyGenerator(2048).keyID(kid).algorithm(JWSAlgorithm.RS256).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** 256 random bits, base64url: codes and tokens nobody can guess (RFC 6749 §10.10). */
  private static String randomValue() {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(32));
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  @Override
  public String toString() {
    return "LoopbackAuthorizationServer[" + issuer + "]";
  }
}
