package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.upstream.TokenGrant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Issue 3 item 4: exactly one token-endpoint call per refresh cycle across members and callers. */
class VaultSingleFlightTest {
  private final MutableClock clock = new MutableClock(T0);
  private final KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
  private VaultTestCluster cluster;

  @AfterEach
  void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private void consent(CredentialKey key) {
    TokenGrant g = idp.consent(List.of("repo:read"), Duration.ofMinutes(5));
    await(cluster.vault(0).store(key, UPSTREAM, List.of("repo:read"), g, decisionId()));
  }

  @Test
  void thousandConcurrentLookupsOnThreeMembersShareOneRefresh() throws Exception {
    cluster = VaultTestCluster.start(3, VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(30)),
        VaultTestCluster.ring(), idp, clock);
    CredentialKey alice = key("alice");
    consent(alice);
    for (int m = 0; m < 3; m++) {
      await(cluster.vault(m).credentialFor(alice, UPSTREAM, List.of(), decisionId())); // warm near caches
    }
    clock.advance(Duration.ofMinutes(5).plusSeconds(1)); // expired: every caller must wait for the refresh
    KeycloakLikeRefresher.Gate gate = idp.holdNext();

    int callers = 1_000;
    List<CompletableFuture<VaultLookup>> results = new ArrayList<>(callers);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService threads = Executors.newFixedThreadPool(8);
    try {
      List<CompletableFuture<List<CompletableFuture<VaultLookup>>>> batches = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        batches.add(CompletableFuture.supplyAsync(() -> {
          awaitQuietly(go);
          List<CompletableFuture<VaultLookup>> mine = new ArrayList<>();
          for (int i = thread; i < callers; i += 8) {
            mine.add(cluster.vault(i % 3).credentialFor(alice, UPSTREAM, List.of(), decisionId()));
          }
          return mine;
        }, threads));
      }
      go.countDown();
      for (var b : batches) {
        results.addAll(await(b));
      }
    } finally {
      threads.shutdown();
    }
    VaultLookupTest.awaitLatch(gate);
    assertThat(results).hasSize(callers).noneMatch(CompletableFuture::isDone);
    gate.release();

    CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    String fresh = idp.lastAccessToken();
    for (CompletableFuture<VaultLookup> r : results) {
      assertThat(r.join()).isInstanceOfSatisfying(VaultLookup.Granted.class,
          g -> assertThat(g.accessToken()).isEqualTo(fresh));
    }
    assertThat(idp.calls()).isEqualTo(1);
    assertThat(idp.reuseDetected()).isZero();
    // Nearly every caller joined its member's refresh (a late one may start a cycle that finds the new record).
    assertThat(cluster.counterSum("mcp.authz.vault.singleflight.deduplicated")).isGreaterThanOrEqualTo(callers - 50);
    assertThat(stored(cluster.member(1), alice).version()).isEqualTo(2);
  }

  @Test
  void refreshSlowerThanThreeLeasesIsStillOneCall() throws Exception {
    Duration lease = Duration.ofMillis(300);
    cluster = VaultTestCluster.start(3, VaultTestCluster.vaultConfig(lease, Duration.ofSeconds(20)),
        VaultTestCluster.ring(), idp, clock);
    CredentialKey alice = key("alice");
    consent(alice);
    clock.advance(Duration.ofMinutes(6));
    KeycloakLikeRefresher.Gate gate = idp.holdNext();
    CompletableFuture<VaultLookup> holder = cluster.vault(0).credentialFor(alice, UPSTREAM, List.of(), decisionId());
    VaultLookupTest.awaitLatch(gate);
    List<CompletableFuture<VaultLookup>> others = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      others.add(cluster.vault(1 + i % 2).credentialFor(alice, UPSTREAM, List.of(), decisionId()));
    }
    // The token endpoint answers only after four initial leases have passed.
    CompletableFuture.runAsync(gate::release, CompletableFuture.delayedExecutor(4 * lease.toMillis(), TimeUnit.MILLISECONDS));

    String fresh = ((VaultLookup.Granted) await(holder)).accessToken();
    for (CompletableFuture<VaultLookup> o : others) {
      assertThat(((VaultLookup.Granted) await(o)).accessToken()).isEqualTo(fresh);
    }
    assertThat(fresh).isEqualTo(idp.lastAccessToken());
    assertThat(idp.calls()).isEqualTo(1);
    assertThat(idp.reuseDetected()).isZero();
    assertThat(cluster.counter(0, "mcp.authz.vault.lease.renewals")).isGreaterThanOrEqualTo(3);
    assertThat(cluster.counterSum("mcp.authz.vault.lease.takeovers")).isZero();
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
