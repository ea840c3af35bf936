package dev.mcpauthz.vault;

import java.util.Map;

/**
 * Grants the refresh lease for the record version the caller saw expiring (issue 3 item 4). Not
 * granted when the version moved on (someone already refreshed: use the new record), when the
 * credential is revoked or gone, or while another refresher's lease is live. A lapsed lease is
 * taken over.
 */
final class AcquireLease extends VaultEntryProcessor {
  private static final long serialVersionUID = 1L;

  private final long observedVersion;
  private final String holder;
  private final String leaseId;
  private final long leaseMillis;

  AcquireLease(long observedVersion, String holder, String leaseId, long leaseMillis) {
    this.observedVersion = observedVersion;
    this.holder = holder;
    this.leaseId = leaseId;
    this.leaseMillis = leaseMillis;
  }

  @Override
  EntryVerdict apply(Map.Entry<CredentialKey, VaultRecord> entry, VaultRecord r, long now) {
    if (r == null || r.version() != observedVersion || r.status() != CredentialStatus.ACTIVE) {
      return unchanged(r, now);
    }
    Lease held = r.lease();
    if (held != null && held.expiresAt() > now) {
      return new EntryVerdict(r, held.id().equals(leaseId), false, now);
    }
    VaultRecord next = r.withLease(new Lease(holder, leaseId, now + leaseMillis));
    entry.setValue(next);
    return new EntryVerdict(next, true, held != null, now);
  }
}
