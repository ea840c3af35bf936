package dev.mcpauthz.decision;

import dev.mcpauthz.authn.Principal;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The Check path's view of the token vault. Implementations answer from a local near cache
 * without blocking; a refresh in flight completes the future later, off the gRPC thread.
 */
public interface UpstreamCredentials {
  /**
   * @param neededScopes upstream scopes this call needs (the server's upstream scopes plus what
   *     per-tool policy adds)
   */
  CompletableFuture<UpstreamAccess> access(
      Principal user, McpServerRoute server, List<String> neededScopes, String decisionId);
}
