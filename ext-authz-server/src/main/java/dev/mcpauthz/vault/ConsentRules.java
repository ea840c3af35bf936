package dev.mcpauthz.vault;

import dev.mcpauthz.decision.ConsentReason;
import java.util.Objects;

/** The only situations that justify a consent prompt, judged from non-secret metadata alone. */
final class ConsentRules {
  private ConsentRules() {}

  /** @return the consent the call needs, or null when the stored credential fits the call */
  static VaultLookup.ConsentNeeded check(VaultRecord r, Need need) {
    if (r == null) {
      return new VaultLookup.ConsentNeeded(ConsentReason.FIRST_CONSENT, need.provider(), need.scopes());
    }
    // RFC 8707: a token issued for another resource (or provider) is never injected; it counts as
    // no credential for this server, so the user consents for the right resource.
    if (!r.provider().equals(need.provider()) || !Objects.equals(r.resource(), need.resource())) {
      return new VaultLookup.ConsentNeeded(ConsentReason.FIRST_CONSENT, need.provider(), need.scopes());
    }
    if (r.status() == CredentialStatus.REVOKED) {
      return new VaultLookup.ConsentNeeded(ConsentReason.REVOKED, need.provider(), Need.union(r.scopes(), need.scopes()));
    }
    if (!r.scopes().containsAll(need.scopes())) {
      return new VaultLookup.ConsentNeeded(
          ConsentReason.SCOPE_ESCALATION, need.provider(), Need.union(r.scopes(), need.scopes()));
    }
    return null;
  }
}
