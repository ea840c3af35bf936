package dev.mcpauthz.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Provider settings: credential files resolved against the config directory; discovery issuer checked. */
class ProviderConfigFilesTest {
  @Test
  void relativeSecretAndKeyFilesResolveAgainstTheConfigDirectory(@TempDir Path dir) throws Exception {
    Files.createDirectories(dir.resolve("secrets"));
    Files.writeString(dir.resolve("secrets/gh"), "s");
    Files.writeString(dir.resolve("secrets/key.pem"), "k");
    String yaml = ConfigLoaderTest.VALID + """
        providers:
          - id: gh
            token_endpoint: https://github.com/login/oauth/access_token
            client_id: c
            client_secret_file: secrets/gh
          - id: entra
            token_endpoint: https://login.microsoftonline.com/t/oauth2/v2.0/token
            client_id: c
            client_auth: private_key_jwt
            private_key_file: secrets/key.pem
        """;
    AuthzConfig c = ConfigLoader.parse(yaml, "t.yaml", Map.of(), dir);
    assertThat(c.providers().get(0).clientSecretFile()).isEqualTo(dir.resolve("secrets/gh"));
    assertThat(c.providers().get(1).privateKeyFile()).isEqualTo(dir.resolve("secrets/key.pem"));
  }

  @Test
  void discoveryIssuerMustBeHttpsOrLoopback() {
    String yaml = ConfigLoaderTest.VALID + """
        providers:
          - id: kc
            issuer: http://keycloak.internal/realms/mcp
            client_id: c
            client_secret: s
        """;
    assertThatThrownBy(() -> ConfigLoader.parse(yaml, "t.yaml", Map.of(), null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("t.yaml: providers[0].issuer: must use https");
    String query = yaml.replace("http://keycloak.internal/realms/mcp", "https://kc.example.com/realms/mcp?x=1");
    assertThatThrownBy(() -> ConfigLoader.parse(query, "t.yaml", Map.of(), null))
        .hasMessageContaining("providers[0].issuer: an issuer has no query or fragment");
  }
}
