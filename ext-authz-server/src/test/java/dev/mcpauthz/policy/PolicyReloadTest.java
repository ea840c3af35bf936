package dev.mcpauthz.policy;

import static dev.mcpauthz.testing.Responses.allowed;
import static dev.mcpauthz.testing.Responses.metadata;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Reloads are atomic, never disturb Checks in flight, and an invalid edit changes nothing at all. */
class PolicyReloadTest {
  static final String A = """
      server: github
      rules:
        - {id: rule-a, match: {tool: [t1, t2]}, effect: allow}
        - {id: deny-a, match: {tool: t3}, effect: deny}
      """;
  static final String B = """
      server: github
      rules:
        - {id: rule-b, match: {tool: "t*"}, effect: allow}
      """;

  @TempDir
  Path tmp;

  @Test
  void reloadingManyTimesUnderConcurrentChecksDropsNothing() throws Exception {
    Path dir = tmp.resolve("p");
    java.nio.file.Files.createDirectories(dir);
    PolicyFixtures.write(dir.resolve("github.yaml"), A);
    String hashA = PolicyCompiler.contentHash(List.of(new PolicySource("github.yaml", A)));
    String hashB = PolicyCompiler.contentHash(List.of(new PolicySource("github.yaml", B)));
    try (TestIssuer issuer = TestIssuer.start();
        AuthzHarness authz = AuthzHarness.start(PolicyFixtures.yaml(issuer, dir).replace("decisions: all", "decisions: none"))) {
      PolicyFixtures.connectUpstream(authz, issuer, "alice");
      String token = issuer.mint(AuthzHarness.RESOURCE);
      PolicyStore store = authz.server().policies();
      AtomicBoolean reloading = new AtomicBoolean(true);
      AtomicInteger checks = new AtomicInteger();
      ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      List<Future<?>> clients = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        clients.add(pool.submit(() -> {
          int i = 0;
          while (reloading.get() || i < 20) {
            try {
              CheckResponse r = authz.check(Checks.post("/mcp").bearer(token).toolsCall(i++, "t1", "{}"));
              String version = metadata(r, "policy_version");
              String rule = metadata(r, "policy_rule");
              // One snapshot per Check: the rule always belongs to the version recorded with it.
              boolean consistent = (version.startsWith(hashA) && "rule-a".equals(rule))
                  || (version.startsWith(hashB) && "rule-b".equals(rule));
              if (!allowed(r) || !consistent) {
                problems.add(version + " " + rule + " " + r.getStatus());
              }
              checks.incrementAndGet();
            } catch (RuntimeException e) {
              problems.add(e.toString());
            }
          }
        }));
      }
      int changed = 0;
      for (int n = 0; n < 60; n++) {
        PolicyFixtures.write(dir.resolve("github.yaml"), n % 2 == 0 ? B : A);
        PolicyStore.Reload r = store.reloadNow();
        assertThat(r.success()).isTrue();
        changed += r.changed() ? 1 : 0;
      }
      reloading.set(false);
      for (Future<?> f : clients) {
        f.get(60, TimeUnit.SECONDS);
      }
      pool.shutdown();
      assertThat(problems).isEmpty();
      assertThat(changed).isEqualTo(60);
      assertThat(checks.get()).isGreaterThanOrEqualTo(80);
      assertThat(store.current().version()).isEqualTo(hashA + "-61");
      assertThat(authz.server().registry().scrape()).contains("mcp_authz_policy_reloads_total{result=\"success\"} 61.0");
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      YAML error           | server: github\\nrules:\\n  - {id: x, match: {tool: t1}, effect: allow\\n                          | 3 | invalid YAML
      CEL compile error    | server: github\\nrules:\\n  - {id: x, match: {tool: t1}, when: 'claims.org ==', effect: allow}\\n | 3 | CEL compile error
      unknown field        | server: github\\nrules:\\n  - {id: x, match: {tool: t1}, effect: allow, scope: [a]}\\n          | 3 | unknown key 'scope'
      conflicting rules    | server: github\\nrules:\\n  - {id: x, match: {tool: t1}, effect: allow}\\n  - {id: y, match: {tool: t1}, effect: deny}\\n | 4 | conflicts with rule 'x'
      """)
  void anInvalidEditKeepsThePreviousDecisionsByteForByte(String what, String edit, int line, String reason) throws Exception {
    Path dir = tmp.resolve("p");
    java.nio.file.Files.createDirectories(dir);
    PolicyFixtures.write(dir.resolve("github.yaml"), A);
    try (TestIssuer issuer = TestIssuer.start(); AuthzHarness authz = AuthzHarness.start(PolicyFixtures.yaml(issuer, dir))) {
      PolicyFixtures.connectUpstream(authz, issuer, "alice");
      String token = issuer.mint(AuthzHarness.RESOURCE);
      List<Checks> requests = List.of(
          Checks.post("/mcp").bearer(token).toolsCall(1, "t1", "{}"),
          Checks.post("/mcp").bearer(token).toolsCall(2, "t3", "{}"),
          Checks.post("/mcp").bearer(token).toolsCall(3, "unknown", "{}"),
          Checks.post("/mcp").bearer(issuer.mint(AuthzHarness.RESOURCE, c -> c.claim("scope", "x"))).toolsCall(4, "t2", "{}"));
      List<String> before = requests.stream().map(r -> normalised(authz.check(r))).toList();

      List<PolicyStore.Reload> seen = new ArrayList<>();
      authz.server().policies().addListener(seen::add);
      PolicyFixtures.write(dir.resolve("github.yaml"), edit.replace("\\n", "\n"));
      PolicyStore.Reload result = authz.server().policies().reloadNow();

      assertThat(result.success()).isFalse();
      assertThat(result.error().file()).isEqualTo("github.yaml");
      assertThat(result.error().line()).isEqualTo(line);
      assertThat(result.error().reason()).contains(reason);
      assertThat(seen).containsExactly(result);
      List<String> after = requests.stream().map(r -> normalised(authz.check(r))).toList();
      assertThat(after).isEqualTo(before);
      assertThat(authz.server().registry().scrape()).contains("mcp_authz_policy_reloads_total{result=\"failure\"} 1.0");
    }
  }

  /** The CheckResponse's bytes with the (random) decision id replaced by a constant of the same length. */
  static String normalised(CheckResponse r) {
    String id = metadata(r, "decision_id");
    return r.toByteString().toString(StandardCharsets.ISO_8859_1).replace(id, "0".repeat(id.length()));
  }
}
