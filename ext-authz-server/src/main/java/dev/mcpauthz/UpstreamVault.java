package dev.mcpauthz;

import dev.mcpauthz.cluster.ClusterMember;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigException;
import dev.mcpauthz.decision.UpstreamCredentials;
import dev.mcpauthz.upstream.ProviderRegistry;
import dev.mcpauthz.vault.KeyRing;
import dev.mcpauthz.vault.VaultService;
import dev.mcpauthz.vault.VaultUpstreamCredentials;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Clock;

/**
 * Everything refresh-and-inject needs, started only when a server has an {@code upstream}: the
 * embedded Hazelcast member, the provider clients and the vault. A config without upstreams starts
 * none of it, so a plain authenticating gateway opens no cluster port.
 */
final class UpstreamVault implements AutoCloseable {
  private final ClusterMember member;
  private final ProviderRegistry providers;
  private final VaultService vault;
  private final UpstreamCredentials credentials;
  private final KeyRing keys;

  private UpstreamVault(ClusterMember member, ProviderRegistry providers, VaultService vault, KeyRing keys) {
    this.keys = keys;
    this.member = member;
    this.providers = providers;
    this.vault = vault;
    this.credentials = new VaultUpstreamCredentials(vault);
  }

  static boolean needed(AuthzConfig config) {
    return config.servers().stream().anyMatch(s -> s.upstream() != null);
  }

  /**
   * Config validation already resolved key and config files against the config file's directory;
   * what can still fail here (an unreadable key file, a port in use) fails the start with the key.
   */
  static UpstreamVault start(AuthzConfig config, MeterRegistry meters, Clock clock) throws IOException {
    KeyRing keys;
    try {
      keys = KeyRing.fromConfig(config.vault(), null);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("config", "vault.keys", e.getMessage());
    }
    ProviderRegistry providers;
    try {
      providers = ProviderRegistry.start(config, meters, clock);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("config", "providers", e.getMessage());
    }
    ClusterMember member = null;
    try {
      member = ClusterMember.start(config.cluster(), config.vault(), config.consent(), null);
      // The vault always passes the RFC 8707 resource; a provider with send_resource: false drops it.
      VaultService vault = new VaultService(member.hazelcast(), config.vault(), keys, providers.refresher(), meters,
          clock);
      return new UpstreamVault(member, providers, vault, keys);
    } catch (IOException | RuntimeException e) {
      providers.close();
      if (member != null) {
        member.close();
      }
      throw e;
    }
  }

  UpstreamCredentials credentials() {
    return credentials;
  }

  VaultService vault() {
    return vault;
  }

  ProviderRegistry providers() {
    return providers;
  }

  /** The vault key ring; consent derives its own keys from it ({@link KeyRing#derive}). */
  KeyRing keys() {
    return keys;
  }

  ClusterMember member() {
    return member;
  }

  /** Vault first (fails waiters with 503), then the provider clients, then leave the cluster. */
  @Override
  public void close() {
    vault.close();
    providers.close();
    member.close();
  }
}
