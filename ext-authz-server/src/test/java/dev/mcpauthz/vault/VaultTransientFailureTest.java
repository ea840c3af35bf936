package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.TokenGrant;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Issue 3 items 5 and 6: transient failures never produce a consent decision; revocation always does. */
class VaultTransientFailureTest {
  private final MutableClock clock = new MutableClock(T0);
  private final KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
  private VaultTestCluster cluster;
  private VaultService vault;
  private final CredentialKey alice = key("alice");
  private TokenGrant first;

  @BeforeEach
  void start() {
    cluster = VaultTestCluster.start(1, VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20)),
        VaultTestCluster.ring(), idp, clock);
    vault = cluster.vault(0);
    first = idp.consent(List.of("repo:read"), Duration.ofMinutes(20));
    await(vault.store(alice, UPSTREAM, List.of("repo:read"), first, decisionId()));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  private VaultLookup lookup() {
    return await(vault.credentialFor(alice, UPSTREAM, List.of(), decisionId()));
  }

  @Test
  void validTokenKeepsBeingServedWhileRefreshFailsTransiently() {
    clock.advance(Duration.ofMinutes(18).plusSeconds(30)); // inside the refresh-ahead window
    idp.answerNext(req -> new RefreshOutcome.Failed("http_5xx", Duration.ofSeconds(30), 4));
    assertThat(lookup()).isEqualTo(VaultLookup.Granted.bearer(first.accessToken(), first.expiresAt(), 1));
    // The failed refresh gave its lease back.
    await(awaitRecord(cluster.member(0), alice, r -> r.lease() == null && idp.calls() == 1));
    for (int i = 0; i < 10; i++) {
      assertThat(lookup()).isEqualTo(VaultLookup.Granted.bearer(first.accessToken(), first.expiresAt(), 1));
    }
    // Backoff: no hammering of a failing provider within its Retry-After.
    assertThat(idp.calls()).isEqualTo(1);
    clock.advance(Duration.ofSeconds(31));
    lookup();
    await(awaitRecord(cluster.member(0), alice, r -> r.version() == 2));
    assertThat(lookup()).isEqualTo(VaultLookup.Granted.bearer(idp.lastAccessToken(),
        clock.instant().plus(Duration.ofMinutes(20)), 2));
    assertThat(cluster.attempts("failed")).isEqualTo(1);
    assertThat(cluster.attempts("retry")).isEqualTo(3);
    assertThat(cluster.attempts("success")).isEqualTo(1);
    assertThat(cluster.meters.get(0).find("mcp.authz.vault.lookups").counters())
        .noneMatch(c -> c.getId().getTag("result").startsWith("consent"));
  }

  @Test
  void expiredTokenWithTransientFailureAnswers503WithRetryAfterNeverConsent() {
    clock.advance(Duration.ofMinutes(21));
    idp.answerNext(req -> new RefreshOutcome.Failed("http_429", Duration.ofSeconds(17), 2));
    assertThat(lookup()).isEqualTo(new VaultLookup.Unavailable(17, "http_429"));
    // Within the Retry-After, the answer stays 503 and the provider is not called again.
    clock.advance(Duration.ofSeconds(5));
    assertThat(lookup()).isEqualTo(new VaultLookup.Unavailable(12, "http_429"));
    assertThat(idp.calls()).isEqualTo(1);
    // Circuit open, refresher crash: still transient.
    clock.advance(Duration.ofSeconds(13));
    idp.answerNext(req -> new RefreshOutcome.Failed("circuit_open", Duration.ofSeconds(30), 0));
    assertThat(lookup()).isEqualTo(new VaultLookup.Unavailable(30, "circuit_open"));
    clock.advance(Duration.ofSeconds(31));
    idp.answerNext(req -> {
      throw new IllegalStateException("refresher bug");
    });
    assertThat(lookup()).isInstanceOf(VaultLookup.Unavailable.class);
    assertThat(stored(cluster.member(0), alice).status()).isEqualTo(CredentialStatus.ACTIVE);
    // And once the provider answers again, the credential recovers without any consent.
    clock.advance(Duration.ofSeconds(2));
    assertThat(lookup()).isEqualTo(VaultLookup.Granted.bearer(idp.lastAccessToken(),
        clock.instant().plus(Duration.ofMinutes(20)), 2));
    assertThat(cluster.attempts("revoked")).isZero();
  }

  @Test
  void refreshSlowerThanTheWaitTimeoutAnswers503AndTheTokenArrivesLater() {
    var meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    VaultService impatient = new VaultService(cluster.member(0),
        VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofMillis(300)), VaultTestCluster.ring(), idp,
        meters, clock);
    try {
      clock.advance(Duration.ofMinutes(21));
      KeycloakLikeRefresher.Gate gate = idp.holdNext();
      assertThat(await(impatient.credentialFor(alice, UPSTREAM, List.of(), decisionId())))
          .isEqualTo(new VaultLookup.Unavailable(10, "refresh_timeout"));
      VaultLookupTest.awaitLatch(gate);
      gate.release();
      await(awaitRecord(cluster.member(0), alice, r -> r.version() == 2));
      assertThat(await(impatient.credentialFor(alice, UPSTREAM, List.of(), decisionId())))
          .isEqualTo(VaultLookup.Granted.bearer(idp.lastAccessToken(), clock.instant().plus(Duration.ofMinutes(20)), 2));
      assertThat(idp.calls()).isEqualTo(1);
      assertThat(meters.find("mcp.authz.vault.lookups").tag("result", "unavailable").counter().count()).isEqualTo(1);
      assertThat(meters.find("mcp.authz.vault.lookups").tag("result", "granted").counter().count()).isEqualTo(1);
    } finally {
      impatient.close();
    }
  }

  @Test
  void revokedRefreshTokenAsksForConsentAndStaysRevoked() {
    clock.advance(Duration.ofMinutes(21));
    idp.answerNext(req -> new RefreshOutcome.Revoked("invalid_grant", null));
    assertThat(lookup()).isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.REVOKED, PROVIDER, List.of("repo:read")));
    VaultRecord r = stored(cluster.member(0), alice);
    assertThat(r.status()).isEqualTo(CredentialStatus.REVOKED);
    assertThat(r.sealed()).isNull();
    assertThat(lookup()).isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.REVOKED, PROVIDER, List.of("repo:read")));
    assertThat(idp.calls()).isEqualTo(1);
    assertThat(cluster.attempts("revoked")).isEqualTo(1);
  }

  @Test
  void revokedInsideTheRefreshWindowAlsoAsksForConsent() {
    clock.advance(Duration.ofMinutes(18).plusSeconds(30));
    idp.answerNext(req -> new RefreshOutcome.Revoked("invalid_grant", null));
    lookup(); // still valid: served, background refresh learns of the revocation
    await(awaitRecord(cluster.member(0), alice, r -> r.status() == CredentialStatus.REVOKED));
    assertThat(lookup()).isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.REVOKED, PROVIDER, List.of("repo:read")));
  }

  @Test
  void revokedAfterARotationElsewhereIsResolvedByReReadingTheVault() {
    clock.advance(Duration.ofMinutes(21));
    KeycloakLikeRefresher.Gate gate = idp.holdNext();
    idp.answerNext(req -> new RefreshOutcome.Revoked("invalid_grant", null));
    CompletableFuture<VaultLookup> waiting = vault.credentialFor(alice, UPSTREAM, List.of(), decisionId());
    VaultLookupTest.awaitLatch(gate);
    // Meanwhile the credential moved on (another replica's rotation, or a new consent).
    TokenGrant newer = idp.consent(List.of("repo:read"), Duration.ofMinutes(20));
    await(vault.store(alice, UPSTREAM, List.of("repo:read"), newer, decisionId()));
    gate.release();
    assertThat(await(waiting)).isEqualTo(VaultLookup.Granted.bearer(newer.accessToken(), newer.expiresAt(), 2));
    assertThat(stored(cluster.member(0), alice).status()).isEqualTo(CredentialStatus.ACTIVE);
    assertThat(cluster.counter(0, "mcp.authz.vault.refresh.rotation_resolved")).isEqualTo(1);
    assertThat(cluster.attempts("revoked")).isZero();
  }
}
