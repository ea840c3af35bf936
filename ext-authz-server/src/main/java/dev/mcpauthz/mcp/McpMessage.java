package dev.mcpauthz.mcp;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One JSON-RPC message of an MCP request body.
 *
 * @param id the request id as sent (string or number node), null for notifications and when absent
 * @param method the JSON-RPC method, null for responses
 * @param name {@code params.name} (tools/call, prompts/get) or {@code params.uri} (resources/read)
 */
public record McpMessage(JsonNode id, String method, String name) {
  public boolean isRequest() {
    return method != null && id != null;
  }
}
