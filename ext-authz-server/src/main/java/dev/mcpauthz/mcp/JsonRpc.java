package dev.mcpauthz.mcp;

/**
 * JSON-RPC error codes used by mcp-authz.
 *
 * <p>MCP (2026-07-28, basic/index "Error Codes") reserves -32020..-32099 for codes the spec defines
 * and discourages -32000..-32019. Gateway outcomes that JSON-RPC and MCP do not define use
 * {@code -31000 - httpStatus}, outside both reserved ranges, so a client can map them back to the
 * HTTP status it also received.
 */
public final class JsonRpc {
  public static final int PARSE_ERROR = -32700;
  public static final int INVALID_REQUEST = -32600;
  public static final int INTERNAL_ERROR = -32603;
  /** MCP 2026-07-28 Streamable HTTP "Server Validation": headers disagree with the body. */
  public static final int HEADER_MISMATCH = -32020;

  private JsonRpc() {}

  /** Application-range code for an HTTP status that JSON-RPC/MCP have no code for. */
  public static int gatewayCode(int httpStatus) {
    return -31000 - httpStatus;
  }
}
