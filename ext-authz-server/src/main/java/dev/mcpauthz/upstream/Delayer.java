package dev.mcpauthz.upstream;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Completes a future after a delay without holding a thread. Retries are scheduled through it, so
 * tests can substitute a delayer that records the requested delays and advances a mutable clock.
 */
@FunctionalInterface
public interface Delayer {
  CompletableFuture<Void> after(Duration delay);

  /**
   * A delayer on a scheduler: the timer thread only hands the completion to {@code executor}, so
   * the next attempt (request signing included) never runs on the timer thread.
   */
  static ScheduledDelayer on(ScheduledExecutorService scheduler, Executor executor) {
    return new ScheduledDelayer(scheduler, executor);
  }
}
