package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.upstream.TokenGrant;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 3: the lease holder is a member in a separate JVM, killed (SIGKILL) while its token request
 * hangs; a member in this JVM takes the lease over after it lapses and completes the refresh.
 */
class VaultRemoteHolderTest {
  private static final Duration LEASE = Duration.ofMillis(600);

  private final MutableClock clock = new MutableClock(Instant.now());
  private final KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
  private VaultTestCluster cluster;
  private Process child;
  private final ConcurrentLinkedQueue<String> childOutput = new ConcurrentLinkedQueue<>();

  @AfterEach
  void stop() throws InterruptedException {
    if (child != null) {
      child.destroyForcibly();
      child.waitFor(10, TimeUnit.SECONDS);
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  void leaseHolderInAnotherJvmKilledMidRefreshIsTakenOver() throws Exception {
    cluster = VaultTestCluster.start(1, VaultTestCluster.vaultConfig(LEASE, Duration.ofSeconds(40)),
        VaultTestCluster.ring(), idp, clock);
    CredentialKey alice = key("alice");
    // Expired on both members' clocks (the other JVM judges on the system clock).
    TokenGrant g = idp.consent(List.of("repo:read"), Duration.ofMinutes(-1));
    await(cluster.vault(0).store(alice, UPSTREAM, List.of("repo:read"), g, decisionId()));

    int childPort = FreePorts.pick();
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    child = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
        VaultRemoteHolderMain.class.getName(), cluster.name, String.valueOf(childPort),
        String.valueOf(cluster.ports.getFirst()), String.valueOf(LEASE.toMillis()), alice.issuer(), alice.subject(),
        alice.serverId())
        .redirectErrorStream(true)
        .start();
    CompletableFuture<String> memberId = new CompletableFuture<>();
    CompletableFuture<Void> refreshing = new CompletableFuture<>();
    Thread.ofVirtual().start(() -> readChild(memberId, refreshing));

    refreshing.get(90, TimeUnit.SECONDS);
    String holder = memberId.get(1, TimeUnit.SECONDS);
    assertThat(stored(cluster.member(0), alice).lease().holder()).isEqualTo(holder);
    CompletableFuture<VaultLookup> waiting = cluster.vault(0).credentialFor(alice, UPSTREAM, List.of(), decisionId());
    assertThat(waiting).isNotDone();

    child.destroyForcibly();
    assertThat(child.waitFor(10, TimeUnit.SECONDS)).isTrue();

    VaultLookup result = waiting.get(40, TimeUnit.SECONDS);
    assertThat(result).isEqualTo(VaultLookup.Granted.bearer(idp.lastAccessToken(),
        clock.instant().plus(Duration.ofMinutes(20)), 2));
    assertThat(idp.calls()).isEqualTo(1);
    assertThat(idp.reuseDetected()).isZero();
    assertThat(cluster.counter(0, "mcp.authz.vault.lease.takeovers")).isEqualTo(1);
    assertThat(cluster.attempts("revoked")).isZero();
    assertThat(stored(cluster.member(0), alice).status()).isEqualTo(CredentialStatus.ACTIVE);
  }

  private void readChild(CompletableFuture<String> memberId, CompletableFuture<Void> refreshing) {
    try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        childOutput.add(line);
        if (line.startsWith("MEMBER ")) {
          memberId.complete(line.substring(7).trim());
        } else if (line.equals("REFRESH-STARTED")) {
          refreshing.complete(null);
        }
      }
    } catch (java.io.IOException ignored) {
      // the child was killed
    } finally {
      refreshing.completeExceptionally(new AssertionError("child ended before refreshing:\n"
          + String.join("\n", childOutput)));
    }
  }
}
