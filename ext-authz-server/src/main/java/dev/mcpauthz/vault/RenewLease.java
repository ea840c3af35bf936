package dev.mcpauthz.vault;

import java.util.Map;

/** Extends a lease its holder still owns, so a slow token endpoint never lets a second refresher in. */
final class RenewLease extends VaultEntryProcessor {
  private static final long serialVersionUID = 1L;

  private final String leaseId;
  private final long leaseMillis;

  RenewLease(String leaseId, long leaseMillis) {
    this.leaseId = leaseId;
    this.leaseMillis = leaseMillis;
  }

  @Override
  EntryVerdict apply(Map.Entry<CredentialKey, VaultRecord> entry, VaultRecord r, long now) {
    if (r == null || r.lease() == null || !r.lease().id().equals(leaseId)) {
      return unchanged(r, now);
    }
    VaultRecord next = r.withLease(new Lease(r.lease().holder(), leaseId, now + leaseMillis));
    entry.setValue(next);
    return new EntryVerdict(next, true, false, now);
  }
}
