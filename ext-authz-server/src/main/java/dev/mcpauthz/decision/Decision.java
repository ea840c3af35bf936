package dev.mcpauthz.decision;

import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.mcp.McpRequest;
import dev.mcpauthz.policy.PolicyVerdict;
import java.util.List;

/**
 * What to do with one request. Built only by {@link AuthorizationEngine}; rendered to Envoy's
 * CheckResponse by the ingress.
 *
 * @param reason machine-readable, low-cardinality reason (metric label and log field)
 * @param httpStatus status for a denial, 200 for allow
 * @param challenge {@code WWW-Authenticate} value, or null
 * @param rpcCode JSON-RPC error code for a denial's body
 * @param message human-readable denial message (never contains a token)
 * @param retryAfterSeconds {@code Retry-After} for 503, else 0
 * @param upstreamAuthorization the {@code Authorization} value carrying the user's upstream access
 *     token ({@code Bearer <token>}) to inject on allow, or null (never logged; {@link #toString()}
 *     redacts it)
 * @param consent why and for what the user must consent, for {@link Outcome#ELICIT}
 * @param policy the per-tool policy's verdict (version, matching rule, upstream scopes), or null when
 *     no policy directory is configured
 */
public record Decision(
    Outcome outcome,
    String reason,
    int httpStatus,
    String challenge,
    int rpcCode,
    String message,
    int retryAfterSeconds,
    McpServerRoute server,
    McpRequest request,
    Principal principal,
    String upstreamAuthorization,
    UpstreamAccess.ConsentNeeded consent,
    PolicyVerdict policy) {

  public enum Outcome {
    /**
     * Forward upstream with the client token removed and identity headers added; with
     * {@link #upstreamAuthorization()} set, the user's upstream token is injected instead.
     */
    ALLOW,
    /** Forward untouched: no configured server matched and routing.unmatched is allow. */
    PASS_THROUGH,
    DENY,
    /** Stop the call and ask the user to consent at the upstream provider. */
    ELICIT
  }

  public boolean allowed() {
    return outcome == Outcome.ALLOW || outcome == Outcome.PASS_THROUGH;
  }

  /** The same allow, carrying the user's upstream token for injection. */
  Decision withUpstream(UpstreamAccess.Granted granted) {
    return new Decision(outcome, "upstream_token_injected", httpStatus, challenge, rpcCode, message, retryAfterSeconds,
        server, request, principal, granted.authorization(), null, policy);
  }

  /** The same allow with a different reason (e.g. a handshake passed without an upstream token). */
  Decision withReason(String newReason) {
    return new Decision(outcome, newReason, httpStatus, challenge, rpcCode, message, retryAfterSeconds,
        server, request, principal, upstreamAuthorization, consent, policy);
  }

  /** The same decision, recording the policy verdict it was made under. */
  Decision withPolicy(PolicyVerdict verdict) {
    return new Decision(outcome, reason, httpStatus, challenge, rpcCode, message, retryAfterSeconds,
        server, request, principal, upstreamAuthorization, consent, verdict);
  }

  /**
   * Upstream scopes this call needs: the server's {@code upstream.scopes} ∪ the matching policy
   * rules' {@code upstream_scopes} (what the vault must hold, or ask consent for).
   */
  public List<String> upstreamScopes() {
    java.util.LinkedHashSet<String> out = new java.util.LinkedHashSet<>();
    if (server != null && server.config().upstream() != null) {
      out.addAll(server.config().upstream().scopes());
    }
    if (policy != null) {
      out.addAll(policy.upstreamScopes());
    }
    return List.copyOf(out);
  }

  @Override
  public String toString() {
    return "Decision[outcome=" + outcome + ", reason=" + reason + ", status=" + httpStatus
        + ", server=" + (server == null ? null : server.id()) + ", upstreamAuthorization="
        + (upstreamAuthorization == null ? null : "<redacted>") + ", consent=" + consent
        + ", policyRule=" + (policy == null ? null : policy.ruleId()) + "]";
  }

  static Decision allow(McpServerRoute server, McpRequest request, Principal principal) {
    return new Decision(Outcome.ALLOW, "authenticated", 200, null, 0, null, 0, server, request, principal, null, null, null);
  }

  static Decision passThrough(McpRequest request) {
    return new Decision(Outcome.PASS_THROUGH, "unmatched_route", 200, null, 0, null, 0, null, request, null, null, null, null);
  }

  static Decision deny(
      String reason, int status, String challenge, int rpcCode, String message,
      McpServerRoute server, McpRequest request, Principal principal) {
    return new Decision(Outcome.DENY, reason, status, challenge, rpcCode, message, 0, server, request, principal, null, null, null);
  }

  static Decision unavailable(String message, int retryAfter, McpServerRoute server, McpRequest request) {
    return unavailable("idp_unavailable", message, retryAfter, server, request, null);
  }

  static Decision unavailable(
      String reason, String message, int retryAfter, McpServerRoute server, McpRequest request, Principal principal) {
    return new Decision(Outcome.DENY, reason, 503, null,
        dev.mcpauthz.mcp.JsonRpc.gatewayCode(503), message, retryAfter, server, request, principal, null, null, null);
  }

  static Decision elicit(UpstreamAccess.ConsentNeeded consent, String message, McpServerRoute server,
      McpRequest request, Principal principal) {
    return new Decision(Outcome.ELICIT, "consent_required_" + consent.reason().label(), 403, null,
        dev.mcpauthz.mcp.JsonRpc.gatewayCode(403), message, 0, server, request, principal, null, consent, null);
  }
}
