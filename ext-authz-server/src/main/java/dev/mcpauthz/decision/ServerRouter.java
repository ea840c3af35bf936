package dev.mcpauthz.decision;

import dev.mcpauthz.authn.IssuerRuntime;
import dev.mcpauthz.config.AuthzConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Maps a Check to a configured MCP server: first by the Envoy route's {@code context_extensions}
 * value (the explicit, preferred wiring), then by authority + longest path prefix.
 */
public final class ServerRouter {
  /** Result of routing; {@code unknownId} is set when the route named a server that is not configured. */
  public record Routed(McpServerRoute server, String unknownId) {}

  private final String extensionKey;
  private final Map<String, McpServerRoute> byId;
  private final List<McpServerRoute> byPrefix;

  public ServerRouter(AuthzConfig config, List<IssuerRuntime> issuers) {
    this.extensionKey = config.routing().contextExtensionKey();
    Map<String, IssuerRuntime> issuerById = new HashMap<>();
    issuers.forEach(i -> issuerById.put(i.id(), i));
    Map<String, McpServerRoute> ids = new HashMap<>();
    List<McpServerRoute> prefixed = new ArrayList<>();
    for (AuthzConfig.Server s : config.servers()) {
      List<IssuerRuntime> trusted = s.issuers().isEmpty() ? issuers : s.issuers().stream().map(issuerById::get).toList();
      McpServerRoute route = new McpServerRoute(s, trusted);
      ids.put(s.id(), route);
      if (s.match() != null) {
        prefixed.add(route);
      }
    }
    prefixed.sort(Comparator.comparingInt((McpServerRoute r) -> prefixLength(r)).reversed()
        .thenComparing(r -> r.config().match().authority() == null ? 1 : 0));
    this.byId = Map.copyOf(ids);
    this.byPrefix = List.copyOf(prefixed);
  }

  public McpServerRoute byId(String id) {
    return byId.get(id);
  }

  public java.util.Collection<McpServerRoute> all() {
    return byId.values();
  }

  public Routed route(CheckContext ctx) {
    String named = ctx.contextExtension(extensionKey);
    if (named != null) {
      McpServerRoute r = byId.get(named);
      return r != null ? new Routed(r, null) : new Routed(null, named);
    }
    String authority = ctx.authority();
    String path = ctx.path();
    for (McpServerRoute r : byPrefix) {
      AuthzConfig.Match m = r.config().match();
      if (m.authority() != null && !authorityMatches(m.authority(), authority)) {
        continue;
      }
      if (m.pathPrefix() != null && !pathMatches(m.pathPrefix(), path)) {
        continue;
      }
      return new Routed(r, null);
    }
    return new Routed(null, null);
  }

  private static int prefixLength(McpServerRoute r) {
    String p = r.config().match().pathPrefix();
    return p == null ? 0 : p.length();
  }

  /** Host comparison is case-insensitive; a configured authority without port matches any port. */
  static boolean authorityMatches(String configured, String actual) {
    if (actual == null) {
      return false;
    }
    String c = configured.toLowerCase(Locale.ROOT);
    String a = actual.toLowerCase(Locale.ROOT);
    if (a.equals(c)) {
      return true;
    }
    return c.indexOf(':') < 0 && a.startsWith(c) && a.length() > c.length() && a.charAt(c.length()) == ':';
  }

  /** Prefix match on a segment boundary: "/mcp" matches "/mcp", "/mcp/x", "/mcp?q", not "/mcpx". */
  static boolean pathMatches(String prefix, String path) {
    if (path == null || !path.startsWith(prefix)) {
      return false;
    }
    if (path.length() == prefix.length() || prefix.endsWith("/")) {
      return true;
    }
    char next = path.charAt(prefix.length());
    return next == '/' || next == '?';
  }
}
