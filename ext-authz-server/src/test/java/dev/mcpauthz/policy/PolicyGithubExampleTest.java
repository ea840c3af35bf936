package dev.mcpauthz.policy;

import static dev.mcpauthz.testing.Responses.allowed;
import static dev.mcpauthz.testing.Responses.body;
import static dev.mcpauthz.testing.Responses.deniedHeader;
import static dev.mcpauthz.testing.Responses.httpStatus;
import static dev.mcpauthz.testing.Responses.metadata;
import static dev.mcpauthz.testing.Responses.okHeader;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * The example policy examples/policies/github.yaml, end to end through the real gRPC Check with
 * signed tokens carrying scopes and claims: one row per situation a security owner cares about.
 */
class PolicyGithubExampleTest {
  static final String AUD = AuthzHarness.RESOURCE;
  static final String METADATA = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

  @TempDir
  static Path tmp;
  static TestIssuer issuer;
  static AuthzHarness authz;

  @BeforeAll
  static void start() {
    issuer = TestIssuer.start();
    authz = AuthzHarness.start(PolicyFixtures.yaml(issuer, PolicyFixtures.copyOfExamples(tmp)));
    PolicyFixtures.connectUpstream(authz, issuer, "alice");
  }

  @AfterAll
  static void stop() {
    authz.close();
    issuer.close();
  }

  enum Expect { ALLOW, INSUFFICIENT_SCOPE, POLICY_DENIED }

  record Row(String name, String scope, Consumer<JWTClaimsSet.Builder> claims, String method, String tool,
      String args, Expect expect, String rule, String challengeScope) {
    @Override
    public String toString() {
      return name;
    }
  }

  static final Consumer<JWTClaimsSet.Builder> MAINTAINER =
      c -> c.claim("org", "acme").claim("groups", List.of("maintainers", "developers"));
  static final Consumer<JWTClaimsSet.Builder> DEVELOPER = c -> c.claim("org", "acme").claim("groups", List.of("developers"));
  static final Consumer<JWTClaimsSet.Builder> NOBODY = c -> {};

  static Stream<Row> table() {
    return Stream.of(
        new Row("read tool with repo:read", "mcp:tools repo:read", NOBODY, "tools/call", "get_issue", "{\"number\":1}",
            Expect.ALLOW, "read-tools", null),
        new Row("search tool (glob) with repo:read", "mcp:tools repo:read", NOBODY, "tools/call", "search_code", "{\"q\":\"x\"}",
            Expect.ALLOW, "read-tools", null),
        new Row("read tool without repo:read: one challenge naming every needed scope", "mcp:tools", NOBODY,
            "tools/call", "list_issues", "{}", Expect.INSUFFICIENT_SCOPE, "read-tools", "mcp:tools repo:read"),
        new Row("missing server scope and rule scope: both in the same challenge", "repo:write", MAINTAINER,
            "tools/call", "get_issue", "{}", Expect.INSUFFICIENT_SCOPE, "read-tools", "mcp:tools repo:read"),
        new Row("maintainer pushes to a feature branch", "mcp:tools repo:write", MAINTAINER, "tools/call", "push_files",
            "{\"branch\":\"feature/x\",\"files\":[]}", Expect.ALLOW, "push", null),
        new Row("maintainer without repo:write is challenged", "mcp:tools repo:read", MAINTAINER, "tools/call",
            "push_files", "{\"branch\":\"feature/x\"}", Expect.INSUFFICIENT_SCOPE, "push", "mcp:tools repo:write"),
        new Row("push to main is refused even for a maintainer", "mcp:tools repo:write", MAINTAINER, "tools/call",
            "push_files", "{\"branch\":\"main\"}", Expect.POLICY_DENIED, "default", null),
        new Row("developer cannot push", "mcp:tools repo:write", DEVELOPER, "tools/call", "push_files",
            "{\"branch\":\"feature/x\"}", Expect.POLICY_DENIED, "default", null),
        new Row("no org claim: the condition fails closed", "mcp:tools repo:write", NOBODY, "tools/call", "push_files",
            "{\"branch\":\"feature/x\"}", Expect.POLICY_DENIED, "default", null),
        new Row("push without arguments: the condition fails closed", "mcp:tools repo:write", MAINTAINER, "tools/call",
            "push_files", "{}", Expect.POLICY_DENIED, "default", null),
        new Row("delete_repository is denied to everyone", "mcp:tools repo:read repo:write admin", MAINTAINER,
            "tools/call", "delete_repository", "{}", Expect.POLICY_DENIED, "never-delete-repositories", null),
        new Row("unknown tool falls to the default deny", "mcp:tools repo:write", MAINTAINER, "tools/call", "run_shell",
            "{}", Expect.POLICY_DENIED, "default", null),
        new Row("create_issue with repo:write", "mcp:tools repo:write", NOBODY, "tools/call", "create_issue",
            "{\"title\":\"t\"}", Expect.ALLOW, "write-issues", null));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("table")
  void decidesLikeThePolicySays(Row row) {
    String token = issuer.mint(AUD, c -> {
      c.claim("scope", row.scope());
      row.claims().accept(c);
    });
    CheckResponse r = authz.check(Checks.post("/mcp").bearer(token).toolsCall(7, row.tool(), row.args()));

    assertThat(metadata(r, "policy_version")).matches("[0-9a-f]{12}-1");
    assertThat(metadata(r, "policy_rule")).isEqualTo(row.rule());
    switch (row.expect()) {
      case ALLOW -> {
        assertThat(allowed(r)).as(body(r)).isTrue();
        // Allowed by policy, then refresh-and-inject: alice's GitHub token replaces the client's.
        assertThat(metadata(r, "reason")).isEqualTo("upstream_token_injected");
        assertThat(okHeader(r, "authorization")).isEqualTo("Bearer " + PolicyFixtures.upstreamToken("alice"));
      }
      case INSUFFICIENT_SCOPE -> {
        assertThat(httpStatus(r)).isEqualTo(403);
        // MCP authorization, Scope Challenge Handling: every needed scope in a single challenge.
        assertThat(deniedHeader(r, "www-authenticate")).isEqualTo("Bearer error=\"insufficient_scope\", "
            + "error_description=\"the access token lacks required scopes\", resource_metadata=\"" + METADATA
            + "\", scope=\"" + row.challengeScope() + "\"");
        assertThat(metadata(r, "reason")).isEqualTo("insufficient_scope");
      }
      case POLICY_DENIED -> {
        assertThat(httpStatus(r)).isEqualTo(403);
        assertThat(deniedHeader(r, "www-authenticate")).as("no step-up can help").isNull();
        assertThat(metadata(r, "reason")).isEqualTo("policy_denied");
        assertThat(body(r)).startsWith("{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-31403,"
            + "\"message\":\"Forbidden: this call is not permitted by the gateway's policy\"");
        // The body never tells the caller what the policy says.
        assertThat(body(r)).doesNotContain(row.rule()).doesNotContain("maintainers").doesNotContain("claims")
            .doesNotContain("main\"").doesNotContain("github.yaml");
      }
    }
  }

  @Test
  void protocolMethodsPassWithTheServerScopeOnly() {
    String token = issuer.mint(AUD);
    CheckResponse list = authz.check(Checks.post("/mcp").bearer(token)
        .header("mcp-protocol-version", "2026-07-28").header("mcp-method", "tools/list")
        .body("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}"));
    assertThat(allowed(list)).isTrue();
    assertThat(metadata(list, "policy_rule")).isEqualTo("protocol");
  }

  @Test
  void getStreamWithoutJsonRpcIsNotJudgedByPolicy() {
    CheckResponse r = authz.check(Checks.post("/mcp").method("GET").bearer(issuer.mint(AUD))
        .header("accept", "text/event-stream"));
    assertThat(allowed(r)).isTrue();
    assertThat(metadata(r, "policy_rule")).isNull();
    assertThat(metadata(r, "policy_version")).matches("[0-9a-f]{12}-1");
  }

  @Test
  void serverWithoutPolicyFileKeepsTodaysBehaviour() {
    String token = issuer.mint("https://other.example.com/mcp");
    CheckResponse r = authz.check(Checks.post("/mcp").host("other.example.com").bearer(token)
        .toolsCall(1, "delete_repository", "{}"));
    assertThat(allowed(r)).isTrue();
    assertThat(metadata(r, "policy_rule")).isNull();
    assertThat(metadata(r, "policy_version")).as("the version in force is still recorded").isNotEmpty();
  }

  @Test
  void aBatchCannotSmuggleADeniedToolPastThePolicy() {
    String token = issuer.mint(AUD, c -> c.claim("scope", "mcp:tools repo:read"));
    String batch = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"get_issue\"}},"
        + "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"delete_repository\"}}]";
    CheckResponse r = authz.check(Checks.post("/mcp").bearer(token).body(batch));
    assertThat(httpStatus(r)).isEqualTo(403);
    assertThat(metadata(r, "reason")).isEqualTo("policy_denied");
    assertThat(metadata(r, "policy_rule")).isEqualTo("never-delete-repositories");
  }

  @Test
  void resourceUrisWithDotSegmentsNeverMatchAPattern() {
    String token = issuer.mint(AUD, c -> c.claim("scope", "mcp:tools repo:read"));
    for (String uri : List.of("repo://acme/web/README.md", "repo://acme/web/../../etc/README.md",
        "repo://acme/web/%2e%2e/README.md")) {
      String body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"" + uri + "\"}}";
      CheckResponse r = authz.check(Checks.post("/mcp").bearer(token).body(body));
      assertThat(allowed(r)).as(uri).isEqualTo(uri.equals("repo://acme/web/README.md"));
    }
  }

  @Test
  void deniedCallsAreAuditedCountedAndLoggedWithoutTokens() {
    Logger audit = (Logger) LoggerFactory.getLogger("mcp_authz.audit");
    Logger decisions = (Logger) LoggerFactory.getLogger("mcp_authz.decision");
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.start();
    audit.addAppender(captured);
    decisions.addAppender(captured);
    LogstashEncoder encoder = new LogstashEncoder();
    encoder.setContext(audit.getLoggerContext());
    encoder.start();
    try {
      String token = issuer.mint(AUD, c -> c.subject("mallory").claim("scope", "mcp:tools repo:write"));
      CheckResponse r = authz.check(Checks.post("/mcp").bearer(token).toolsCall(3, "delete_repository", "{}"));
      String id = metadata(r, "decision_id");

      List<String> lines = captured.list.stream().map(e -> new String(encoder.encode(e))).toList();
      assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"logger_name\":\"mcp_authz.audit\"")
          .contains("\"event\":\"policy.denied\"").contains("\"user\":\"mallory\"").contains("\"server\":\"github\"")
          .contains("\"tool\":\"delete_repository\"").contains("\"rule\":\"never-delete-repositories\"")
          .contains("\"decision_id\":\"" + id + "\""));
      assertThat(lines).anySatisfy(l -> assertThat(l).contains("\"logger_name\":\"mcp_authz.decision\"")
          .contains("\"policy_rule\":\"never-delete-repositories\"").contains("\"policy_version\":\""));
      assertThat(lines).allSatisfy(l -> assertThat(l).doesNotContain(token).doesNotContain(token.substring(0, 20)));
    } finally {
      audit.detachAppender(captured);
      decisions.detachAppender(captured);
    }
    assertThat(authz.server().registry().scrape())
        .contains("mcp_authz_policy_decisions_total{effect=\"deny\",rule=\"never-delete-repositories\",server=\"github\"}")
        .contains("mcp_authz_policy_reloads_total{result=\"success\"} 1.0");
  }
}
