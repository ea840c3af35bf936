package dev.mcpauthz.vault;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.YamlConfigBuilder;
import com.hazelcast.spi.merge.LatestUpdateMergePolicy;
import dev.mcpauthz.cluster.ClusterMember;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.testing.FreePorts;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shipped Hazelcast configs parse, and the member config built from cluster.* / vault.* is what the README says. */
class VaultClusterConfigTest {
  private static final Path DIR = Path.of("..", "hazelcast-config").toAbsolutePath().normalize();
  private static final AuthzConfig.Vault VAULT = new AuthzConfig.Vault(null, null, null, null, null, 2,
      Duration.ofHours(8), null);

  private static Config load(String file) throws Exception {
    try (InputStream in = Files.newInputStream(DIR.resolve(file))) {
      return new YamlConfigBuilder(in).build();
    }
  }

  private static void assertVaultMap(Config c, int backups) {
    MapConfig vault = c.getMapConfig(VaultService.MAP_NAME);
    assertThat(vault.getBackupCount()).isEqualTo(backups);
    assertThat(vault.getInMemoryFormat()).isEqualTo(InMemoryFormat.BINARY);
    assertThat(vault.getNearCacheConfig()).isNotNull();
    assertThat(vault.getNearCacheConfig().getInMemoryFormat()).isEqualTo(InMemoryFormat.OBJECT);
    assertThat(vault.getNearCacheConfig().isInvalidateOnChange()).isTrue();
    assertThat(vault.getNearCacheConfig().isCacheLocalEntries()).isTrue();
    assertThat(vault.getMergePolicyConfig().getPolicy()).isEqualTo(LatestUpdateMergePolicy.class.getName());
    assertThat(vault.isPerEntryStatsEnabled()).isTrue();
  }

  @Test
  void tcpExampleBindsLoopbackAndJoinsByMemberList() throws Exception {
    Config c = load("hazelcast-tcp.yaml");
    assertThat(c.getClusterName()).isEqualTo("mcp-authz");
    JoinConfig join = c.getNetworkConfig().getJoin();
    assertThat(join.getMulticastConfig().isEnabled()).isFalse();
    assertThat(join.getAutoDetectionConfig().isEnabled()).isFalse();
    assertThat(join.getTcpIpConfig().isEnabled()).isTrue();
    assertThat(join.getTcpIpConfig().getMembers()).containsExactly("127.0.0.1:5701", "127.0.0.1:5702", "127.0.0.1:5703");
    assertThat(c.getNetworkConfig().getInterfaces().getInterfaces()).containsExactly("127.0.0.1");
    assertThat(c.getProperty("hazelcast.socket.bind.any")).isEqualTo("false");
    assertThat(c.getProperty("hazelcast.phone.home.enabled")).isEqualTo("false");
    assertVaultMap(c, 1);
    assertThat(c.getMapConfig(ClusterMember.SESSION_MAP).getTimeToLiveSeconds()).isEqualTo(86_400);
  }

  @Test
  void kubernetesExampleDiscoversByService() throws Exception {
    Config c = load("hazelcast-kubernetes.yaml");
    JoinConfig join = c.getNetworkConfig().getJoin();
    assertThat(join.getKubernetesConfig().isEnabled()).isTrue();
    assertThat(join.getKubernetesConfig().getProperty("service-name")).isEqualTo("mcp-authz-hazelcast");
    assertThat(join.getMulticastConfig().isEnabled()).isFalse();
    assertThat(join.getTcpIpConfig().isEnabled()).isFalse();
    assertVaultMap(c, 1);
  }

  @Test
  void configFileIsUsedAsIsPlusTheVaultSerializers() throws Exception {
    AuthzConfig.Cluster cluster = new AuthzConfig.Cluster("ignored", null, 6000, List.of("10.0.0.1"),
        Path.of("hazelcast-tcp.yaml"), null);
    Config c = ClusterMember.memberConfig(cluster, VAULT, DIR);
    assertThat(c.getClusterName()).isEqualTo("mcp-authz");
    assertThat(c.getNetworkConfig().getPort()).isEqualTo(5701);
    assertVaultMap(c, 1); // the file's map config wins over vault.backup_count
    assertThat(c.getProperty("hazelcast.phone.home.enabled")).isEqualTo("false");
    assertThat(c.getSerializationConfig().getCompactSerializationConfig()).isNotNull();
  }

  @Test
  void relativeKeyFilesAndClusterConfigFileResolveAgainstTheConfigFile(@org.junit.jupiter.api.io.TempDir Path dir)
      throws Exception {
    Files.writeString(dir.resolve("k1.key"), VaultTestCluster.KEY_1);
    Files.copy(DIR.resolve("hazelcast-tcp.yaml"), dir.resolve("hz.yaml"));
    AuthzConfig config = dev.mcpauthz.config.ConfigLoader.parse("""
        issuers: [{id: idp, issuer: "https://idp.example.test", jwks_uri: "https://idp.example.test/jwks"}]
        servers: [{id: s, resource: "https://mcp.example.test/mcp"}]
        cluster: {config_file: hz.yaml}
        vault:
          keys: [{id: k1, secret_file: k1.key}]
        """, "t.yaml", java.util.Map.of(), dir);
    assertThat(config.vault().keys().getFirst().secretFile()).isEqualTo(dir.resolve("k1.key"));
    assertThat(config.cluster().configFile()).isEqualTo(dir.resolve("hz.yaml"));
    // Wiring needs no base directory after validation.
    assertThat(KeyRing.fromConfig(config.vault(), null).primaryId()).isEqualTo("k1");
    assertThat(ClusterMember.memberConfig(config.cluster(), config.vault(), null).getClusterName()).isEqualTo("mcp-authz");
  }

  @Test
  void memberConfigFromClusterKeysIsLoopbackTcpIpWithoutMulticast() throws Exception {
    AuthzConfig.Cluster cluster = new AuthzConfig.Cluster("prod", null, 5801,
        List.of("127.0.0.1:5801", "127.0.0.1:5802"), null, null);
    Config c = ClusterMember.memberConfig(cluster, VAULT, null);
    assertThat(c.getClusterName()).isEqualTo("prod");
    assertThat(c.getNetworkConfig().getPort()).isEqualTo(5801);
    assertThat(c.getNetworkConfig().isPortAutoIncrement()).isFalse();
    assertThat(c.getNetworkConfig().getInterfaces().isEnabled()).isTrue();
    assertThat(c.getNetworkConfig().getInterfaces().getInterfaces()).containsExactly("127.0.0.1");
    assertThat(c.getProperty("hazelcast.socket.bind.any")).isEqualTo("false");
    JoinConfig join = c.getNetworkConfig().getJoin();
    assertThat(join.getMulticastConfig().isEnabled()).isFalse();
    assertThat(join.getAutoDetectionConfig().isEnabled()).isFalse();
    assertThat(join.getTcpIpConfig().isEnabled()).isTrue();
    assertThat(join.getTcpIpConfig().getMembers()).containsExactly("127.0.0.1:5801", "127.0.0.1:5802");
    assertVaultMap(c, 2);
    assertThat(c.getMapConfig(ClusterMember.SESSION_MAP).getTimeToLiveSeconds()).isEqualTo(8 * 3600);
    assertThat(c.getProperty("hazelcast.phone.home.enabled")).isEqualTo("false");
    assertThat(c.getProperty("hazelcast.logging.type")).isEqualTo("slf4j");

    Config single = ClusterMember.memberConfig(new AuthzConfig.Cluster(null, null, null, null, null, null), VAULT, null);
    assertThat(single.getNetworkConfig().getJoin().getTcpIpConfig().isEnabled()).isFalse();
    assertThat(single.getNetworkConfig().getJoin().getMulticastConfig().isEnabled()).isFalse();
  }

  @Test
  void kubernetesServiceUsesDiscoveryAndThePodNetwork() throws Exception {
    Config c = ClusterMember.memberConfig(new AuthzConfig.Cluster(null, null, null, null, null, "mcp-authz-hz"),
        VAULT, null);
    JoinConfig join = c.getNetworkConfig().getJoin();
    assertThat(join.getKubernetesConfig().isEnabled()).isTrue();
    assertThat(join.getKubernetesConfig().getProperty("service-name")).isEqualTo("mcp-authz-hz");
    assertThat(join.getTcpIpConfig().isEnabled()).isFalse();
    assertThat(c.getNetworkConfig().getInterfaces().isEnabled()).isFalse();
  }

  @Test
  void aSingleMemberStartsFromTheDefaultsAndServesTheVaultMap() throws Exception {
    int port = FreePorts.pick();
    Config config = ClusterMember.memberConfig(new AuthzConfig.Cluster("vault-test-" + java.util.UUID.randomUUID(),
        null, port, null, null, null), VAULT, null);
    try (ClusterMember member = ClusterMember.start(config)) {
      assertThat(member.hazelcast().getCluster().getLocalMember().getAddress().getHost()).isEqualTo("127.0.0.1");
      assertThat(member.hazelcast().getCluster().getLocalMember().getAddress().getPort()).isEqualTo(port);
      assertThat(member.hazelcast().getConfig().getMapConfig(VaultService.MAP_NAME).getBackupCount()).isEqualTo(2);
    }
  }
}
