package dev.mcpauthz.vault;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.upstream.RefreshOutcome;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A vault member in its own JVM for {@link VaultRemoteHolderTest}: joins the test's cluster, takes
 * the refresh lease of an expired credential and then hangs in the token request forever (its
 * refresher never answers), printing {@code REFRESH-STARTED} when it is there. The test kills it.
 *
 * <p>Arguments: cluster name, own port, first member's port, lease millis, issuer, subject, server.
 */
public final class VaultRemoteHolderMain {
  private VaultRemoteHolderMain() {}

  public static void main(String[] args) throws Exception {
    String cluster = args[0];
    int port = Integer.parseInt(args[1]);
    int first = Integer.parseInt(args[2]);
    AuthzConfig.Vault vault = VaultTestCluster.vaultConfig(Duration.ofMillis(Long.parseLong(args[3])),
        Duration.ofMinutes(5));
    CredentialKey key = new CredentialKey(args[4], args[5], args[6]);
    HazelcastInstance hz = Hazelcast.newHazelcastInstance(VaultTestCluster.memberConfig(cluster, port, first, vault));
    dev.mcpauthz.testing.Conditions.waitUntil(Duration.ofSeconds(60), "joined the test cluster",
        () -> hz.getCluster().getMembers().size() >= 2);
    System.out.println("MEMBER " + hz.getCluster().getLocalMember().getUuid());
    VaultService service = new VaultService(hz, vault, VaultTestCluster.ring(), request -> {
      System.out.println("REFRESH-STARTED");
      System.out.flush();
      return new CompletableFuture<RefreshOutcome>(); // the token endpoint never answers
    }, new SimpleMeterRegistry(), Clock.systemUTC());
    service.credentialFor(key, VaultFixtures.UPSTREAM, List.of(), "remote-holder");
    new CompletableFuture<Void>().join(); // until killed
  }
}
