package dev.mcpauthz.consent;

import com.nimbusds.jose.EncryptionMethod;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWEAlgorithm;
import com.nimbusds.jose.JWEHeader;
import com.nimbusds.jose.crypto.DirectDecrypter;
import com.nimbusds.jose.crypto.DirectEncrypter;
import com.nimbusds.jwt.EncryptedJWT;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.mcpauthz.vault.KeyRing;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.Date;
import java.util.Optional;

/**
 * Seals and opens {@link ResumeState} as a compact JWE ({@code dir} + A256GCM, RFC 7516): opaque to
 * the client, integrity-protected, bound to user, server and call, and short-lived. The key is
 * derived from the vault key ring ({@link KeyRing#derive}), named by {@code kid}, so a rotated ring
 * still opens state sealed just before the rotation.
 */
public final class ResumeStates {
  private static final String PURPOSE = "mcp-authz resume state v1";

  private final KeyRing keys;
  private final Duration ttl;
  private final Clock clock;

  public ResumeStates(KeyRing keys, Duration ttl, Clock clock) {
    this.keys = keys;
    this.ttl = ttl;
    this.clock = clock;
  }

  public String seal(Elicitation e) {
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
        .issuer(e.issuer()).subject(e.subject()).claim("srv", e.server()).claim("prv", e.provider())
        .claim("eid", e.id()).claim("call", e.callDigest()).jwtID(FlowSecrets.random())
        .expirationTime(Date.from(clock.instant().plus(ttl)));
    if (e.client() != null) {
      claims.claim("app", e.client());
    }
    String kid = keys.primaryId();
    EncryptedJWT jwt = new EncryptedJWT(new JWEHeader.Builder(JWEAlgorithm.DIR, EncryptionMethod.A256GCM).keyID(kid)
        .build(), claims.build());
    try {
      jwt.encrypt(new DirectEncrypter(keys.derive(kid, PURPOSE)));
    } catch (JOSEException ex) {
      throw new IllegalStateException("cannot seal resume state", ex);
    }
    return jwt.serialize();
  }

  /** Empty when the state is malformed, tampered with, sealed by an unknown key, or expired. */
  public Optional<ResumeState> open(String sealed) {
    if (sealed == null || sealed.length() > 4096) {
      return Optional.empty();
    }
    try {
      EncryptedJWT jwt = EncryptedJWT.parse(sealed);
      if (!JWEAlgorithm.DIR.equals(jwt.getHeader().getAlgorithm())
          || !EncryptionMethod.A256GCM.equals(jwt.getHeader().getEncryptionMethod())) {
        return Optional.empty();
      }
      byte[] key = jwt.getHeader().getKeyID() == null ? null : keys.derive(jwt.getHeader().getKeyID(), PURPOSE);
      if (key == null) {
        return Optional.empty();
      }
      jwt.decrypt(new DirectDecrypter(key));
      JWTClaimsSet c = jwt.getJWTClaimsSet();
      if (c.getExpirationTime() == null || !clock.instant().isBefore(c.getExpirationTime().toInstant())) {
        return Optional.empty();
      }
      return Optional.of(new ResumeState(c.getIssuer(), c.getSubject(), c.getStringClaim("srv"),
          c.getStringClaim("prv"), c.getStringClaim("eid"), c.getStringClaim("call"), c.getStringClaim("app"),
          c.getExpirationTime().toInstant()));
    } catch (ParseException | JOSEException | RuntimeException e) {
      return Optional.empty();
    }
  }
}
