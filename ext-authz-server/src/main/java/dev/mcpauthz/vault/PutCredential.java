package dev.mcpauthz.vault;

import java.util.Map;

/** Stores the tokens of a (new) consent as the next version; any refresh still running is fenced out. */
final class PutCredential extends VaultEntryProcessor {
  private static final long serialVersionUID = 1L;

  private final CredentialFields fields;

  PutCredential(CredentialFields fields) {
    this.fields = fields;
  }

  @Override
  EntryVerdict apply(Map.Entry<CredentialKey, VaultRecord> entry, VaultRecord r, long now) {
    VaultRecord next = VaultRecord.next(r, fields);
    entry.setValue(next);
    return new EntryVerdict(next, true, false, now);
  }
}
