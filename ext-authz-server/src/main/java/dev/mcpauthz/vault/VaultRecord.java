package dev.mcpauthz.vault;

import java.util.List;

/**
 * One stored credential: sealed tokens plus the non-secret metadata the Check path judges without
 * decrypting (issue 3 item 1). Immutable; every change of the tokens or the status increments
 * {@code version}, which is the fencing token of ADR 0005. Lease changes keep the version.
 *
 * @param provider upstream provider id
 * @param resource the RFC 8707 resource the tokens were issued for (canonical form), or null
 * @param scopes scopes granted by the provider
 * @param issuedAt when these tokens were obtained (epoch ms); with expiresAt gives the lifetime
 * @param expiresAt access-token expiry (epoch ms); {@link Long#MAX_VALUE} when it never expires
 * @param refreshable whether the sealed value holds a refresh token
 * @param sealed the encrypted tokens; null once revoked
 * @param lease the refresh lease, or null when nobody refreshes
 */
public record VaultRecord(
    long version,
    String provider,
    String resource,
    List<String> scopes,
    long issuedAt,
    long expiresAt,
    boolean refreshable,
    CredentialStatus status,
    SealedCredential sealed,
    Lease lease) {

  public VaultRecord {
    scopes = List.copyOf(scopes);
  }

  public VaultRecord withLease(Lease l) {
    return new VaultRecord(version, provider, resource, scopes, issuedAt, expiresAt, refreshable, status, sealed, l);
  }

  /** Revoked: the tokens are dropped, the version moves on, any lease ends. */
  public VaultRecord revoked() {
    return new VaultRecord(version + 1, provider, resource, scopes, issuedAt, expiresAt, false,
        CredentialStatus.REVOKED, null, null);
  }

  /** New tokens from a refresh or a consent: next version, no lease. */
  public static VaultRecord next(VaultRecord previous, CredentialFields f) {
    long version = previous == null ? 1 : previous.version() + 1;
    return new VaultRecord(version, f.provider(), f.resource(), f.scopes(), f.issuedAt(), f.expiresAt(),
        f.refreshable(), CredentialStatus.ACTIVE, f.sealed(), null);
  }

  public long lifetimeMillis() {
    return expiresAt == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, expiresAt - issuedAt);
  }

  @Override
  public String toString() {
    return "VaultRecord[version=" + version + ", provider=" + provider + ", resource=" + resource + ", scopes="
        + scopes + ", expiresAt=" + expiresAt + ", status=" + status + ", sealed=" + sealed + ", lease=" + lease + "]";
  }
}
