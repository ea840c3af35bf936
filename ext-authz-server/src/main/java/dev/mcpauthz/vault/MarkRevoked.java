package dev.mcpauthz.vault;

import java.util.Map;

/**
 * Rotation rule (issue 3 item 4/6): a provider's "revoked" counts only for the refresh token that is
 * still current, i.e. when the record is still at the version the refresh used. If another replica
 * rotated meanwhile, nothing changes and the caller gets the newer record to use instead. {@code
 * expectedVersion < 0} revokes unconditionally (a user or operator disconnect).
 */
final class MarkRevoked extends VaultEntryProcessor {
  private static final long serialVersionUID = 1L;

  static final long ANY_VERSION = -1;

  private final long expectedVersion;

  MarkRevoked(long expectedVersion) {
    this.expectedVersion = expectedVersion;
  }

  @Override
  EntryVerdict apply(Map.Entry<CredentialKey, VaultRecord> entry, VaultRecord r, long now) {
    if (r == null || r.status() != CredentialStatus.ACTIVE
        || (expectedVersion != ANY_VERSION && r.version() != expectedVersion)) {
      return unchanged(r, now);
    }
    VaultRecord next = r.revoked();
    entry.setValue(next);
    return new EntryVerdict(next, true, false, now);
  }
}
