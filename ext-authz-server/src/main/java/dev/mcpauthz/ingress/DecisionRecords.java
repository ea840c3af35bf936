package dev.mcpauthz.ingress;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.mcp.McpRequest;
import dev.mcpauthz.proto.v1.DecisionRecord;

/** Builds the {@link DecisionRecord} of a Check and its Envoy dynamic_metadata form. */
final class DecisionRecords {
  private DecisionRecords() {}

  static DecisionRecord of(Decision d, String decisionId) {
    DecisionRecord.Builder b = DecisionRecord.newBuilder()
        .setDecisionId(decisionId)
        .setOutcome(switch (d.outcome()) {
          case ALLOW, PASS_THROUGH -> "allow";
          case DENY -> "deny";
          case ELICIT -> "elicit";
        })
        .setUpstreamInjected(d.upstreamAuthorization() != null)
        .setReason(d.reason())
        .setHttpStatus(d.allowed() ? 0 : d.httpStatus());
    if (d.server() != null) {
      b.setServer(d.server().id());
      if (d.server().config().upstream() != null) {
        b.setUpstreamProvider(d.server().config().upstream().provider());
      }
    }
    Principal p = d.principal();
    if (p != null) {
      b.setSubject(nz(p.subject())).setIssuer(nz(p.issuer())).setClientId(nz(p.clientId()));
    }
    if (d.policy() != null) {
      b.setPolicyVersion(d.policy().version()).setPolicyRule(d.policy().ruleId());
    }
    McpRequest r = d.request();
    if (r != null) {
      b.setProtocolVersion(r.protocolVersion()).setMcpMethod(nz(r.method())).setMcpName(nz(r.name()));
    }
    return b.build();
  }

  /**
   * Envoy stores ext_authz dynamic_metadata under the filter's namespace
   * ({@code envoy.filters.http.ext_authz}); access logs read it as
   * {@code %DYNAMIC_METADATA(envoy.filters.http.ext_authz:decision_id)%}.
   */
  static Struct toStruct(DecisionRecord r) {
    Struct.Builder s = Struct.newBuilder();
    put(s, "decision_id", r.getDecisionId());
    put(s, "outcome", r.getOutcome());
    put(s, "reason", r.getReason());
    put(s, "server", r.getServer());
    put(s, "subject", r.getSubject());
    put(s, "issuer", r.getIssuer());
    put(s, "client_id", r.getClientId());
    put(s, "mcp_method", r.getMcpMethod());
    put(s, "mcp_name", r.getMcpName());
    put(s, "protocol_version", r.getProtocolVersion());
    put(s, "upstream_provider", r.getUpstreamProvider());
    put(s, "policy_version", r.getPolicyVersion());
    put(s, "policy_rule", r.getPolicyRule());
    put(s, "elicitation_id", r.getElicitationId());
    if (r.getUpstreamInjected()) {
      s.putFields("upstream_injected", Value.newBuilder().setBoolValue(true).build());
    }
    if (r.getHttpStatus() != 0) {
      s.putFields("http_status", Value.newBuilder().setNumberValue(r.getHttpStatus()).build());
    }
    return s.build();
  }

  private static void put(Struct.Builder s, String key, String value) {
    if (!value.isEmpty()) {
      s.putFields(key, Value.newBuilder().setStringValue(value).build());
    }
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }
}
