package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.decision.McpServerRoute;
import dev.mcpauthz.decision.ServerRouter;
import dev.mcpauthz.decision.UpstreamAccess;
import dev.mcpauthz.upstream.RefreshRequest;
import dev.mcpauthz.upstream.TokenGrant;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Check-path rules of the vault on one member: consent reasons, RFC 8707, near cache, refresh-ahead, waiting. */
class VaultLookupTest {
  private final MutableClock clock = new MutableClock(T0);
  private final KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
  private VaultTestCluster cluster;
  private VaultService vault;

  @BeforeEach
  void start() {
    cluster = VaultTestCluster.start(1, VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20)),
        VaultTestCluster.ring(), idp, clock);
    vault = cluster.vault(0);
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  private TokenGrant consent(CredentialKey key, List<String> scopes, Duration validFor) {
    TokenGrant g = idp.consent(scopes, validFor);
    await(vault.store(key, UPSTREAM, scopes, g, decisionId()));
    return g;
  }

  private VaultLookup lookup(CredentialKey key, List<String> needed) {
    return await(vault.credentialFor(key, UPSTREAM, needed, decisionId()));
  }

  @Test
  void noCredentialAsksForFirstConsentWithTheNeededScopes() {
    assertThat(lookup(key("alice"), List.of("repo:write")))
        .isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.FIRST_CONSENT, PROVIDER, List.of("repo:read", "repo:write")));
    assertThat(idp.calls()).isZero();
  }

  @Test
  void missingScopeAsksForEscalationWithGrantedUnionNeeded() {
    consent(key("alice"), List.of("repo:read", "issues:read"), Duration.ofMinutes(20));
    assertThat(lookup(key("alice"), List.of("repo:write")))
        .isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.SCOPE_ESCALATION, PROVIDER,
            List.of("repo:read", "issues:read", "repo:write")));
    assertThat(lookup(key("alice"), List.of("issues:read"))).isInstanceOf(VaultLookup.Granted.class);
  }

  @Test
  void credentialIssuedForAnotherResourceIsNeverInjected() {
    CredentialKey alice = key("alice");
    consent(alice, List.of("repo:read"), Duration.ofMinutes(20));
    // RFC 8707: the server's upstream now names another resource; the stored token is not for it.
    AuthzConfig.Upstream moved = new AuthzConfig.Upstream(PROVIDER, URI.create("https://other.example.test/mcp"),
        List.of("repo:read"));
    assertThat(await(vault.credentialFor(alice, moved, List.of(), decisionId())))
        .isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.FIRST_CONSENT, PROVIDER, List.of("repo:read")));
    // Same resource in another spelling (case of host, default port) is the same resource.
    AuthzConfig.Upstream same = new AuthzConfig.Upstream(PROVIDER, URI.create("https://API.example.test:443/mcp"),
        List.of("repo:read"));
    assertThat(await(vault.credentialFor(alice, same, List.of(), decisionId()))).isInstanceOf(VaultLookup.Granted.class);
  }

  @Test
  void validCredentialIsAnsweredFromTheNearCacheWithoutWaiting() {
    TokenGrant g = consent(key("alice"), List.of("repo:read"), Duration.ofMinutes(20));
    assertThat(lookup(key("alice"), List.of())).isEqualTo(
        VaultLookup.Granted.bearer(g.accessToken(), g.expiresAt(), 1));
    // The store's near-cache invalidation travels asynchronously and may evict the first cached
    // copy; once it has, the entry stays cached and every lookup is answered on the caller's thread.
    var near = ((com.hazelcast.map.impl.proxy.NearCachedMapProxyImpl<?, ?>) map(cluster.member(0))).getNearCache();
    int consecutiveHits = 0;
    for (int i = 0; i < 2000 && (consecutiveHits < 50 || !(near.get(key("alice")) instanceof VaultRecord)); i++) {
      CompletableFuture<VaultLookup> f = vault.credentialFor(key("alice"), UPSTREAM, List.of(), decisionId());
      consecutiveHits = f.isDone() ? consecutiveHits + 1 : 0;
      assertThat(((VaultLookup.Granted) await(f)).accessToken()).isEqualTo(g.accessToken());
    }
    assertThat(consecutiveHits).isGreaterThanOrEqualTo(50);
    // Cached in the near cache, which VaultService reads directly (IMap.getAsync is slow on hits).
    assertThat(near.get(key("alice"))).isInstanceOf(VaultRecord.class);
    assertThat(idp.calls()).isZero();
  }

  @Test
  void insideTheRefreshAheadWindowTheCurrentTokenIsServedAndRefreshedOnceInTheBackground() {
    CredentialKey alice = key("alice");
    TokenGrant g = consent(alice, List.of("repo:read"), Duration.ofMinutes(20));
    lookup(alice, List.of()); // warm the near cache
    // Window = max(60 s, 10% of 20 min) = 2 min before expiry.
    clock.advance(Duration.ofMinutes(18).plusSeconds(30));
    KeycloakLikeRefresher.Gate gate = idp.holdNext();
    List<CompletableFuture<VaultLookup>> calls = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      calls.add(vault.credentialFor(alice, UPSTREAM, List.of(), decisionId()));
    }
    await(CompletableFuture.runAsync(() -> awaitLatch(gate)));
    // Nobody waits for the refresh while the token is valid: all answered while it is still held.
    for (CompletableFuture<VaultLookup> c : calls) {
      assertThat(((VaultLookup.Granted) await(c)).accessToken()).isEqualTo(g.accessToken());
    }
    assertThat(idp.calls()).isEqualTo(1);
    gate.release();
    await(awaitRecord(cluster.member(0), alice, r -> r.version() == 2));
    assertThat(((VaultLookup.Granted) lookup(alice, List.of())).accessToken()).isEqualTo(idp.lastAccessToken());
    assertThat(idp.calls()).isEqualTo(1);
    assertThat(cluster.counter(0, "mcp.authz.vault.singleflight.deduplicated")).isGreaterThanOrEqualTo(1);
    assertThat(cluster.meters.get(0).find("mcp.authz.vault.refresh.time_to_expiry").summary().max()).isEqualTo(90.0);
    // RFC 8707: the refresh carried the server's resource; empty scopes = as originally granted.
    RefreshRequest sent = idp.requests.peek();
    assertThat(sent.resource()).isEqualTo(URI.create("https://api.example.test/mcp"));
    assertThat(sent.providerId()).isEqualTo(PROVIDER);
    assertThat(sent.scopes()).isEmpty();
    assertThat(sent.refreshToken()).isEqualTo(g.refreshToken());
  }

  @Test
  void expiredCredentialWaitsForTheOneRefreshInFlight() {
    CredentialKey alice = key("alice");
    consent(alice, List.of("repo:read"), Duration.ofMinutes(20));
    clock.advance(Duration.ofMinutes(21));
    KeycloakLikeRefresher.Gate gate = idp.holdNext();
    List<CompletableFuture<VaultLookup>> calls = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      calls.add(vault.credentialFor(alice, UPSTREAM, List.of(), decisionId()));
    }
    awaitLatch(gate);
    assertThat(calls).noneMatch(CompletableFuture::isDone);
    gate.release();
    for (CompletableFuture<VaultLookup> c : calls) {
      assertThat(((VaultLookup.Granted) await(c)).accessToken()).isEqualTo(idp.lastAccessToken());
    }
    assertThat(idp.calls()).isEqualTo(1);
    assertThat(cluster.attempts("success")).isEqualTo(1);
    assertThat(cluster.meters.get(0).find("mcp.authz.vault.lookups").tag("result", "granted").counter().count())
        .isEqualTo(20);
    assertThat(cluster.meters.get(0).find("mcp.authz.vault.lookups").tag("result", "unavailable").counter()).isNull();
  }

  @Test
  void grantWithoutExpiresInGetsTheDefaultLifetimeOrNeverExpiresWithoutRefreshToken() {
    CredentialKey alice = key("alice");
    await(vault.store(alice, UPSTREAM, List.of("repo:read"), new TokenGrant("at-x", "rt-x", null, null), decisionId()));
    assertThat(stored(cluster.member(0), alice).expiresAt()).isEqualTo(T0.plus(Duration.ofHours(1)).toEpochMilli());
    assertThat(stored(cluster.member(0), alice).scopes()).containsExactly("repo:read");

    CredentialKey bob = key("bob");
    await(vault.store(bob, UPSTREAM, List.of("repo:read"), new TokenGrant("at-y", null, null, null), decisionId()));
    clock.advance(Duration.ofDays(30));
    assertThat(lookup(bob, List.of())).isEqualTo(VaultLookup.Granted.bearer("at-y", Instant.MAX, 1));
    assertThat(idp.calls()).isZero();
  }

  @Test
  void expiredCredentialWithoutRefreshTokenNeedsConsentAgain() {
    CredentialKey alice = key("alice");
    await(vault.store(alice, UPSTREAM, List.of("repo:read"),
        new TokenGrant("at-x", null, T0.plusSeconds(600), List.of("repo:read")), decisionId()));
    clock.advance(Duration.ofMinutes(11));
    assertThat(lookup(alice, List.of()))
        .isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.REVOKED, PROVIDER, List.of("repo:read")));
    assertThat(idp.calls()).isZero();
  }

  @Test
  void revokeAsksForConsentOnTheNextCall() {
    CredentialKey alice = key("alice");
    consent(alice, List.of("repo:read"), Duration.ofMinutes(20));
    assertThat(await(vault.revoke(alice, decisionId()))).isTrue();
    assertThat(lookup(alice, List.of()))
        .isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.REVOKED, PROVIDER, List.of("repo:read")));
    assertThat(stored(cluster.member(0), alice).sealed()).isNull();
  }

  @Test
  void upstreamCredentialsSeamUsesTheVerifiedUserAndTheRoutedServer() {
    AuthzConfig.Server github = new AuthzConfig.Server("github", URI.create("https://mcp.example.test/github"), null,
        null, null, null, null, null, null, UPSTREAM);
    AuthzConfig.Server plain = new AuthzConfig.Server("plain", URI.create("https://mcp.example.test/plain"), null,
        null, null, null, null, null, null, null);
    AuthzConfig config = new AuthzConfig(null, null, null, null, null, null, null, null, null, null,
        List.of(github, plain));
    ServerRouter router = new ServerRouter(config, List.of());
    McpServerRoute route = router.byId("github");
    Principal alice = new Principal("alice", ISSUER, "corp", "vscode", Set.of("mcp"), List.of(), T0.plusSeconds(300),
        Principal.TokenKind.JWT);
    TokenGrant g = consent(key("alice"), List.of("repo:read"), Duration.ofMinutes(20));
    VaultUpstreamCredentials seam = new VaultUpstreamCredentials(vault);

    assertThat(await(seam.access(alice, route, List.of("repo:read"), decisionId())))
        .isEqualTo(UpstreamAccess.Granted.bearer(g.accessToken()));
    assertThat(await(seam.access(alice, route, List.of("admin"), decisionId())))
        .isEqualTo(new UpstreamAccess.ConsentNeeded(ConsentReason.SCOPE_ESCALATION, PROVIDER, List.of("repo:read", "admin")));
    Principal otherIssuer = new Principal("alice", "https://evil.example.test", "evil", "vscode", Set.of(), List.of(),
        T0.plusSeconds(300), Principal.TokenKind.JWT);
    assertThat(await(seam.access(otherIssuer, route, List.of(), decisionId())))
        .isInstanceOf(UpstreamAccess.ConsentNeeded.class);
    assertThat(seam.access(alice, router.byId("plain"), List.of(), decisionId())).isCompletedExceptionally();
    assertThat(UpstreamAccess.Granted.bearer(g.accessToken()).toString()).doesNotContain(g.accessToken());
  }

  static void awaitLatch(KeycloakLikeRefresher.Gate gate) {
    try {
      if (!gate.arrived.await(30, java.util.concurrent.TimeUnit.SECONDS)) {
        throw new AssertionError("the refresh never reached the token endpoint");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
