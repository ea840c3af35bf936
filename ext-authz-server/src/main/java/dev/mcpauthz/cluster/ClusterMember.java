package dev.mcpauthz.cluster;

import com.hazelcast.config.Config;
import com.hazelcast.config.EvictionConfig;
import com.hazelcast.config.EvictionPolicy;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.MaxSizePolicy;
import com.hazelcast.config.NearCacheConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.spi.merge.LatestUpdateMergePolicy;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.consent.ElicitationStore;
import dev.mcpauthz.vault.VaultSerializers;
import dev.mcpauthz.vault.VaultService;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;

/**
 * The embedded Hazelcast member of this process (issue 3 item 1), built from {@code cluster.*} and
 * {@code vault.*}: loopback bind by default, TCP-IP join with an explicit member list or Kubernetes
 * discovery, never multicast or auto-detection, no phone-home. {@code cluster.config_file} replaces
 * everything but the vault's serializers (always registered) and the map configs (added when the
 * file has none). The vault uses AP data structures only: no CP subsystem (ADR 0005).
 */
public final class ClusterMember implements AutoCloseable {
  /** Per-session client capabilities (consent issue); entries live {@code vault.session_ttl}. */
  public static final String SESSION_MAP = "mcp-authz-sessions";

  /** Near-cache size per member; one entry per (user, server) that member served recently. */
  static final int NEAR_CACHE_ENTRIES = 100_000;

  private final HazelcastInstance hazelcast;

  private ClusterMember(HazelcastInstance hazelcast) {
    this.hazelcast = hazelcast;
  }

  /** Starts the member described by the configuration ({@code baseDir} resolves {@code config_file}). */
  public static ClusterMember start(AuthzConfig.Cluster cluster, AuthzConfig.Vault vault, Path baseDir)
      throws IOException {
    return start(cluster, vault, new AuthzConfig.Consent(null, null), baseDir);
  }

  /** As above, with the consent section (the elicitation map's TTL). */
  public static ClusterMember start(AuthzConfig.Cluster cluster, AuthzConfig.Vault vault, AuthzConfig.Consent consent,
      Path baseDir) throws IOException {
    return start(memberConfig(cluster, vault, consent, baseDir));
  }

  /** Starts a member from a prepared config (tests add timing properties this way). */
  public static ClusterMember start(Config config) {
    return new ClusterMember(Hazelcast.newHazelcastInstance(config));
  }

  /** The Hazelcast member config for {@code cluster.*} and {@code vault.*}. */
  public static Config memberConfig(AuthzConfig.Cluster cluster, AuthzConfig.Vault vault, Path baseDir)
      throws IOException {
    return memberConfig(cluster, vault, new AuthzConfig.Consent(null, null), baseDir);
  }

  /** The Hazelcast member config for {@code cluster.*}, {@code vault.*} and {@code consent.*}. */
  public static Config memberConfig(AuthzConfig.Cluster cluster, AuthzConfig.Vault vault, AuthzConfig.Consent consent,
      Path baseDir) throws IOException {
    Config config;
    if (cluster.configFile() != null) {
      Path file = baseDir == null ? cluster.configFile() : baseDir.resolve(cluster.configFile());
      config = Config.loadFromFile(file.toFile());
    } else {
      config = new Config();
      config.setClusterName(cluster.clusterName());
      network(config, cluster);
    }
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.logging.type", "slf4j");
    // The service stops the member itself, after draining Checks.
    config.setProperty("hazelcast.shutdownhook.enabled", "false");
    // Near-cache invalidations go out at once instead of in 10 s batches: members see a refresh sooner.
    config.setProperty("hazelcast.map.invalidation.batch.enabled", "false");
    VaultSerializers.register(config);
    if (config.getMapConfigOrNull(VaultService.MAP_NAME) == null) {
      config.addMapConfig(vaultMap(vault));
    }
    if (config.getMapConfigOrNull(SESSION_MAP) == null) {
      config.addMapConfig(sessionMap(vault));
    }
    if (config.getMapConfigOrNull(ElicitationStore.MAP_NAME) == null) {
      config.addMapConfig(elicitationMap(vault, consent));
    }
    return config;
  }

  /**
   * The vault map: synchronous backups ({@code vault.backup_count}), and a near cache so a Check
   * reads its credential without a network hop. Caching is safe because values are already sealed
   * ciphertext; OBJECT format keeps one immutable record per entry; updates invalidate it.
   */
  public static MapConfig vaultMap(AuthzConfig.Vault vault) {
    NearCacheConfig near = new NearCacheConfig(VaultService.MAP_NAME)
        .setInMemoryFormat(InMemoryFormat.OBJECT)
        .setInvalidateOnChange(true)
        .setCacheLocalEntries(true)
        .setEvictionConfig(new EvictionConfig()
            .setEvictionPolicy(EvictionPolicy.LRU)
            .setMaxSizePolicy(MaxSizePolicy.ENTRY_COUNT)
            .setSize(NEAR_CACHE_ENTRIES));
    MapConfig map = new MapConfig(VaultService.MAP_NAME)
        .setBackupCount(vault.backupCount())
        .setAsyncBackupCount(0)
        .setInMemoryFormat(InMemoryFormat.BINARY)
        .setNearCacheConfig(near)
        .setPerEntryStatsEnabled(true); // last-update time, needed by the merge policy
    // After a split brain heals, the most recently written record (the latest rotation) wins (ADR 0005).
    map.getMergePolicyConfig().setPolicy(LatestUpdateMergePolicy.class.getName());
    return map;
  }

  public static MapConfig sessionMap(AuthzConfig.Vault vault) {
    return new MapConfig(SESSION_MAP)
        .setBackupCount(vault.backupCount())
        .setTimeToLiveSeconds((int) Math.min(Integer.MAX_VALUE, vault.sessionTtl().toSeconds()));
  }

  /**
   * Pending consent prompts: the store sets each entry's TTL ({@code consent.elicitation_ttl}); the
   * map's TTL is the same, as a backstop for entries written by other code paths.
   */
  public static MapConfig elicitationMap(AuthzConfig.Vault vault, AuthzConfig.Consent consent) {
    return new MapConfig(ElicitationStore.MAP_NAME)
        .setBackupCount(vault.backupCount())
        .setTimeToLiveSeconds((int) Math.max(1, Math.min(Integer.MAX_VALUE, consent.elicitationTtl().toSeconds())));
  }

  private static void network(Config config, AuthzConfig.Cluster cluster) throws IOException {
    NetworkConfig net = config.getNetworkConfig();
    net.setPort(cluster.port()).setPortAutoIncrement(false);
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    boolean loopback = InetAddress.getByName(cluster.bind()).isLoopbackAddress();
    if (cluster.kubernetesService() != null) {
      join.getKubernetesConfig().setEnabled(true).setProperty("service-name", cluster.kubernetesService());
      // Pods reach each other on the pod network: a loopback bind cannot form a cluster there.
      if (!loopback && !isWildcard(cluster.bind())) {
        bindTo(config, cluster.bind());
      }
      return;
    }
    if (!isWildcard(cluster.bind())) {
      bindTo(config, cluster.bind());
    }
    if (!cluster.members().isEmpty()) {
      join.getTcpIpConfig().setEnabled(true).setMembers(cluster.members());
    }
  }

  private static boolean isWildcard(String bind) {
    return bind.equals("0.0.0.0") || bind.equals("::") || bind.equals("*");
  }

  /** Listen on this address only (Hazelcast binds every interface unless told otherwise). */
  private static void bindTo(Config config, String address) {
    config.getNetworkConfig().getInterfaces().setEnabled(true).addInterface(address);
    config.setProperty("hazelcast.socket.bind.any", "false");
  }

  public HazelcastInstance hazelcast() {
    return hazelcast;
  }

  /** Leaves the cluster gracefully (partitions migrate to the remaining members first). */
  @Override
  public void close() {
    hazelcast.shutdown();
  }
}
