package dev.mcpauthz.decision;

/** The only three reasons that justify a consent prompt (see the consent decision table). */
public enum ConsentReason {
  /** No credential for this user and server yet. */
  FIRST_CONSENT,
  /** The call needs upstream scopes the stored credential was not granted. */
  SCOPE_ESCALATION,
  /** The provider rejected the refresh token on the current record version. */
  REVOKED;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
