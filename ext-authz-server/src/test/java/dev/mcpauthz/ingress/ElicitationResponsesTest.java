package dev.mcpauthz.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.consent.Elicitation;
import dev.mcpauthz.consent.PromptMode;
import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.decision.McpServerRoute;
import dev.mcpauthz.decision.ServerRouter;
import dev.mcpauthz.decision.UpstreamAccess;
import dev.mcpauthz.mcp.ElicitationSupport;
import dev.mcpauthz.mcp.McpMessage;
import dev.mcpauthz.mcp.McpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The rendering table: protocol version × declared capability × method → prompt mode, and each mode's exact JSON. */
class ElicitationResponsesTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String URL = "https://gw.example.com/auth/start?elicitation=AAAA";
  private static final Elicitation E = new Elicitation("AAAA", "https://idp", "alice", "github", "gh",
      List.of("read:user", "repo"), ConsentReason.SCOPE_ESCALATION, "00", null, Instant.EPOCH, Instant.EPOCH.plusSeconds(600), null);

  @ParameterizedTest(name = "{0} {1} {2} -> {3}")
  @CsvSource({
      // version,    declared,    method,          mode
      "2026-07-28, URL,        tools/call,        INPUT_REQUIRED",
      "2026-07-28, URL,        resources/read,    INPUT_REQUIRED",
      "2026-07-28, URL,        prompts/get,       INPUT_REQUIRED",
      "2026-07-28, URL,        completion/complete, ERROR_LINK",
      "2026-07-28, NONE,       tools/call,        TOOL_RESULT",
      "2026-07-28, UNDECLARED, tools/call,        TOOL_RESULT",
      "2026-07-28, NONE,       resources/read,    ERROR_LINK",
      "2025-11-25, URL,        tools/call,        URL_ELICITATION_ERROR",
      "2025-11-25, URL,        resources/read,    URL_ELICITATION_ERROR",
      "2025-11-25, NONE,       tools/call,        TOOL_RESULT",
      "2025-11-25, UNDECLARED, prompts/get,       ERROR_LINK",
      "2025-06-18, URL,        tools/call,        TOOL_RESULT",
      "2025-03-26, NONE,       resources/read,    ERROR_LINK",
  })
  void modeFollowsVersionCapabilityAndMethod(String version, ElicitationSupport declared, String method,
      PromptMode expected) {
    assertThat(ElicitationResponses.mode(request(version, method, declared), declared)).isEqualTo(expected);
  }

  @Test
  void aBatchOrANotificationGetsTheErrorLink() {
    McpMessage m = new McpMessage(new IntNode(1), "tools/call", "search", null, false, ElicitationSupport.URL);
    McpRequest batch = new McpRequest("2025-03-26", null, null, List.of(m, m), true, false, null);
    McpRequest notification = new McpRequest("2026-07-28", "tools/call", "search",
        List.of(new McpMessage(null, "tools/call", "search")), false, false, null);
    assertThat(ElicitationResponses.mode(batch, ElicitationSupport.URL)).isEqualTo(PromptMode.ERROR_LINK);
    assertThat(ElicitationResponses.mode(notification, ElicitationSupport.URL)).isEqualTo(PromptMode.ERROR_LINK);
  }

  @Test
  void inputRequiredIsAnInputRequiredResultWithOneUrlElicitationAndNoRequestState() throws Exception {
    JsonNode body = render(PromptMode.INPUT_REQUIRED, "2026-07-28", "tools/call", 200);
    assertThat(body).isEqualTo(JSON.readTree("""
        {"jsonrpc":"2.0","id":7,"result":{"resultType":"input_required","inputRequests":{"mcp_authz_consent":
          {"method":"elicitation/create","params":{"mode":"url","message":"%s","url":"%s"}}}}}
        """.formatted(message(), URL)));
    JsonNode result = body.get("result");
    assertThat(result.has("requestState")).isFalse();
    Schema s = Schema.load("2026-07-28");
    s.assertFields(result, "InputRequiredResult");
    JsonNode elicit = result.get("inputRequests").get("mcp_authz_consent");
    s.assertFields(elicit, "ElicitRequest");
    s.assertFields(elicit.get("params"), "ElicitRequestURLParams");
  }

  @Test
  void urlElicitationErrorIsMinus32042KeepingTheIdWithElicitationId() throws Exception {
    JsonNode body = render(PromptMode.URL_ELICITATION_ERROR, "2025-11-25", "tools/call", 200);
    assertThat(body).isEqualTo(JSON.readTree("""
        {"jsonrpc":"2.0","id":7,"error":{"code":-32042,"message":"%1$s","data":{"elicitations":[
          {"mode":"url","elicitationId":"AAAA","url":"%2$s","message":"%1$s"}],"decision_id":"dec-1"}}}
        """.formatted(message(), URL)));
    Schema s = Schema.load("2025-11-25");
    s.assertFields(body, "URLElicitationRequiredError");
    s.assertFields(body.get("error").get("data").get("elicitations").get(0), "ElicitRequestURLParams");
  }

  @Test
  void toolResultIsACallToolResultErrorWhoseTextCarriesTheLink() throws Exception {
    JsonNode body = render(PromptMode.TOOL_RESULT, "2025-06-18", "tools/call", 200);
    assertThat(body).isEqualTo(JSON.readTree("""
        {"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"%s Open this link to continue, then retry: %s"}],
          "isError":true}}
        """.formatted(message(), URL)));
    Schema.load("2025-11-25").assertFields(body.get("result"), "CallToolResult");
  }

  @ParameterizedTest(name = "{0} {1} answered {2} -> {3}")
  @CsvSource({
      "2026-07-28, tools/call,     decline, DECLINED",
      "2026-07-28, tools/call,     cancel,  DECLINED",
      "2026-07-28, resources/read, cancel,  DECLINED",
      "2026-07-28, tools/call,     accept,  INPUT_REQUIRED",
      "2026-07-28, tools/call,     ,        INPUT_REQUIRED",
      "2025-11-25, tools/call,     decline, URL_ELICITATION_ERROR",
  })
  void anAnsweredElicitationEndsTheRoundTripOnlyWhenDeclined(String version, String method, String action,
      PromptMode expected) {
    assertThat(ElicitationResponses.mode(request(version, method, ElicitationSupport.URL), ElicitationSupport.URL,
        action)).isEqualTo(expected);
  }

  @Test
  void declinedIsAFinalToolErrorWithTheLinkOrTheGatewayError() throws Exception {
    JsonNode tool = render(PromptMode.DECLINED, "2026-07-28", "tools/call", 200);
    assertThat(tool.at("/result/resultType").asText()).isEqualTo("complete");
    assertThat(tool.at("/result/isError").asBoolean()).isTrue();
    assertThat(tool.at("/result/inputRequests").isMissingNode()).isTrue();
    assertThat(tool.at("/result/content/0/text").asText()).startsWith("You declined").contains(URL);
    JsonNode read = render(PromptMode.DECLINED, "2026-07-28", "resources/read", 403);
    assertThat(read.at("/error/code").asInt()).isEqualTo(-31403);
    assertThat(read.at("/error/message").asText()).startsWith("You declined");
  }

  @Test
  void toolResultFor20260728CarriesResultTypeComplete() throws Exception {
    JsonNode body = render(PromptMode.TOOL_RESULT, "2026-07-28", "tools/call", 200);
    assertThat(body.at("/result/resultType").asText()).isEqualTo("complete");
    assertThat(body.at("/result/isError").asBoolean()).isTrue();
    assertThat(body.at("/result/content/0/text").asText()).endsWith(URL);
  }

  @Test
  void errorLinkKeepsTheGatewayErrorWithTheLinkInTheMessage() throws Exception {
    JsonNode body = render(PromptMode.ERROR_LINK, "2025-11-25", "resources/read", 403);
    assertThat(body).isEqualTo(JSON.readTree("""
        {"jsonrpc":"2.0","id":7,"error":{"code":-31403,"message":"%s Open this link to continue, then retry: %s",
          "data":{"decision_id":"dec-1"}}}
        """.formatted(message(), URL)));
  }

  @Test
  void messagesSayWhichProviderWhichServerAndWhyNow() {
    assertThat(ElicitationResponses.message(decision("2026-07-28", "tools/call", ConsentReason.FIRST_CONSENT), "GitHub"))
        .contains("github", "GitHub", "not connected");
    assertThat(ElicitationResponses.message(decision("2026-07-28", "tools/call", ConsentReason.SCOPE_ESCALATION), "GitHub"))
        .contains("github", "more GitHub permissions", "read:user, repo");
    assertThat(ElicitationResponses.message(decision("2026-07-28", "tools/call", ConsentReason.REVOKED), "GitHub"))
        .contains("github", "GitHub", "revoked");
  }

  private static String message() {
    return ElicitationResponses.message(decision("2026-07-28", "tools/call", ConsentReason.SCOPE_ESCALATION), "GitHub");
  }

  private static JsonNode render(PromptMode mode, String version, String method, int status) throws Exception {
    Decision d = decision(version, method, ConsentReason.SCOPE_ESCALATION);
    ElicitationResponses.Rendered r = ElicitationResponses.render(mode, d, E, URL, message(), "dec-1");
    assertThat(r.httpStatus()).isEqualTo(status);
    return JSON.readTree(r.body());
  }

  static McpRequest request(String version, String method, ElicitationSupport declared) {
    return new McpRequest(version, method, "search",
        List.of(new McpMessage(new IntNode(7), method, "search", null, false, declared)), false, false, null);
  }

  static Decision decision(String version, String method, ConsentReason reason) {
    return new Decision(Decision.Outcome.ELICIT, "consent_required_" + reason.label(), 403, null, -31403, "m", 0,
        route(), request(version, method, ElicitationSupport.UNDECLARED), null, null,
        new UpstreamAccess.ConsentNeeded(reason, "gh", List.of("read:user", "repo")), null);
  }

  private static McpServerRoute route() {
    AuthzConfig config = ConfigLoader.parse("""
        issuers:
          - {id: idp, issuer: https://idp.example.com, jwks_uri: https://idp.example.com/jwks}
        servers:
          - id: github
            resource: https://mcp.example.com/mcp
            match: {authority: mcp.example.com}
        """, "t.yaml", Map.of(), null);
    return new ServerRouter(config, List.of()).byId("github");
  }

  /** Field names and JSON types of a definition in the spec's schema.json (properties, required). */
  record Schema(JsonNode defs) {
    static Schema load(String version) throws Exception {
      Path file = Path.of("/work/shared/reference/mcp-spec", version, "schema.json");
      org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(file), "spec schema not available");
      JsonNode root = JSON.readTree(file.toFile());
      return new Schema(root.has("$defs") ? root.get("$defs") : root.get("definitions"));
    }

    void assertFields(JsonNode value, String definition) {
      JsonNode def = defs.get(definition);
      assertThat(def).as(definition).isNotNull();
      List<JsonNode> parts = new ArrayList<>(List.of(def));
      def.path("allOf").forEach(parts::add);
      Map<String, JsonNode> props = new java.util.HashMap<>();
      List<String> required = new ArrayList<>();
      for (JsonNode part : parts) {
        part = part.has("$ref") ? defs.get(part.get("$ref").asText().replace("#/$defs/", "")) : part;
        part.path("properties").fields().forEachRemaining(e -> props.put(e.getKey(), e.getValue()));
        part.path("required").forEach(n -> required.add(n.asText()));
      }
      assertThat(value.fieldNames()).toIterable().as(definition + " fields").allMatch(props::containsKey);
      assertThat(required).as(definition + " required").allMatch(value::has);
      for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
        var e = it.next();
        JsonNode p = props.get(e.getKey());
        if (p.has("const")) {
          assertThat(e.getValue()).as(definition + "." + e.getKey()).isEqualTo(p.get("const"));
        } else if (p.has("type")) {
          assertThat(jsonType(e.getValue())).as(definition + "." + e.getKey()).isEqualTo(p.get("type").asText());
        }
      }
    }

    private static String jsonType(JsonNode n) {
      return n.isTextual() ? "string" : n.isBoolean() ? "boolean" : n.isIntegralNumber() ? "integer"
          : n.isNumber() ? "number" : n.isArray() ? "array" : n.isObject() ? "object" : "null";
    }
  }
}
