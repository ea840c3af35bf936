package dev.mcpauthz.vault;

/**
 * After a transient refresh failure this member does not call the provider again for the same
 * credential before {@code until} (the provider's Retry-After, or the refresher's backoff).
 */
record Backoff(long until, String reason) {
  int retryAfterSeconds(long now) {
    return (int) Math.max(1, Math.min(3600, (until - now + 999) / 1000));
  }
}
