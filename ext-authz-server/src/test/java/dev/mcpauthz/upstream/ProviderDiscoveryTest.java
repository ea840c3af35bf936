package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static dev.mcpauthz.upstream.ProviderTestKit.refresh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.testing.FaultyTokenEndpoint;
import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import dev.mcpauthz.testing.Gate;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** RFC 8414 first (path-inserted), then OIDC discovery; exact issuer; cached on success only. */
class ProviderDiscoveryTest {
  private static ProviderClient discovering(ProviderTestKit kit) {
    return kit.client(s -> {
      s.discovery = true;
      s.tokenEndpoint = null;
    });
  }

  @Test
  void rfc8414MetadataAtThePathInsertedUrlComesFirstAndIsCached() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.publishRfc8414(kit.endpoint.issuer()).publishOidc(kit.endpoint.issuer());
      kit.endpoint.enqueue(Reply.tokens("a1", null, 60L, null), Reply.tokens("a2", null, 60L, null));
      ProviderClient client = discovering(kit);
      assertThat(client.authorizationEndpoint()).isEmpty();

      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Refreshed.class);

      assertThat(kit.endpoint.metadataRequests()).containsExactly(FaultyTokenEndpoint.RFC8414_PATH);
      assertThat(kit.endpoint.calls()).isEqualTo(2);
      assertThat(client.authorizationEndpoint()).contains(kit.endpoint.authorizationEndpoint());
      assertThat(await(client.endpoints()).revocationEndpoint()).isEqualTo(kit.endpoint.revocationEndpoint());
    }
  }

  @Test
  void concurrentFirstCallsShareOneDiscovery() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      Gate held = new Gate();
      kit.endpoint.publishRfc8414(kit.endpoint.issuer()).holdMetadata(held);
      kit.endpoint.otherwise(Reply.tokens("at", null, 60L, null));
      ProviderClient client = discovering(kit);
      List<CompletableFuture<RefreshOutcome>> calls = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        calls.add(client.refresh(refresh("rt-" + i)));
      }
      assertThat(held.awaitArrivals(1, Duration.ofSeconds(10))).isTrue();
      assertThat(calls).noneMatch(CompletableFuture::isDone);
      held.open();
      for (CompletableFuture<RefreshOutcome> c : calls) {
        assertThat(await(c)).isInstanceOf(RefreshOutcome.Refreshed.class);
      }
      assertThat(kit.endpoint.metadataRequests()).containsExactly(FaultyTokenEndpoint.RFC8414_PATH);
      assertThat(kit.endpoint.calls()).isEqualTo(20);
    }
  }

  @Test
  void fallsBackToOpenIdConnectDiscovery() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.publishOidc(kit.endpoint.issuer());
      kit.endpoint.enqueue(Reply.tokens("a1", null, 60L, null));
      ProviderClient client = discovering(kit);

      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(kit.endpoint.metadataRequests())
          .containsExactly(FaultyTokenEndpoint.RFC8414_PATH, FaultyTokenEndpoint.OIDC_PATH);
    }
  }

  @Test
  void issuerMismatchIsRefusedWithoutFallbackAndWithoutCallingTheTokenEndpoint() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.publishRfc8414(kit.endpoint.issuer() + "/").publishOidc(kit.endpoint.issuer());
      ProviderClient client = discovering(kit);

      RefreshOutcome outcome = await(client.refresh(refresh("rt")));
      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> {
        assertThat(f.reason()).isEqualTo("discovery");
        assertThat(f.retryAfter()).isPositive();
      });
      assertThat(kit.endpoint.metadataRequests()).containsExactly(FaultyTokenEndpoint.RFC8414_PATH);
      assertThat(kit.endpoint.calls()).isZero();
    }
  }

  @Test
  void oidcIssuerMismatchIsRefusedToo() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.publishOidc("https://evil.example.com" + FaultyTokenEndpoint.ISSUER_PATH);
      RefreshOutcome outcome = await(discovering(kit).refresh(refresh("rt")));
      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> assertThat(f.reason()).isEqualTo("discovery"));
      assertThat(kit.endpoint.calls()).isZero();
    }
  }

  @Test
  void aFailedDiscoveryIsNotCachedAndTheNextCallTriesAgain() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      ProviderClient client = discovering(kit);
      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Failed.class);
      assertThat(client.authorizationEndpoint()).isEmpty();

      kit.endpoint.publishRfc8414(kit.endpoint.issuer());
      kit.endpoint.enqueue(Reply.tokens("a1", null, 60L, null));
      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(kit.endpoint.metadataRequests()).containsExactly(
          FaultyTokenEndpoint.RFC8414_PATH, FaultyTokenEndpoint.OIDC_PATH, FaultyTokenEndpoint.RFC8414_PATH);
      assertThat(kit.counter("failed", "discovery")).isEqualTo(1);
    }
  }

  @Test
  void rfc8414InsertsTheWellKnownSuffixBeforeTheIssuerPath() throws Exception {
    assertThat(ProviderDiscovery.rfc8414Url(URI.create("https://kc.example.com/realms/mcp")))
        .isEqualTo(URI.create("https://kc.example.com/.well-known/oauth-authorization-server/realms/mcp"));
    assertThat(ProviderDiscovery.rfc8414Url(URI.create("https://login.example.com")))
        .isEqualTo(URI.create("https://login.example.com/.well-known/oauth-authorization-server"));
    assertThat(ProviderDiscovery.rfc8414Url(URI.create("https://login.example.com:8443/")))
        .isEqualTo(URI.create("https://login.example.com:8443/.well-known/oauth-authorization-server"));
  }

  @Test
  void configuredEndpointsWinOverDiscoveredOnes() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.publishRfc8414(kit.endpoint.issuer());
      URI authorize = URI.create("https://login.example.com/custom-authorize");
      ProviderClient client = kit.client(s -> {
        s.discovery = true;
        s.authorizationEndpoint = authorize;
      });
      ProviderEndpoints endpoints = await(client.endpoints());
      assertThat(endpoints.authorizationEndpoint()).isEqualTo(authorize);
      assertThat(endpoints.tokenEndpoint()).isEqualTo(kit.endpoint.tokenEndpoint());
      assertThat(endpoints.revocationEndpoint()).isEqualTo(kit.endpoint.revocationEndpoint());
    }
  }
}
