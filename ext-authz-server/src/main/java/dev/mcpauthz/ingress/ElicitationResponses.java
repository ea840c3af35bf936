package dev.mcpauthz.ingress;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mcpauthz.consent.Elicitation;
import dev.mcpauthz.consent.PromptMode;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.mcp.ElicitationSupport;
import dev.mcpauthz.mcp.McpRequest;
import dev.mcpauthz.mcp.ProtocolVersion;
import java.util.Set;

/**
 * The one place that decides how a consent prompt is rendered for a request, and renders it. See
 * docs/consent.md for the table.
 */
public final class ElicitationResponses {
  /** First version with URL-mode elicitation and -32042 (2025-11-25 client/elicitation). */
  public static final String URL_ELICITATION = "2025-11-25";
  /** First version with InputRequiredResult (2026-07-28 basic/patterns/mrtr). */
  public static final String INPUT_REQUIRED = "2026-07-28";
  /** JSON-RPC code of URLElicitationRequiredError (2025-11-25 client/elicitation "Error Handling"). */
  public static final int URL_ELICITATION_REQUIRED = -32042;
  /** Key of our request in {@code inputRequests}: server-assigned, unique within the request. */
  static final String INPUT_KEY = "mcp_authz_consent";

  /** 2026-07-28 mrtr "Supported Requests": InputRequiredResult MUST NOT answer any other request. */
  private static final Set<String> INPUT_REQUIRED_METHODS = Set.of("tools/call", "resources/read", "prompts/get");
  private static final ObjectMapper JSON = new ObjectMapper();

  private ElicitationResponses() {}

  /** An HTTP answer: status and JSON body. */
  public record Rendered(int httpStatus, String body) {}

  /**
   * @param support what the client declared about URL elicitation (from the request's {@code _meta}
   *     or the remembered initialize)
   */
  /**
   * Like {@link #mode(McpRequest, ElicitationSupport)}, for a request whose {@code
   * params.inputResponses} answered our elicitation with {@code action} (null when it did not).
   * 2026-07-28 mrtr: the client retries with the user's answer; decline and cancel end the round
   * trip with a final result instead of the same prompt again (which the TypeScript SDK 2.x would
   * loop on until its round limit).
   */
  public static PromptMode mode(McpRequest r, ElicitationSupport support, String inputAction) {
    PromptMode m = mode(r, support);
    return m == PromptMode.INPUT_REQUIRED && ("decline".equals(inputAction) || "cancel".equals(inputAction))
        ? PromptMode.DECLINED : m;
  }

  public static PromptMode mode(McpRequest r, ElicitationSupport support) {
    if (r.batch() || r.singleId() == null || r.method() == null) {
      return PromptMode.ERROR_LINK; // only a single request has one result to put a prompt in
    }
    boolean url = support == ElicitationSupport.URL;
    String v = r.protocolVersion();
    if (ProtocolVersion.atLeast(v, INPUT_REQUIRED)) {
      // 2026-07-28 mrtr: "MUST NOT send an inputRequests that the client has not declared support for".
      if (url && INPUT_REQUIRED_METHODS.contains(r.method())) {
        return PromptMode.INPUT_REQUIRED;
      }
    } else if (ProtocolVersion.atLeast(v, URL_ELICITATION) && url) {
      // 2025-11-25 client/elicitation: -32042 only for clients that declared elicitation.url.
      return PromptMode.URL_ELICITATION_ERROR;
    }
    return "tools/call".equals(r.method()) ? PromptMode.TOOL_RESULT : PromptMode.ERROR_LINK;
  }

  /**
   * The user-facing explanation: which provider, which server, why now. Without the link: URL modes
   * carry it in {@code url}; {@link #withLink} appends it for the others.
   */
  public static String message(Decision d, String providerName) {
    String server = d.server().id();
    return switch (d.consent().reason()) {
      case FIRST_CONSENT -> server + " acts on your behalf at " + providerName
          + ", and you have not connected your " + providerName + " account yet. Sign in to " + providerName
          + " to allow it.";
      case SCOPE_ESCALATION -> "This call to " + server + " needs more " + providerName + " permissions than you"
          + " granted so far. Approve access to: " + String.join(", ", d.consent().scopes()) + ".";
      case REVOKED -> "Your " + providerName + " access for " + server
          + " was revoked or has expired. Sign in to " + providerName + " again to reconnect.";
    };
  }

  static String withLink(String message, String url) {
    return message + " Open this link to continue, then retry: " + url;
  }

  public static Rendered render(PromptMode mode, Decision d, Elicitation e, String url, String message,
      String decisionId) {
    JsonNode id = d.request().singleId();
    return switch (mode) {
      case INPUT_REQUIRED -> {
        // 2026-07-28 mrtr InputRequiredResult; ElicitRequestURLParams there is {mode, message, url}.
        // No requestState: the pending consent lives server-side, keyed by user and call.
        ObjectNode result = JSON.createObjectNode().put("resultType", "input_required");
        ObjectNode params = result.putObject("inputRequests").putObject(INPUT_KEY)
            .put("method", "elicitation/create").putObject("params");
        params.put("mode", "url").put("message", message).put("url", url);
        yield new Rendered(200, envelope(id).set("result", result).toString());
      }
      case URL_ELICITATION_ERROR -> {
        // 2025-11-25 client/elicitation "URL Elicitation Required Error": URL-mode elicitations, each
        // with an elicitationId. HTTP 200: clients read JSON-RPC errors from a successful response.
        ObjectNode error = JSON.createObjectNode().put("code", URL_ELICITATION_REQUIRED).put("message", message);
        ObjectNode data = error.putObject("data");
        data.putArray("elicitations").addObject()
            .put("mode", "url").put("elicitationId", e.id()).put("url", url).put("message", message);
        data.put("decision_id", decisionId);
        yield new Rendered(200, envelope(id).set("error", error).toString());
      }
      case TOOL_RESULT -> {
        // 2025-06-18+ server/tools "Error Handling": a tool execution error the model can read and show.
        // 2026-07-28 basic "Result Responses": a result MUST carry resultType (the TypeScript SDK 2.x
        // rejects one without it); earlier versions have no such field.
        ObjectNode result = JSON.createObjectNode();
        if (ProtocolVersion.atLeast(d.request().protocolVersion(), INPUT_REQUIRED)) {
          result.put("resultType", "complete");
        }
        result.putArray("content").addObject().put("type", "text").put("text", withLink(message, url));
        result.put("isError", true);
        yield new Rendered(200, envelope(id).set("result", result).toString());
      }
      case ERROR_LINK -> new Rendered(d.httpStatus(),
          DeniedBodies.render(d.request(), d.rpcCode(), withLink(message, url), decisionId).toStringUtf8());
      case DECLINED -> {
        String text = "You declined to connect your account, so this call was not made. " + message
            + " To connect it later, open " + url + " or run the call again.";
        if (!"tools/call".equals(d.request().method())) {
          yield new Rendered(d.httpStatus(), DeniedBodies.render(d.request(), d.rpcCode(), text, decisionId).toStringUtf8());
        }
        ObjectNode result = JSON.createObjectNode().put("resultType", "complete");
        result.putArray("content").addObject().put("type", "text").put("text", text);
        result.put("isError", true);
        yield new Rendered(200, envelope(id).set("result", result).toString());
      }
    };
  }

  private static ObjectNode envelope(JsonNode id) {
    ObjectNode o = JSON.createObjectNode().put("jsonrpc", "2.0");
    o.set("id", id);
    return o;
  }
}
