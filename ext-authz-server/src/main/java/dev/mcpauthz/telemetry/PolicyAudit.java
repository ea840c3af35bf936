package dev.mcpauthz.telemetry;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.mcpauthz.proto.v1.DecisionRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Audit events of per-tool policy on logger {@code mcp_authz.audit}, one JSON line each. Built only
 * from the {@link DecisionRecord}, which has no field that could hold a token.
 */
public final class PolicyAudit {
  private static final Logger audit = LoggerFactory.getLogger("mcp_authz.audit");

  /** {@code policy.denied}: a call a policy rule (or a server's default) refused. */
  public void denied(DecisionRecord r) {
    audit.info("policy.denied {}",
        kv("event", "policy.denied"),
        kv("user", r.getSubject()),
        kv("client_id", r.getClientId()),
        kv("server", r.getServer()),
        kv("method", r.getMcpMethod()),
        kv("tool", r.getMcpName()),
        kv("rule", r.getPolicyRule()),
        kv("policy_version", r.getPolicyVersion()),
        kv("decision_id", r.getDecisionId()));
  }
}
