package dev.mcpauthz.policy;

import java.util.List;

/**
 * Why a policy decided what it did: each candidate rule in evaluation order, whether its match held,
 * its condition's terms with their values, and the result ({@code policy explain}).
 *
 * @param result null when the request is not governed by policy (no JSON-RPC method)
 */
public record Explanation(ServerPolicy policy, PolicyInput input, List<Step> steps, PolicyResult result) {
  /** @param trace the condition's evaluation, or null when the rule has none or did not match */
  public record Step(Rule rule, boolean matched, Condition.Trace trace, String verdict) {}
}
