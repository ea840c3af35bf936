package dev.mcpauthz.ingress;

import static dev.mcpauthz.testing.Responses.allowed;
import static dev.mcpauthz.testing.Responses.metadata;
import static dev.mcpauthz.testing.Responses.okHeader;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Requests that must pass, and exactly what Envoy is told to do with them. */
class AllowCheckTest {
  static final String AUD = AuthzHarness.RESOURCE;
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

  @Test
  void validTokenIsAllowedAndNeverForwarded() {
    CheckResponse r = authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD)).toolsCall(1, "search", "{\"q\":\"x\"}"));

    assertThat(allowed(r)).isTrue();
    assertThat(r.getOkResponse().getHeadersToRemoveList()).contains("authorization");
    assertThat(okHeader(r, "x-mcp-authz-subject")).isEqualTo("alice");
    assertThat(okHeader(r, "x-mcp-authz-issuer")).isEqualTo(issuer.issuer());
    assertThat(okHeader(r, "x-mcp-authz-client-id")).isEqualTo("test-client");
    assertThat(okHeader(r, "x-mcp-authz-scope")).isEqualTo("mcp:tools");
    assertThat(okHeader(r, "x-mcp-authz-decision-id")).hasSize(32).isEqualTo(metadata(r, "decision_id"));
    assertThat(r.getOkResponse().getHeadersList()).allMatch(h ->
        h.getAppendAction() == HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD);
    assertThat(metadata(r, "outcome")).isEqualTo("allow");
    assertThat(metadata(r, "server")).isEqualTo("github");
    assertThat(metadata(r, "subject")).isEqualTo("alice");
    assertThat(metadata(r, "mcp_method")).isEqualTo("tools/call");
    assertThat(metadata(r, "mcp_name")).isEqualTo("search");
    assertThat(metadata(r, "protocol_version")).isEqualTo("2026-07-28");
  }

  @Test
  void clientCannotSpoofIdentityHeaders() {
    String token = issuer.mint(AUD, c -> c.claim("client_id", null));
    CheckResponse r = authz.check(Checks.post("/mcp").bearer(token)
        .header("x-mcp-authz-subject", "admin").header("x-mcp-authz-client-id", "trusted-bot")
        .toolsCall(1, "search", "{}"));

    assertThat(allowed(r)).isTrue();
    assertThat(okHeader(r, "x-mcp-authz-subject")).isEqualTo("alice");
    assertThat(r.getOkResponse().getHeadersToRemoveList()).contains("x-mcp-authz-client-id");
  }

  @Test
  void audienceAcceptsUpperCaseSchemeHostAndDefaultPort() {
    for (String aud : List.of("HTTPS://MCP.EXAMPLE.COM/mcp", "https://mcp.example.com:443/mcp")) {
      CheckResponse r = authz.check(Checks.post("/mcp").bearer(issuer.mint(aud)).toolsCall(1, "search", "{}"));
      assertThat(allowed(r)).as(aud).isTrue();
    }
    CheckResponse pathCase = authz.check(Checks.post("/mcp").bearer(issuer.mint("https://mcp.example.com/MCP")).toolsCall(1, "search", "{}"));
    assertThat(allowed(pathCase)).as("path is case-sensitive").isFalse();
  }

  @Test
  void acceptsRfc9068AccessTokenType() {
    var claims = HostileInputCheckTest.claims(issuer, AUD).build();
    String token = TestIssuer.sign(issuer.signingKey(), new JWSHeader.Builder(JWSAlgorithm.RS256)
        .keyID(issuer.signingKey().getKeyID()).type(new JOSEObjectType("at+jwt")).build(), claims);
    assertThat(allowed(authz.check(Checks.post("/mcp").bearer(token).toolsCall(1, "search", "{}")))).isTrue();
  }

  @Test
  void base64SentinelNameIsDecodedBeforeComparison() {
    String name = "suche_wetter_\u4e16\u754c";
    String sentinel = "=?base64?" + Base64.getEncoder().encodeToString(name.getBytes(StandardCharsets.UTF_8)) + "?=";
    Checks req = Checks.post("/mcp").bearer(issuer.mint(AUD)).toolsCall(1, name, "{}").header("mcp-name", sentinel);
    CheckResponse r = authz.check(req);
    assertThat(allowed(r)).isTrue();
    assertThat(metadata(r, "mcp_name")).isEqualTo(name);
  }

  @Test
  void rawBodyFromPackAsBytesIsRead() {
    String body = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"search\"}}";
    CheckResponse r = authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD))
        .header("mcp-protocol-version", "2026-07-28").header("mcp-method", "tools/call").header("mcp-name", "search")
        .rawBody(body.getBytes(StandardCharsets.UTF_8)));
    assertThat(allowed(r)).isTrue();
    assertThat(metadata(r, "mcp_name")).isEqualTo("search");
  }

  @Test
  void olderProtocolVersionsNeedNoMcpHeadersAndBatchesPassIn20250326() {
    String call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search\"}}";
    CheckResponse v1125 = authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD))
        .header("mcp-protocol-version", "2025-11-25").body(call));
    assertThat(allowed(v1125)).isTrue();
    assertThat(metadata(v1125, "mcp_method")).isEqualTo("tools/call");

    CheckResponse batch = authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD))
        .body("[" + call + ",{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]"));
    assertThat(allowed(batch)).isTrue();
    assertThat(metadata(batch, "protocol_version")).isEqualTo("2025-03-26");
  }

  @Test
  void getStreamWithoutBodyIsAllowed() {
    CheckResponse r = authz.check(Checks.post("/mcp").method("GET").bearer(issuer.mint(AUD))
        .header("accept", "text/event-stream").header("mcp-session-id", "s-1"));
    assertThat(allowed(r)).isTrue();
  }

  @Test
  void contextExtensionSelectsTheServer() {
    String token = issuer.mint("https://other.example.com/mcp");
    CheckResponse r = authz.check(Checks.post("/anything").host("gateway.internal").bearer(token)
        .contextExtension("mcp_server", "other").toolsCall(1, "search", "{}"));
    assertThat(allowed(r)).isTrue();
    assertThat(metadata(r, "server")).isEqualTo("other");
  }

  @Test
  void opaqueTokenIsIntrospectedOnceAndCached() {
    String token = issuer.opaque(Map.of("sub", "bob", "client_id", "cli", "scope", "mcp:tools",
        "aud", List.of(AUD), "iss", issuer.issuer(), "exp", Instant.now().plusSeconds(600).getEpochSecond()));
    int before = issuer.introspectionRequests();
    CheckResponse first = authz.check(Checks.post("/mcp").bearer(token).toolsCall(1, "search", "{}"));
    CheckResponse second = authz.check(Checks.post("/mcp").bearer(token).toolsCall(2, "search", "{}"));

    assertThat(allowed(first)).isTrue();
    assertThat(allowed(second)).isTrue();
    assertThat(okHeader(first, "x-mcp-authz-subject")).isEqualTo("bob");
    assertThat(issuer.introspectionRequests() - before).isEqualTo(1);
  }

  @Test
  void opaqueTokenWithoutOurAudienceIsRejected() {
    String token = issuer.opaque(Map.of("sub", "bob", "scope", "mcp:tools", "aud", List.of("https://elsewhere.example.com"),
        "exp", Instant.now().plusSeconds(600).getEpochSecond()));
    CheckResponse r = authz.check(Checks.post("/mcp").bearer(token).toolsCall(1, "search", "{}"));
    assertThat(allowed(r)).isFalse();
    assertThat(metadata(r, "reason")).isEqualTo("wrong_audience");
  }
}
