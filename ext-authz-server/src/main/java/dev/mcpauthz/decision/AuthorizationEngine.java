package dev.mcpauthz.decision;

import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.authn.TokenVerifier;
import dev.mcpauthz.authn.Verification;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.mcp.JsonRpc;
import dev.mcpauthz.mcp.McpMethods;
import dev.mcpauthz.mcp.McpProblem;
import dev.mcpauthz.mcp.McpRequest;
import dev.mcpauthz.mcp.McpRequestParser;
import dev.mcpauthz.policy.PolicyEvaluation;
import dev.mcpauthz.policy.PolicySet;
import dev.mcpauthz.policy.PolicyStore;
import dev.mcpauthz.policy.PolicyVerdict;
import dev.mcpauthz.policy.ServerPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The one decision path: route → refuse query tokens → read the MCP request → authenticate the
 * bearer token (RFC 6750) → check issuer and audience (RFC 8707, MCP authorization) → check
 * scopes → check the MCP request is well-formed → per-tool policy → allow.
 *
 * <p>Authentication is judged before request syntax so an unauthenticated caller learns nothing
 * about how its body is validated. Completes on the calling thread unless a key fetch or an
 * introspection call is needed; it never blocks.
 */
public final class AuthorizationEngine {
  /** Seconds a client should wait before retrying when the IdP cannot be reached. */
  static final int IDP_RETRY_AFTER_SECONDS = 5;

  private final ServerRouter router;
  private final TokenVerifier verifier;
  private final McpRequestParser parser;
  private final int maxTokenBytes;
  private final boolean allowUnmatched;
  private final UpstreamCredentials upstream;
  /** Per-tool policy, or null when no policy directory is configured. */
  private final PolicyStore policies;

  public AuthorizationEngine(AuthzConfig config, ServerRouter router, TokenVerifier verifier) {
    this(config, router, verifier, null);
  }

  /**
   * @param upstream the token vault, or null when no server has an {@code upstream} section
   */
  public AuthorizationEngine(
      AuthzConfig config, ServerRouter router, TokenVerifier verifier, UpstreamCredentials upstream) {
    this(config, router, verifier, upstream, null);
  }

  /**
   * @param policies per-tool policy (read once per Check, so a reload never changes a Check in
   *     flight), or null when no {@code policy} section is configured
   */
  public AuthorizationEngine(AuthzConfig config, ServerRouter router, TokenVerifier verifier,
      UpstreamCredentials upstream, PolicyStore policies) {
    this.upstream = upstream;
    this.router = router;
    this.verifier = verifier;
    this.policies = policies;
    this.parser = new McpRequestParser(config.limits().maxJsonDepth(), config.limits().maxBodyBytes(),
        config.policy() == null ? 64 * 1024 : config.policy().maxArgsBytes());
    this.maxTokenBytes = config.limits().maxTokenBytes();
    this.allowUnmatched = config.routing().unmatched() == AuthzConfig.UnmatchedAction.ALLOW;
  }

  public ServerRouter router() {
    return router;
  }

  public CompletableFuture<Decision> decide(CheckContext ctx) {
    return decide(ctx, "");
  }

  /** @param decisionId correlates vault refreshes and audit events with this Check */
  public CompletableFuture<Decision> decide(CheckContext ctx, String decisionId) {
    ServerRouter.Routed routed = router.route(ctx);
    McpServerRoute server = routed.server();
    PolicySet policySet = policies == null ? null : policies.current();
    ServerPolicy policy = policySet == null || server == null ? null : policySet.forServer(server.id());
    McpRequest mcp = parser.parse(ctx, policy != null && policy.needsArguments());
    if (policySet == null) {
      return decide(ctx, decisionId, server, routed, mcp, null);
    }
    // Every decision records the policy version it was made under.
    String serverId = server == null ? "" : server.id();
    return decide(ctx, decisionId, server, routed, mcp, policy).thenApply(d -> d.policy() != null ? d
        : d.withPolicy(PolicyVerdict.notEvaluated(policySet.version(), serverId)));
  }

  private CompletableFuture<Decision> decide(CheckContext ctx, String decisionId, McpServerRoute server,
      ServerRouter.Routed routed, McpRequest mcp, ServerPolicy policy) {
    if (server == null) {
      if (routed.unknownId() == null && allowUnmatched) {
        return done(Decision.passThrough(mcp));
      }
      String why = routed.unknownId() != null
          ? "the route names MCP server '" + routed.unknownId() + "', which is not configured"
          : "no MCP server is configured for this route";
      return done(Decision.deny("unknown_server", 403, null, JsonRpc.gatewayCode(403), "Forbidden: " + why, null, mcp, null));
    }
    if (BearerToken.inQuery(ctx.path())) {
      return done(Decision.deny("token_in_query", 400,
          BearerChallenge.error("invalid_request", "access tokens are not accepted in the URI query", server, null),
          JsonRpc.gatewayCode(400), "Bad Request: access tokens must be sent in the Authorization header, never in the URI",
          server, mcp, null));
    }
    BearerToken.Result bearer = BearerToken.from(ctx.header("authorization"));
    if (bearer instanceof BearerToken.Absent) {
      return done(Decision.deny("missing_token", 401, BearerChallenge.missing(server), JsonRpc.gatewayCode(401),
          "Unauthorized: this MCP server requires an OAuth access token", server, mcp, null));
    }
    if (bearer instanceof BearerToken.Malformed m) {
      return done(Decision.deny("malformed_authorization", 400,
          BearerChallenge.error("invalid_request", m.description(), server, null),
          JsonRpc.gatewayCode(400), "Bad Request: " + m.description(), server, mcp, null));
    }
    String token = ((BearerToken.Present) bearer).token();
    if (token.length() > maxTokenBytes) {
      return done(invalidToken("token_too_large", "the access token exceeds " + maxTokenBytes + " bytes", server, mcp));
    }
    CompletableFuture<Verification> verification = verifier.verify(token, server.trustedIssuers());
    if (verification.isDone() && !verification.isCompletedExceptionally()) {
      return withUpstream(afterVerification(verification.join(), server, mcp, ctx, policy), decisionId);
    }
    return verification.handle((v, error) -> error != null
        ? Decision.unavailable("Service Unavailable: the token could not be verified", IDP_RETRY_AFTER_SECONDS, server, mcp)
        : afterVerification(v, server, mcp, ctx, policy))
        .thenCompose(d -> withUpstream(d, decisionId));
  }

  /** Refresh-and-inject: an allow for a server with an upstream carries the user's upstream token. */
  private CompletableFuture<Decision> withUpstream(Decision d, String decisionId) {
    if (d.outcome() != Decision.Outcome.ALLOW || d.server().config().upstream() == null || upstream == null) {
      return done(d);
    }
    // Server upstream scopes ∪ the matching policy rules' upstream_scopes (scope escalation).
    List<String> needed = d.upstreamScopes();
    CompletableFuture<UpstreamAccess> access;
    try {
      access = upstream.access(d.principal(), d.server(), needed, decisionId);
    } catch (RuntimeException e) {
      access = CompletableFuture.failedFuture(e);
    }
    if (access.isDone() && !access.isCompletedExceptionally()) {
      return done(afterUpstream(d, access.join()));
    }
    return access.handle((a, error) -> afterUpstream(d,
        error != null ? new UpstreamAccess.Unavailable(IDP_RETRY_AFTER_SECONDS, "vault_error") : a));
  }

  private static Decision afterUpstream(Decision d, UpstreamAccess access) {
    return switch (access) {
      case UpstreamAccess.Granted g -> d.withUpstream(g);
      // Handshakes and discovery never elicit: they pass without an upstream token.
      case UpstreamAccess.ConsentNeeded c when McpMethods.isHandshakeOrDiscovery(d.request()) ->
          d.withReason("upstream_consent_deferred");
      case UpstreamAccess.ConsentNeeded c -> Decision.elicit(c, consentMessage(c, d.server()), d.server(), d.request(),
          d.principal()).withPolicy(d.policy());
      // Transient: 503 + Retry-After, never a consent prompt.
      case UpstreamAccess.Unavailable u -> Decision.unavailable("upstream_unavailable",
          "Service Unavailable: the upstream credential for " + d.server().id()
              + " could not be refreshed right now; retry shortly", u.retryAfterSeconds(), d.server(), d.request(),
          d.principal()).withPolicy(d.policy());
    };
  }

  private static String consentMessage(UpstreamAccess.ConsentNeeded c, McpServerRoute server) {
    String why = switch (c.reason()) {
      case FIRST_CONSENT -> "you have not yet connected your " + c.provider() + " account";
      case SCOPE_ESCALATION -> "this call needs more " + c.provider() + " permissions (" + String.join(" ", c.scopes()) + ")";
      case REVOKED -> "your " + c.provider() + " authorization was revoked or has expired";
    };
    return "Authorization required: " + server.id() + " acts on your behalf at " + c.provider() + ", and " + why + ".";
  }

  private Decision afterVerification(
      Verification v, McpServerRoute server, McpRequest mcp, CheckContext ctx, ServerPolicy policy) {
    return switch (v) {
      case Verification.Unavailable u ->
          Decision.unavailable("Service Unavailable: " + u.description(), IDP_RETRY_AFTER_SECONDS, server, mcp);
      case Verification.Rejected r -> invalidToken(r.reason(), r.description(), server, mcp);
      case Verification.Verified ok -> authorize(ok.principal(), server, mcp, ctx, policy);
    };
  }

  private Decision authorize(Principal p, McpServerRoute server, McpRequest mcp, CheckContext ctx, ServerPolicy policy) {
    if (!server.trusts(p)) {
      return invalidToken("untrusted_issuer", "the token issuer is not trusted by this server", server, mcp);
    }
    if (!server.isAudienceOf(p)) {
      return invalidToken("wrong_audience", "the access token was not issued for " + server.resource(), server, mcp);
    }
    // Per-tool policy decides on a well-formed request only (method and name agree with the body).
    PolicyVerdict verdict = policy != null && mcp.problem() == null
        ? PolicyEvaluation.evaluate(policy, mcp, p.claims(), ctx::headers)
        : null;
    if (!p.scopes().containsAll(server.requiredScopes())) {
      List<String> needed = verdict == null
          ? new ArrayList<>(server.config().requiredScopes())
          : verdict.neededScopes(server.config().requiredScopes());
      return insufficientScope(needed, server, mcp, p).withPolicy(verdict);
    }
    McpProblem problem = mcp.problem();
    if (problem != null) {
      return Decision.deny(problem.reason(), problem.httpStatus(), null, problem.jsonRpcCode(), problem.message(),
          server, mcp, p);
    }
    if (mcp.bodyIncomplete() && server.config().requireCompleteBody() && "POST".equals(ctx.method())) {
      // Fail closed: the unseen tail of the body could change what the request does.
      return Decision.deny("body_incomplete", 413, null, JsonRpc.INVALID_REQUEST,
          "Payload Too Large: the gateway received only part of the request body; raise the ext_authz "
              + "with_request_body.max_request_bytes limit or send a smaller request", server, mcp, p)
          .withPolicy(verdict);
    }
    if (verdict != null && verdict.evaluated()) {
      PolicyVerdict.Judgement j = verdict.judge(server.config().requiredScopes(), p.scopes());
      switch (j.kind()) {
        case DENY -> {
          // The body names no rule: what the policy says stays with the operator (metadata, logs).
          return Decision.deny("policy_denied", 403, null, JsonRpc.gatewayCode(403),
              "Forbidden: this call is not permitted by the gateway's policy", server, mcp, p).withPolicy(verdict);
        }
        case INSUFFICIENT_SCOPE -> {
          return insufficientScope(j.scopes(), server, mcp, p).withPolicy(verdict);
        }
        case ALLOW -> { }
      }
    }
    return Decision.allow(server, mcp, p).withPolicy(verdict);
  }

  /**
   * MCP 2026-07-28 basic/authorization, "Scope Challenge Handling" / "Runtime Insufficient Scope
   * Errors": 403 with {@code error="insufficient_scope"}, {@code resource_metadata} and the scopes
   * needed for the operation; "servers SHOULD include all scopes required for the current operation
   * in a single challenge" — here the server's required scopes ∪ the matching policy rules' scopes,
   * never one scope at a time.
   */
  private static Decision insufficientScope(List<String> needed, McpServerRoute server, McpRequest mcp, Principal p) {
    String scope = String.join(" ", needed);
    return Decision.deny("insufficient_scope", 403,
        BearerChallenge.error("insufficient_scope", "the access token lacks required scopes", server, scope),
        JsonRpc.gatewayCode(403), "Forbidden: this call requires scopes: " + scope, server, mcp, p);
  }

  private static Decision invalidToken(String reason, String description, McpServerRoute server, McpRequest mcp) {
    return Decision.deny(reason, 401, BearerChallenge.error("invalid_token", description, server, null),
        JsonRpc.gatewayCode(401), "Unauthorized: " + description, server, mcp, null);
  }

  private static CompletableFuture<Decision> done(Decision d) {
    return CompletableFuture.completedFuture(d);
  }
}
