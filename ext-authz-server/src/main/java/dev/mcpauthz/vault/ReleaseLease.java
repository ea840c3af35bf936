package dev.mcpauthz.vault;

import java.util.Map;

/** Gives a lease back after a transient failure, so the next Check may try again at once. */
final class ReleaseLease extends VaultEntryProcessor {
  private static final long serialVersionUID = 1L;

  private final String leaseId;

  ReleaseLease(String leaseId) {
    this.leaseId = leaseId;
  }

  @Override
  EntryVerdict apply(Map.Entry<CredentialKey, VaultRecord> entry, VaultRecord r, long now) {
    if (r == null || r.lease() == null || !r.lease().id().equals(leaseId)) {
      return unchanged(r, now);
    }
    VaultRecord next = r.withLease(null);
    entry.setValue(next);
    return new EntryVerdict(next, true, false, now);
  }
}
