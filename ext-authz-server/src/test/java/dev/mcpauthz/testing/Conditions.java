package dev.mcpauthz.testing;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Bounded polling for a condition another thread or process makes true (a JWKS fetch counted, a
 * cluster formed). Only to observe progress that offers no event to wait on; never as a delay.
 */
public final class Conditions {
  private Conditions() {}

  /** Waits up to 10 s. */
  public static void waitUntil(BooleanSupplier condition) {
    waitUntil(Duration.ofSeconds(10), "condition", condition);
  }

  /** @throws AssertionError naming {@code what} when the condition is still false at the deadline */
  public static void waitUntil(Duration timeout, String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + " not met within " + timeout.toSeconds() + " s");
      }
      LockSupport.parkNanos(Duration.ofMillis(5).toNanos());
      if (Thread.interrupted()) {
        throw new AssertionError("interrupted while waiting for " + what);
      }
    }
  }
}
