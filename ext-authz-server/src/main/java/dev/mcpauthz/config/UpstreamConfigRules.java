package dev.mcpauthz.config;

import dev.mcpauthz.config.AuthzConfig.ClientAuth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Semantic checks for the cluster, vault and upstream-provider sections. */
final class UpstreamConfigRules {
  private UpstreamConfigRules() {}

  static void provider(AuthzConfig.Provider p, String src, String key, Path baseDir) {
    if (p.clientId() == null || p.clientId().isBlank()) {
      ConfigValidator.failAt(src, key + ".client_id", "required: the OAuth client registered with this provider");
    }
    if (p.tokenEndpoint() != null) {
      ConfigValidator.absoluteHttpUri(p.tokenEndpoint(), src, key + ".token_endpoint");
    }
    if (p.discovery() && (p.issuer() == null || p.issuer().isBlank())) {
      ConfigValidator.failAt(src, key + ".issuer", "required with discovery (RFC 8414 / OIDC discovery), or set token_endpoint");
    }
    if (p.discovery()) {
      issuerUri(p.issuer(), src, key + ".issuer");
    }
    if (p.authorizationEndpoint() != null) {
      ConfigValidator.absoluteHttpUri(p.authorizationEndpoint(), src, key + ".authorization_endpoint");
    }
    if (p.revocationEndpoint() != null) {
      ConfigValidator.absoluteHttpUri(p.revocationEndpoint(), src, key + ".revocation_endpoint");
    }
    if (!p.discovery() && p.tokenEndpoint() == null) {
      ConfigValidator.failAt(src, key + ".token_endpoint", "required when discovery is false");
    }
    boolean secret = p.clientSecret() != null || p.clientSecretFile() != null;
    switch (p.clientAuth()) {
      case CLIENT_SECRET_BASIC, CLIENT_SECRET_POST -> {
        if (!secret) {
          ConfigValidator.failAt(src, key + ".client_secret", "required for client_auth " + name(p.clientAuth())
              + " (or set client_secret_file)");
        }
        if (p.clientSecret() != null && p.clientSecretFile() != null) {
          ConfigValidator.failAt(src, key, "set only one of client_secret, client_secret_file");
        }
        readable(p.clientSecretFile(), src, key + ".client_secret_file", baseDir);
      }
      case PRIVATE_KEY_JWT -> {
        if (p.privateKeyFile() == null) {
          ConfigValidator.failAt(src, key + ".private_key_file", "required for client_auth private_key_jwt");
        }
        readable(p.privateKeyFile(), src, key + ".private_key_file", baseDir);
      }
      case NONE -> { }
    }
    positive(p.timeout(), src, key + ".timeout");
    if (p.retry().maxAttempts() < 1 || p.retry().maxAttempts() > 10) {
      ConfigValidator.failAt(src, key + ".retry.max_attempts", "must be 1-10, got " + p.retry().maxAttempts());
    }
    positive(p.retry().initialBackoff(), src, key + ".retry.initial_backoff");
    positive(p.retry().maxBackoff(), src, key + ".retry.max_backoff");
    positive(p.retry().maxTotal(), src, key + ".retry.max_total");
    if (p.circuitBreaker().failureThreshold() < 1) {
      ConfigValidator.failAt(src, key + ".circuit_breaker.failure_threshold", "must be at least 1");
    }
    positive(p.circuitBreaker().openFor(), src, key + ".circuit_breaker.open_for");
  }

  /** The provider with client_secret_file and private_key_file resolved against the config file's directory. */
  static AuthzConfig.Provider resolveFiles(AuthzConfig.Provider p, Path baseDir) {
    if (baseDir == null) {
      return p;
    }
    return new AuthzConfig.Provider(p.id(), p.displayName(), p.profile(), p.issuer(), p.discovery(),
        p.authorizationEndpoint(), p.tokenEndpoint(), p.revocationEndpoint(), p.clientId(), p.clientSecret(),
        p.clientSecretFile() == null ? null : baseDir.resolve(p.clientSecretFile()),
        p.privateKeyFile() == null ? null : baseDir.resolve(p.privateKeyFile()),
        p.clientAuth(), p.sendResource(), p.timeout(), p.retry(), p.circuitBreaker());
  }

  /** @return the section with {@code config_file} resolved against the config file's directory */
  static AuthzConfig.Cluster cluster(AuthzConfig.Cluster c, String src, Path baseDir) {
    ConfigValidator.port(c.port(), src, "cluster.port");
    if (c.configFile() != null) {
      readable(c.configFile(), src, "cluster.config_file", baseDir);
    }
    for (int i = 0; i < c.members().size(); i++) {
      String m = c.members().get(i);
      if (m == null || m.isBlank() || m.contains("/")) {
        ConfigValidator.failAt(src, "cluster.members[" + i + "]", "must be host or host:port, got '" + m + "'");
      }
    }
    return new AuthzConfig.Cluster(c.clusterName(), c.bind(), c.port(), c.members(), resolve(c.configFile(), baseDir),
        c.kubernetesService());
  }

  /** @return the section with key {@code secret_file}s resolved against the config file's directory */
  static AuthzConfig.Vault vault(AuthzConfig.Vault v, boolean anyUpstream, String src, Path baseDir) {
    if (anyUpstream && v.keys().isEmpty()) {
      ConfigValidator.failAt(src, "vault.keys", "at least one encryption key is required when a server has an upstream"
          + " (32 random bytes, Base64: openssl rand -base64 32)");
    }
    for (int i = 0; i < v.keys().size(); i++) {
      AuthzConfig.VaultKey k = v.keys().get(i);
      String key = "vault.keys[" + i + "]";
      if (k.id() == null || k.id().isBlank() || k.id().length() > 32) {
        ConfigValidator.failAt(src, key + ".id", "required: a short key id (max 32 characters)");
      }
      if ((k.secret() == null) == (k.secretFile() == null)) {
        ConfigValidator.failAt(src, key, "set exactly one of secret, secret_file");
      }
      readable(k.secretFile(), src, key + ".secret_file", baseDir);
      if (k.secret() != null) {
        aes256Key(k.secret(), src, key + ".secret");
      } else if (k.secretFile() != null) {
        try {
          aes256Key(java.nio.file.Files.readString(resolve(k.secretFile(), baseDir)), src, key + ".secret_file");
        } catch (java.io.IOException e) {
          ConfigValidator.failAt(src, key + ".secret_file", "cannot read: " + e.getMessage());
        }
      }
      for (int j = 0; j < i; j++) {
        if (java.util.Objects.equals(v.keys().get(j).id(), k.id())) {
          ConfigValidator.failAt(src, key + ".id", "duplicate key id '" + k.id() + "'");
        }
      }
    }
    if (v.refreshAheadFraction() < 0 || v.refreshAheadFraction() >= 1) {
      ConfigValidator.failAt(src, "vault.refresh_ahead_fraction", "must be in [0, 1), got " + v.refreshAheadFraction());
    }
    positive(v.lease(), src, "vault.lease");
    positive(v.waitTimeout(), src, "vault.wait_timeout");
    if (v.checkCacheEntries() < 0 || v.checkCacheEntries() > 1_000_000) {
      ConfigValidator.failAt(src, "vault.check_cache_entries", "must be 0-1000000 (0 turns the cache off), got "
          + v.checkCacheEntries());
    }
    if (v.backupCount() < 0 || v.backupCount() > 6) {
      ConfigValidator.failAt(src, "vault.backup_count", "must be 0-6, got " + v.backupCount());
    }
    List<AuthzConfig.VaultKey> keys = v.keys().stream()
        .map(k -> new AuthzConfig.VaultKey(k.id(), k.secret(), resolve(k.secretFile(), baseDir))).toList();
    return new AuthzConfig.Vault(keys, v.refreshAheadMin(), v.refreshAheadFraction(), v.lease(), v.waitTimeout(),
        v.backupCount(), v.sessionTtl(), v.checkCacheEntries());
  }

  /** AES-256-GCM needs exactly 32 bytes; the message never echoes the value (it is a secret). */
  private static void aes256Key(String base64, String src, String key) {
    byte[] raw;
    try {
      raw = java.util.Base64.getDecoder().decode(base64.strip());
    } catch (IllegalArgumentException e) {
      ConfigValidator.failAt(src, key, "not Base64; generate one with: openssl rand -base64 32");
      return;
    }
    if (raw.length != 32) {
      ConfigValidator.failAt(src, key, "must decode to 32 bytes (AES-256), got " + raw.length
          + "; generate one with: openssl rand -base64 32");
    }
  }

  private static Path resolve(Path file, Path baseDir) {
    return file == null || baseDir == null ? file : baseDir.resolve(file);
  }

  /** Discovery fetches metadata from the issuer URL, so it must be https (http on loopback). */
  private static void issuerUri(String issuer, String src, String key) {
    java.net.URI uri;
    try {
      uri = java.net.URI.create(issuer);
    } catch (IllegalArgumentException e) {
      ConfigValidator.failAt(src, key, "not a URI: '" + issuer + "'");
      return;
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      ConfigValidator.failAt(src, key, "an issuer has no query or fragment (RFC 8414 §2), got '" + issuer + "'");
    }
    ConfigValidator.absoluteHttpUri(uri, src, key);
  }

  private static void positive(Duration d, String src, String key) {
    if (d.isNegative() || d.isZero()) {
      ConfigValidator.failAt(src, key, "must be positive, got " + d);
    }
  }

  private static void readable(Path file, String src, String key, Path baseDir) {
    if (file == null) {
      return;
    }
    Path resolved = baseDir == null ? file : baseDir.resolve(file);
    if (!Files.isReadable(resolved)) {
      ConfigValidator.failAt(src, key, "cannot read " + resolved);
    }
  }

  private static String name(ClientAuth a) {
    return a.name().toLowerCase(java.util.Locale.ROOT);
  }
}
