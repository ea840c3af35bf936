package dev.mcpauthz.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Consent telemetry (issue 4 item 6):
 * <ul>
 *   <li>{@code mcp_authz_consent_prompts_total{reason,provider,server,mode}}: prompts rendered;
 *   <li>{@code mcp_authz_consent_elicitations_total{reason,provider,server}}: distinct consent links
 *       minted (a re-sent pending link counts once);
 *   <li>{@code mcp_authz_consent_outcomes_total{outcome,provider,server}}: what became of them
 *       ({@code completed}, {@code denied}, {@code expired}, {@code refused}, {@code failed}), so
 *       the completion rate is completed / elicitations;
 *   <li>{@code mcp_authz_consent_resumes_total{outcome,reason,provider,server}}: resumed calls;
 *   <li>{@code mcp_authz_consent_resume_delay_seconds{provider,server}}: prompt → resumed call.
 * </ul>
 */
public final class ConsentMetrics {
  private record Key(String a, String b, String c, String d) {}

  private final MeterRegistry registry;
  private final ConcurrentHashMap<Key, Counter> prompts = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, Counter> minted = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, Counter> outcomes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, Counter> resumes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, Timer> delays = new ConcurrentHashMap<>();

  public ConsentMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public void prompted(String reason, String provider, String server, String mode) {
    prompts.computeIfAbsent(new Key(reason, provider, server, mode), k -> Counter.builder("mcp.authz.consent.prompts")
        .description("Consent prompts sent to clients, by why, where and how")
        .tag("reason", k.a()).tag("provider", k.b()).tag("server", k.c()).tag("mode", k.d())
        .register(registry)).increment();
  }

  public void minted(String reason, String provider, String server) {
    minted.computeIfAbsent(new Key(reason, provider, server, ""), k -> Counter.builder("mcp.authz.consent.elicitations")
        .description("Distinct consent links minted (re-sending a pending link does not count)")
        .tag("reason", k.a()).tag("provider", k.b()).tag("server", k.c())
        .register(registry)).increment();
  }

  public void outcome(String outcome, String provider, String server) {
    outcomes.computeIfAbsent(new Key(outcome, provider, server, ""), k -> Counter.builder("mcp.authz.consent.outcomes")
        .description("Consent flows by how they ended")
        .tag("outcome", k.a()).tag("provider", k.b()).tag("server", k.c())
        .register(registry)).increment();
  }

  public void resumed(String outcome, String reason, String provider, String server) {
    resumes.computeIfAbsent(new Key(outcome, reason, provider, server), k -> Counter.builder("mcp.authz.consent.resumes")
        .description("Calls resumed after consent (succeeded) or not (failed), by reason")
        .tag("outcome", k.a()).tag("reason", k.b()).tag("provider", k.c()).tag("server", k.d())
        .register(registry)).increment();
  }

  public void resumeDelay(String provider, String server, Duration delay) {
    delays.computeIfAbsent(new Key(provider, server, "", ""), k -> Timer.builder("mcp.authz.consent.resume.delay")
        .description("Time from the consent prompt to the resumed call")
        .tag("provider", k.a()).tag("server", k.b())
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofSeconds(1)).maximumExpectedValue(Duration.ofHours(1))
        .register(registry)).record(delay);
  }
}
