package dev.mcpauthz.policy;

/**
 * The outcome for one JSON-RPC message.
 *
 * @param rule the deciding rule, or null when the server's default decided
 * @param conditionError why the deciding rule's condition could not be evaluated (a deny rule
 *     whose condition fails applies: fail closed), or null
 */
public record PolicyResult(String method, String name, Rule rule, Effect effect, String conditionError) {
  /** Rule id for metrics, logs and metadata: the rule's id, or {@code default}. */
  public String ruleId() {
    return rule == null ? ServerPolicy.DEFAULT_RULE : rule.id();
  }
}
