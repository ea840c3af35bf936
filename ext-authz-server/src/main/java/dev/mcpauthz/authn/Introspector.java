package dev.mcpauthz.authn;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.TokenIntrospectionRequest;
import com.nimbusds.oauth2.sdk.TokenIntrospectionResponse;
import com.nimbusds.oauth2.sdk.TokenIntrospectionSuccessResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.http.HTTPResponse;
import com.nimbusds.oauth2.sdk.id.Audience;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.BearerAccessToken;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.mcpauthz.config.AuthzConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RFC 7662 token introspection for opaque tokens, through Nimbus' request/response types.
 *
 * <p>Results are cached under a SHA-256 digest of the token (the token itself is never kept):
 * active results no longer than the token's {@code exp} and {@code cache_max_ttl}, inactive ones
 * for {@code negative_cache_ttl}. Caffeine's async cache gives one introspection per token at a
 * time: concurrent callers share the request in flight. Failures (IdP down, 5xx, invalid client)
 * are not cached and surface as {@link Verification.Unavailable}.
 */
public final class Introspector {
  private static final Logger log = LoggerFactory.getLogger(Introspector.class);

  private final String issuer;
  private final String issuerId;
  private final Supplier<URI> endpoint;
  private final AuthzConfig.Introspection config;
  private final Duration httpTimeout;
  private final Executor io;
  private final Clock clock;
  private final AsyncCache<String, Verification> cache;

  public Introspector(
      String issuerId, String issuer, Supplier<URI> endpoint, AuthzConfig.Introspection config,
      Duration httpTimeout, Executor io, Clock clock, Ticker ticker) {
    this.issuer = issuer;
    this.issuerId = issuerId;
    this.endpoint = endpoint;
    this.config = config;
    this.httpTimeout = httpTimeout;
    this.io = io;
    this.clock = clock;
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(100_000)
            .ticker(ticker)
            .expireAfter(new TtlPerEntry<String, Verification>(this::ttlNanos))
            .executor(Runnable::run)
            .buildAsync();
  }

  public CompletableFuture<Verification> introspect(String token) {
    return cache
        .get(digest(token), (key, executor) -> CompletableFuture.supplyAsync(() -> call(token), io))
        .exceptionally(e -> new Verification.Unavailable("token introspection at issuer " + issuerId + " failed"));
  }

  private Verification call(String token) {
    URI uri = endpoint.get();
    if (uri == null) {
      throw new CompletionException(new IOException("no introspection endpoint known yet"));
    }
    var auth = new ClientSecretBasic(new ClientID(config.clientId()), new Secret(config.clientSecret()));
    HTTPRequest http = new TokenIntrospectionRequest(uri, auth, new BearerAccessToken(token)).toHTTPRequest();
    http.setConnectTimeout((int) httpTimeout.toMillis());
    http.setReadTimeout((int) httpTimeout.toMillis());
    TokenIntrospectionResponse response;
    try {
      HTTPResponse httpResponse = http.send();
      response = TokenIntrospectionResponse.parse(httpResponse);
    } catch (IOException | ParseException e) {
      log.warn("introspection failed issuer={} error={}", issuerId, e.getClass().getSimpleName() + ": " + e.getMessage());
      throw new CompletionException(e);
    }
    if (!response.indicatesSuccess()) {
      var error = response.toErrorResponse().getErrorObject();
      log.warn("introspection refused issuer={} error={} status={}", issuerId, error.getCode(), error.getHTTPStatusCode());
      throw new CompletionException(new IOException("introspection error " + error.getCode()));
    }
    TokenIntrospectionSuccessResponse ok = response.toSuccessResponse();
    if (!ok.isActive()) {
      return Verification.rejected("inactive", "the access token is not active");
    }
    if (ok.getIssuer() != null && !ok.getIssuer().getValue().equals(issuer)) {
      return Verification.rejected("wrong_issuer", "the token issuer is not trusted");
    }
    Instant now = clock.instant();
    if (ok.getExpirationTime() != null && !ok.getExpirationTime().toInstant().isAfter(now)) {
      return Verification.rejected("expired", "the access token expired");
    }
    var claims = new JWTClaimsSet.Builder();
    // Every other member of the response (RFC 7662 §2.2 allows any claim) is kept for policy conditions.
    ok.toJSONObject().forEach((k, v) -> {
      if (!k.equals("active")) {
        claims.claim(k, v);
      }
    });
    if (ok.getSubject() != null) {
      claims.subject(ok.getSubject().getValue());
    }
    if (ok.getClientID() != null) {
      claims.claim("client_id", ok.getClientID().getValue());
    }
    if (ok.getScope() != null) {
      claims.claim("scope", ok.getScope().toString());
    }
    if (ok.getAudience() != null) {
      claims.audience(ok.getAudience().stream().map(Audience::getValue).toList());
    }
    if (ok.getExpirationTime() != null) {
      claims.expirationTime(ok.getExpirationTime());
    }
    Principal p = Claims.toPrincipal(claims.build(), issuer, issuerId, Principal.TokenKind.OPAQUE, now.plus(config.cacheMaxTtl()));
    if (p.subject() == null) {
      return Verification.rejected("missing_claims", "introspection response has no sub");
    }
    return new Verification.Verified(p);
  }

  /** Active: until the token's exp, at most cache_max_ttl. Inactive: negative_cache_ttl. */
  private long ttlNanos(Verification value) {
    if (value instanceof Verification.Verified v) {
      Duration untilExp = Duration.between(clock.instant(), v.principal().expiresAt());
      return (untilExp.compareTo(config.cacheMaxTtl()) < 0 ? untilExp : config.cacheMaxTtl()).toNanos();
    }
    return config.negativeCacheTtl().toNanos();
  }

  static String digest(String token) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
