package dev.mcpauthz.policy;

import dev.mcpauthz.mcp.McpMessage;
import dev.mcpauthz.mcp.McpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** Applies a server's policy to a parsed MCP request: every governed message of it, batches included. */
public final class PolicyEvaluation {
  private PolicyEvaluation() {}

  /**
   * @param claims the caller's verified claims
   * @param headers the request headers (read only if a condition uses {@code headers})
   */
  public static PolicyVerdict evaluate(ServerPolicy policy, McpRequest mcp, Map<String, Object> claims,
      Supplier<Map<String, String>> headers) {
    List<PolicyResult> results = new ArrayList<>(1);
    if (mcp.batch()) {
      // A batch must not be a way around per-tool policy: every request and notification is decided.
      PolicyInput base = null;
      for (McpMessage m : mcp.messages()) {
        if (m.method() == null) {
          continue;
        }
        PolicyInput in = base == null
            ? PolicyInput.of(policy.server(), m.method(), m.name(), () -> claims, headers, m.arguments(), m.argumentsTooLarge())
            : base.sibling(m.method(), m.name(), m.arguments(), m.argumentsTooLarge());
        base = in;
        results.add(policy.evaluate(in));
      }
    } else if (mcp.method() != null) {
      McpMessage single = mcp.messages().size() == 1 ? mcp.messages().get(0) : null;
      PolicyInput in = PolicyInput.of(policy.server(), mcp.method(), mcp.name(), () -> claims, headers,
          single == null ? null : single.arguments(), single != null && single.argumentsTooLarge());
      results.add(policy.evaluate(in));
    }
    return new PolicyVerdict(policy.version(), policy.server(), results);
  }
}
