package dev.mcpauthz.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * What mcp-authz knows about one HTTP request to an MCP server.
 *
 * @param protocolVersion MCP-Protocol-Version, or {@link ProtocolVersion#DEFAULT} when absent
 * @param method Mcp-Method header, else the body's method (null when neither, e.g. GET)
 * @param name decoded Mcp-Name header, else the body's params.name / params.uri
 * @param messages JSON-RPC messages in the body; empty when there is no complete body
 * @param batch true when the body is a JSON-RPC batch (array)
 * @param bodyIncomplete true when the proxy sent only part of the body and it was not parsed
 * @param problem why the request is malformed, or null
 */
public record McpRequest(
    String protocolVersion,
    String method,
    String name,
    List<McpMessage> messages,
    boolean batch,
    boolean bodyIncomplete,
    McpProblem problem) {

  /** The id to echo in a JSON-RPC error for a non-batch request, or null. */
  public JsonNode singleId() {
    return !batch && messages.size() == 1 ? messages.get(0).id() : null;
  }

  /** {@code params.arguments} of a non-batch request when the parser kept them, else null. */
  public JsonNode singleArguments() {
    return !batch && messages.size() == 1 ? messages.get(0).arguments() : null;
  }

  /** What a non-batch request declared about URL elicitation (see {@link McpMessage#elicitation()}). */
  public ElicitationSupport singleElicitation() {
    return !batch && messages.size() == 1 ? messages.get(0).elicitation() : ElicitationSupport.UNDECLARED;
  }

  public McpRequest withProblem(McpProblem p) {
    return new McpRequest(protocolVersion, method, name, messages, batch, bodyIncomplete, p);
  }
}
