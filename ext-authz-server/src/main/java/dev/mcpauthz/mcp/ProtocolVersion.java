package dev.mcpauthz.mcp;

/** MCP protocol versions are dated strings (YYYY-MM-DD) and order lexicographically. */
public final class ProtocolVersion {
  /** Streamable HTTP: a request without MCP-Protocol-Version is treated as this version. */
  public static final String DEFAULT = "2025-03-26";
  /** The only version whose Streamable HTTP transport allowed JSON-RPC batches. */
  public static final String BATCHES = "2025-03-26";
  /** First version whose clients must send Mcp-Method / Mcp-Name headers. */
  public static final String STANDARD_HEADERS = "2026-07-28";

  private ProtocolVersion() {}

  public static boolean atLeast(String version, String floor) {
    return version.compareTo(floor) >= 0;
  }
}
