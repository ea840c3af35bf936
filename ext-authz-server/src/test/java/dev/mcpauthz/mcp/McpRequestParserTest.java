package dev.mcpauthz.mcp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class McpRequestParserTest {
  private final McpRequestParser parser = new McpRequestParser(16, 4096);

  record Facts(String method, Map<String, String> headers, String body, boolean partial) implements HttpFacts {
    @Override
    public String header(String name) {
      return headers.get(name);
    }

    @Override
    public int bodySize() {
      return body == null ? 0 : body.length();
    }

    @Override
    public boolean partialBody() {
      return partial;
    }

    @Override
    public JsonParser openBody(JsonFactory f) throws IOException {
      return f.createParser(body);
    }
  }

  McpRequest parse(Map<String, String> headers, String body) {
    return parser.parse(new Facts("POST", headers, body, false));
  }

  @Test
  void clientCapabilitiesComeFromMetaOrFromInitialize() {
    String meta = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"_meta\":{"
        + "\"io.modelcontextprotocol/clientCapabilities\":{\"elicitation\":{\"url\":{}}}}}}";
    assertThat(parse(Map.of(), meta).singleElicitation()).isEqualTo(ElicitationSupport.URL);
    String formOnly = meta.replace("{\"url\":{}}", "{}");
    assertThat(parse(Map.of(), formOnly).singleElicitation()).isEqualTo(ElicitationSupport.NONE);
    String noCaps = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"t\",\"_meta\":{}}}";
    assertThat(parse(Map.of(), noCaps).singleElicitation()).isEqualTo(ElicitationSupport.UNDECLARED);

    String init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"params\":{\"capabilities\":{\"roots\":{},\"elicitation\":{\"form\":{},\"url\":{}}}},"
        + "\"method\":\"initialize\"}";
    assertThat(parse(Map.of(), init).singleElicitation()).isEqualTo(ElicitationSupport.URL);
    // params.capabilities means nothing outside initialize.
    String notInit = init.replace("initialize", "tools/list");
    assertThat(parse(Map.of(), notInit).singleElicitation()).isEqualTo(ElicitationSupport.UNDECLARED);
    // A scalar where an object belongs is not a declaration.
    String scalar = init.replace("\"url\":{}", "\"url\":true");
    assertThat(parse(Map.of(), scalar).singleElicitation()).isEqualTo(ElicitationSupport.NONE);
  }

  @Test
  void absentProtocolVersionMeans20250326() {
    McpRequest r = parse(Map.of(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
    assertThat(r.protocolVersion()).isEqualTo("2025-03-26");
    assertThat(r.method()).isEqualTo("ping");
    assertThat(r.problem()).isNull();
  }

  @Test
  void largeNumericIdsArePreservedExactly() {
    McpRequest r = parse(Map.of(), "{\"jsonrpc\":\"2.0\",\"id\":123456789012345678901234567890,\"method\":\"ping\"}");
    assertThat(r.singleId().toString()).isEqualTo("123456789012345678901234567890");
  }

  @Test
  void resourcesReadNameIsTheUri() {
    McpRequest r = parse(Map.of("mcp-protocol-version", "2026-07-28", "mcp-method", "resources/read", "mcp-name", "file:///a.txt"),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///a.txt\",\"name\":\"ignored\"}}");
    assertThat(r.problem()).isNull();
    assertThat(r.name()).isEqualTo("file:///a.txt");
  }

  @Test
  void clientResponsesNeedNoMethodHeader() {
    McpRequest r = parse(Map.of("mcp-protocol-version", "2026-07-28"), "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}");
    assertThat(r.problem()).isNull();
    assertThat(r.method()).isNull();
  }

  @Test
  void batchElementsAreEachValidated() {
    McpRequest r = parse(Map.of(), "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2}]");
    assertThat(r.batch()).isTrue();
    assertThat(r.problem()).extracting(McpProblem::jsonRpcCode).isEqualTo(JsonRpc.INVALID_REQUEST);
    assertThat(parse(Map.of(), "[]").problem().message()).contains("empty");
    assertThat(parse(Map.of(), "[1,2]").problem().message()).contains("object");
  }

  @Test
  void namedMethodWithoutNameIsInvalid() {
    McpRequest r = parse(Map.of(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}");
    assertThat(r.problem().jsonRpcCode()).isEqualTo(JsonRpc.INVALID_REQUEST);
  }

  @Test
  void sentinelThatIsPlainTextIsStillDecoded() {
    String literal = "=?base64?" + java.util.Base64.getEncoder().encodeToString("=?base64?literal?=".getBytes()) + "?=";
    McpRequest r = parse(Map.of("mcp-protocol-version", "2026-07-28", "mcp-method", "tools/call", "mcp-name", literal),
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"=?base64?literal?=\"}}");
    assertThat(r.problem()).isNull();
  }

  @Test
  void partialBodyIsNotParsedAndHeadersStillCount() {
    McpRequest r = parser.parse(new Facts("POST", Map.of("mcp-method", "tools/call", "mcp-name", "x"), "{\"jsonrpc\":", true));
    assertThat(r.bodyIncomplete()).isTrue();
    assertThat(r.problem()).isNull();
    assertThat(r.method()).isEqualTo("tools/call");
  }

  @Test
  void scalarParamsAreRejected() {
    assertThat(parse(Map.of(), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":3}").problem().jsonRpcCode())
        .isEqualTo(JsonRpc.INVALID_REQUEST);
    assertThat(parse(Map.of(), "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}").problem().message()).contains("id");
  }
}
