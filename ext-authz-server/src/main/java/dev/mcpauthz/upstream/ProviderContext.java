package dev.mcpauthz.upstream;

import dev.mcpauthz.telemetry.ProviderMetrics;
import java.net.http.HttpClient;
import java.time.Clock;
import java.util.function.DoubleSupplier;

/**
 * What every {@link ProviderClient} shares: one HTTP client, one delayer for retries, the clock
 * (backoff budget, breaker, token expiry), the jitter source and the meters.
 *
 * @param random uniform in [0, 1) for backoff jitter
 */
public record ProviderContext(
    HttpClient http, Delayer delayer, Clock clock, DoubleSupplier random, ProviderMetrics metrics) {}
