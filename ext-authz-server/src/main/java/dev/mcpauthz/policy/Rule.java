package dev.mcpauthz.policy;

import java.util.List;

/**
 * One compiled rule. Rules of a server are tried in {@link #order()}: higher {@code priority}
 * first, then the more specific match (exact name, then name pattern, then any name), then file
 * name and position in the file; the first rule whose match and condition hold decides.
 *
 * @param kind what the rule matches: {@code tool}, {@code resource}, {@code prompt} or {@code method}
 * @param patterns the names (or, for {@code method}, method names) as written, exact or glob
 * @param scopes client-token scopes the call needs (on top of the server's required_scopes)
 * @param upstreamScopes upstream-provider scopes the call needs (token vault scope escalation)
 * @param condition the {@code when} condition, or null
 */
public record Rule(
    String id,
    String file,
    int line,
    int priority,
    String kind,
    List<String> patterns,
    Effect effect,
    List<String> scopes,
    List<String> upstreamScopes,
    Condition condition,
    String description,
    int order) {

  /** file:line, for messages. */
  public String location() {
    return file + ":" + line;
  }

  /** The method a tool/resource/prompt rule applies to; null for a {@code method} rule. */
  String impliedMethod() {
    return switch (kind) {
      case "tool" -> "tools/call";
      case "resource" -> "resources/read";
      case "prompt" -> "prompts/get";
      default -> null;
    };
  }
}
