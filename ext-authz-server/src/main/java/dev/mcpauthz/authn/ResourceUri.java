package dev.mcpauthz.authn;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Canonical form of an RFC 8707 resource URI for audience comparison.
 *
 * <p>MCP authorization ("Canonical Server URI") says the canonical form has a lower-case scheme and
 * host and implementations should accept upper case, so scheme and host are folded and a default
 * port is dropped. The path is compared exactly, with one rule for the trailing slash: an empty
 * path and "/" are the same resource ({@code https://mcp.example.com} = {@code
 * https://mcp.example.com/}), but {@code https://mcp.example.com/mcp} and {@code .../mcp/} are
 * different resources, because a non-empty path's trailing slash can be significant. Query and
 * percent-encoding are not normalised.
 */
public final class ResourceUri {
  private ResourceUri() {}

  /** Returns the canonical form, or the input unchanged when it is not an absolute URI. */
  public static String normalize(String value) {
    URI uri;
    try {
      uri = new URI(value);
    } catch (URISyntaxException e) {
      return value;
    }
    if (uri.getScheme() == null || uri.getRawAuthority() == null) {
      return value;
    }
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    String host = uri.getHost() == null ? uri.getRawAuthority().toLowerCase(Locale.ROOT) : uri.getHost().toLowerCase(Locale.ROOT);
    int port = uri.getPort();
    boolean defaultPort = port == -1 || (scheme.equals("https") && port == 443) || (scheme.equals("http") && port == 80);
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    StringBuilder sb = new StringBuilder(value.length()).append(scheme).append("://");
    if (uri.getRawUserInfo() != null) {
      sb.append(uri.getRawUserInfo()).append('@');
    }
    sb.append(host);
    if (!defaultPort) {
      sb.append(':').append(port);
    }
    sb.append(path);
    if (uri.getRawQuery() != null) {
      sb.append('?').append(uri.getRawQuery());
    }
    return sb.toString();
  }
}
