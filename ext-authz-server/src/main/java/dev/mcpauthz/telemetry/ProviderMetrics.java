package dev.mcpauthz.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;

/**
 * Upstream token-endpoint meters, all low-cardinality (providers are configured, reasons and
 * outcomes are fixed sets):
 *
 * <ul>
 *   <li>{@code mcp_authz_provider_token_requests_total{provider,grant,outcome,reason}}: one per
 *       HTTP attempt (outcome success, retry, revoked, failed), plus failed with reason
 *       circuit_open / discovery for operations that never reached the token endpoint;
 *   <li>{@code mcp_authz_provider_token_request_duration_seconds{provider}}: latency of each attempt;
 *   <li>{@code mcp_authz_provider_circuit_state{provider}}: 0 closed, 1 open, 2 half-open.
 * </ul>
 */
public final class ProviderMetrics {
  private record Key(String provider, String grant, String outcome, String reason) {}

  private final MeterRegistry registry;
  private final ConcurrentHashMap<Key, Counter> requests = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Timer> latency = new ConcurrentHashMap<>();

  public ProviderMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * @param grant refresh_token or authorization_code
   * @param outcome success, retry, revoked or failed
   * @param reason the normalised error or failure reason; "ok" on success
   */
  public void request(String provider, String grant, String outcome, String reason) {
    Key key = new Key(provider, grant, outcome, reason);
    Counter c = requests.get(key);
    if (c == null) {
      c = requests.computeIfAbsent(key, k -> Counter.builder("mcp.authz.provider.token.requests")
          .description("Upstream token-endpoint requests by provider, grant, outcome and reason")
          .tag("provider", k.provider()).tag("grant", k.grant()).tag("outcome", k.outcome()).tag("reason", k.reason())
          .register(registry));
    }
    c.increment();
  }

  public void latency(String provider, Duration elapsed) {
    latency.computeIfAbsent(provider, p -> Timer.builder("mcp.authz.provider.token.request.duration")
        .description("Upstream token-endpoint request latency, per attempt")
        .tag("provider", p)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(30))
        .register(registry)).record(elapsed);
  }

  /** Registers the breaker's state gauge (0 closed, 1 open, 2 half-open) for a provider. */
  public void circuit(String provider, IntSupplier state) {
    Gauge.builder("mcp.authz.provider.circuit.state", state, s -> s.getAsInt())
        .description("Token-endpoint circuit breaker: 0 closed, 1 open, 2 half-open")
        .tag("provider", provider)
        .strongReference(true)
        .register(registry);
  }
}
