package dev.mcpauthz.vault;

import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.McpServerRoute;
import dev.mcpauthz.decision.UpstreamAccess;
import dev.mcpauthz.decision.UpstreamCredentials;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** The Check path's seam to the vault: the verified user and the routed server name the credential. */
public final class VaultUpstreamCredentials implements UpstreamCredentials {
  private final VaultService vault;

  public VaultUpstreamCredentials(VaultService vault) {
    this.vault = vault;
  }

  public static CredentialKey keyFor(Principal user, McpServerRoute server) {
    return new CredentialKey(user.issuer(), user.subject(), server.id());
  }

  @Override
  public CompletableFuture<UpstreamAccess> access(
      Principal user, McpServerRoute server, List<String> neededScopes, String decisionId) {
    AuthzConfig.Upstream upstream = server.config().upstream();
    if (upstream == null) {
      return CompletableFuture.failedFuture(new IllegalArgumentException(server.id() + " has no upstream"));
    }
    CompletableFuture<VaultLookup> lookup = vault.credentialFor(keyFor(user, server), upstream, neededScopes, decisionId);
    if (lookup.isDone() && !lookup.isCompletedExceptionally()) {
      return CompletableFuture.completedFuture(lookup.join().toAccess());
    }
    return lookup.thenApply(VaultLookup::toAccess);
  }
}
