package dev.mcpauthz.vault;

import java.util.Map;

/**
 * Fencing (issue 3 item 4): writes refreshed tokens only when the record is still at the version
 * the refresh started from. A stale refresher (its lease lapsed and someone else refreshed, or a
 * new consent was stored meanwhile) gets the newer record back and its tokens are dropped.
 */
final class CompleteRefresh extends VaultEntryProcessor {
  private static final long serialVersionUID = 1L;

  private final long expectedVersion;
  private final CredentialFields fields;

  CompleteRefresh(long expectedVersion, CredentialFields fields) {
    this.expectedVersion = expectedVersion;
    this.fields = fields;
  }

  @Override
  EntryVerdict apply(Map.Entry<CredentialKey, VaultRecord> entry, VaultRecord r, long now) {
    if (r == null || r.version() != expectedVersion || r.status() != CredentialStatus.ACTIVE) {
      return unchanged(r, now);
    }
    VaultRecord next = VaultRecord.next(r, fields);
    entry.setValue(next);
    return new EntryVerdict(next, true, false, now);
  }
}
