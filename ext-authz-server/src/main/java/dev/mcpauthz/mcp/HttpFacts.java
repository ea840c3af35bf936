package dev.mcpauthz.mcp;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import java.io.IOException;

/** The parts of an HTTP request the MCP model reads; implemented over Envoy's CheckRequest. */
public interface HttpFacts {
  /** HTTP method, upper case. */
  String method();

  /** Value of a header by lower-case name, or null. */
  String header(String lowerCaseName);

  /** Number of body bytes the proxy sent (0 when none). */
  int bodySize();

  /** True when the proxy says it sent only part of the body ({@code x-envoy-auth-partial-body}). */
  boolean partialBody();

  /** A parser over the body bytes; only called when {@link #bodySize()} is positive. */
  JsonParser openBody(JsonFactory factory) throws IOException;
}
