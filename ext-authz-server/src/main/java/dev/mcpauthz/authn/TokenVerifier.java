package dev.mcpauthz.authn;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import com.nimbusds.jwt.JWT;
import com.nimbusds.jwt.JWTParser;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Verifies a bearer token against the issuers a server trusts: signed JWTs locally (via the issuer
 * named in {@code iss}), anything else by RFC 7662 introspection.
 *
 * <p>Verified JWTs are cached until they expire (at most {@link #MAX_CACHE_TTL}), so the steady
 * state of the Check path is one map lookup. Audience and scope are not part of the cached result:
 * they depend on the target server and are checked by the caller.
 */
public final class TokenVerifier {
  static final Duration MAX_CACHE_TTL = Duration.ofMinutes(5);

  private final Map<String, IssuerRuntime> byIssuer;
  private final Clock clock;
  private final Cache<String, Principal> verifiedJwts;

  public TokenVerifier(List<IssuerRuntime> issuers, Clock clock, Ticker ticker) {
    var map = new java.util.HashMap<String, IssuerRuntime>();
    for (IssuerRuntime i : issuers) {
      map.put(i.issuer(), i);
    }
    this.byIssuer = Map.copyOf(map);
    this.clock = clock;
    this.verifiedJwts =
        Caffeine.newBuilder()
            .maximumSize(100_000)
            .ticker(ticker)
            .executor(Runnable::run)
            .expireAfter(new TtlPerEntry<String, Principal>(p -> Math.min(
                Duration.between(clock.instant(), p.expiresAt()).toNanos(), MAX_CACHE_TTL.toNanos())))
            .build();
  }

  /**
   * @param trusted the issuers the target server accepts, in preference order for opaque tokens
   */
  public CompletableFuture<Verification> verify(String token, List<IssuerRuntime> trusted) {
    Principal cached = verifiedJwts.getIfPresent(token);
    if (cached != null) {
      IssuerRuntime issuer = byIssuer.get(cached.issuer());
      Duration skew = issuer == null ? Duration.ZERO : issuer.config().clockSkew();
      if (clock.instant().isBefore(cached.expiresAt().plus(skew))) {
        return CompletableFuture.completedFuture(new Verification.Verified(cached));
      }
      verifiedJwts.invalidate(token);
    }
    JWT jwt = null;
    if (countDots(token) == 2) {
      try {
        jwt = JWTParser.parse(token);
      } catch (ParseException e) {
        jwt = null;
      }
    }
    if (jwt instanceof PlainJWT) {
      return done(Verification.rejected("algorithm_not_allowed", "unsigned tokens (alg none) are not accepted"));
    }
    if (jwt instanceof SignedJWT signed) {
      String iss;
      try {
        iss = signed.getJWTClaimsSet().getIssuer();
      } catch (ParseException e) {
        return done(Verification.rejected("malformed_token", "the token's claims are not valid JSON"));
      }
      IssuerRuntime issuer = iss == null ? null : byIssuer.get(iss);
      if (issuer == null || !trusted.contains(issuer)) {
        return done(Verification.rejected("untrusted_issuer", "the token issuer is not trusted by this server"));
      }
      if (issuer.jwt() == null) {
        return introspect(token, List.of(issuer));
      }
      return issuer.jwt().verify(signed).thenApply(v -> {
        if (v instanceof Verification.Verified ok) {
          verifiedJwts.put(token, ok.principal());
        }
        return v;
      });
    }
    if (countDots(token) == 4) {
      return done(Verification.rejected("unsupported_token", "encrypted (JWE) access tokens are not supported"));
    }
    return introspect(token, trusted);
  }

  private CompletableFuture<Verification> introspect(String token, List<IssuerRuntime> trusted) {
    for (IssuerRuntime issuer : trusted) {
      if (issuer.introspector() != null) {
        // The first issuer that introspects decides; configure one introspecting issuer per server.
        return issuer.introspector().introspect(token);
      }
    }
    return done(Verification.rejected("malformed_token", "the access token is not a valid JWT"));
  }

  private static CompletableFuture<Verification> done(Verification v) {
    return CompletableFuture.completedFuture(v);
  }

  private static int countDots(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == '.') {
        n++;
      }
    }
    return n;
  }

  /** For tests and metrics. */
  public long cachedTokens() {
    return verifiedJwts.estimatedSize();
  }

}
