package dev.mcpauthz.vault;

import java.time.Duration;

/**
 * Refresh-ahead (issue 3 item 3): refresh in the background once less than max(min, fraction ×
 * lifetime) remains. The window is capped at half the lifetime, so a token shorter than {@code
 * min} is not refreshed on every single use.
 */
record RefreshWindow(Duration min, double fraction) {

  /** Epoch millis from which the record should be refreshed; {@link Long#MAX_VALUE} for never. */
  long refreshAt(VaultRecord r) {
    if (r.expiresAt() == Long.MAX_VALUE) {
      return Long.MAX_VALUE;
    }
    long lifetime = r.lifetimeMillis();
    long window = Math.max(min.toMillis(), (long) (fraction * lifetime));
    return r.expiresAt() - Math.min(window, lifetime / 2);
  }
}
