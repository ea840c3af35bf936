package dev.mcpauthz.it.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jwt.SignedJWT;
import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.it.gateway.Gateway;
import dev.mcpauthz.it.keycloak.ClientSpec;
import dev.mcpauthz.it.keycloak.KeycloakExtension;
import dev.mcpauthz.it.keycloak.KeycloakServer;
import dev.mcpauthz.it.keycloak.RealmHandle;
import dev.mcpauthz.it.keycloak.RealmSpec;
import dev.mcpauthz.it.keycloak.UserSpec;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.customizer.McpHttpClientAuthorizationErrorHandler;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The whole foundation with real parts: official MCP Java SDK client → Envoy (or the emulator) →
 * mcp-authz (gRPC ext_authz) → official MCP Java SDK server, tokens from a real Keycloak whose
 * access tokens carry the RFC 8707 resource as audience.
 */
@ExtendWith(KeycloakExtension.class)
class McpThroughGatewayTest {
  static final String CLIENT = "mcp-client";
  static final String SECRET = "mcp-client-secret";

  static DemoMcpServer upstream;
  static McpAuthzServer authz;
  static Gateway gateway;
  static RealmHandle realm;
  static String resource;

  @BeforeAll
  static void start(KeycloakServer keycloak) throws Exception {
    int listen = Gateway.freePort();
    int authzHttp = Gateway.freePort();
    resource = "http://127.0.0.1:" + listen + "/mcp";
    realm = keycloak.createRealm(new RealmSpec("mcp-e2e", List.of(ClientSpec.confidential(CLIENT, SECRET)),
        List.of(UserSpec.of("alice", "alice-pw")), List.of("mcp:tools"), resource, Duration.ofMinutes(5)));
    upstream = DemoMcpServer.start(0);
    String yaml = """
        grpc: {port: 0, drain_timeout: 2s}
        http: {port: %d}
        issuers:
          - id: keycloak
            issuer: %s
            jwks_uri: %s
        servers:
          - id: demo
            resource: %s
            resource_metadata_url: http://127.0.0.1:%d/.well-known/oauth-protected-resource/mcp
            scopes_supported: [mcp:tools]
            required_scopes: [mcp:tools]
        """.formatted(authzHttp, realm.issuer(), realm.jwksUri(), resource, authzHttp);
    authz = McpAuthzServer.start(ConfigLoader.parse(yaml, "e2e.yaml", Map.of(), null));
    gateway = Gateway.start(new Gateway.Ports(listen, authz.grpcPort(), authzHttp, upstream.baseUri()), "demo");
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (authz != null) {
      authz.close();
    }
    if (upstream != null) {
      upstream.close();
    }
  }

  static McpSyncClient client(DiscoveringBearerAuth auth) {
    var transport = HttpClientStreamableHttpTransport.builder(gateway.baseUri().toString())
        .endpoint("/mcp")
        .httpRequestCustomizer(auth)
        .authorizationErrorHandler(McpHttpClientAuthorizationErrorHandler.fromSync(auth))
        .build();
    return McpClient.sync(transport).requestTimeout(Duration.ofSeconds(20))
        .clientInfo(new McpSchema.Implementation("mcp-authz-e2e", "1.0")).build();
  }

  @Test
  void withoutTokenTheClientGetsTheDiscoveryChallenge() {
    DiscoveringBearerAuth auth = new DiscoveringBearerAuth(CLIENT, SECRET, "alice", "alice-pw", false);
    int seenBefore = upstream.seen().size();
    try (McpSyncClient client = client(auth)) {
      assertThatThrownBy(client::initialize).isInstanceOf(RuntimeException.class);
    }
    assertThat(auth.challenges).isNotEmpty();
    assertThat(auth.challenges.get(0))
        .startsWith("401 Bearer ")
        .contains("resource_metadata=\"http://127.0.0.1:")
        .contains("/.well-known/oauth-protected-resource/mcp\"")
        .contains("scope=\"mcp:tools\"");
    assertThat(upstream.seen()).as("nothing reached the MCP server").hasSize(seenBefore);
  }

  @Test
  void clientFollowsDiscoveryThenInitializesListsAndCallsTools() throws Exception {
    DiscoveringBearerAuth auth = new DiscoveringBearerAuth(CLIENT, SECRET, "alice", "alice-pw", true);
    try (McpSyncClient client = client(auth)) {
      McpSchema.InitializeResult init = client.initialize();
      assertThat(init.serverInfo().name()).isEqualTo("mcp-authz-demo");
      assertThat(auth.discoveredResource).isEqualTo(resource);

      assertThat(client.listTools().tools()).extracting(McpSchema.Tool::name).contains("whoami", "echo");

      McpSchema.CallToolResult echo = client.callTool(new McpSchema.CallToolRequest("echo", Map.of("text", "héllo")));
      assertThat(((McpSchema.TextContent) echo.content().get(0)).text()).isEqualTo("héllo");

      String sub = SignedJWT.parse(auth.token).getJWTClaimsSet().getSubject();
      McpSchema.CallToolResult whoami = client.callTool(new McpSchema.CallToolRequest("whoami", Map.of()));
      assertThat(((McpSchema.TextContent) whoami.content().get(0)).text())
          .isEqualTo("subject=" + sub + " authorization_forwarded=false");
    }
    assertThat(auth.challenges).hasSize(1);
    assertThat(upstream.seen()).isNotEmpty().allSatisfy(seen -> {
      assertThat(seen.authorization()).as("client token never reaches the MCP server").isNull();
      assertThat(seen.decisionId()).hasSize(32);
    });
  }
}
