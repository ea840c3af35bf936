package dev.mcpauthz.decision;

import dev.mcpauthz.mcp.HttpFacts;

/** The request facts a decision is made on, independent of how the proxy delivered them. */
public interface CheckContext extends HttpFacts {
  /** {@code :authority} (Host), lower case, possibly with port. */
  String authority();

  /** {@code :path} including the query string. */
  String path();

  /** A per-route Envoy {@code context_extensions} value, or null. */
  String contextExtension(String key);

  /** Every request header by lower-case name (read only when a policy condition uses {@code headers}). */
  default java.util.Map<String, String> headers() {
    return java.util.Map.of();
  }
}
