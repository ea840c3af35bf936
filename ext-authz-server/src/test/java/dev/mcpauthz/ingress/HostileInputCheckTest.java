package dev.mcpauthz.ingress;

import static dev.mcpauthz.testing.Responses.allowed;
import static dev.mcpauthz.testing.Responses.body;
import static dev.mcpauthz.testing.Responses.deniedHeader;
import static dev.mcpauthz.testing.Responses.httpStatus;
import static dev.mcpauthz.testing.Responses.metadata;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Hostile and malformed inputs through the real gRPC Check: every one is denied with the right
 * HTTP status, reason, challenge and JSON-RPC error, and none crashes the service.
 */
class HostileInputCheckTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String AUD = AuthzHarness.RESOURCE;
  private static final String CALL = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"search\",\"arguments\":{}}}";

  static TestIssuer issuer;
  static AuthzHarness authz;

  @BeforeAll
  static void start() {
    issuer = TestIssuer.start();
    authz = AuthzHarness.start(issuer);
  }

  @AfterAll
  static void stop() {
    authz.close();
    issuer.close();
  }

  /** One row: a request, and the denial it must produce. */
  record Case(String name, Function<TestIssuer, Checks> request, int status, String reason, int rpcCode, String challenge) {}

  static Checks call(String token) {
    return Checks.post("/mcp").bearer(token).toolsCall(7, "search", "{}");
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  static String nested(int depth) {
    return "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"search\",\"arguments\":"
        + "[".repeat(depth) + "]".repeat(depth) + "}}";
  }

  static List<Case> cases() {
    String unauthorized = "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\"";
    return List.of(
        new Case("no Authorization header", i -> Checks.post("/mcp").toolsCall(7, "search", "{}"),
            401, "missing_token", -31401, unauthorized),
        new Case("another auth scheme", i -> Checks.post("/mcp").header("authorization", "Basic dXNlcjpwYXNz").toolsCall(7, "search", "{}"),
            401, "missing_token", -31401, unauthorized),
        new Case("empty Bearer credentials", i -> Checks.post("/mcp").header("authorization", "Bearer").toolsCall(7, "search", "{}"),
            400, "malformed_authorization", -31400, "error=\"invalid_request\""),
        new Case("Bearer with illegal characters", i -> Checks.post("/mcp").header("authorization", "Bearer a b\"c").toolsCall(7, "search", "{}"),
            400, "malformed_authorization", -31400, "error=\"invalid_request\""),
        new Case("token in the query string", i -> Checks.post("/mcp?x=1&access_token=" + i.mint(AUD)).bearer(i.mint(AUD)).toolsCall(7, "search", "{}"),
            400, "token_in_query", -31400, "error=\"invalid_request\""),
        new Case("alg none", i -> call(new PlainJWT(new JWTClaimsSet.Builder().issuer(i.issuer()).subject("alice").audience(AUD)
                .expirationTime(Date.from(Instant.now().plusSeconds(300))).build()).serialize()),
            401, "algorithm_not_allowed", -31401, "error=\"invalid_token\""),
        new Case("HS256 signed with the RSA public key", i -> call(hmacWithPublicKey(i)),
            401, "algorithm_not_allowed", -31401, "error=\"invalid_token\""),
        new Case("unknown kid", i -> call(TestIssuer.sign(i.unpublishedKey("rogue"),
                new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rogue").build(), claims(i, AUD).build())),
            401, "unknown_key", -31401, "error=\"invalid_token\""),
        new Case("expired", i -> call(i.mint(AUD, c -> c.expirationTime(Date.from(Instant.now().minusSeconds(120))))),
            401, "expired", -31401, "error_description=\"the access token expired\""),
        new Case("not yet valid", i -> call(i.mint(AUD, c -> c.notBeforeTime(Date.from(Instant.now().plusSeconds(600))))),
            401, "not_yet_valid", -31401, "error=\"invalid_token\""),
        new Case("wrong issuer", i -> call(i.mint(AUD, c -> c.issuer("https://evil.example.com"))),
            401, "untrusted_issuer", -31401, "error=\"invalid_token\""),
        new Case("wrong audience", i -> call(i.mint("https://other.example.com/mcp")),
            401, "wrong_audience", -31401, "error=\"invalid_token\""),
        new Case("audience with trailing slash on a path", i -> call(i.mint(AUD + "/")),
            401, "wrong_audience", -31401, "error=\"invalid_token\""),
        new Case("truncated signature", i -> call(i.mint(AUD).substring(0, i.mint(AUD).length() - 20)),
            401, "bad_signature", -31401, "error=\"invalid_token\""),
        new Case("tampered claims", i -> call(tamper(i.mint(AUD))),
            401, "bad_signature", -31401, "error=\"invalid_token\""),
        new Case("oversized token", i -> call("a".repeat(20_000)),
            401, "token_too_large", -31401, "error=\"invalid_token\""),
        new Case("garbage opaque token", i -> call("not-a-jwt-at-all"),
            401, "inactive", -31401, "error=\"invalid_token\""),
        new Case("missing sub", i -> call(i.mint(AUD, c -> c.subject(null))),
            401, "missing_claims", -31401, "error=\"invalid_token\""),
        new Case("missing required scope", i -> call(i.mint(AUD, c -> c.claim("scope", "repo:read"))),
            403, "insufficient_scope", -31403, "error=\"insufficient_scope\", error_description=\"the access token lacks required scopes\", resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:tools\""),
        new Case("Mcp-Method header disagrees with body", i -> call(i.mint(AUD)).header("mcp-method", "tools/list"),
            400, "header_mismatch", -32020, null),
        new Case("Mcp-Name header disagrees with body", i -> call(i.mint(AUD)).header("mcp-name", "delete_repo"),
            400, "header_mismatch", -32020, null),
        new Case("missing Mcp-Name in 2026-07-28", i -> call(i.mint(AUD)).withoutHeader("mcp-name"),
            400, "header_mismatch", -32020, null),
        new Case("bad Base64 sentinel", i -> call(i.mint(AUD)).header("mcp-name", "=?base64?@@@not base64@@@?="),
            400, "header_mismatch", -32020, null),
        new Case("control character in Mcp-Name", i -> call(i.mint(AUD)).header("mcp-name", "sea\u0001rch"),
            400, "header_mismatch", -32020, null),
        new Case("malformed JSON", i -> call(i.mint(AUD)).body("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{"),
            400, "malformed_json", -32700, null),
        new Case("trailing garbage after JSON", i -> call(i.mint(AUD)).body(CALL + "}"),
            400, "malformed_json", -32700, null),
        new Case("deeply nested JSON", i -> call(i.mint(AUD)).body(nested(500)),
            400, "malformed_json", -32700, null),
        new Case("duplicate method member", i -> call(i.mint(AUD)).body("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"method\":\"tools/list\",\"params\":{\"name\":\"search\"}}"),
            400, "invalid_jsonrpc", -32600, null),
        new Case("not JSON-RPC 2.0", i -> call(i.mint(AUD)).body("{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"search\"}}"),
            400, "invalid_jsonrpc", -32600, null),
        new Case("batch in 2026-07-28", i -> Checks.post("/mcp").bearer(i.mint(AUD)).header("mcp-protocol-version", "2026-07-28")
                .body("[" + CALL + "," + CALL.replace("\"id\":7", "\"id\":8") + "]"),
            400, "invalid_jsonrpc", -32600, null),
        new Case("huge body", i -> call(i.mint(AUD)).body(CALL.replace("{}}}", "{\"q\":\"" + "x".repeat(1_200_000) + "\"}}}")),
            413, "body_too_large", -32600, null),
        new Case("partial body from Envoy", i -> call(i.mint(AUD)).header("x-envoy-auth-partial-body", "true").body(CALL.substring(0, 40)),
            413, "body_incomplete", -32600, null),
        new Case("route names an unknown server", i -> call(i.mint(AUD)).contextExtension("mcp_server", "nope"),
            403, "unknown_server", -31403, null),
        new Case("no server matches the route", i -> call(i.mint(AUD)).host("unknown.example.com"),
            403, "unknown_server", -31403, null));
  }

  @TestFactory
  Stream<DynamicTest> everyHostileInputIsDeniedClearly() {
    return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
      CheckResponse r = authz.check(c.request().apply(issuer));
      assertThat(allowed(r)).as("allowed").isFalse();
      assertThat(httpStatus(r)).as("HTTP status").isEqualTo(c.status());
      assertThat(metadata(r, "reason")).as("reason").isEqualTo(c.reason());
      assertThat(deniedHeader(r, "content-type")).isEqualTo("application/json");
      JsonNode error = JSON.readTree(body(r));
      assertThat(error.path("jsonrpc").asText()).isEqualTo("2.0");
      assertThat(error.path("error").path("code").asInt()).as("JSON-RPC code").isEqualTo(c.rpcCode());
      assertThat(error.path("error").path("message").asText()).isNotBlank();
      assertThat(error.path("error").path("data").path("decision_id").asText()).isEqualTo(metadata(r, "decision_id"));
      String challenge = deniedHeader(r, "www-authenticate");
      if (c.challenge() != null) {
        assertThat(challenge).as("WWW-Authenticate").contains(c.challenge());
      }
      if (c.status() == 401) {
        assertThat(challenge).startsWith("Bearer ").contains("resource_metadata=");
      }
      // Nothing the client sent as a credential may be echoed back.
      assertThat(body(r)).doesNotContain("eyJ");
    }));
  }

  @TestFactory
  Stream<DynamicTest> deniedBodiesKeepTheRequestId() {
    return Stream.of(
        DynamicTest.dynamicTest("numeric id", () -> {
          JsonNode e = JSON.readTree(body(authz.check(Checks.post("/mcp").toolsCall(42, "search", "{}")))) ;
          assertThat(e.path("id").isNumber()).isTrue();
          assertThat(e.path("id").asInt()).isEqualTo(42);
        }),
        DynamicTest.dynamicTest("string id", () -> {
          JsonNode e = JSON.readTree(body(authz.check(Checks.post("/mcp").toolsCall("abc-1", "search", "{}"))));
          assertThat(e.path("id").asText()).isEqualTo("abc-1");
        }),
        DynamicTest.dynamicTest("batch: one error per request element, none for notifications", () -> {
          String batch = "[" + CALL + ",{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
              + CALL.replace("\"id\":7", "\"id\":\"b\"") + "]";
          JsonNode e = JSON.readTree(body(authz.check(Checks.post("/mcp").body(batch))));
          assertThat(e.isArray()).isTrue();
          assertThat(e).hasSize(2);
          assertThat(e.get(0).path("id").asInt()).isEqualTo(7);
          assertThat(e.get(1).path("id").asText()).isEqualTo("b");
        }));
  }

  static JWTClaimsSet.Builder claims(TestIssuer i, String aud) {
    return new JWTClaimsSet.Builder().issuer(i.issuer()).subject("alice").audience(aud).claim("scope", "mcp:tools")
        .expirationTime(Date.from(Instant.now().plusSeconds(300)));
  }

  /** The classic key-confusion attack: HMAC keyed with the issuer's public key bytes. */
  static String hmacWithPublicKey(TestIssuer i) {
    try {
      byte[] secret = i.signingKey().toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(i.signingKey().getKeyID()).build(),
          claims(i, AUD).build());
      jwt.sign(new MACSigner(secret));
      return jwt.serialize();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  static String tamper(String jwt) {
    String[] parts = jwt.split("\\.");
    String payload = new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8).replace("alice", "admin");
    return parts[0] + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "." + parts[2];
  }
}
