package dev.mcpauthz.decision;

/**
 * Builds {@code WWW-Authenticate: Bearer ...} values per RFC 6750 §3 with the RFC 9728 §5.1
 * {@code resource_metadata} parameter, which MCP clients follow to discover the authorization
 * server.
 */
public final class BearerChallenge {
  private BearerChallenge() {}

  /** RFC 6750 §3.1: with no credentials the challenge carries no error code. */
  public static String missing(McpServerRoute server) {
    return build(null, null, server.resourceMetadataUrl(), server.challengeScope());
  }

  public static String error(String error, String description, McpServerRoute server, String scope) {
    return build(error, description, server == null ? null : server.resourceMetadataUrl(), scope);
  }

  static String build(String error, String description, String resourceMetadata, String scope) {
    StringBuilder sb = new StringBuilder(160).append("Bearer");
    char sep = ' ';
    if (error != null) {
      sb.append(sep).append("error=\"").append(error).append('"');
      sep = ',';
    }
    if (description != null) {
      sb.append(sep == ',' ? ", " : " ").append("error_description=\"").append(descriptionChars(description)).append('"');
      sep = ',';
    }
    if (resourceMetadata != null) {
      sb.append(sep == ',' ? ", " : " ").append("resource_metadata=\"").append(quoted(resourceMetadata)).append('"');
      sep = ',';
    }
    if (scope != null && !scope.isEmpty()) {
      sb.append(sep == ',' ? ", " : " ").append("scope=\"").append(quoted(scope)).append('"');
    }
    return sb.toString();
  }

  /** RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. */
  static String descriptionChars(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean ok = c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
      sb.append(ok ? c : ' ');
    }
    return sb.toString();
  }

  private static String quoted(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
