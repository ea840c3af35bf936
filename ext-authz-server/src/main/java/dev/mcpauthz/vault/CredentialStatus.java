package dev.mcpauthz.vault;

/** Whether a vault credential can still be used or refreshed. */
public enum CredentialStatus {
  ACTIVE,
  /** The provider rejected the refresh token of this very record version (issue 3 item 6). */
  REVOKED
}
