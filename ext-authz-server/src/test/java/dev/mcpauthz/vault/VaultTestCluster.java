package dev.mcpauthz.vault;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import dev.mcpauthz.cluster.ClusterMember;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.upstream.TokenRefresher;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Hazelcast members for vault tests, in this JVM: loopback only, a unique cluster name, TCP-IP join
 * to the first member (no multicast), free ports, fast failure detection, 31 partitions. One vault
 * service per member, all sharing one token endpoint. {@link #close()} terminates everything.
 */
final class VaultTestCluster implements AutoCloseable {
  static final String KEY_1 = Base64.getEncoder().encodeToString(bytes(1));
  static final String KEY_2 = Base64.getEncoder().encodeToString(bytes(2));

  final String name = "vault-test-" + UUID.randomUUID();
  final List<Integer> ports = new ArrayList<>();
  final List<HazelcastInstance> members = new ArrayList<>();
  final List<VaultService> vaults = new ArrayList<>();
  final List<SimpleMeterRegistry> meters = new ArrayList<>();

  /** Cluster-formation and failure-detection settings shared with the separate-JVM member. */
  static Config memberConfig(String clusterName, int port, int firstPort, AuthzConfig.Vault vault) {
    try {
      AuthzConfig.Cluster c = new AuthzConfig.Cluster(clusterName, "127.0.0.1", port,
          List.of("127.0.0.1:" + firstPort), null, null);
      Config config = ClusterMember.memberConfig(c, vault, null);
      config.getNetworkConfig().getJoin().getTcpIpConfig().setConnectionTimeoutSeconds(2);
      config.setProperty("hazelcast.partition.count", "31");
      config.setProperty("hazelcast.wait.seconds.before.join", "0");
      config.setProperty("hazelcast.max.wait.seconds.before.join", "0");
      config.setProperty("hazelcast.heartbeat.interval.seconds", "1");
      config.setProperty("hazelcast.max.no.heartbeat.seconds", "6");
      config.setProperty("hazelcast.graceful.shutdown.max.wait", "10");
      return config;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static AuthzConfig.Vault vaultConfig(Duration lease, Duration waitTimeout) {
    return new AuthzConfig.Vault(List.of(new AuthzConfig.VaultKey("k1", KEY_1, null)), Duration.ofSeconds(60), 0.10,
        lease, waitTimeout, 1, Duration.ofHours(1), null);
  }

  static KeyRing ring(String... idsAndKeys) {
    Map<String, byte[]> keys = new java.util.LinkedHashMap<>();
    for (int i = 0; i < idsAndKeys.length; i += 2) {
      keys.put(idsAndKeys[i], Base64.getDecoder().decode(idsAndKeys[i + 1]));
    }
    return KeyRing.of(keys);
  }

  static KeyRing ring() {
    return ring("k1", KEY_1);
  }

  /** Starts {@code n} members (the first one first, the others join it) and one vault on each. */
  static VaultTestCluster start(int n, AuthzConfig.Vault vault, KeyRing keys, TokenRefresher refresher, Clock clock) {
    VaultTestCluster cluster = new VaultTestCluster();
    try {
      for (int i = 0; i < n; i++) {
        cluster.addMember(vault, keys, refresher, clock);
      }
      cluster.awaitSize(n);
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  HazelcastInstance addMember(AuthzConfig.Vault vault, KeyRing keys, TokenRefresher refresher, Clock clock) {
    int port = FreePorts.pick();
    int first = ports.isEmpty() ? port : ports.getFirst();
    ports.add(port);
    HazelcastInstance hz = Hazelcast.newHazelcastInstance(memberConfig(name, port, first, vault));
    members.add(hz);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    meters.add(registry);
    vaults.add(new VaultService(hz, vault, keys, refresher, registry, clock));
    return hz;
  }

  /** Cluster membership formation: the one place a bounded poll is used. */
  void awaitSize(int n) {
    for (HazelcastInstance hz : members) {
      dev.mcpauthz.testing.Conditions.waitUntil(Duration.ofSeconds(60), "cluster of " + n + " members",
          () -> !hz.getLifecycleService().isRunning() || hz.getCluster().getMembers().size() == n);
    }
  }

  VaultService vault(int i) {
    return vaults.get(i);
  }

  HazelcastInstance member(int i) {
    return members.get(i);
  }

  double counter(int member, String name) {
    var c = meters.get(member).find(name).counter();
    return c == null ? 0 : c.count();
  }

  double counterSum(String name) {
    double sum = 0;
    for (int i = 0; i < meters.size(); i++) {
      sum += counter(i, name);
    }
    return sum;
  }

  double attempts(String outcome) {
    double sum = 0;
    for (SimpleMeterRegistry r : meters) {
      var c = r.find("mcp.authz.vault.refresh.attempts").tag("outcome", outcome).counter();
      sum += c == null ? 0 : c.count();
    }
    return sum;
  }

  /** Kills a member without a goodbye (no migration handshake), like a crashed process. */
  void terminate(int i) {
    vaults.get(i).close();
    members.get(i).getLifecycleService().terminate();
  }

  @Override
  public void close() {
    for (VaultService v : vaults) {
      v.close();
    }
    for (HazelcastInstance hz : members) {
      hz.getLifecycleService().terminate();
    }
  }

  private static byte[] bytes(int seed) {
    byte[] b = new byte[32];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (seed * 31 + i);
    }
    return b;
  }
}
