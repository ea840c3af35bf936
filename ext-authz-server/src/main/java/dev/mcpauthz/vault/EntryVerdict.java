package dev.mcpauthz.vault;

/**
 * What a vault entry processor did, decided atomically on the partition owner.
 *
 * @param record the entry after the processor ran (null when there is no credential)
 * @param applied whether the processor changed the entry as asked (lease granted, CAS won, ...)
 * @param takeover a lease was granted over a lapsed lease of another refresher
 * @param ownerNow the owner's clock when it decided; lease expiries compare against it
 */
public record EntryVerdict(VaultRecord record, boolean applied, boolean takeover, long ownerNow) {}
