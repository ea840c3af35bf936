package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.map.IMap;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.TokenGrant;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Issue 3 item 4: lease takeover when the holder dies, and fencing of stale refreshers by version. */
class VaultLeaseTakeoverTest {
  private final MutableClock clock = new MutableClock(T0);
  private final KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
  private VaultTestCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void leaseHolderKilledMidRefreshIsTakenOverWithoutFalseRevocation() {
    cluster = VaultTestCluster.start(3, VaultTestCluster.vaultConfig(Duration.ofSeconds(1), Duration.ofSeconds(25)),
        VaultTestCluster.ring(), idp, clock);
    CredentialKey alice = key("alice");
    TokenGrant g = idp.consent(List.of("repo:read"), Duration.ofMinutes(5));
    await(cluster.vault(0).store(alice, UPSTREAM, List.of("repo:read"), g, decisionId()));
    clock.advance(Duration.ofMinutes(6));

    // Member 1 takes the lease; its token request never gets an answer (the process dies with it).
    KeycloakLikeRefresher.Gate never = idp.holdNext();
    CompletableFuture<VaultLookup> onHolder = cluster.vault(1).credentialFor(alice, UPSTREAM, List.of(), decisionId());
    VaultLookupTest.awaitLatch(never);
    CompletableFuture<VaultLookup> waiting = cluster.vault(2).credentialFor(alice, UPSTREAM, List.of(), decisionId());
    assertThat(waiting).isNotDone();
    String holderUuid = cluster.member(1).getCluster().getLocalMember().getUuid().toString();
    assertThat(stored(cluster.member(2), alice).lease().holder()).isEqualTo(holderUuid);

    cluster.terminate(1);

    VaultLookup result = await(waiting);
    assertThat(result).isEqualTo(VaultLookup.Granted.bearer(idp.lastAccessToken(),
        clock.instant().plus(Duration.ofMinutes(20)), 2));
    assertThat(idp.calls()).isEqualTo(2); // at most one extra call: the dead holder's
    assertThat(idp.reuseDetected()).isZero();
    assertThat(idp.sessionKilled()).isFalse();
    assertThat(cluster.counter(0, "mcp.authz.vault.lease.takeovers") + cluster.counter(2, "mcp.authz.vault.lease.takeovers"))
        .isEqualTo(1);
    assertThat(cluster.attempts("revoked")).isZero();
    VaultRecord r = stored(cluster.member(2), alice);
    assertThat(r.status()).isEqualTo(CredentialStatus.ACTIVE);
    assertThat(r.lease()).isNull();
    assertThat(onHolder).isNotCompletedExceptionally();
  }

  @Test
  void staleRefresherCannotOverwriteANewerRecord() {
    cluster = VaultTestCluster.start(2, VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20)),
        VaultTestCluster.ring(), idp, clock);
    CredentialKey alice = key("alice");
    await(cluster.vault(0).store(alice, UPSTREAM, List.of("repo:read"),
        idp.consent(List.of("repo:read"), Duration.ofMinutes(5)), decisionId()));
    clock.advance(Duration.ofMinutes(6));
    KeycloakLikeRefresher.Gate gate = idp.holdNext();
    TokenGrant stale = new TokenGrant("AT-stale-refresh", "RT-stale-refresh", clock.instant().plusSeconds(600), null);
    idp.answerNext(req -> new RefreshOutcome.Refreshed(stale, 1));
    CompletableFuture<VaultLookup> refreshing = cluster.vault(0).credentialFor(alice, UPSTREAM, List.of(), decisionId());
    VaultLookupTest.awaitLatch(gate);
    // While the refresh runs, the user consents again on the other member: version 2.
    TokenGrant newer = idp.consent(List.of("repo:read"), Duration.ofMinutes(20));
    await(cluster.vault(1).store(alice, UPSTREAM, List.of("repo:read"), newer, decisionId()));
    gate.release();

    assertThat(await(refreshing)).isEqualTo(VaultLookup.Granted.bearer(newer.accessToken(), newer.expiresAt(), 2));
    VaultRecord r = stored(cluster.member(1), alice);
    assertThat(r.version()).isEqualTo(2);
    CredentialSealer sealer = new CredentialSealer(VaultTestCluster.ring());
    assertThat(sealer.open(alice, r.sealed()).accessToken()).isEqualTo(newer.accessToken());
    assertThat(cluster.counter(0, "mcp.authz.vault.refresh.fenced")).isEqualTo(1);
  }

  @Test
  void entryProcessorsFenceByVersionAndHonourLiveLeases() {
    cluster = VaultTestCluster.start(1, VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20)),
        VaultTestCluster.ring(), idp, clock);
    IMap<CredentialKey, VaultRecord> map = map(cluster.member(0));
    CredentialKey alice = key("alice");
    CredentialSealer sealer = new CredentialSealer(VaultTestCluster.ring());
    CredentialFields v1 = fields(sealer, alice, "at-1");
    assertThat(map.executeOnKey(alice, new PutCredential(v1)).record().version()).isEqualTo(1);

    // Lease: A holds a live lease; B is refused; A's zero-length lease lapses and B takes over.
    assertThat(map.executeOnKey(alice, new AcquireLease(1, "A", "lease-a", 60_000)).applied()).isTrue();
    assertThat(map.executeOnKey(alice, new AcquireLease(1, "B", "lease-b", 60_000)).applied()).isFalse();
    assertThat(map.executeOnKey(alice, new RenewLease("lease-b", 60_000)).applied()).isFalse();
    assertThat(map.executeOnKey(alice, new RenewLease("lease-a", 0)).applied()).isTrue();
    EntryVerdict takeover = map.executeOnKey(alice, new AcquireLease(1, "B", "lease-b", 60_000));
    assertThat(takeover.applied()).isTrue();
    assertThat(takeover.takeover()).isTrue();
    assertThat(map.executeOnKey(alice, new RenewLease("lease-a", 60_000)).applied()).isFalse();

    // Fencing: B writes version 2; A, still believing in version 1, cannot overwrite it.
    EntryVerdict b = map.executeOnKey(alice, new CompleteRefresh(1, fields(sealer, alice, "at-from-b")));
    assertThat(b.applied()).isTrue();
    EntryVerdict a = map.executeOnKey(alice, new CompleteRefresh(1, fields(sealer, alice, "at-from-a")));
    assertThat(a.applied()).isFalse();
    assertThat(a.record().version()).isEqualTo(2);
    assertThat(sealer.open(alice, stored(cluster.member(0), alice).sealed()).accessToken()).isEqualTo("at-from-b");
    assertThat(stored(cluster.member(0), alice).lease()).isNull();
    // A stale "revoked" does not revoke, and a lease for an old version is not granted.
    assertThat(map.executeOnKey(alice, new MarkRevoked(1)).applied()).isFalse();
    assertThat(map.executeOnKey(alice, new AcquireLease(1, "A", "lease-a2", 60_000)).applied()).isFalse();
    assertThat(stored(cluster.member(0), alice).status()).isEqualTo(CredentialStatus.ACTIVE);
    assertThat(map.executeOnKey(alice, new MarkRevoked(2)).applied()).isTrue();
  }

  private CredentialFields fields(CredentialSealer sealer, CredentialKey key, String accessToken) {
    return CredentialFields.of(PROVIDER, RESOURCE.toString(), List.of("repo:read"), clock.millis(),
        clock.millis() + 600_000, true, sealer.seal(key, new Secrets(accessToken, "rt-" + accessToken)));
  }
}
