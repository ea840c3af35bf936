package dev.mcpauthz.telemetry;

import static net.logstash.logback.argument.StructuredArguments.kv;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consent audit events on logger {@code mcp_authz.audit} (issue 4 item 6). Arguments are
 * identifiers and low-cardinality labels only: none can carry a token.
 */
public final class ConsentAudit {
  private static final Logger audit = LoggerFactory.getLogger("mcp_authz.audit");

  public void requested(String user, String issuer, String server, String provider, String reason, String mode,
      String elicitationId, String decisionId) {
    audit.info("consent.requested {}", kv("event", "consent.requested"), kv("user", user), kv("issuer", issuer),
        kv("server", server), kv("provider", provider), kv("reason", reason), kv("mode", mode),
        kv("elicitation_id", elicitationId), kv("decision_id", decisionId));
  }
}
