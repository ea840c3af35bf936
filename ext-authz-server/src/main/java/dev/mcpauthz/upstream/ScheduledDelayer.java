package dev.mcpauthz.upstream;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * {@link Delayer} on a {@link ScheduledExecutorService}. {@link #close()} stops the scheduler and
 * cancels every wait in progress, so a caller whose retry was waiting gets an outcome (reason
 * {@code shutdown}) instead of a future that never completes.
 */
public final class ScheduledDelayer implements Delayer, AutoCloseable {
  private final ScheduledExecutorService scheduler;
  private final Executor executor;
  private final Set<CompletableFuture<Void>> waiting = ConcurrentHashMap.newKeySet();

  ScheduledDelayer(ScheduledExecutorService scheduler, Executor executor) {
    this.scheduler = scheduler;
    this.executor = executor;
  }

  @Override
  public CompletableFuture<Void> after(Duration delay) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    waiting.add(done);
    done.whenComplete((v, e) -> waiting.remove(done));
    try {
      scheduler.schedule(() -> executor.execute(() -> done.complete(null)),
          Math.max(0, delay.toNanos()), TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException closed) {
      done.completeExceptionally(new CancellationException("shutting down"));
    }
    return done;
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
    waiting.forEach(f -> f.completeExceptionally(new CancellationException("shutting down")));
  }
}
