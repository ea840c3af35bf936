package dev.mcpauthz.telemetry;

import static net.logstash.logback.argument.StructuredArguments.kv;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.proto.v1.DecisionRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One structured JSON line per decision (logger {@code mcp_authz.decision}), carrying the same
 * fields as Envoy's dynamic metadata. Built only from the {@link DecisionRecord}, which has no
 * field that could hold a token.
 */
public final class DecisionLog {
  private static final Logger log = LoggerFactory.getLogger("mcp_authz.decision");

  private final AuthzConfig.DecisionLogLevel level;

  public DecisionLog(AuthzConfig.DecisionLogLevel level) {
    this.level = level;
  }

  public void write(DecisionRecord r, long nanos) {
    boolean denied = !r.getOutcome().equals("allow");
    if (level == AuthzConfig.DecisionLogLevel.NONE
        || (level == AuthzConfig.DecisionLogLevel.DENIED && !denied)
        || !log.isInfoEnabled()) {
      return;
    }
    log.info("decision {} {}",
        kv("decision_id", r.getDecisionId()),
        kv("outcome", r.getOutcome()),
        kv("reason", r.getReason()),
        kv("server", r.getServer()),
        kv("http_status", r.getHttpStatus()),
        kv("subject", r.getSubject()),
        kv("issuer", r.getIssuer()),
        kv("client_id", r.getClientId()),
        kv("mcp_method", r.getMcpMethod()),
        kv("mcp_name", r.getMcpName()),
        kv("protocol_version", r.getProtocolVersion()),
        kv("policy_version", r.getPolicyVersion()),
        kv("policy_rule", r.getPolicyRule()),
        kv("elicitation_id", r.getElicitationId()),
        kv("duration_us", nanos / 1000));
  }
}
