package dev.mcpauthz.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mcpauthz.authn.IssuerRuntime;
import dev.mcpauthz.decision.McpServerRoute;
import java.net.URI;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * RFC 9728 protected resource metadata for every configured MCP server, precomputed at start.
 *
 * <p>Lookup follows RFC 9728 §3.1: the metadata of {@code https://h/p} lives at {@code
 * https://h/.well-known/oauth-protected-resource/p} (path-inserted form); a server whose resource
 * has no path is served at the root form. When several servers share a path, the request's Host
 * picks the one whose resource authority matches.
 */
final class ProtectedResourceMetadata {
  private record Entry(String path, String authority, String json) {}

  private final List<Entry> entries;

  ProtectedResourceMetadata(Collection<McpServerRoute> servers, ObjectMapper mapper) {
    this.entries = servers.stream().map(s -> entry(s, mapper)).toList();
  }

  private static Entry entry(McpServerRoute s, ObjectMapper mapper) {
    URI resource = s.config().resource();
    ObjectNode doc = mapper.createObjectNode();
    doc.put("resource", s.resource());
    ArrayNode as = doc.putArray("authorization_servers");
    for (IssuerRuntime i : s.trustedIssuers()) {
      as.add(i.issuer());
    }
    List<String> scopes = s.config().scopesSupported().isEmpty() ? s.config().requiredScopes() : s.config().scopesSupported();
    if (!scopes.isEmpty()) {
      ArrayNode sc = doc.putArray("scopes_supported");
      scopes.forEach(sc::add);
    }
    doc.putArray("bearer_methods_supported").add("header");
    if (s.config().resourceName() != null) {
      doc.put("resource_name", s.config().resourceName());
    }
    String path = resource.getRawPath() == null || resource.getRawPath().equals("/") ? "" : resource.getRawPath();
    return new Entry(path, resource.getRawAuthority().toLowerCase(Locale.ROOT), doc.toPrettyString());
  }

  /** @param resourcePath the part after the well-known prefix ("" for the root form) */
  String find(String resourcePath, String host) {
    Entry fallback = null;
    int candidates = 0;
    for (Entry e : entries) {
      if (!e.path().equals(resourcePath)) {
        continue;
      }
      candidates++;
      if (host != null && e.authority().equals(host.toLowerCase(Locale.ROOT))) {
        return e.json();
      }
      fallback = e;
    }
    return candidates == 1 ? fallback.json() : null;
  }
}
