package dev.mcpauthz.it.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.it.gateway.Gateway;
import dev.mcpauthz.it.mcp.TsMcpClient.Sdk;
import dev.mcpauthz.testing.Conditions;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.testing.TestIssuer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The official TypeScript MCP SDK clients, 1.x and 2.x, through the Envoy ext_authz emulator and
 * mcp-authz to the MCP Java SDK demo server: they call tools, and they understand the consent
 * prompts mcp-authz renders for a server with an upstream and no stored credential (1.x: -32042
 * as UrlElicitationRequiredError; 2.x on 2026-07-28: an input_required result carrying the
 * URL-mode elicitation/create).
 */
class TsSdkClientsTest {
  static TestIssuer issuer;
  static DemoMcpServer upstream;
  static TsMcpServer modernUpstream;
  static McpAuthzServer authz;
  static Gateway plainGateway;
  static Gateway consentGateway;
  static Gateway modernGateway;
  static URI plainMcp;
  static URI modernMcp;
  static URI consentMcp;
  static String consentStart;

  @BeforeAll
  static void start() throws Exception {
    issuer = TestIssuer.start();
    upstream = DemoMcpServer.start(0);
    modernUpstream = TsMcpServer.start();
    int plainPort = Gateway.freePort();
    int modernPort = Gateway.freePort();
    int consentPort = Gateway.freePort();
    int authzHttp = Gateway.freePort();
    plainMcp = URI.create("http://127.0.0.1:" + plainPort + "/mcp");
    modernMcp = URI.create("http://127.0.0.1:" + modernPort + "/mcp");
    consentMcp = URI.create("http://127.0.0.1:" + consentPort + "/mcp");
    consentStart = "http://127.0.0.1:" + authzHttp + "/auth/start?elicitation=";
    // "consent" has an upstream (refresh-and-inject) but nobody connected an account yet, so every
    // tools/call there gets the consent prompt (docs/consent.md); "demo" (MCP Java SDK, 2025-11-25)
    // and "modern" (TypeScript SDK 2.x, 2026-07-28) are plain servers.
    String yaml = """
        grpc: {port: 0, drain_timeout: 2s}
        http: {port: %d}
        logging: {decisions: all}
        issuers:
          - id: demo-issuer
            issuer: %s
            jwks_uri: %s
        servers:
          - id: demo
            resource: %s
            scopes_supported: [mcp:tools]
            required_scopes: [mcp:tools]
          - id: modern
            resource: %s
            scopes_supported: [mcp:tools]
            required_scopes: [mcp:tools]
          - id: consent
            resource: %s
            scopes_supported: [mcp:tools]
            required_scopes: [mcp:tools]
            upstream: {provider: gh, scopes: [repo]}
        providers:
          - id: gh
            display_name: GitHub
            client_id: mcp-authz
            client_secret: s3cret
            authorization_endpoint: http://127.0.0.1:1/authorize
            token_endpoint: http://127.0.0.1:1/token
        vault:
          keys: [{id: k1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]
        cluster: {cluster_name: ts-sdk-%d, port: %d}
        """.formatted(authzHttp, issuer.issuer(), issuer.jwksUri(), plainMcp, modernMcp, consentMcp,
        System.nanoTime(),
        FreePorts.pick());
    authz = McpAuthzServer.start(ConfigLoader.parse(yaml, "ts-sdk.yaml", Map.of(), null));
    plainGateway = Gateway.start(new Gateway.Ports(plainPort, authz.grpcPort(), authzHttp, upstream.baseUri()), "demo");
    modernGateway = Gateway.start(new Gateway.Ports(modernPort, authz.grpcPort(), authzHttp,
        modernUpstream.baseUri()), "modern");
    consentGateway = Gateway.start(new Gateway.Ports(consentPort, authz.grpcPort(), authzHttp, upstream.baseUri()),
        "consent");
    warmUpConsentPrompts();
  }

  /**
   * The first consent prompt after start-up creates the elicitation in Hazelcast, which took
   * 0.3 s to over 0.5 s here, beyond the gateway's 500 ms ext_authz timeout (then a 503). One
   * prompt before the tests, repeated until it arrives, keeps the tests about the SDKs.
   */
  static void warmUpConsentPrompts() {
    String body = """
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},"_meta":{
        "io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}""";
    HttpRequest request = HttpRequest.newBuilder(consentMcp)
        .header("authorization", "Bearer " + token(consentMcp, "warm-up"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "echo")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    try (HttpClient http = HttpClient.newHttpClient()) {
      Conditions.waitUntil(Duration.ofSeconds(30), "a consent prompt through the gateway", () -> {
        try {
          HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
          return r.statusCode() == 200 && r.body().contains("/auth/start?elicitation=");
        } catch (IOException e) {
          return false;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      });
    }
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {consentGateway, modernGateway, plainGateway, authz, modernUpstream,
        upstream, issuer}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // close the others anyway
      }
    }
  }

  static String token(URI resource, String subject) {
    return issuer.mint(resource.toString(), c -> c.subject(subject));
  }

  // ---- a plain server: both SDKs call a tool ---------------------------------------------------

  @Test
  void v1CallsAToolThroughTheGateway() {
    try (TsMcpClient c = TsMcpClient.start(Sdk.V1, plainMcp, token(plainMcp, "ts-v1"), "echo",
        Map.of("text", "héllo from SDK 1.x"), TsMcpClient.options())) {
      assertThat(c.nextEvent("connected").path("protocolVersion").asText()).isEqualTo("2025-11-25");
      TsMcpClient.Outcome o = c.nextOutcome();
      assertThat(o.outcome()).as(o.json().toString()).isEqualTo("ok");
      assertThat(o.text()).isEqualTo("héllo from SDK 1.x");
      assertThat(o.isError()).isFalse();
      assertThat(c.awaitExit()).isZero();
    }
  }

  @Test
  void v2CallsAToolThroughTheGateway() {
    try (TsMcpClient c = TsMcpClient.start(Sdk.V2, plainMcp, token(plainMcp, "ts-v2"), "whoami", Map.of(),
        TsMcpClient.options())) {
      assertThat(c.nextEvent("connected").path("era").asText()).isEqualTo("legacy");
      TsMcpClient.Outcome o = c.nextOutcome();
      assertThat(o.outcome()).as(o.json().toString()).isEqualTo("ok");
      assertThat(o.text()).isEqualTo("subject=ts-v2 authorization_forwarded=false");
      assertThat(c.awaitExit()).isZero();
    }
  }

  @Test
  void v2WithAutoNegotiationFallsBackToInitializeOnA2025Server() {
    // The server/discover probe passes mcp-authz (discovery never prompts) and the Java SDK server
    // does not know it, so the client initializes as 2025-11-25.
    try (TsMcpClient c = TsMcpClient.start(Sdk.V2, plainMcp, token(plainMcp, "ts-v2-auto"), "echo",
        Map.of("text", "auto"), TsMcpClient.options().era("auto"))) {
      var connected = c.nextEvent("connected");
      assertThat(connected.path("era").asText()).isEqualTo("legacy");
      assertThat(connected.path("protocolVersion").asText()).isEqualTo("2025-11-25");
      assertThat(c.nextOutcome().text()).isEqualTo("auto");
    }
  }

  @Test
  void v2NegotiatesTheModernRevisionThroughTheGatewayWithA2026Server() {
    try (TsMcpClient c = TsMcpClient.start(Sdk.V2, modernMcp, token(modernMcp, "ts-v2-modern-ok"), "whoami",
        Map.of(), TsMcpClient.options().era("auto"))) {
      var connected = c.nextEvent("connected");
      assertThat(connected.path("era").asText()).isEqualTo("modern");
      assertThat(connected.path("protocolVersion").asText()).isEqualTo("2026-07-28");
      TsMcpClient.Outcome o = c.nextOutcome();
      assertThat(o.outcome()).as(o.json().toString()).isEqualTo("ok");
      assertThat(o.text()).isEqualTo("subject=ts-v2-modern-ok authorization=none era=modern");
    }
    // What crossed mcp-authz: the server/discover probe and the call, with their 2026-07-28
    // headers, and never the client's token.
    assertThat(modernUpstream.requests()).filteredOn(r -> "ts-v2-modern-ok".equals(
        r.at("/headers/x-mcp-authz-subject").asText())).extracting(r -> r.at("/headers/mcp-method").asText())
        .containsExactly("server/discover", "tools/call");
    assertThat(modernUpstream.requests()).allSatisfy(r -> assertThat(r.path("headers").has("authorization")).isFalse());
  }

  // ---- a server that needs consent: the prompts mcp-authz renders, as the SDKs see them ----------

  @Test
  void v1SeesUrlElicitationRequiredAndCanRetryInTheSameSession() {
    try (TsMcpClient c = TsMcpClient.start(Sdk.V1, consentMcp, token(consentMcp, "ts-v1-consent"), "echo",
        Map.of("text", "needs GitHub"), TsMcpClient.options().calls(2))) {
      TsMcpClient.Outcome first = c.nextOutcome();
      assertThat(first.outcome()).as(first.json().toString()).isEqualTo("url_elicitation_required");
      assertThat(first.code()).isEqualTo(-32042);
      assertThat(first.elicitations()).singleElement().satisfies(e -> {
        assertThat(e.mode()).isEqualTo("url");
        assertThat(e.url()).startsWith(consentStart).endsWith(e.elicitationId());
        assertThat(e.elicitationId()).matches("[A-Za-z0-9_-]{43}");
        assertThat(e.message()).contains("you have not connected your GitHub account yet");
      });

      // The consent test answers here once the user consented; without consent the retry in the
      // same session gets the same pending elicitation again.
      c.nextEvent("waiting");
      c.send("retry");
      TsMcpClient.Outcome second = c.nextOutcome();
      assertThat(second.call()).isEqualTo(2);
      assertThat(second.outcome()).isEqualTo("url_elicitation_required");
      assertThat(second.elicitations().get(0).url()).isEqualTo(first.elicitations().get(0).url());
      assertThat(c.awaitExit()).isZero();
    }
  }

  @Test
  void v2InLegacyEraAlsoSeesUrlElicitationRequired() {
    TsMcpClient.Outcome o = TsMcpClient.callOnce(Sdk.V2, consentMcp, token(consentMcp, "ts-v2-legacy"), "echo",
        Map.of("text", "x"), TsMcpClient.options());
    assertThat(o.outcome()).as(o.json().toString()).isEqualTo("url_elicitation_required");
    assertThat(o.elicitations()).singleElement().satisfies(e -> assertThat(e.url()).startsWith(consentStart));
  }

  @Test
  void v2On20260728SeesInputRequiredWithTheUrl() {
    TsMcpClient.Outcome o = TsMcpClient.callOnce(Sdk.V2, consentMcp, token(consentMcp, "ts-v2-modern"), "echo",
        Map.of("text", "x"), TsMcpClient.options().era("prior-modern"));
    assertThat(o.outcome()).as(o.json().toString()).isEqualTo("input_required");
    assertThat(o.inputRequests()).containsOnlyKeys("mcp_authz_consent");
    TsMcpClient.InputRequest r = o.inputRequests().get("mcp_authz_consent");
    assertThat(r.method()).isEqualTo("elicitation/create");
    assertThat(r.mode()).isEqualTo("url");
    assertThat(r.url()).startsWith(consentStart);
    assertThat(r.message()).contains("GitHub");
    assertThat(o.json().has("requestState")).as("mcp-authz sends no requestState").isFalse();
  }

  @Test
  void v2DriverHandsTheUrlToTheElicitationHandlerThenRetriesWithTheAnswer() {
    try (TsMcpClient c = TsMcpClient.start(Sdk.V2, consentMcp, token(consentMcp, "ts-v2-fulfil"), "echo",
        Map.of("text", "x"), TsMcpClient.options().era("prior-modern").inputRequired("fulfil").maxRounds(1))) {
      var elicitation = c.nextEvent("elicitation").path("params");
      assertThat(elicitation.path("mode").asText()).isEqualTo("url");
      assertThat(elicitation.path("url").asText()).startsWith(consentStart);
      // A real client opens the URL here and answers when the user is back; the SDK then sends
      // tools/call again with inputResponses. Without consent mcp-authz prompts again, and the
      // SDK gives up after maxRounds.
      c.send("accept");
      TsMcpClient.Outcome o = c.nextOutcome();
      assertThat(o.outcome()).as(o.json().toString()).isEqualTo("error");
      assertThat(o.json().path("code").asText()).isEqualTo("INPUT_REQUIRED_ROUNDS_EXCEEDED");
      assertThat(o.json().at("/data/lastResult/inputRequests/mcp_authz_consent/params/url").asText())
          .isEqualTo(elicitation.path("url").asText());
    }
  }

  @Test
  void v2DeclineInTheClientEndsTheRoundTripWithAToolErrorInsteadOfAnotherPrompt() {
    try (TsMcpClient c = TsMcpClient.start(Sdk.V2, consentMcp, token(consentMcp, "ts-v2-decline"), "echo",
        Map.of("text", "x"), TsMcpClient.options().era("prior-modern").inputRequired("fulfil").maxRounds(3))) {
      c.nextEvent("elicitation");
      c.send("decline"); // the SDK retries with inputResponses {mcp_authz_consent: {action: decline}}
      TsMcpClient.Outcome o = c.nextOutcome();
      assertThat(o.outcome()).as(o.json().toString()).isEqualTo("ok");
      assertThat(o.isError()).isTrue();
      assertThat(o.text()).startsWith("You declined").contains(consentStart);
    }
  }

  // ---- clients without URL elicitation: the link in a tool result --------------------------------

  @Test
  void v1WithoutUrlElicitationGetsAToolErrorWithTheLink() {
    TsMcpClient.Outcome o = TsMcpClient.callOnce(Sdk.V1, consentMcp, token(consentMcp, "ts-v1-plain"), "echo",
        Map.of("text", "x"), TsMcpClient.options().elicitation("none"));
    assertThat(o.outcome()).as(o.json().toString()).isEqualTo("ok");
    assertThat(o.isError()).isTrue();
    assertThat(o.text()).contains("Open this link to continue, then retry: " + consentStart);
  }

  @Test
  void v2On20260728WithoutUrlElicitationGetsAToolErrorWithTheLink() {
    // 2026-07-28 results must carry resultType; the SDK rejects one without it (INVALID_RESULT).
    TsMcpClient.Outcome o = TsMcpClient.callOnce(Sdk.V2, consentMcp, token(consentMcp, "ts-v2-plain"), "echo",
        Map.of("text", "x"), TsMcpClient.options().era("prior-modern").elicitation("none"));
    assertThat(o.outcome()).as(o.json().toString()).isEqualTo("ok");
    assertThat(o.isError()).isTrue();
    assertThat(o.text()).contains("Open this link to continue, then retry: " + consentStart);
  }
}
