package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.await;
import static dev.mcpauthz.vault.VaultFixtures.decisionId;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.mcpauthz.authn.IssuerRuntime;
import dev.mcpauthz.authn.TokenVerifier;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.decision.AuthorizationEngine;
import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.decision.ServerRouter;
import dev.mcpauthz.ingress.EnvoyCheckContext;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.TokenGrant;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;

/** The vault behind the real decision engine: inject, elicit (first consent, revoked), 503 — never consent on outage. */
class VaultCheckPathTest {
  @Test
  void engineInjectsElicitsAndAnswers503FromTheVault() throws Exception {
    MutableClock clock = new MutableClock(Instant.now());
    KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
    ExecutorService io = Executors.newVirtualThreadPerTaskExecutor();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    try (TestIssuer issuer = TestIssuer.start()) {
      String yaml = AuthzHarness.defaultYaml(issuer).replace("""
                required_scopes: [mcp:tools]
            """, """
                required_scopes: [mcp:tools]
                upstream: {provider: gh, resource: https://api.example.test/mcp, scopes: [repo]}
            """) + """
          providers:
            - {id: gh, token_endpoint: https://gh.example.test/token, client_id: c, client_secret: s}
          vault:
            keys: [{id: k1, secret: %s}]
          """.formatted(VaultTestCluster.KEY_1);
      AuthzConfig config = ConfigLoader.parse(yaml, "t.yaml", Map.of(), null);
      List<IssuerRuntime> issuers = config.issuers().stream()
          .map(i -> new IssuerRuntime(i, io, scheduler, Clock.systemUTC(), Ticker.systemTicker())).toList();
      issuers.forEach(IssuerRuntime::start);
      try (VaultTestCluster cluster = VaultTestCluster.start(1, config.vault(), KeyRing.fromConfig(config.vault(), null),
          idp, clock)) {
        AuthorizationEngine engine = new AuthorizationEngine(config, new ServerRouter(config, issuers),
            new TokenVerifier(issuers, Clock.systemUTC(), Ticker.systemTicker()),
            new VaultUpstreamCredentials(cluster.vault(0)));
        String jwt = issuer.mint(AuthzHarness.RESOURCE, c -> c.claim("scope", "mcp:tools"));

        Decision first = decide(engine, jwt);
        assertThat(first.outcome()).isEqualTo(Decision.Outcome.ELICIT);
        assertThat(first.consent().reason()).isEqualTo(ConsentReason.FIRST_CONSENT);
        assertThat(first.consent().scopes()).containsExactly("repo");

        CredentialKey key = new CredentialKey(issuer.issuer(), "alice", "github");
        AuthzConfig.Upstream upstream = config.servers().getFirst().upstream();
        TokenGrant g = idp.consent(List.of("repo"), Duration.ofMinutes(5));
        await(cluster.vault(0).store(key, upstream, List.of("repo"), g, decisionId()));
        Decision allowed = decide(engine, jwt);
        assertThat(allowed.outcome()).isEqualTo(Decision.Outcome.ALLOW);
        assertThat(allowed.upstreamAuthorization()).isEqualTo("Bearer " + g.accessToken());
        assertThat(allowed.toString()).doesNotContain(g.accessToken());

        clock.advance(Duration.ofMinutes(6));
        idp.answerNext(req -> new RefreshOutcome.Failed("http_5xx", Duration.ofSeconds(9), 4));
        Decision outage = decide(engine, jwt);
        assertThat(outage.httpStatus()).isEqualTo(503);
        assertThat(outage.retryAfterSeconds()).isEqualTo(9);
        assertThat(outage.consent()).isNull();

        clock.advance(Duration.ofSeconds(10));
        Decision refreshed = decide(engine, jwt);
        assertThat(refreshed.upstreamAuthorization()).isEqualTo("Bearer " + idp.lastAccessToken());
        assertThat(idp.requests).allSatisfy(r -> assertThat(r.resource()).hasToString("https://api.example.test/mcp"));

        clock.advance(Duration.ofMinutes(21));
        idp.answerNext(req -> new RefreshOutcome.Revoked("invalid_grant", null));
        Decision revoked = decide(engine, jwt);
        assertThat(revoked.outcome()).isEqualTo(Decision.Outcome.ELICIT);
        assertThat(revoked.consent().reason()).isEqualTo(ConsentReason.REVOKED);
      } finally {
        issuers.forEach(IssuerRuntime::close);
      }
    } finally {
      io.shutdownNow();
      scheduler.shutdownNow();
    }
  }

  private static Decision decide(AuthorizationEngine engine, String jwt) throws Exception {
    return engine.decide(new EnvoyCheckContext(Checks.post("/mcp").bearer(jwt).toolsCall(1, "search", "{}").build()),
        decisionId()).get(30, java.util.concurrent.TimeUnit.SECONDS);
  }
}
