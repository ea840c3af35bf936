package dev.mcpauthz.ingress;

import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.consent.CallDigest;
import dev.mcpauthz.consent.ClientApps;
import dev.mcpauthz.consent.ClientCapabilities;
import dev.mcpauthz.consent.ConsentLinks;
import dev.mcpauthz.consent.Elicitation;
import dev.mcpauthz.consent.ElicitationStore;
import dev.mcpauthz.consent.PromptMode;
import dev.mcpauthz.consent.ResumeTracker;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.mcp.ElicitationSupport;
import dev.mcpauthz.mcp.HttpFacts;
import dev.mcpauthz.mcp.McpRequestParser;
import dev.mcpauthz.mcp.McpMessage;
import dev.mcpauthz.mcp.McpRequest;
import dev.mcpauthz.mcp.ProtocolVersion;
import dev.mcpauthz.telemetry.ConsentAudit;
import dev.mcpauthz.telemetry.ConsentMetrics;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Turns an ELICIT decision into a prompt: learns what the client supports, mints (or reuses) the
 * elicitation, builds the link and the message, counts and audits it. Also remembers the
 * capabilities an {@code initialize} declares, and tells the resume tracker about allowed calls.
 * Asynchronous throughout.
 */
public final class ConsentPrompts {
  static final String SESSION_HEADER = "mcp-session-id";

  private final ElicitationStore store;
  private final ClientCapabilities capabilities;
  private final ConsentLinks links;
  private final Map<String, String> providerNames;
  private final ConsentMetrics metrics;
  private final ConsentAudit audit;
  private final ClientApps clientApps;
  private final ResumeTracker resumes;
  /** Re-reads a prompting call's arguments for its digest: rare, so the hot path never keeps them. */
  private final McpRequestParser argumentsParser;

  /** @param providerNames provider id → display name (providers without one show their id) */
  public ConsentPrompts(ElicitationStore store, ClientCapabilities capabilities, ConsentLinks links,
      Map<String, String> providerNames, ConsentMetrics metrics, ConsentAudit audit, McpRequestParser argumentsParser,
      ClientApps clientApps, ResumeTracker resumes) {
    this.audit = audit;
    this.clientApps = clientApps;
    this.resumes = resumes;
    this.argumentsParser = argumentsParser;
    this.store = store;
    this.capabilities = capabilities;
    this.links = links;
    this.providerNames = Map.copyOf(providerNames);
    this.metrics = metrics;
  }

  /** A prompt ready to render. */
  public record Prompt(Elicitation elicitation, String url, PromptMode mode, String message) {}

  public CompletableFuture<Prompt> prepare(Decision d, HttpFacts http, String decisionId) {
    Principal p = d.principal();
    McpRequest r = d.request();
    String digest = callDigest(r, http);
    String sessionId = http.header(SESSION_HEADER);
    var request = new ElicitationStore.Request(p.issuer(), p.subject(), d.server().id(), d.consent().provider(),
        d.consent().scopes(), d.consent().reason(), digest, clientApps.forOAuthClient(p.clientId()));
    return support(d, sessionId).thenCombine(store.mint(request), (support, e) -> {
      PromptMode mode = ElicitationResponses.mode(r, support, inputAction(r, http));
      String provider = providerNames.getOrDefault(e.provider(), e.provider());
      Prompt prompt = new Prompt(e, links.start(e.id()), mode, ElicitationResponses.message(d, provider));
      String reason = d.consent().reason().label();
      metrics.prompted(reason, e.provider(), e.server(), mode.label());
      audit.requested(p.subject(), p.issuer(), e.server(), e.provider(), reason, mode.label(), e.id(), decisionId);
      return prompt;
    });
  }

  /**
   * {@code params.inputResponses.mcp_authz_consent.action} of a single 2026-07-28 request, or null.
   * Read only when a prompt is rendered (rare), so the streaming parser on the hot path stays lean.
   */
  private static String inputAction(McpRequest r, HttpFacts http) {
    if (r.batch() || !ProtocolVersion.atLeast(r.protocolVersion(), ElicitationResponses.INPUT_REQUIRED)
        || http.partialBody() || http.bodySize() == 0) {
      return null;
    }
    try (var p = http.openBody(ACTION_JSON.getFactory())) {
      com.fasterxml.jackson.databind.JsonNode body = ACTION_JSON.readTree(p);
      com.fasterxml.jackson.databind.JsonNode action = body == null ? null
          : body.at("/params/inputResponses/" + ElicitationResponses.INPUT_KEY + "/action");
      return action == null || !action.isTextual() ? null : action.asText();
    } catch (java.io.IOException | RuntimeException e) {
      return null; // the streaming parser already accepted the body; an odd shape just means "no answer"
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper ACTION_JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** The resume key of the call: method, name and canonical arguments (see {@link CallDigest}). */
  private String callDigest(McpRequest r, HttpFacts http) {
    if (r.batch() || r.messages().size() != 1) {
      return CallDigest.of(r.method(), r.name(), null, false);
    }
    McpMessage m = r.messages().get(0);
    if (m.arguments() == null && !m.argumentsTooLarge()) {
      McpRequest full = argumentsParser.parse(http, true);
      if (full.messages().size() == 1) {
        m = full.messages().get(0);
      }
    }
    return CallDigest.of(m.method(), m.name(), m.arguments(), m.argumentsTooLarge());
  }

  /**
   * 2026-07-28 basic "Per-request protocol fields": capabilities come with every request. Before
   * that (2025-11-25 client/elicitation "Capabilities") they were declared once, at initialize;
   * versions before 2025-11-25 have no URL mode, so nothing is looked up.
   */
  private CompletableFuture<ElicitationSupport> support(Decision d, String sessionId) {
    McpRequest r = d.request();
    ElicitationSupport declared = r.singleElicitation();
    if (declared != ElicitationSupport.UNDECLARED || ProtocolVersion.atLeast(r.protocolVersion(),
        ElicitationResponses.INPUT_REQUIRED)) {
      return CompletableFuture.completedFuture(declared);
    }
    if (!ProtocolVersion.atLeast(r.protocolVersion(), ElicitationResponses.URL_ELICITATION)) {
      return CompletableFuture.completedFuture(ElicitationSupport.NONE);
    }
    return capabilities.lookup(client(d), sessionId);
  }

  /**
   * An authenticated initialize to a server with an upstream: remember what it declared. Completes
   * when stored, so the client's next request (sent after the initialize response) finds it.
   */
  public CompletableFuture<Void> observe(Decision d, HttpFacts http) {
    McpRequest r = d.request();
    if (d.upstreamAuthorization() != null && resumes.expectingAny()) { // an upstream token implies ALLOW, a user and a server
      Principal p = d.principal();
      resumes.allowed(p.issuer(), p.subject(), d.server().id(), () -> callDigest(r, http));
    }
    if (d.outcome() == Decision.Outcome.ALLOW && d.principal() != null && d.server() != null
        && d.server().config().upstream() != null && "initialize".equals(r.method())
        && r.singleElicitation() != ElicitationSupport.UNDECLARED) {
      return capabilities.rememberInitialize(client(d), r.singleElicitation());
    }
    return CompletableFuture.completedFuture(null);
  }

  private static ClientCapabilities.Client client(Decision d) {
    Principal p = d.principal();
    return new ClientCapabilities.Client(p.issuer(), p.subject(), p.clientId(), d.server().id());
  }
}
