package dev.mcpauthz.vault;

import java.util.Objects;

/**
 * Identifies one vault credential: one per (user, MCP server) (issue 3 item 1). The user is the
 * verified inbound identity: issuer plus subject, since subjects are only unique per issuer.
 */
public record CredentialKey(String issuer, String subject, String serverId) {
  public CredentialKey {
    Objects.requireNonNull(issuer, "issuer");
    Objects.requireNonNull(subject, "subject");
    Objects.requireNonNull(serverId, "serverId");
  }
}
