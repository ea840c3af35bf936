package dev.mcpauthz.mcp;

import java.util.Set;

/** Classifies MCP methods for the consent rule: handshakes and discovery never elicit. */
public final class McpMethods {
  /**
   * Methods that set up a session or list what a server offers. MCP lifecycle (initialize, ping)
   * and the list/discover calls a client makes before the user asks for anything: prompting
   * there would interrupt a user who has not yet asked the server to do anything.
   */
  private static final Set<String> HANDSHAKE_OR_DISCOVERY = Set.of(
      "initialize", "ping", "server/discover", "tools/list", "resources/list", "resources/templates/list",
      "prompts/list", "logging/setLevel");

  private McpMethods() {}

  /** True when nothing in the request does work for the user (all messages are handshake/discovery). */
  public static boolean isHandshakeOrDiscovery(McpRequest r) {
    if (r.messages().isEmpty()) {
      return r.method() == null || isHandshakeOrDiscovery(r.method());
    }
    for (McpMessage m : r.messages()) {
      if (m.method() != null && !isHandshakeOrDiscovery(m.method())) {
        return false;
      }
    }
    return true;
  }

  static boolean isHandshakeOrDiscovery(String method) {
    return HANDSHAKE_OR_DISCOVERY.contains(method) || method.startsWith("notifications/");
  }
}
