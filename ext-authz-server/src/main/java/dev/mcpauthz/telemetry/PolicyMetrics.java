package dev.mcpauthz.telemetry;

import dev.mcpauthz.policy.PolicyResult;
import dev.mcpauthz.policy.PolicyStore;
import dev.mcpauthz.policy.PolicyVerdict;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-tool policy meters: {@code mcp_authz_policy_decisions_total{server,rule,effect}} (one per
 * judged JSON-RPC message) and {@code mcp_authz_policy_reloads_total{result=success|failure}}.
 * Rule ids come from the policy files, so the label set is bounded by the rules an operator wrote.
 */
public final class PolicyMetrics {
  private record Key(String server, String rule, String effect) {}

  private final MeterRegistry registry;
  private final ConcurrentHashMap<Key, Counter> decisions = new ConcurrentHashMap<>();
  private final Counter reloadSuccess;
  private final Counter reloadFailure;

  public PolicyMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.reloadSuccess = reloads(registry, "success");
    this.reloadFailure = reloads(registry, "failure");
  }

  private static Counter reloads(MeterRegistry registry, String result) {
    return Counter.builder("mcp.authz.policy.reloads")
        .description("Policy (re)loads by result; a failure keeps the last good policy in force")
        .tag("result", result)
        .register(registry);
  }

  public void record(PolicyVerdict verdict) {
    if (verdict == null) {
      return;
    }
    for (PolicyResult r : verdict.results()) {
      Key key = new Key(verdict.server(), r.ruleId(), r.effect().label());
      Counter c = decisions.get(key);
      if (c == null) {
        c = decisions.computeIfAbsent(key, k -> Counter.builder("mcp.authz.policy.decisions")
            .description("Per-tool policy decisions by server, rule and effect")
            .tag("server", k.server()).tag("rule", k.rule()).tag("effect", k.effect())
            .register(registry));
      }
      c.increment();
    }
  }

  public void reload(PolicyStore.Reload reload) {
    (reload.success() ? reloadSuccess : reloadFailure).increment();
  }
}
