package dev.mcpauthz.mcp;

/** Why an MCP request is rejected before any authorization: HTTP status plus JSON-RPC error. */
public record McpProblem(int httpStatus, int jsonRpcCode, String reason, String message) {
  public static McpProblem parseError(String message) {
    return new McpProblem(400, JsonRpc.PARSE_ERROR, "malformed_json", message);
  }

  public static McpProblem invalidRequest(String message) {
    return new McpProblem(400, JsonRpc.INVALID_REQUEST, "invalid_jsonrpc", message);
  }

  public static McpProblem headerMismatch(String message) {
    return new McpProblem(400, JsonRpc.HEADER_MISMATCH, "header_mismatch", message);
  }

  public static McpProblem tooLarge(String message) {
    return new McpProblem(413, JsonRpc.INVALID_REQUEST, "body_too_large", message);
  }
}
