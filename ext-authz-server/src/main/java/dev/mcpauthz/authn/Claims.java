package dev.mcpauthz.authn;

import com.nimbusds.jwt.JWTClaimsSet;
import java.text.ParseException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Maps verified token claims (JWT or RFC 7662 response) to a {@link Principal}. */
final class Claims {
  private Claims() {}

  static Principal toPrincipal(
      JWTClaimsSet claims, String issuer, String issuerId, Principal.TokenKind kind, Instant fallbackExpiry) {
    String clientId = stringClaim(claims, "client_id");
    if (clientId == null) {
      clientId = stringClaim(claims, "azp");
    }
    List<String> audiences = new ArrayList<>(claims.getAudience().size());
    for (String aud : claims.getAudience()) {
      audiences.add(ResourceUri.normalize(aud));
    }
    Instant exp = claims.getExpirationTime() != null ? claims.getExpirationTime().toInstant() : fallbackExpiry;
    return new Principal(
        claims.getSubject(), issuer, issuerId, clientId, scopes(claims), List.copyOf(audiences), exp, kind,
        claims.toJSONObject());
  }

  /** {@code scope} (RFC 9068/8693, space-separated) or {@code scp} (array or string, as Entra and Okta send). */
  static Set<String> scopes(JWTClaimsSet claims) {
    Object raw = claims.getClaim("scope");
    if (raw == null) {
      raw = claims.getClaim("scp");
    }
    Set<String> out = new LinkedHashSet<>();
    if (raw instanceof String s) {
      for (String part : s.split(" ")) {
        if (!part.isEmpty()) {
          out.add(part);
        }
      }
    } else if (raw instanceof Collection<?> c) {
      for (Object o : c) {
        out.add(String.valueOf(o));
      }
    }
    return java.util.Collections.unmodifiableSet(out);
  }

  private static String stringClaim(JWTClaimsSet claims, String name) {
    try {
      return claims.getStringClaim(name);
    } catch (ParseException e) {
      return null;
    }
  }
}
