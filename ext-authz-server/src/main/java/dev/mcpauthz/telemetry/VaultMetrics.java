package dev.mcpauthz.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Token vault meters (issue 3 item 8):
 *
 * <ul>
 *   <li>{@code mcp_authz_vault_refresh_attempts_total{outcome=success|retry|revoked|failed}}: token
 *       endpoint attempts; the retries a refresher needed count as {@code retry}
 *   <li>{@code mcp_authz_vault_refresh_time_to_expiry_seconds}: histogram of the access token's
 *       remaining lifetime when its refresh started (0 when already expired)
 *   <li>{@code mcp_authz_vault_singleflight_deduplicated_total}: callers that joined a refresh
 *       already in flight on this member instead of starting one
 *   <li>{@code mcp_authz_vault_lease_takeovers_total}, {@code mcp_authz_vault_lease_renewals_total}
 *   <li>{@code mcp_authz_vault_refresh_fenced_total}: refresh results dropped because the record
 *       version had moved on (a stale refresher)
 *   <li>{@code mcp_authz_vault_refresh_rotation_resolved_total}: "revoked" answers resolved by
 *       re-reading the vault after another replica rotated (never reported as revocation)
 *   <li>{@code mcp_authz_vault_lookups_total{result}}: Check-path lookups by result
 * </ul>
 */
public final class VaultMetrics {
  private final MeterRegistry registry;
  private final Counter success;
  private final Counter retry;
  private final Counter revoked;
  private final Counter failed;
  private final DistributionSummary timeToExpiry;
  private final Counter deduplicated;
  private final Counter takeovers;
  private final Counter renewals;
  private final Counter fenced;
  private final Counter rotationResolved;
  private final ConcurrentHashMap<String, Counter> lookups = new ConcurrentHashMap<>();

  public VaultMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.success = attempts(registry, "success");
    this.retry = attempts(registry, "retry");
    this.revoked = attempts(registry, "revoked");
    this.failed = attempts(registry, "failed");
    this.timeToExpiry = DistributionSummary.builder("mcp.authz.vault.refresh.time_to_expiry")
        .description("Remaining access-token lifetime when its refresh started")
        .baseUnit("seconds")
        .publishPercentileHistogram()
        .minimumExpectedValue(1.0)
        .maximumExpectedValue(86_400.0)
        .register(registry);
    this.deduplicated = Counter.builder("mcp.authz.vault.singleflight.deduplicated")
        .description("Callers that joined a refresh already in flight").register(registry);
    this.takeovers = Counter.builder("mcp.authz.vault.lease.takeovers")
        .description("Refresh leases taken over after the holder's lease lapsed").register(registry);
    this.renewals = Counter.builder("mcp.authz.vault.lease.renewals")
        .description("Refresh lease renewals while a refresh was running").register(registry);
    this.fenced = Counter.builder("mcp.authz.vault.refresh.fenced")
        .description("Refresh results not written because the record version had moved on").register(registry);
    this.rotationResolved = Counter.builder("mcp.authz.vault.refresh.rotation_resolved")
        .description("Provider 'revoked' answers resolved by a rotation another replica made").register(registry);
  }

  private static Counter attempts(MeterRegistry registry, String outcome) {
    return Counter.builder("mcp.authz.vault.refresh.attempts")
        .description("Token-endpoint refresh attempts by outcome")
        .tag("outcome", outcome)
        .register(registry);
  }

  public void refreshSucceeded(int attempts) {
    success.increment();
    retry.increment(Math.max(0, attempts - 1));
  }

  public void refreshFailed(int attempts) {
    failed.increment();
    retry.increment(Math.max(0, attempts - 1));
  }

  public void refreshRevoked() {
    revoked.increment();
  }

  public void timeToExpiryAtTrigger(long millis) {
    timeToExpiry.record(Math.max(0, millis) / 1000.0);
  }

  public void deduplicated() {
    deduplicated.increment();
  }

  public void leaseTakeover() {
    takeovers.increment();
  }

  public void leaseRenewed() {
    renewals.increment();
  }

  public void fenced() {
    fenced.increment();
  }

  public void rotationResolved() {
    rotationResolved.increment();
  }

  /** @param result granted, consent_first_consent, consent_scope_escalation, consent_revoked, unavailable */
  public void lookup(String result) {
    Counter c = lookups.get(result);
    if (c == null) {
      c = lookups.computeIfAbsent(result, r -> Counter.builder("mcp.authz.vault.lookups")
          .description("Vault lookups on the Check path by result").tag("result", r).register(registry));
    }
    c.increment();
  }
}
