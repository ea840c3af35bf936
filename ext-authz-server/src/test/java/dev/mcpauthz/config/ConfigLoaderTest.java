package dev.mcpauthz.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
  static final String VALID = """
      issuers:
        - id: kc
          issuer: https://idp.example.com/realms/mcp
          jwks_uri: https://idp.example.com/realms/mcp/certs
      servers:
        - id: github
          resource: https://mcp.example.com/github
          match: {path_prefix: /github}
      """;

  @Test
  void shippedExampleConfigLoads() {
    AuthzConfig c = ConfigLoader.load(Path.of("../examples/mcp-authz.yaml"), Map.of());
    assertThat(c.servers()).extracting(AuthzConfig.Server::id).containsExactly("demo");
    assertThat(c.grpc().port()).isEqualTo(9191);
  }

  @Test
  void defaultsApplyWhenKeysAreAbsent() {
    AuthzConfig c = ConfigLoader.parse(VALID, "t.yaml", Map.of(), null);
    assertThat(c.grpc().bind()).isEqualTo("127.0.0.1");
    assertThat(c.http().bind()).isEqualTo("127.0.0.1");
    assertThat(c.issuers().get(0).clockSkew()).isEqualTo(Duration.ofSeconds(30));
    assertThat(c.issuers().get(0).algorithms()).containsExactly("RS256", "PS256", "ES256");
    assertThat(c.routing().contextExtensionKey()).isEqualTo("mcp_server");
    assertThat(c.identityHeaders().subject()).isEqualTo("x-mcp-authz-subject");
  }

  @Test
  void environmentOverridesKeysAndListElements() {
    AuthzConfig c = ConfigLoader.parse(VALID, "t.yaml", Map.of(
        "MCP_AUTHZ_GRPC__PORT", "7000",
        "MCP_AUTHZ_ISSUERS__0__CLOCK_SKEW", "5s",
        "MCP_AUTHZ_SERVERS__0__RESOURCE", "https://mcp.example.com/other",
        "MCP_AUTHZ_CONFIG", "ignored.yaml",
        "UNRELATED", "x"), null);
    assertThat(c.grpc().port()).isEqualTo(7000);
    assertThat(c.issuers().get(0).clockSkew()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.servers().get(0).resource().toString()).isEqualTo("https://mcp.example.com/other");
  }

  @Test
  void introspectionSecretComesFromFileOrEnvironment(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("secret.txt"), "s3cr3t\n");
    String yaml = VALID.replace("jwks_uri: https://idp.example.com/realms/mcp/certs", """
        introspection:
              endpoint: https://idp.example.com/introspect
              client_id: gw
              client_secret_file: secret.txt""");
    Path file = dir.resolve("c.yaml");
    Files.writeString(file, yaml);
    assertThat(ConfigLoader.load(file, Map.of()).issuers().get(0).introspection().clientSecret()).isEqualTo("s3cr3t");

    String fromEnv = yaml.replace("client_secret_file: secret.txt", "client_id_unused: x").replace("client_id_unused: x", "");
    Files.writeString(file, fromEnv);
    AuthzConfig c = ConfigLoader.load(file, Map.of("MCP_AUTHZ_ISSUERS__0__INTROSPECTION__CLIENT_SECRET", "from-env"));
    assertThat(c.issuers().get(0).introspection().clientSecret()).isEqualTo("from-env");
  }

  @Test
  void consentDefaultsAndLoopbackHttpBase() {
    AuthzConfig defaults = ConfigLoader.parse(VALID, "c.yaml", Map.of(), null);
    assertThat(defaults.consent().publicBaseUrl()).isNull();
    assertThat(defaults.consent().elicitationTtl()).isEqualTo(java.time.Duration.ofMinutes(10));
    AuthzConfig local = ConfigLoader.parse(VALID + "consent: {public_base_url: 'http://127.0.0.1:8080', elicitation_ttl: 5m}\n",
        "c.yaml", Map.of(), null);
    assertThat(local.consent().publicBaseUrl()).hasToString("http://127.0.0.1:8080");
    assertThat(local.consent().elicitationTtl()).isEqualTo(java.time.Duration.ofMinutes(5));
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("unknown key", VALID + "\ngrpcc: {port: 1}", "", "unknown key 'grpcc'"),
        Arguments.of("unknown nested key", VALID.replace("match: {path_prefix: /github}", "match: {path: /github}"), "servers[0].match", "unknown key 'path'"),
        Arguments.of("bad duration", VALID.replace("jwks_uri:", "clock_skew: soon\n    jwks_uri:"), "issuers[0].clock_skew", "not a duration"),
        Arguments.of("HMAC algorithm", VALID.replace("jwks_uri:", "algorithms: [RS256, HS256]\n    jwks_uri:"), "issuers[0].algorithms[1]", "HMAC"),
        Arguments.of("alg none", VALID.replace("jwks_uri:", "algorithms: [none]\n    jwks_uri:"), "issuers[0].algorithms[0]", "refused"),
        Arguments.of("missing resource", VALID.replace("resource: https://mcp.example.com/github", ""), "servers[0].resource", "required"),
        Arguments.of("plain http resource", VALID.replace("https://mcp.example.com/github", "http://mcp.example.com/github"), "servers[0].resource", "https"),
        Arguments.of("fragment", VALID.replace("https://mcp.example.com/github", "https://mcp.example.com/github#x"), "servers[0].resource", "fragment"),
        Arguments.of("duplicate server", VALID + "  - id: github\n    resource: https://mcp.example.com/x\n", "servers[1].id", "duplicate"),
        Arguments.of("unknown issuer reference", VALID.replace("match: {path_prefix: /github}", "issuers: [nope]"), "servers[0].issuers[0]", "unknown issuer id 'nope'"),
        Arguments.of("no key source", VALID.replace("    jwks_uri: https://idp.example.com/realms/mcp/certs\n", ""), "issuers[0]", "jwks_uri"),
        Arguments.of("introspection without secret", VALID.replace("jwks_uri: https://idp.example.com/realms/mcp/certs",
            "introspection: {endpoint: https://idp.example.com/i, client_id: gw}"), "issuers[0].introspection.client_secret", "required"),
        Arguments.of("path prefix without slash", VALID.replace("/github}", "github}"), "servers[0].match.path_prefix", "start with '/'"),
        Arguments.of("identity header cannot be authorization", VALID + "identity_headers: {subject: authorization}\n", "identity_headers.subject", "cannot carry identity"),
        Arguments.of("wrong type", VALID + "grpc: {port: lots}\n", "grpc.port", ""),
        Arguments.of("no servers", VALID.substring(0, VALID.indexOf("servers:")), "servers", "at least one"),
        Arguments.of("plain http consent base", VALID + "consent: {public_base_url: http://gw.example.com}\n", "consent.public_base_url", "https"),
        Arguments.of("relative consent base", VALID + "consent: {public_base_url: /auth}\n", "consent.public_base_url", "absolute"),
        Arguments.of("consent base with query", VALID + "consent: {public_base_url: 'https://gw.example.com/?a=b'}\n", "consent.public_base_url", "no query"),
        Arguments.of("elicitation ttl too short", VALID + "consent: {elicitation_ttl: 1s}\n", "consent.elicitation_ttl", "between 10s and 24h"),
        Arguments.of("invalid YAML", "issuers: [\n  - id: x\n  bad", "line", "invalid YAML"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void invalidConfigFailsWithFileKeyAndReason(String name, String yaml, String key, String reason) {
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, "conf/mcp-authz.yaml", Map.of(), null))
        .isInstanceOfSatisfying(ConfigException.class, e -> {
          assertThat(e.source()).isEqualTo("conf/mcp-authz.yaml");
          assertThat(e.key()).startsWith(key);
          assertThat(e.reason()).contains(reason);
          assertThat(e.getMessage()).startsWith("conf/mcp-authz.yaml: ");
        });
  }

  @Test
  void missingFileIsReportedClearly() {
    assertThatThrownBy(() -> ConfigLoader.load(Path.of("does/not/exist.yaml"), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessage("does/not/exist.yaml: file not found");
  }
}
