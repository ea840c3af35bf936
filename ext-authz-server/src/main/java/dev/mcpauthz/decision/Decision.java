package dev.mcpauthz.decision;

import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.mcp.McpRequest;

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
    Principal principal) {

  public enum Outcome {
    /** Forward upstream with the client token removed and identity headers added. */
    ALLOW,
    /** Forward untouched: no configured server matched and routing.unmatched is allow. */
    PASS_THROUGH,
    DENY
  }

  public boolean allowed() {
    return outcome != Outcome.DENY;
  }

  static Decision allow(McpServerRoute server, McpRequest request, Principal principal) {
    return new Decision(Outcome.ALLOW, "authenticated", 200, null, 0, null, 0, server, request, principal);
  }

  static Decision passThrough(McpRequest request) {
    return new Decision(Outcome.PASS_THROUGH, "unmatched_route", 200, null, 0, null, 0, null, request, null);
  }

  static Decision deny(
      String reason, int status, String challenge, int rpcCode, String message,
      McpServerRoute server, McpRequest request, Principal principal) {
    return new Decision(Outcome.DENY, reason, status, challenge, rpcCode, message, 0, server, request, principal);
  }

  static Decision unavailable(String message, int retryAfter, McpServerRoute server, McpRequest request) {
    return new Decision(Outcome.DENY, "idp_unavailable", 503, null,
        dev.mcpauthz.mcp.JsonRpc.gatewayCode(503), message, retryAfter, server, request, null);
  }
}
