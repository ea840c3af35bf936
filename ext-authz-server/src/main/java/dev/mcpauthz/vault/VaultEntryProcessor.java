package dev.mcpauthz.vault;

import com.hazelcast.map.EntryProcessor;
import java.util.Map;

/**
 * Base of the vault's entry processors. They run on the partition owner, one at a time per key,
 * which is what makes lease acquisition and version compare-and-set atomic without a CP lock (ADR
 * 0005). Time is the owner's wall clock, read once and pinned, so the backup replica replays the
 * very same decision instead of re-reading its own clock.
 */
abstract class VaultEntryProcessor implements EntryProcessor<CredentialKey, VaultRecord, EntryVerdict> {
  private static final long serialVersionUID = 1L;

  private long decidedAt = -1;
  private boolean replay;

  @Override
  public final EntryVerdict process(Map.Entry<CredentialKey, VaultRecord> entry) {
    long now = replay && decidedAt >= 0 ? decidedAt : System.currentTimeMillis();
    decidedAt = now;
    return apply(entry, entry.getValue(), now);
  }

  abstract EntryVerdict apply(Map.Entry<CredentialKey, VaultRecord> entry, VaultRecord current, long ownerNow);

  /** Called on the primary after {@link #process}; the copy sent to backups replays at the pinned time. */
  @Override
  public EntryProcessor<CredentialKey, VaultRecord, EntryVerdict> getBackupProcessor() {
    replay = true;
    return this;
  }

  static EntryVerdict unchanged(VaultRecord current, long now) {
    return new EntryVerdict(current, false, false, now);
  }
}
