package dev.mcpauthz.policy;

import static dev.mcpauthz.testing.Responses.allowed;
import static dev.mcpauthz.testing.Responses.httpStatus;
import static dev.mcpauthz.testing.Responses.metadata;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hostile requests against conditions: deeply nested or huge arguments and expressions that try to
 * burn CPU all finish within a bound, and every failure is fail-closed (allow rules do not apply,
 * deny rules do).
 */
class PolicyHostileInputTest {
  static final Duration BOUND = Duration.ofSeconds(2);
  static final String POLICY = """
      server: github
      rules:
        - id: regex-guard
          priority: 10
          match: {tool: echo}
          when: 'args.text.matches("^(a+)+$")'
          effect: deny
        - id: echo
          match: {tool: echo}
          when: 'args.text.size() >= 0'
          effect: allow
        - id: cubic
          match: {tool: cubic}
          when: 'args.xs.all(x, args.xs.all(y, args.xs.all(z, x + y + z >= 0)))'
          effect: allow
        - id: cubic-guard
          priority: 10
          match: {tool: cubic-deny}
          when: 'args.xs.exists(x, args.xs.exists(y, args.xs.exists(z, x + y + z < 0)))'
          effect: deny
        - id: cubic-deny
          match: {tool: cubic-deny}
          effect: allow
        - id: nested
          match: {tool: nested}
          when: 'args.branch == "x"'
          effect: allow
        - id: anything
          match: {tool: "*"}
          effect: allow
      """;

  @TempDir
  static Path tmp;
  static TestIssuer issuer;
  static AuthzHarness authz;
  static String token;

  @BeforeAll
  static void start() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("p"));
    Files.writeString(dir.resolve("github.yaml"), POLICY);
    issuer = TestIssuer.start();
    authz = AuthzHarness.start(PolicyFixtures.yaml(issuer, dir));
    PolicyFixtures.connectUpstream(authz, issuer, "alice");
    token = issuer.mint(AuthzHarness.RESOURCE);
  }

  @AfterAll
  static void stop() {
    authz.close();
    issuer.close();
  }

  static CheckResponse timed(Supplier<CheckResponse> call) {
    long start = System.nanoTime();
    CheckResponse r = call.get();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
    return r;
  }

  @Test
  void argumentsOverTheLimitAreNeverHandedToCelAndFailClosed() {
    String huge = "a".repeat(900_000);
    CheckResponse r = timed(() -> authz.check(Checks.post("/mcp").bearer(token)
        .toolsCall(1, "echo", "{\"text\":\"" + huge + "\"}")));
    // The deny guard's condition cannot see args: it applies (fail closed).
    assertThat(httpStatus(r)).isEqualTo(403);
    assertThat(metadata(r, "policy_rule")).isEqualTo("regex-guard");
  }

  @Test
  void regexOnTheLargestAcceptedStringIsLinearTime() {
    String text = "a".repeat(60_000) + "!";
    CheckResponse r = timed(() -> authz.check(Checks.post("/mcp").bearer(token)
        .toolsCall(1, "echo", "{\"text\":\"" + text + "\"}")));
    assertThat(allowed(r)).isTrue();
    assertThat(metadata(r, "policy_rule")).isEqualTo("echo");
  }

  @Test
  void comprehensionsStopAtTheIterationBudget() {
    StringBuilder xs = new StringBuilder("[0");
    for (int i = 1; i < 500; i++) {
      xs.append(',').append(i);
    }
    String args = "{\"xs\":" + xs.append(']') + "}";
    CheckResponse allowRule = timed(() -> authz.check(Checks.post("/mcp").bearer(token).toolsCall(1, "cubic", args)));
    // The allow rule whose condition blew the budget does not apply: the next rule (a catch-all) decides.
    assertThat(metadata(allowRule, "policy_rule")).isEqualTo("anything");
    CheckResponse denyRule = timed(() -> authz.check(Checks.post("/mcp").bearer(token).toolsCall(2, "cubic-deny", args)));
    assertThat(httpStatus(denyRule)).isEqualTo(403);
    assertThat(metadata(denyRule, "policy_rule")).isEqualTo("cubic-guard");
  }

  @Test
  void deeplyNestedArgumentsStayBounded() {
    String deep = "[".repeat(60) + "]".repeat(60);
    CheckResponse r = timed(() -> authz.check(Checks.post("/mcp").bearer(token)
        .toolsCall(1, "nested", "{\"branch\":\"x\",\"files\":" + deep + "}")));
    assertThat(allowed(r)).isTrue();
    String tooDeep = "[".repeat(100) + "]".repeat(100);
    CheckResponse refused = timed(() -> authz.check(Checks.post("/mcp").bearer(token)
        .toolsCall(2, "nested", "{\"branch\":\"x\",\"files\":" + tooDeep + "}")));
    assertThat(httpStatus(refused)).isEqualTo(400);
    assertThat(metadata(refused, "reason")).isEqualTo("malformed_json");
  }

  @Test
  void overlongNamesAreDenied() {
    String name = "get_" + "x".repeat(ServerPolicy.MAX_NAME_CHARS);
    CheckResponse r = timed(() -> authz.check(Checks.post("/mcp").bearer(token).toolsCall(1, name, "{}")));
    assertThat(httpStatus(r)).isEqualTo(403);
    assertThat(metadata(r, "policy_rule")).isEqualTo(ServerPolicy.NAME_TOO_LONG_RULE);
  }

  @Test
  void oversizedOrTooDeepExpressionsAreRefusedAtLoad() {
    String longExpr = "name == 'x'" + " || name == 'x'".repeat(400);
    assertThatThrownBy(() -> PolicyFixtures.compile("s",
        "server: s\nrules:\n  - {id: a, match: {tool: t}, when: \"" + longExpr + "\", effect: allow}\n"))
        .isInstanceOf(PolicyException.class).hasMessageContaining("longer than 4096");
    String deep = "(".repeat(100) + "true" + ")".repeat(100);
    assertThatThrownBy(() -> PolicyFixtures.compile("s",
        "server: s\nrules:\n  - {id: a, match: {tool: t}, when: \"" + deep + "\", effect: allow}\n"))
        .isInstanceOf(PolicyException.class).hasMessageContaining("CEL");
  }

  @Test
  void hugeClaimsAndStringsInConditionsStayBounded() {
    ServerPolicy p = PolicyFixtures.compile("s", """
        server: s
        rules:
          - {id: a, match: {tool: t}, when: 'claims.blob.contains("needle") || claims.list.exists(x, x == "needle")', effect: allow}
        """);
    Map<String, Object> claims = Map.of("blob", "x".repeat(2_000_000), "list", java.util.Collections.nCopies(5_000, "hay"));
    long start = System.nanoTime();
    PolicyResult r = p.evaluate(PolicyInput.of("s", "tools/call", "t", () -> claims, Map::of, null, false));
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(BOUND);
    assertThat(r.ruleId()).as("5,000 elements exceed the 1,000-iteration budget: the allow rule does not apply")
        .isEqualTo("default");
  }

  @Test
  void argsTooLargeFlagIsAnErrorNotAnEmptyMap() {
    ServerPolicy p = PolicyFixtures.compile("s", """
        server: s
        default: allow
        rules:
          - {id: no-secrets, match: {tool: t}, when: '!has(args.secret)', effect: allow}
          - {id: otherwise, match: {tool: t}, priority: -1, effect: deny}
        """);
    assertThat(p.evaluate(PolicyInput.of("s", "tools/call", "t", Map::of, Map::of, null, false)).ruleId()).isEqualTo("no-secrets");
    assertThat(p.evaluate(PolicyInput.of("s", "tools/call", "t", Map::of, Map::of, null, true)).ruleId()).isEqualTo("otherwise");
    assertThat(List.of(Condition.MAX_ITERATIONS, Condition.MAX_EXPRESSION_CHARS)).containsExactly(1_000, 4_096);
  }
}
