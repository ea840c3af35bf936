package dev.mcpauthz.upstream;

import java.util.concurrent.CompletableFuture;

/**
 * Calls a provider's token endpoint with the refresh_token grant. Implementations retry transient
 * failures themselves (bounded), normalise the provider's error contract and never throw: every
 * result, including a network failure, is a {@link RefreshOutcome}. The future completes off the
 * caller's thread; callers must not block on it from a gRPC thread.
 */
public interface TokenRefresher {
  CompletableFuture<RefreshOutcome> refresh(RefreshRequest request);
}
