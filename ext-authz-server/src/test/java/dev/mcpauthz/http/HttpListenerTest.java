package dev.mcpauthz.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The HTTP listener over real HTTP: RFC 9728 metadata, metrics, health. */
class HttpListenerTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static TestIssuer issuer;
  static AuthzHarness authz;
  static HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void start() {
    issuer = TestIssuer.start();
    String yaml = AuthzHarness.defaultYaml(issuer) + """
          - id: root
            resource: https://root.example.com
            resource_name: Root server
        """;
    authz = AuthzHarness.start(yaml);
  }

  @AfterAll
  static void stop() {
    authz.close();
    issuer.close();
  }

  static HttpResponse<String> get(String path, String host) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(authz.httpBase() + path));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void pathInsertedMetadataIsChosenByHost() throws Exception {
    // Two servers use path /mcp (github on mcp.example.com, other on other.example.com).
    String github = rawGet("/.well-known/oauth-protected-resource/mcp", "mcp.example.com");
    assertThat(github).startsWith("HTTP/1.1 200").contains("Access-Control-Allow-Origin: *");
    JsonNode doc = JSON.readTree(github.substring(github.indexOf("\r\n\r\n") + 4));
    assertThat(doc.path("resource").asText()).isEqualTo(AuthzHarness.RESOURCE);
    assertThat(doc.path("scopes_supported")).extracting(JsonNode::asText).containsExactly("mcp:tools", "repo:read");
    String other = rawGet("/.well-known/oauth-protected-resource/mcp", "other.example.com");
    assertThat(JSON.readTree(other.substring(other.indexOf("\r\n\r\n") + 4)).path("resource").asText())
        .isEqualTo("https://other.example.com/mcp");
  }

  static String rawGet(String path, String host) throws Exception {
    try (var socket = new java.net.Socket("127.0.0.1", authz.server().httpPort())) {
      socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  @Test
  void ambiguousPathWithoutMatchingHostIsNotFound() throws Exception {
    assertThat(get("/.well-known/oauth-protected-resource/mcp", null).statusCode()).isEqualTo(404);
  }

  @Test
  void rootFormServesTheServerWithoutPath() throws Exception {
    HttpResponse<String> r = get("/.well-known/oauth-protected-resource", null);
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode doc = JSON.readTree(r.body());
    assertThat(doc.path("resource").asText()).isEqualTo("https://root.example.com");
    assertThat(doc.path("authorization_servers").get(0).asText()).isEqualTo(issuer.issuer());
    assertThat(doc.path("bearer_methods_supported").get(0).asText()).isEqualTo("header");
    assertThat(doc.path("resource_name").asText()).isEqualTo("Root server");
  }

  @Test
  void unknownResourcePathIs404AndWritesAre405() throws Exception {
    assertThat(get("/.well-known/oauth-protected-resource/nope", null).statusCode()).isEqualTo(404);
    HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create(authz.httpBase() + "/.well-known/oauth-protected-resource"))
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
  }

  @Test
  void metricsExposeCheckTimerAndDecisionCounter() throws Exception {
    authz.check(Checks.post("/mcp").toolsCall(1, "search", "{}"));
    HttpResponse<String> r = get("/metrics", null);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).contains("mcp_authz_check_duration_seconds_bucket");
    assertThat(r.body()).containsPattern("mcp_authz_decisions_total\\{outcome=\"deny\",reason=\"missing_token\",server=\"github\"} [1-9]");
  }

  @Test
  void healthAndReadiness() throws Exception {
    assertThat(get("/healthz", null).statusCode()).isEqualTo(200);
    assertThat(get("/readyz", null).statusCode()).isEqualTo(200);
  }
}
