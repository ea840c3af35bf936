package dev.mcpauthz.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Check-path meters: {@code mcp_authz_check_duration_seconds} (histogram) and {@code
 * mcp_authz_decisions_total{outcome,reason,server}}. Counters are looked up in a map keyed by a
 * small record so recording a decision does not rebuild meter ids.
 */
public final class CheckMetrics {
  private record Key(String outcome, String reason, String server) {}

  private final MeterRegistry registry;
  private final Timer checkTimer;
  private final ConcurrentHashMap<Key, Counter> decisions = new ConcurrentHashMap<>();

  public CheckMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.checkTimer = Timer.builder("mcp.authz.check.duration")
        .description("Time from Check received to response sent")
        .publishPercentileHistogram()
        .minimumExpectedValue(java.time.Duration.ofNanos(20_000))
        .maximumExpectedValue(java.time.Duration.ofSeconds(2))
        .register(registry);
  }

  public void record(String outcome, String reason, String server, long nanos) {
    checkTimer.record(nanos, TimeUnit.NANOSECONDS);
    Key key = new Key(outcome, reason, server == null ? "" : server);
    Counter c = decisions.get(key);
    if (c == null) {
      c = decisions.computeIfAbsent(key, k -> Counter.builder("mcp.authz.decisions")
          .description("Check decisions by outcome and reason")
          .tag("outcome", k.outcome()).tag("reason", k.reason()).tag("server", k.server())
          .register(registry));
    }
    c.increment();
  }

  public Timer checkTimer() {
    return checkTimer;
  }
}
