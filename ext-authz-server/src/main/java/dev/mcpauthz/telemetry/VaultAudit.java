package dev.mcpauthz.telemetry;

import static net.logstash.logback.argument.StructuredArguments.kv;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Audit events of the token vault on logger {@code mcp_authz.audit} (issue 3 item 8): {@code
 * refresh.succeeded|retried|revoked|failed} with user, issuer, server, provider and decision id.
 * Every argument is an identifier or a low-cardinality reason: there is no parameter that could
 * carry a token.
 */
public final class VaultAudit {
  private static final Logger audit = LoggerFactory.getLogger("mcp_authz.audit");

  /** Who and what a refresh was for; no secret. */
  public record Subject(String user, String issuer, String server, String provider, String decisionId) {}

  public void succeeded(Subject s, int attempts) {
    audit.info("refresh.succeeded {}", kv("event", "refresh.succeeded"), kv("user", s.user()),
        kv("issuer", s.issuer()), kv("server", s.server()), kv("provider", s.provider()),
        kv("attempts", attempts), kv("decision_id", s.decisionId()));
  }

  /** The refresher needed more than one token-endpoint attempt (transient failures it retried). */
  public void retried(Subject s, int retries) {
    audit.info("refresh.retried {}", kv("event", "refresh.retried"), kv("user", s.user()),
        kv("issuer", s.issuer()), kv("server", s.server()), kv("provider", s.provider()),
        kv("retries", retries), kv("decision_id", s.decisionId()));
  }

  public void revoked(Subject s, String error, String providerCode) {
    audit.info("refresh.revoked {}", kv("event", "refresh.revoked"), kv("user", s.user()),
        kv("issuer", s.issuer()), kv("server", s.server()), kv("provider", s.provider()),
        kv("error", error), kv("provider_code", providerCode), kv("decision_id", s.decisionId()));
  }

  public void failed(Subject s, String reason, int attempts) {
    audit.info("refresh.failed {}", kv("event", "refresh.failed"), kv("user", s.user()),
        kv("issuer", s.issuer()), kv("server", s.server()), kv("provider", s.provider()),
        kv("reason", reason), kv("attempts", attempts), kv("decision_id", s.decisionId()));
  }
}
