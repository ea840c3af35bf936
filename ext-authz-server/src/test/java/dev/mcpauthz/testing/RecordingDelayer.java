package dev.mcpauthz.testing;

import dev.mcpauthz.upstream.Delayer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A {@link Delayer} for tests: records every requested delay, advances the {@link MutableClock} by
 * it and continues at once, so retry schedules are asserted exactly and run in no real time.
 */
public final class RecordingDelayer implements Delayer {
  private final MutableClock clock;
  private final List<Duration> delays = new CopyOnWriteArrayList<>();

  public RecordingDelayer(MutableClock clock) {
    this.clock = clock;
  }

  @Override
  public CompletableFuture<Void> after(Duration delay) {
    delays.add(delay);
    clock.advance(delay);
    return CompletableFuture.completedFuture(null);
  }

  public List<Duration> delays() {
    return List.copyOf(delays);
  }
}
