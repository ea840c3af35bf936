package dev.mcpauthz.authn;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ResourceUriTest {
  @ParameterizedTest
  @CsvSource({
      "https://mcp.example.com/mcp, https://mcp.example.com/mcp, true",
      "HTTPS://MCP.Example.COM/mcp, https://mcp.example.com/mcp, true",
      "https://mcp.example.com:443/mcp, https://mcp.example.com/mcp, true",
      "https://mcp.example.com, https://mcp.example.com/, true",
      "https://mcp.example.com/mcp/, https://mcp.example.com/mcp, false",
      "https://mcp.example.com/MCP, https://mcp.example.com/mcp, false",
      "https://mcp.example.com:8443/mcp, https://mcp.example.com/mcp, false",
      "http://mcp.example.com/mcp, https://mcp.example.com/mcp, false",
      "mcp-client-id, https://mcp.example.com/mcp, false"})
  void canonicalComparison(String a, String b, boolean same) {
    assertThat(ResourceUri.normalize(a).equals(ResourceUri.normalize(b))).isEqualTo(same);
  }
}
