package dev.mcpauthz.mcp;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One JSON-RPC message of an MCP request body.
 *
 * @param id the request id as sent (string or number node), null for notifications and when absent
 * @param method the JSON-RPC method, null for responses
 * @param name {@code params.name} (tools/call, prompts/get) or {@code params.uri} (resources/read)
 * @param arguments {@code params.arguments} (tools/call, prompts/get), kept only when the parser was
 *     asked to (a per-tool policy reads them) and they fit its size limit; else null
 * @param argumentsTooLarge true when {@code params.arguments} was present but over the limit (so a
 *     policy condition on {@code args} fails closed instead of seeing nothing)
 * @param elicitation URL elicitation declared by the client in this message: {@code
 *     params._meta["io.modelcontextprotocol/clientCapabilities"]} (MCP 2026-07-28 basic "Per-request
 *     protocol fields"), else {@code params.capabilities} of {@code initialize} (2025-11-25 lifecycle)
 */
public record McpMessage(JsonNode id, String method, String name, JsonNode arguments, boolean argumentsTooLarge,
    ElicitationSupport elicitation) {
  public McpMessage {
    elicitation = elicitation == null ? ElicitationSupport.UNDECLARED : elicitation;
  }

  public McpMessage(JsonNode id, String method, String name) {
    this(id, method, name, null, false, ElicitationSupport.UNDECLARED);
  }

  public McpMessage(JsonNode id, String method, String name, JsonNode arguments, boolean argumentsTooLarge) {
    this(id, method, name, arguments, argumentsTooLarge, ElicitationSupport.UNDECLARED);
  }

  public boolean isRequest() {
    return method != null && id != null;
  }
}
