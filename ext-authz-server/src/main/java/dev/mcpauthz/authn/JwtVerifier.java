package dev.mcpauthz.authn;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * Verifies JWT access tokens of one issuer with Nimbus' {@link DefaultJWTProcessor}: algorithm
 * allowlist, key by {@code kid} from the in-memory {@link JwksCache}, {@code typ} of {@code JWT} or
 * {@code at+jwt} (RFC 9068), exact {@code iss}, required {@code sub} and {@code exp}, bounded clock
 * skew. Audience is checked per target server by the caller, so one verification serves every
 * server the token is valid for.
 */
public final class JwtVerifier {
  private final String issuer;
  private final String issuerId;
  private final Set<JWSAlgorithm> algorithms;
  private final JwksCache jwks;
  private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

  public JwtVerifier(String issuerId, String issuer, List<String> algorithms, Duration clockSkew, JwksCache jwks) {
    this.issuer = issuer;
    this.issuerId = issuerId;
    this.jwks = jwks;
    this.algorithms = algorithms.stream().map(JWSAlgorithm::parse).collect(Collectors.toUnmodifiableSet());
    processor.setJWSTypeVerifier(
        new DefaultJOSEObjectTypeVerifier<>(JOSEObjectType.JWT, new JOSEObjectType("at+jwt"), null));
    processor.setJWSKeySelector(
        new JWSVerificationKeySelector<>(
            this.algorithms,
            (selector, ctx) -> {
              JWKSet set = jwks.current();
              return set == null ? List.of() : selector.select(set);
            }));
    var claims =
        new DefaultJWTClaimsVerifier<>(
            null, new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("sub", "exp"), null);
    claims.setMaxClockSkew((int) clockSkew.toSeconds());
    processor.setJWTClaimsSetVerifier(claims);
  }

  /** Completes on the calling thread when the key is in memory; otherwise after one shared refetch. */
  public CompletableFuture<Verification> verify(SignedJWT jwt) {
    JWSAlgorithm alg = jwt.getHeader().getAlgorithm();
    if (!algorithms.contains(alg)) {
      return CompletableFuture.completedFuture(
          Verification.rejected("algorithm_not_allowed", "signing algorithm " + alg + " is not accepted"));
    }
    String kid = jwt.getHeader().getKeyID();
    if (hasKey(jwks.current(), kid)) {
      return CompletableFuture.completedFuture(process(jwt));
    }
    return jwks.refreshForUnknownKey()
        .handle(
            (set, error) -> {
              JWKSet now = jwks.current();
              if (now == null) {
                return new Verification.Unavailable("signing keys of issuer " + issuerId + " are unavailable");
              }
              if (!hasKey(now, kid)) {
                return Verification.rejected("unknown_key", "no signing key matches the token's kid");
              }
              return process(jwt);
            });
  }

  private static boolean hasKey(JWKSet set, String kid) {
    if (set == null) {
      return false;
    }
    return kid == null ? !set.getKeys().isEmpty() : set.getKeyByKeyId(kid) != null;
  }

  private Verification process(SignedJWT jwt) {
    JWTClaimsSet claims;
    try {
      claims = processor.process(jwt, null);
    } catch (BadJWTException e) {
      return classify(e.getMessage());
    } catch (BadJWSException e) {
      return Verification.rejected("bad_signature", "signature verification failed");
    } catch (BadJOSEException e) {
      return Verification.rejected("invalid_token", clean(e.getMessage()));
    } catch (JOSEException e) {
      return Verification.rejected("invalid_token", "token could not be verified");
    }
    return new Verification.Verified(Claims.toPrincipal(claims, issuer, issuerId, Principal.TokenKind.JWT, null));
  }

  private static Verification classify(String message) {
    String m = message == null ? "" : message;
    if (m.contains("Expired")) {
      return Verification.rejected("expired", "the access token expired");
    }
    if (m.contains("before use time") || m.contains("not before")) {
      return Verification.rejected("not_yet_valid", "the access token is not valid yet");
    }
    if (m.contains("iss claim")) {
      return Verification.rejected("wrong_issuer", "the token issuer is not trusted");
    }
    if (m.contains("missing required claims")) {
      return Verification.rejected("missing_claims", clean(m));
    }
    return Verification.rejected("invalid_claims", clean(m));
  }

  static String clean(String s) {
    return s == null ? "invalid token" : s;
  }
}
