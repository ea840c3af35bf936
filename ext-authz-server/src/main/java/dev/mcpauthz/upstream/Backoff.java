package dev.mcpauthz.upstream;

import dev.mcpauthz.config.AuthzConfig;
import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with full jitter: before retry {@code n} (n = 1 after the first attempt)
 * wait a uniformly random time in [0, min(max_backoff, initial_backoff × 2^(n-1))).
 *
 * @param random uniform in [0, 1); injectable so tests get deterministic delays
 */
record Backoff(Duration initial, Duration max, DoubleSupplier random) {
  static Backoff of(AuthzConfig.Retry retry, DoubleSupplier random) {
    return new Backoff(retry.initialBackoff(), retry.maxBackoff(), random);
  }

  /** The upper bound of the wait before retry {@code n}. */
  Duration cap(int n) {
    long initialNanos = initial.toNanos();
    int shift = Math.min(Math.max(n - 1, 0), 40);
    long grown = initialNanos > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : initialNanos << shift;
    return Duration.ofNanos(Math.min(grown, max.toNanos()));
  }

  /** The jittered wait before retry {@code n}. */
  Duration delay(int n) {
    double r = Math.min(Math.max(random.getAsDouble(), 0.0), 1.0);
    return Duration.ofNanos((long) (cap(n).toNanos() * r));
  }
}
