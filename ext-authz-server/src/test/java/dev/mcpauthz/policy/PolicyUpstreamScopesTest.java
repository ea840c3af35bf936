package dev.mcpauthz.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.mcpauthz.authn.IssuerRuntime;
import dev.mcpauthz.authn.TokenVerifier;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.decision.AuthorizationEngine;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.decision.ServerRouter;
import dev.mcpauthz.decision.UpstreamAccess;
import dev.mcpauthz.decision.UpstreamCredentials;
import dev.mcpauthz.ingress.EnvoyCheckContext;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The token vault is asked for the server's upstream scopes ∪ the matching rule's upstream_scopes,
 * so it can ask the user for exactly the escalation this call needs; the Decision carries them.
 */
class PolicyUpstreamScopesTest {
  @TempDir
  Path tmp;

  @Test
  void vaultIsAskedForServerAndRuleUpstreamScopes() throws Exception {
    List<List<String>> asked = new CopyOnWriteArrayList<>();
    UpstreamCredentials vault = (user, server, needed, decisionId) -> {
      asked.add(needed);
      return CompletableFuture.completedFuture(
          needed.contains("repo") ? new UpstreamAccess.ConsentNeeded(dev.mcpauthz.decision.ConsentReason.SCOPE_ESCALATION,
              "gh", needed) : UpstreamAccess.Granted.bearer("upstream-token"));
    };
    ExecutorService io = Executors.newVirtualThreadPerTaskExecutor();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try (TestIssuer issuer = TestIssuer.start()) {
      AuthzConfig config = ConfigLoader.parse(PolicyFixtures.yaml(issuer, PolicyFixtures.copyOfExamples(tmp)), "t.yaml",
          Map.of(), null);
      List<IssuerRuntime> issuers = config.issuers().stream()
          .map(i -> new IssuerRuntime(i, io, scheduler, Clock.systemUTC(), Ticker.systemTicker())).toList();
      issuers.forEach(IssuerRuntime::start);
      PolicyStore store = PolicyStore.open(config.policy().dir(), PolicyEnvironment.of(config));
      AuthorizationEngine engine = new AuthorizationEngine(config, new ServerRouter(config, issuers),
          new TokenVerifier(issuers, Clock.systemUTC(), Ticker.systemTicker()), vault, store);

      String reader = issuer.mint(AuthzHarness.RESOURCE, c -> c.claim("scope", "mcp:tools repo:read"));
      Decision read = engine.decide(new EnvoyCheckContext(Checks.post("/mcp").bearer(reader)
          .toolsCall(1, "get_issue", "{}").build()), "d1").get(10, TimeUnit.SECONDS);
      assertThat(read.outcome()).isEqualTo(Decision.Outcome.ALLOW);
      assertThat(read.upstreamAuthorization()).isEqualTo("Bearer upstream-token");
      assertThat(read.policy().ruleId()).isEqualTo("read-tools");

      String maintainer = issuer.mint(AuthzHarness.RESOURCE, c -> c.claim("scope", "mcp:tools repo:write")
          .claim("org", "acme").claim("groups", List.of("maintainers")));
      Decision push = engine.decide(new EnvoyCheckContext(Checks.post("/mcp").bearer(maintainer)
          .toolsCall(2, "push_files", "{\"branch\":\"fix\"}").build()), "d2").get(10, TimeUnit.SECONDS);
      assertThat(push.outcome()).isEqualTo(Decision.Outcome.ELICIT);
      assertThat(push.consent().scopes()).containsExactly("read:user", "repo");
      assertThat(push.policy().ruleId()).as("the elicit keeps the policy verdict").isEqualTo("push");
      assertThat(push.policy().upstreamScopes()).containsExactly("repo");

      assertThat(asked).containsExactly(List.of("read:user"), List.of("read:user", "repo"));
      store.close();
      issuers.forEach(IssuerRuntime::close);
    } finally {
      io.shutdownNow();
      scheduler.shutdownNow();
    }
  }
}
