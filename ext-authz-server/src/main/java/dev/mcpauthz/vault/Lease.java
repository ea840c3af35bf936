package dev.mcpauthz.vault;

/**
 * The right to refresh one credential, held by one member (issue 3 item 4). {@code expiresAt} is
 * in the clock of the member that owns the entry's partition: only that member's entry processors
 * read or write a lease, so every decision about one lease is taken on one clock (ADR 0005).
 *
 * @param holder member UUID of the refresher (diagnostics)
 * @param id random id of this one lease; renewals and releases must present it
 */
public record Lease(String holder, String id, long expiresAt) {}
