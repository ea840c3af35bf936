package dev.mcpauthz.ingress;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.mcpauthz.mcp.McpMessage;
import dev.mcpauthz.mcp.McpRequest;
import dev.mcpauthz.mcp.ProtocolVersion;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * JSON-RPC error bodies for denied requests. A single request's error keeps its {@code id}; a
 * batch gets one error object per element that expects a response (JSON-RPC 2.0 §6), each with
 * that element's id; notifications get none.
 */
final class DeniedBodies {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final JsonFactory JSON = MAPPER.getFactory();

  private DeniedBodies() {}

  static ByteString render(McpRequest request, int code, String message, String decisionId) {
    ByteString.Output out = ByteString.newOutput(256);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.setCodec(MAPPER);
      // Only a version that has batches gets a batch answer; elsewhere an array is just an invalid request.
      boolean batchWithIds = request != null && request.batch()
          && ProtocolVersion.BATCHES.equals(request.protocolVersion())
          && request.messages().stream().anyMatch(m -> m.id() != null);
      if (batchWithIds) {
        g.writeStartArray();
        for (McpMessage m : request.messages()) {
          if (m.id() != null && m.method() != null) {
            error(g, m.id(), code, message, decisionId);
          }
        }
        g.writeEndArray();
      } else {
        error(g, request == null ? null : request.singleId(), code, message, decisionId);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteString();
  }

  private static void error(JsonGenerator g, JsonNode id, int code, String message, String decisionId)
      throws IOException {
    g.writeStartObject();
    g.writeStringField("jsonrpc", "2.0");
    g.writeFieldName("id");
    if (id == null) {
      g.writeNull();
    } else {
      g.writeTree(id);
    }
    g.writeObjectFieldStart("error");
    g.writeNumberField("code", code);
    g.writeStringField("message", message);
    g.writeObjectFieldStart("data");
    g.writeStringField("decision_id", decisionId);
    g.writeEndObject();
    g.writeEndObject();
    g.writeEndObject();
  }
}
