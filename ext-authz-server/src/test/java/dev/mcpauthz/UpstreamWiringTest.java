package dev.mcpauthz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.hazelcast.core.HazelcastInstance;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigException;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.testing.TestIssuer;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The service starts Hazelcast, the provider clients and the vault only for configs that need them. */
class UpstreamWiringTest {

  @Test
  void withoutUpstreamNoClusterMemberStarts() throws Exception {
    try (TestIssuer issuer = TestIssuer.start();
        McpAuthzServer s = McpAuthzServer.start(
            ConfigLoader.parse(AuthzHarness.defaultYaml(issuer), "t.yaml", Map.of(), null))) {
      assertThat(s.hazelcast()).isNull();
      assertThat(s.vault()).isNull();
      assertThat(s.providers()).isNull();
    }
  }

  @Test
  void shippedUpstreamExampleStartsAMemberTheVaultAndTheProviderAndStopsThem() throws Exception {
    int clusterPort = FreePorts.pick();
    Map<String, String> env = Map.of(
        "MCP_AUTHZ_VAULT__KEYS__0__SECRET", Base64.getEncoder().encodeToString(new byte[32]),
        "MCP_AUTHZ_PROVIDERS__0__CLIENT_SECRET", "test-secret",
        "MCP_AUTHZ_CONSENT__SIGN_IN__0__CLIENT_SECRET", "consent-secret",
        "MCP_AUTHZ_GRPC__PORT", "0",
        "MCP_AUTHZ_HTTP__PORT", "0",
        "MCP_AUTHZ_CLUSTER__PORT", Integer.toString(clusterPort),
        "MCP_AUTHZ_CLUSTER__CLUSTER_NAME", "wiring-" + clusterPort);
    AuthzConfig config = ConfigLoader.load(Path.of("../examples/mcp-authz-upstream.yaml"), env);
    HazelcastInstance hz;
    try (McpAuthzServer s = McpAuthzServer.start(config)) {
      hz = s.hazelcast();
      assertThat(hz).isNotNull();
      assertThat(hz.getCluster().getLocalMember().getAddress().getHost()).isEqualTo("127.0.0.1");
      assertThat(hz.getCluster().getLocalMember().getAddress().getPort()).isEqualTo(clusterPort);
      assertThat(s.vault()).isNotNull();
      assertThat(s.providers().client("github")).isNotNull();
      assertThat(s.registry().scrape()).contains("mcp_authz_provider_circuit_state");
      assertThat(config.consent().signIn().get(0).clientSecret()).isEqualTo("consent-secret");
      // The consent pages are served: a forged resume state gets the page that says so.
      var page = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("http://127.0.0.1:" + s.httpPort() + "/auth/resume?state=forged")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).isEqualTo(400);
      assertThat(page.body()).contains("data-page=\"invalid-resume\"");
    }
    assertThat(hz.getLifecycleService().isRunning()).as("close() stops the member").isFalse();
  }

  @Test
  void shippedUpstreamExampleWithoutItsSecretsFailsAtLoadNamingTheKey() {
    assertThatThrownBy(() -> ConfigLoader.load(Path.of("../examples/mcp-authz-upstream.yaml"), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("vault.keys[0]");
  }
}
