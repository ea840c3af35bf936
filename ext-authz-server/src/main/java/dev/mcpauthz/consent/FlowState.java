package dev.mcpauthz.consent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.time.Instant;

/**
 * One authorization round trip in flight, stored under its {@code state} until the callback takes
 * it (once). Holds no secret: the PKCE verifier and the nonce are derived from the state and a key
 * ({@link FlowSecrets}), so a copy of the cluster's memory cannot complete anyone's flow.
 *
 * @param kind sign-in at the inbound issuer, or authorization at the upstream provider
 * @param browser SHA-256 of the browser-binding cookie the flow started with (the callback must
 *     come from the same browser: login CSRF and state injection)
 * @param keyId the key ring id the PKCE verifier and nonce were derived with
 * @param target SIGN_IN: the inbound issuer id; UPSTREAM: the elicitation id
 * @param returnTo SIGN_IN only: the /auth/start query to go back to once signed in
 */
public record FlowState(Kind kind, String browser, String keyId, String target, String returnTo, Instant expiresAt) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public enum Kind {
    SIGN_IN,
    UPSTREAM
  }

  String toJson() {
    ObjectNode o = JSON.createObjectNode().put("kind", kind.name()).put("browser", browser).put("kid", keyId)
        .put("target", target).put("expires", expiresAt.toEpochMilli());
    if (returnTo != null) {
      o.put("return", returnTo);
    }
    return o.toString();
  }

  static FlowState fromJson(String json) {
    try {
      JsonNode o = JSON.readTree(json);
      return new FlowState(Kind.valueOf(o.get("kind").asText()), o.get("browser").asText(), o.get("kid").asText(),
          o.get("target").asText(), o.hasNonNull("return") ? o.get("return").asText() : null,
          Instant.ofEpochMilli(o.get("expires").asLong()));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
