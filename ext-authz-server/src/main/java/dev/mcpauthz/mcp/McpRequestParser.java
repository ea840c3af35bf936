package dev.mcpauthz.mcp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds an {@link McpRequest} from headers and, when the proxy sent it, the JSON-RPC body.
 *
 * <p>The body is read with a streaming parser that keeps only {@code id}, {@code method} and
 * {@code params.name|uri} and skips the rest, so a 4 KiB tools/call costs no tree allocation.
 * Duplicate keys are rejected: a body with two {@code method} members could be read differently by
 * the gateway and the server (parser differential).
 *
 * <p>{@code params.arguments} is kept as a tree only when {@link #parse(HttpFacts, boolean)} is asked
 * to (a per-tool policy condition reads {@code args}); it is bounded by the same depth and body
 * limits, plus {@code maxArgumentsBytes}.
 */
public final class McpRequestParser {
  static final String H_PROTOCOL_VERSION = "mcp-protocol-version";
  static final String H_METHOD = "mcp-method";
  static final String H_NAME = "mcp-name";

  private static final com.fasterxml.jackson.databind.ObjectMapper TREES = new com.fasterxml.jackson.databind.ObjectMapper();

  private final JsonFactory json;
  private final int maxBodyBytes;
  private final int maxArgumentsBytes;

  public McpRequestParser(int maxJsonDepth, int maxBodyBytes) {
    this(maxJsonDepth, maxBodyBytes, 64 * 1024);
  }

  /** @param maxArgumentsBytes larger {@code params.arguments} are not kept (flagged too large instead) */
  public McpRequestParser(int maxJsonDepth, int maxBodyBytes, int maxArgumentsBytes) {
    this.maxBodyBytes = maxBodyBytes;
    this.maxArgumentsBytes = maxArgumentsBytes;
    this.json =
        JsonFactory.builder()
            .streamReadConstraints(
                StreamReadConstraints.builder()
                    .maxNestingDepth(maxJsonDepth)
                    .maxStringLength(maxBodyBytes)
                    .maxNumberLength(100)
                    .build())
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
  }

  public McpRequest parse(HttpFacts http) {
    return parse(http, false);
  }

  /** @param keepArguments keep {@code params.arguments} of each message (for policy conditions) */
  public McpRequest parse(HttpFacts http, boolean keepArguments) {
    String version = http.header(H_PROTOCOL_VERSION);
    if (version == null || version.isEmpty()) {
      version = ProtocolVersion.DEFAULT;
    }
    String headerMethod = http.header(H_METHOD);
    String rawName = http.header(H_NAME);
    String headerName = null;
    McpProblem problem = null;
    if (headerMethod != null) {
      try {
        headerMethod = HeaderValues.decode("Mcp-Method", headerMethod);
      } catch (HeaderValues.InvalidHeaderValueException e) {
        problem = McpProblem.headerMismatch(e.getMessage());
      }
    }
    if (rawName != null && problem == null) {
      try {
        headerName = HeaderValues.decode("Mcp-Name", rawName);
      } catch (HeaderValues.InvalidHeaderValueException e) {
        problem = McpProblem.headerMismatch(e.getMessage());
      }
    }

    int size = http.bodySize();
    if (size == 0) {
      return new McpRequest(version, headerMethod, headerName, List.of(), false, false, problem);
    }
    if (size > maxBodyBytes) {
      return new McpRequest(version, headerMethod, headerName, List.of(), false, true,
          problem != null ? problem : McpProblem.tooLarge("request body exceeds " + maxBodyBytes + " bytes"));
    }
    if (http.partialBody()) {
      // Envoy sent only the first max_request_bytes: the tail is unknown, so nothing in it is trusted.
      return new McpRequest(version, headerMethod, headerName, List.of(), false, true, problem);
    }

    List<McpMessage> messages = new ArrayList<>(1);
    boolean batch = false;
    try (JsonParser p = http.openBody(json)) {
      JsonToken t = p.nextToken();
      if (t == JsonToken.START_ARRAY) {
        batch = true;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
          if (t != JsonToken.START_OBJECT) {
            return failed(version, headerMethod, headerName, messages, true,
                McpProblem.invalidRequest("every element of a JSON-RPC batch must be an object"));
          }
          McpProblem elementProblem = readMessage(p, messages, keepArguments ? maxArgumentsBytes : -1);
          if (elementProblem != null) {
            return failed(version, headerMethod, headerName, messages, true, elementProblem);
          }
        }
        if (messages.isEmpty()) {
          return failed(version, headerMethod, headerName, messages, true,
              McpProblem.invalidRequest("empty JSON-RPC batch"));
        }
      } else if (t == JsonToken.START_OBJECT) {
        McpProblem messageProblem = readMessage(p, messages, keepArguments ? maxArgumentsBytes : -1);
        if (messageProblem != null) {
          return failed(version, headerMethod, headerName, messages, false, messageProblem);
        }
      } else {
        return failed(version, headerMethod, headerName, messages, false,
            McpProblem.invalidRequest("body must be a JSON-RPC object" + (ProtocolVersion.BATCHES.equals(version) ? " or batch" : "")));
      }
      if (p.nextToken() != null) {
        return failed(version, headerMethod, headerName, messages, batch,
            McpProblem.parseError("unexpected content after the JSON-RPC message"));
      }
    } catch (StreamConstraintsException e) {
      return failed(version, headerMethod, headerName, messages, batch,
          McpProblem.parseError("JSON exceeds limits: " + firstLine(e.getOriginalMessage())));
    } catch (JsonParseException e) {
      String msg = e.getOriginalMessage();
      if (msg != null && msg.startsWith("Duplicate field")) {
        return failed(version, headerMethod, headerName, messages, batch,
            McpProblem.invalidRequest("duplicate member in JSON-RPC object: " + firstLine(msg)));
      }
      return failed(version, headerMethod, headerName, messages, batch,
          McpProblem.parseError("malformed JSON: " + firstLine(msg)));
    } catch (IOException e) {
      return failed(version, headerMethod, headerName, messages, batch,
          McpProblem.parseError("unreadable body: " + firstLine(e.getMessage())));
    }

    if (problem == null) {
      problem = validate(version, headerMethod, headerName, messages, batch);
    }
    String method = headerMethod;
    String name = headerName;
    if (!batch && messages.size() == 1) {
      McpMessage m = messages.get(0);
      method = method != null ? method : m.method();
      name = name != null ? name : m.name();
    }
    return new McpRequest(version, method, name, List.copyOf(messages), batch, false, problem);
  }

  /** Header rules of MCP 2026-07-28 Streamable HTTP "Standard Request Headers" and "Server Validation". */
  private static McpProblem validate(
      String version, String headerMethod, String headerName, List<McpMessage> messages, boolean batch) {
    if (batch) {
      if (!ProtocolVersion.BATCHES.equals(version)) {
        return McpProblem.invalidRequest("JSON-RPC batches are not supported in protocol version " + version);
      }
      if (headerMethod != null || headerName != null) {
        return McpProblem.headerMismatch("Mcp-Method/Mcp-Name headers cannot describe a JSON-RPC batch");
      }
      return null;
    }
    McpMessage m = messages.get(0);
    if (m.method() == null) {
      return null; // a JSON-RPC response from the client (e.g. to a server request)
    }
    boolean headersRequired = ProtocolVersion.atLeast(version, ProtocolVersion.STANDARD_HEADERS);
    if (headerMethod == null) {
      if (headersRequired) {
        return McpProblem.headerMismatch("missing required header Mcp-Method");
      }
    } else if (!headerMethod.equals(m.method())) {
      return McpProblem.headerMismatch(
          "Mcp-Method header value '" + headerMethod + "' does not match body method '" + m.method() + "'");
    }
    boolean named = isNamedMethod(m.method());
    if (headerName == null) {
      if (headersRequired && named) {
        return McpProblem.headerMismatch("missing required header Mcp-Name for " + m.method());
      }
    } else if (named && !headerName.equals(m.name())) {
      return McpProblem.headerMismatch(
          "Mcp-Name header value does not match body " + (m.method().equals("resources/read") ? "params.uri" : "params.name"));
    }
    if (named && m.name() == null) {
      return McpProblem.invalidRequest(m.method() + " requires " + (m.method().equals("resources/read") ? "params.uri" : "params.name"));
    }
    return null;
  }

  static boolean isNamedMethod(String method) {
    return switch (method) {
      case "tools/call", "prompts/get", "resources/read" -> true;
      default -> false;
    };
  }

  /**
   * Reads one JSON-RPC object (parser positioned on START_OBJECT); returns a problem or null.
   *
   * @param argumentsLimit keep {@code params.arguments} up to this many bytes/chars; -1 to skip them
   */
  private static McpProblem readMessage(JsonParser p, List<McpMessage> out, int argumentsLimit) throws IOException {
    String jsonrpc = null;
    JsonNode id = null;
    String method = null;
    String name = null;
    String uri = null;
    JsonNode arguments = null;
    boolean argumentsTooLarge = false;
    ElicitationSupport metaCaps = ElicitationSupport.UNDECLARED;
    ElicitationSupport initCaps = ElicitationSupport.UNDECLARED;
    boolean result = false;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String field = p.currentName();
      JsonToken v = p.nextToken();
      switch (field) {
        case "jsonrpc" -> jsonrpc = v == JsonToken.VALUE_STRING ? p.getText() : "";
        case "id" -> {
          id = idNode(p, v);
          if (id == null) {
            return McpProblem.invalidRequest("id must be a string or a number");
          }
        }
        case "method" -> {
          if (v != JsonToken.VALUE_STRING) {
            return McpProblem.invalidRequest("method must be a string");
          }
          method = p.getText();
        }
        case "params" -> {
          if (v == JsonToken.START_OBJECT) {
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String pf = p.currentName();
              JsonToken pv = p.nextToken();
              if (pv == JsonToken.VALUE_STRING && pf.equals("name")) {
                name = p.getText();
              } else if (pv == JsonToken.VALUE_STRING && pf.equals("uri")) {
                uri = p.getText();
              } else if (pv == JsonToken.START_OBJECT && pf.equals("_meta")) {
                metaCaps = metaCapabilities(p);
              } else if (pv == JsonToken.START_OBJECT && pf.equals("capabilities")) {
                initCaps = elicitation(p);
              } else if (argumentsLimit >= 0 && pf.equals("arguments")) {
                long start = offset(p.currentTokenLocation());
                JsonNode tree = TREES.readTree(p);
                long size = offset(p.currentLocation()) - start;
                if (size > argumentsLimit) {
                  argumentsTooLarge = true;
                } else {
                  arguments = tree;
                }
              } else {
                p.skipChildren();
              }
            }
          } else if (v == JsonToken.START_ARRAY) {
            p.skipChildren();
          } else {
            return McpProblem.invalidRequest("params must be an object or an array");
          }
        }
        case "result", "error" -> {
          result = true;
          p.skipChildren();
        }
        default -> p.skipChildren();
      }
    }
    if (t != JsonToken.END_OBJECT) {
      return McpProblem.parseError("malformed JSON-RPC object");
    }
    if (!"2.0".equals(jsonrpc)) {
      out.add(new McpMessage(id, method, null));
      return McpProblem.invalidRequest("jsonrpc must be \"2.0\"");
    }
    if (method == null && !result) {
      out.add(new McpMessage(id, null, null));
      return McpProblem.invalidRequest("a JSON-RPC request needs a method");
    }
    String target = method != null && method.equals("resources/read") ? uri : name;
    // params.capabilities means client capabilities only on initialize (2025-11-25 basic/lifecycle).
    ElicitationSupport caps = metaCaps != ElicitationSupport.UNDECLARED ? metaCaps
        : "initialize".equals(method) ? initCaps : ElicitationSupport.UNDECLARED;
    out.add(new McpMessage(id, method, target, arguments, argumentsTooLarge, caps));
    return null;
  }

  static final String META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities";

  /** {@code params._meta} (parser on its START_OBJECT): the client capabilities of MCP 2026-07-28 requests. */
  private static ElicitationSupport metaCapabilities(JsonParser p) throws IOException {
    ElicitationSupport out = ElicitationSupport.UNDECLARED;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken v = p.nextToken();
      if (v == JsonToken.START_OBJECT && f.equals(META_CLIENT_CAPABILITIES)) {
        out = elicitation(p);
      } else {
        p.skipChildren();
      }
    }
    return out;
  }

  /** A ClientCapabilities object (parser on its START_OBJECT): is {@code elicitation.url} declared? */
  private static ElicitationSupport elicitation(JsonParser p) throws IOException {
    ElicitationSupport out = ElicitationSupport.NONE;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String f = p.currentName();
      JsonToken v = p.nextToken();
      if (v == JsonToken.START_OBJECT && f.equals("elicitation")) {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String mode = p.currentName();
          JsonToken mv = p.nextToken();
          if (mode.equals("url") && mv == JsonToken.START_OBJECT) {
            out = ElicitationSupport.URL;
          }
          p.skipChildren();
        }
      } else {
        p.skipChildren();
      }
    }
    return out;
  }

  private static long offset(com.fasterxml.jackson.core.JsonLocation loc) {
    long bytes = loc.getByteOffset();
    return bytes >= 0 ? bytes : loc.getCharOffset();
  }

  private static JsonNode idNode(JsonParser p, JsonToken v) throws IOException {
    return switch (v) {
      case VALUE_STRING -> JsonNodeFactory.instance.textNode(p.getText());
      case VALUE_NUMBER_INT -> JsonNodeFactory.instance.numberNode(p.getBigIntegerValue());
      case VALUE_NUMBER_FLOAT -> JsonNodeFactory.instance.numberNode(p.getDecimalValue());
      case VALUE_NULL -> JsonNodeFactory.instance.nullNode();
      default -> {
        p.skipChildren();
        yield null;
      }
    };
  }

  private static McpRequest failed(
      String version, String method, String name, List<McpMessage> messages, boolean batch, McpProblem problem) {
    return new McpRequest(version, method, name, List.copyOf(messages), batch, false, problem);
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
