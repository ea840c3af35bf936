package dev.mcpauthz.vault;

import com.hazelcast.map.IMap;
import dev.mcpauthz.telemetry.VaultAudit;
import dev.mcpauthz.telemetry.VaultMetrics;
import dev.mcpauthz.upstream.TokenRefresher;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Predicate;

/**
 * What a {@link RefreshCycle} shares with its {@link VaultService}.
 *
 * @param writeFormat the sealed-record format new writes use ({@link VaultService#writeFormat})
 */
record VaultRuntime(
    IMap<CredentialKey, VaultRecord> map,
    CredentialSealer sealer,
    TokenRefresher refresher,
    VaultMetrics metrics,
    VaultAudit audit,
    Clock clock,
    ExecutorService executor,
    ScheduledExecutorService scheduler,
    ChangeWatchers watchers,
    String memberId,
    long leaseMillis,
    long maxHoldMillis,
    Predicate<String> sendResource,
    ConcurrentHashMap<CredentialKey, RefreshCycle> inFlight,
    ConcurrentHashMap<CredentialKey, Backoff> backoffs,
    java.util.function.IntSupplier writeFormat) {

  /** Lifetime assumed when a grant has a refresh token but no {@code expires_in} (docs/vault.md). */
  static final Duration DEFAULT_LIFETIME = Duration.ofHours(1);

  /** Seals tokens and derives their metadata; a grant without expiry and without refresh token never expires locally. */
  CredentialFields fields(CredentialKey key, String provider, String resource, java.util.List<String> scopes,
      long now, java.time.Instant expiresAt, Secrets secrets) {
    long expiry = expiresAt != null ? expiresAt.toEpochMilli()
        : secrets.refreshToken() != null ? now + DEFAULT_LIFETIME.toMillis() : Long.MAX_VALUE;
    return CredentialFields.of(provider, resource, scopes, now, expiry, secrets.refreshToken() != null,
        sealer.seal(key, secrets, writeFormat.getAsInt()));
  }
}
