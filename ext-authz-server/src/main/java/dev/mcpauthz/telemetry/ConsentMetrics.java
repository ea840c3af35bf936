package dev.mcpauthz.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
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
  private final MeterRegistry registry;
  private final ConcurrentHashMap<List<String>, Counter> prompts = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<List<String>, Counter> minted = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<List<String>, Counter> outcomes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<List<String>, Counter> resumes = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<List<String>, Timer> delays = new ConcurrentHashMap<>();

  public ConsentMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  public void prompted(String reason, String provider, String server, String mode) {
    count(prompts, "mcp.authz.consent.prompts", "Consent prompts sent to clients, by why, where and how",
        "reason", reason, "provider", provider, "server", server, "mode", mode);
  }

  public void minted(String reason, String provider, String server) {
    count(minted, "mcp.authz.consent.elicitations", "Distinct consent links minted (re-sending a pending link does not count)",
        "reason", reason, "provider", provider, "server", server);
  }

  public void outcome(String outcome, String provider, String server) {
    count(outcomes, "mcp.authz.consent.outcomes", "Consent flows by how they ended",
        "outcome", outcome, "provider", provider, "server", server);
  }

  public void resumed(String outcome, String reason, String provider, String server) {
    count(resumes, "mcp.authz.consent.resumes", "Calls resumed after consent (succeeded) or not (failed), by reason",
        "outcome", outcome, "reason", reason, "provider", provider, "server", server);
  }

  /** One counter per tag combination, registered on first use; {@code tags} alternate name, value. */
  private void count(ConcurrentHashMap<List<String>, Counter> counters, String name, String description,
      String... tags) {
    counters.computeIfAbsent(List.of(tags), k -> Counter.builder(name).description(description).tags(tags)
        .register(registry)).increment();
  }

  public void resumeDelay(String provider, String server, Duration delay) {
    delays.computeIfAbsent(List.of(provider, server), k -> Timer.builder("mcp.authz.consent.resume.delay")
        .description("Time from the consent prompt to the resumed call")
        .tag("provider", provider).tag("server", server)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofSeconds(1)).maximumExpectedValue(Duration.ofHours(1))
        .register(registry)).record(delay);
  }
}
