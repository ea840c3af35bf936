package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.testing.Conditions;
import dev.mcpauthz.testing.FaultyTokenEndpoint;
import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import dev.mcpauthz.testing.Gate;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The registry from a real configuration: one client per provider, dispatch by id, Prometheus names. */
class ProviderRegistryTest {
  private static String yaml(FaultyTokenEndpoint a, FaultyTokenEndpoint b) {
    return """
        issuers:
          - id: idp
            issuer: https://idp.example.com
            jwks_uri: https://idp.example.com/jwks
        providers:
          - id: github
            profile: github
            token_endpoint: %s
            client_id: gh-client
            client_secret: gh-secret
          - id: keycloak
            profile: keycloak
            issuer: %s
            discovery: true
            client_id: kc-client
            client_auth: client_secret_post
            client_secret: kc-secret
        servers:
          - id: gh
            resource: https://mcp.example.com/gh
            upstream: {provider: github, resource: https://api.github.com/}
        vault:
          keys: [{id: k1, secret: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=}]
        """.formatted(a.tokenEndpoint(), b.issuer());
  }

  @Test
  void dispatchesByProviderIdAndExportsMetrics() throws Exception {
    try (FaultyTokenEndpoint github = FaultyTokenEndpoint.start(); FaultyTokenEndpoint keycloak = FaultyTokenEndpoint.start()) {
      keycloak.publishRfc8414(keycloak.issuer());
      github.enqueue(Reply.tokens("gh-at", "gh-rt", 28800L, ""));
      keycloak.enqueue(Reply.error(400, "invalid_grant", "Session not active"));
      AuthzConfig config = ConfigLoader.parse(yaml(github, keycloak), "test.yaml", Map.of(), null);
      PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      try (ProviderRegistry registry = ProviderRegistry.start(config, meters, Clock.systemUTC())) {
        assertThat(registry.clients()).containsOnlyKeys("github", "keycloak");
        TokenRefresher refresher = registry.refresher();

        assertThat(await(refresher.refresh(new RefreshRequest("github", "rt", null, List.of(), "d1"))))
            .isInstanceOf(RefreshOutcome.Refreshed.class);
        assertThat(await(refresher.refresh(new RefreshRequest("keycloak", "rt", null, List.of(), "d2"))))
            .isEqualTo(new RefreshOutcome.Revoked("invalid_grant", "session_not_active"));
        assertThat(await(refresher.refresh(new RefreshRequest("nope", "rt", null, List.of(), "d3"))))
            .isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> assertThat(f.reason()).isEqualTo("client_misconfigured"));
        assertThat(github.lastRequest().header("Authorization")).startsWith("Basic ");
        assertThat(keycloak.lastRequest().param("client_secret")).isEqualTo("kc-secret");
        assertThat(registry.client("keycloak").authorizationEndpoint()).contains(keycloak.authorizationEndpoint());

        String scrape = meters.scrape();
        assertThat(scrape)
            .contains("mcp_authz_provider_token_requests_total{grant=\"refresh_token\",outcome=\"success\",provider=\"github\",reason=\"ok\"} 1.0")
            .contains("mcp_authz_provider_token_requests_total{grant=\"refresh_token\",outcome=\"revoked\",provider=\"keycloak\",reason=\"invalid_grant\"} 1.0")
            .contains("mcp_authz_provider_token_request_duration_seconds_count{provider=\"github\"} 1")
            .contains("mcp_authz_provider_circuit_state{provider=\"keycloak\"} 0.0");
      }
    }
  }

  @Test
  void closingReleasesCallersWaitingForARetry() throws Exception {
    try (FaultyTokenEndpoint github = FaultyTokenEndpoint.start(); FaultyTokenEndpoint keycloak = FaultyTokenEndpoint.start()) {
      Gate answered = new Gate();
      github.enqueue(Reply.retryAfter(503, "15").heldBy(answered)); // the retry would wait 15 s
      AuthzConfig config = ConfigLoader.parse(yaml(github, keycloak), "test.yaml", Map.of(), null);
      SimpleMeterRegistry meters = new SimpleMeterRegistry();
      ProviderRegistry registry = ProviderRegistry.start(config, meters, Clock.systemUTC());
      CompletableFuture<RefreshOutcome> pending = registry.refresher().refresh(new RefreshRequest("github", "rt", null, List.of(), "d"));
      assertThat(answered.awaitArrivals(1, Duration.ofSeconds(10))).isTrue();
      answered.open();
      // the retry is counted just before its 15 s wait is scheduled
      Conditions.waitUntil(() -> meters.find("mcp.authz.provider.token.requests").tag("outcome", "retry").counter() != null);
      registry.close();
      assertThat(pending.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(RefreshOutcome.Failed.class,
          f -> assertThat(f.reason()).isEqualTo("shutdown"));
      assertThat(github.calls()).isEqualTo(1);
    }
  }

}
