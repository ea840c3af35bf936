package dev.mcpauthz.telemetry;

import static net.logstash.logback.argument.StructuredArguments.kv;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consent and resume audit events on logger {@code mcp_authz.audit} (issue 4 item 6). Arguments are
 * identifiers and low-cardinality labels only: none can carry a token, code, state or cookie.
 */
public final class ConsentAudit {
  private static final Logger audit = LoggerFactory.getLogger("mcp_authz.audit");

  public void requested(String user, String issuer, String server, String provider, String reason, String mode,
      String elicitationId, String decisionId) {
    audit.info("consent.requested {}", kv("event", "consent.requested"), kv("user", user), kv("issuer", issuer),
        kv("server", server), kv("provider", provider), kv("reason", reason), kv("mode", mode),
        kv("elicitation_id", elicitationId), kv("decision_id", decisionId));
  }

  public void completed(String user, String issuer, String server, String provider, String elicitationId,
      String flowId) {
    audit.info("consent.completed {}", kv("event", "consent.completed"), kv("user", user), kv("issuer", issuer),
        kv("server", server), kv("provider", provider), kv("elicitation_id", elicitationId), kv("flow_id", flowId));
  }

  /** The user declined at the provider ({@code access_denied}). */
  public void denied(String user, String issuer, String server, String provider, String elicitationId, String flowId) {
    audit.info("consent.denied {}", kv("event", "consent.denied"), kv("user", user), kv("issuer", issuer),
        kv("server", server), kv("provider", provider), kv("elicitation_id", elicitationId), kv("flow_id", flowId));
  }

  /** A consent link was opened after it expired. */
  public void expired(String user, String issuer, String server, String provider, String elicitationId) {
    audit.info("consent.expired {}", kv("event", "consent.expired"), kv("user", user), kv("issuer", issuer),
        kv("server", server), kv("provider", provider), kv("elicitation_id", elicitationId));
  }

  /**
   * The consent page refused the request: a different signed-in user (phishing guard), a replayed
   * or unknown state, another browser, a mismatched {@code iss}, an unknown client, a provider error.
   */
  public void refused(String reason, String user, String issuer, String server, String provider, String elicitationId,
      String flowId) {
    audit.warn("consent.refused {}", kv("event", "consent.refused"), kv("reason", reason), kv("user", user),
        kv("issuer", issuer), kv("server", server), kv("provider", provider), kv("elicitation_id", elicitationId),
        kv("flow_id", flowId));
  }

  public void resumeSucceeded(String user, String issuer, String server, String provider, String elicitationId,
      long millisSincePrompt) {
    audit.info("resume.succeeded {}", kv("event", "resume.succeeded"), kv("user", user), kv("issuer", issuer),
        kv("server", server), kv("provider", provider), kv("elicitation_id", elicitationId),
        kv("ms_since_prompt", millisSincePrompt));
  }

  public void resumeFailed(String user, String issuer, String server, String elicitationId, String reason) {
    audit.info("resume.failed {}", kv("event", "resume.failed"), kv("user", user), kv("issuer", issuer),
        kv("server", server), kv("elicitation_id", elicitationId), kv("reason", reason));
  }
}
