package dev.mcpauthz.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.ConcurrentHashMap;

/** {@code mcp_authz_consent_prompts_total{reason,provider,server,mode}}: consent prompts rendered. */
public final class ConsentMetrics {
  private record Key(String reason, String provider, String server, String mode) {}

  private final MeterRegistry registry;
  private final ConcurrentHashMap<Key, Counter> prompts = new ConcurrentHashMap<>();

  public ConsentMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public void prompted(String reason, String provider, String server, String mode) {
    prompts.computeIfAbsent(new Key(reason, provider, server, mode), k -> Counter.builder("mcp.authz.consent.prompts")
        .description("Consent prompts sent to clients, by why, where and how")
        .tag("reason", k.reason()).tag("provider", k.provider()).tag("server", k.server()).tag("mode", k.mode())
        .register(registry)).increment();
  }
}
