package dev.mcpauthz.consent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.Responses;
import dev.mcpauthz.testing.TestIssuer;
import dev.mcpauthz.upstream.TokenGrant;
import dev.mcpauthz.vault.CredentialKey;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Consent prompts through the real gRPC Check of a server with an upstream: the prompt each kind of
 * client gets, reuse of the pending elicitation, scope escalation, and handshakes that never prompt.
 */
class ConsentCheckPathTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BASE = "https://gw.example.com/mcp-authz";

  private static String yaml(TestIssuer issuer) {
    int port;
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return AuthzHarness.defaultYaml(issuer)
        .replace("    required_scopes: [mcp:tools]\n",
            "    required_scopes: [mcp:tools]\n    upstream: {provider: gh, scopes: [read:user, repo]}\n")
        + """
        providers:
          - {id: gh, display_name: GitHub, client_id: mcp-authz, client_secret: s3cret, token_endpoint: http://127.0.0.1:1/token}
        vault:
          keys: [{id: k1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]
        cluster: {cluster_name: consent-%d, port: %d}
        consent: {public_base_url: %s/}
        """.formatted(System.nanoTime(), port, BASE);
  }

  @Test
  void firstConsentIsRenderedPerClientAndReusedWhilePending() throws Exception {
    try (TestIssuer issuer = TestIssuer.start(); AuthzHarness authz = AuthzHarness.start(yaml(issuer))) {
      String jwt = issuer.mint(AuthzHarness.RESOURCE, c -> c.claim("scope", "mcp:tools"));

      // 2025-11-25: the client declares URL elicitation at initialize (which passes: handshakes never prompt).
      CheckResponse init = authz.check(Checks.post("/mcp").bearer(jwt).body("""
          {"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",
           "capabilities":{"elicitation":{"form":{},"url":{}}},"clientInfo":{"name":"t","version":"1"}}}"""));
      assertThat(Responses.allowed(init)).isTrue();
      assertThat(Responses.metadata(init, "elicitation_id")).isNull();

      CheckResponse legacy = authz.check(Checks.post("/mcp").bearer(jwt).header("mcp-protocol-version", "2025-11-25")
          .header("mcp-session-id", "session-1").body("""
          {"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"search","arguments":{"q":"x"}}}"""));
      assertThat(Responses.allowed(legacy)).isFalse();
      assertThat(Responses.httpStatus(legacy)).isEqualTo(200);
      JsonNode error = JSON.readTree(Responses.body(legacy));
      assertThat(error.get("id").asText()).isEqualTo("call-1");
      assertThat(error.at("/error/code").asInt()).isEqualTo(-32042);
      JsonNode elicitation = error.at("/error/data/elicitations/0");
      String id = elicitation.get("elicitationId").asText();
      assertThat(id).matches("[A-Za-z0-9_-]{43}");
      assertThat(elicitation.get("mode").asText()).isEqualTo("url");
      assertThat(elicitation.get("url").asText()).isEqualTo(BASE + "/auth/start?elicitation=" + id);
      assertThat(elicitation.get("message").asText()).contains("github", "GitHub", "not connected");
      assertThat(Responses.metadata(legacy, "outcome")).isEqualTo("elicit");
      assertThat(Responses.metadata(legacy, "reason")).isEqualTo("consent_required_first_consent");
      assertThat(Responses.metadata(legacy, "elicitation_id")).isEqualTo(id);
      assertThat(Responses.deniedHeader(legacy, "cache-control")).isEqualTo("no-store");
      assertThat(Responses.body(legacy)).doesNotContain(jwt, "alice");

      // 2026-07-28 with elicitation.url in _meta: an InputRequiredResult, same pending elicitation (no prompt storm).
      CheckResponse modern = authz.check(Checks.post("/mcp").bearer(jwt).toolsCall(5, "search", "{\"q\":\"x\"}")
          .body("""
          {"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"search","arguments":{"q":"x"},
           "_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",
            "io.modelcontextprotocol/clientCapabilities":{"elicitation":{"url":{}}}}}}"""));
      assertThat(Responses.httpStatus(modern)).isEqualTo(200);
      JsonNode result = JSON.readTree(Responses.body(modern));
      assertThat(result.get("id").asInt()).isEqualTo(5);
      assertThat(result.at("/result/resultType").asText()).isEqualTo("input_required");
      assertThat(result.at("/result/requestState").isMissingNode()).isTrue();
      JsonNode input = result.at("/result/inputRequests/mcp_authz_consent");
      assertThat(input.get("method").asText()).isEqualTo("elicitation/create");
      assertThat(input.at("/params/url").asText()).isEqualTo(BASE + "/auth/start?elicitation=" + id);
      assertThat(Responses.metadata(modern, "elicitation_id")).isEqualTo(id);

      // No URL elicitation: a tool result the model can show; other methods: the gateway error with the link.
      CheckResponse plain = authz.check(Checks.post("/mcp").bearer(jwt).toolsCall(6, "search", "{}"));
      JsonNode toolResult = JSON.readTree(Responses.body(plain));
      assertThat(Responses.httpStatus(plain)).isEqualTo(200);
      assertThat(toolResult.at("/result/isError").asBoolean()).isTrue();
      assertThat(toolResult.at("/result/content/0/text").asText()).endsWith(BASE + "/auth/start?elicitation=" + id);

      CheckResponse read = authz.check(Checks.post("/mcp").bearer(jwt).header("mcp-protocol-version", "2026-07-28")
          .header("mcp-method", "resources/read").header("mcp-name", "repo://x").body("""
          {"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"repo://x"}}"""));
      assertThat(Responses.httpStatus(read)).isEqualTo(403);
      JsonNode readError = JSON.readTree(Responses.body(read));
      assertThat(readError.at("/error/code").asInt()).isEqualTo(-31403);
      assertThat(readError.at("/error/message").asText()).contains(BASE + "/auth/start?elicitation=" + id);

      // Discovery never prompts.
      CheckResponse list = authz.check(Checks.post("/mcp").bearer(jwt).header("mcp-protocol-version", "2026-07-28")
          .header("mcp-method", "tools/list").body("{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/list\"}"));
      assertThat(Responses.allowed(list)).isTrue();
      assertThat(Responses.metadata(list, "elicitation_id")).isNull();

      String scrape = authz.server().registry().scrape();
      assertThat(scrape)
          .contains("mcp_authz_consent_prompts_total{mode=\"url_elicitation_error\",provider=\"gh\",reason=\"first_consent\",server=\"github\"} 1.0")
          .contains("mcp_authz_consent_prompts_total{mode=\"input_required\",provider=\"gh\",reason=\"first_consent\",server=\"github\"} 1.0")
          .contains("mcp_authz_consent_prompts_total{mode=\"tool_result\",provider=\"gh\",reason=\"first_consent\",server=\"github\"} 1.0")
          .contains("mcp_authz_consent_prompts_total{mode=\"error_link\",provider=\"gh\",reason=\"first_consent\",server=\"github\"} 1.0");

      ElicitationStore store = new ElicitationStore(authz.server().hazelcast(), Duration.ofMinutes(10),
          java.time.Clock.systemUTC(), Runnable::run);
      Elicitation stored = store.find(id).get(10, TimeUnit.SECONDS).orElseThrow();
      assertThat(stored.subject()).isEqualTo("alice");
      assertThat(stored.issuer()).isEqualTo(issuer.issuer());
      assertThat(stored.server()).isEqualTo("github");
      assertThat(stored.scopes()).containsExactly("read:user", "repo");
      assertThat(stored.callDigest()).isEqualTo(CallDigest.of("tools/call", "search", JSON.readTree("{\"q\":\"x\"}"), false));
    }
  }

  @Test
  void aCallNeedingMoreScopesAsksForGrantedAndNeeded() throws Exception {
    ch.qos.logback.classic.Logger auditLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("mcp_authz.audit");
    var captured = new ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent>();
    captured.start();
    auditLog.addAppender(captured);
    try (TestIssuer issuer = TestIssuer.start(); AuthzHarness authz = AuthzHarness.start(yaml(issuer))) {
      authz.server().vault().store(new CredentialKey(issuer.issuer(), "alice", "github"),
          new AuthzConfig.Upstream("gh", null, List.of("read:user", "repo")), List.of("read:user", "gist"),
          new TokenGrant("gh-access", "gh-refresh", Instant.now().plus(Duration.ofHours(1)), List.of("read:user", "gist")),
          "test").get(30, TimeUnit.SECONDS);
      String jwt = issuer.mint(AuthzHarness.RESOURCE, c -> c.claim("scope", "mcp:tools"));

      CheckResponse r = authz.check(Checks.post("/mcp").bearer(jwt).toolsCall(1, "search", "{}").body("""
          {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{},
           "_meta":{"io.modelcontextprotocol/clientCapabilities":{"elicitation":{"url":{}}}}}}"""));
      assertThat(Responses.metadata(r, "reason")).isEqualTo("consent_required_scope_escalation");
      JsonNode params = JSON.readTree(Responses.body(r)).at("/result/inputRequests/mcp_authz_consent/params");
      assertThat(params.get("message").asText()).contains("more GitHub permissions", "read:user, gist, repo");
      String id = Responses.metadata(r, "elicitation_id");
      ElicitationStore store = new ElicitationStore(authz.server().hazelcast(), Duration.ofMinutes(10),
          java.time.Clock.systemUTC(), Runnable::run);
      assertThat(store.find(id).get(10, TimeUnit.SECONDS).orElseThrow().scopes())
          .containsExactlyInAnyOrder("read:user", "gist", "repo");
      assertThat(Responses.body(r)).doesNotContain("gh-access", "gh-refresh");

      var encoder = new net.logstash.logback.encoder.LogstashEncoder();
      encoder.setContext(auditLog.getLoggerContext());
      encoder.start();
      List<String> requested = captured.list.stream().map(e -> new String(encoder.encode(e)))
          .filter(l -> l.contains("\"event\":\"consent.requested\"")).toList();
      assertThat(requested).singleElement().satisfies(l -> assertThat(l)
          .contains("\"user\":\"alice\"", "\"server\":\"github\"", "\"provider\":\"gh\"",
              "\"reason\":\"scope_escalation\"", "\"mode\":\"input_required\"", "\"elicitation_id\":\"" + id + "\"",
              "\"decision_id\":\"" + Responses.metadata(r, "decision_id") + "\"")
          .doesNotContain("gh-access", "gh-refresh", "eyJ"));
    } finally {
      auditLog.detachAppender(captured);
    }
  }
}
