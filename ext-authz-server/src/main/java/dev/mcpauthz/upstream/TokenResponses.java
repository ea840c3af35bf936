package dev.mcpauthz.upstream;

import com.nimbusds.oauth2.sdk.AccessTokenResponse;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.TokenErrorResponse;
import com.nimbusds.oauth2.sdk.token.AccessToken;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import com.nimbusds.oauth2.sdk.util.JSONObjectUtils;
import com.nimbusds.oauth2.sdk.util.URLUtils;
import dev.mcpauthz.config.AuthzConfig.ProviderProfile;
import java.net.http.HttpHeaders;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import net.minidev.json.JSONObject;

/**
 * Turns one token-endpoint HTTP response into an {@link Attempt}, with Nimbus doing the parsing
 * (RFC 6749 §5.1 success, §5.2 error). Order of judgement:
 *
 * <ol>
 *   <li>429 and 5xx: transient, with {@code Retry-After} (RFC 9110 §10.2.3) for 429 and 503;
 *   <li>a body carrying {@code error}, whatever the status (GitHub answers errors with 200): the
 *       profile maps it ({@link ErrorProfile});
 *   <li>200: an access token response; one Nimbus cannot parse (no access_token, no token_type,
 *       not JSON) is {@code invalid_response}: not retried (the IdP may already have rotated the
 *       refresh token) and never a consent prompt;
 *   <li>401/403 without an OAuth error: client authentication failed; other statuses:
 *       {@code invalid_response}.
 * </ol>
 */
final class TokenResponses {
  private TokenResponses() {}

  /** A classified response, with the parsed error kept for operator logs. */
  record Classified(Attempt attempt, ErrorObject error, Map<String, Object> json) {}

  static Classified classify(ProviderProfile profile, int status, HttpHeaders headers, String body,
      Instant requestedAt, Clock clock) {
    if (status == 429 || status >= 500) {
      Duration retryAfter = status == 429 || status == 503
          ? RetryAfter.parse(headers.firstValue("Retry-After").orElse(null), clock).orElse(null)
          : null;
      return new Classified(new Attempt.Transient(status == 429 ? "http_429" : "http_5xx", retryAfter, status), null, Map.of());
    }
    JSONObject json = json(body);
    ErrorObject error = error(json, body, headers);
    if (error != null) {
      Attempt a = ErrorProfile.normalise(profile, error, json == null ? Map.of() : json);
      if (a instanceof Attempt.Transient t) {
        a = new Attempt.Transient(t.reason(), t.retryAfter(), status);
      }
      return new Classified(a, error, json == null ? Map.of() : json);
    }
    if (status == 200 && json != null) {
      try {
        return new Classified(new Attempt.Granted(grant(AccessTokenResponse.parse(json), requestedAt)), null, json);
      } catch (ParseException e) {
        return new Classified(new Attempt.Broken("invalid_response", Duration.ofSeconds(30)), null, Map.of());
      }
    }
    if (status == 401 || status == 403) {
      return new Classified(new Attempt.Broken(ErrorProfile.CLIENT_MISCONFIGURED, ErrorProfile.MISCONFIGURED_RETRY_AFTER),
          null, Map.of());
    }
    return new Classified(new Attempt.Broken("invalid_response", Duration.ofSeconds(30)), null, Map.of());
  }

  private static JSONObject json(String body) {
    if (body == null || body.isBlank()) {
      return null;
    }
    try {
      return JSONObjectUtils.parse(body);
    } catch (ParseException notJson) {
      return null;
    }
  }

  /** The OAuth error in a JSON body, or in a form-encoded one (GitHub without Accept: application/json). */
  private static ErrorObject error(JSONObject json, String body, HttpHeaders headers) {
    if (json != null) {
      if (!json.containsKey("error")) {
        return null;
      }
      try {
        return TokenErrorResponse.parse(json).getErrorObject();
      } catch (ParseException e) {
        return null;
      }
    }
    boolean form = headers.firstValue("Content-Type").map(c -> c.startsWith("application/x-www-form-urlencoded")).orElse(false);
    if (form && body != null) {
      Map<String, List<String>> params = URLUtils.parseParameters(body);
      if (params.containsKey("error")) {
        return ErrorObject.parse(params);
      }
    }
    return null;
  }

  /** RFC 6749 §5.1: expires_in is relative to the response; counting from the request is conservative. */
  static TokenGrant grant(AccessTokenResponse response, Instant requestedAt) {
    AccessToken at = response.getTokens().getAccessToken();
    RefreshToken rt = response.getTokens().getRefreshToken();
    Instant expiresAt = at.getLifetime() > 0 ? requestedAt.plusSeconds(at.getLifetime()) : null;
    List<String> scopes = at.getScope() == null ? null : at.getScope().toStringList();
    return new TokenGrant(at.getValue(), rt == null ? null : rt.getValue(), expiresAt, scopes);
  }
}
