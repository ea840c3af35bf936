package dev.mcpauthz.policy;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The policy's answer for one Check: one {@link PolicyResult} per governed JSON-RPC message (a
 * 2025-03-26 batch has several), plus the policy version in force. Carried on the Decision so the
 * ingress records it and the token vault can ask for {@link #upstreamScopes()}.
 *
 * @param results empty when the policy was not evaluated (no JSON-RPC method, the request was
 *     refused before policy, or the server has no policy file)
 */
public record PolicyVerdict(String version, String server, List<PolicyResult> results) {
  public PolicyVerdict {
    results = List.copyOf(results);
  }

  public static PolicyVerdict notEvaluated(String version, String server) {
    return new PolicyVerdict(version, server, List.of());
  }

  public boolean evaluated() {
    return !results.isEmpty();
  }

  /** DENY when any message is denied, else ALLOW (also when not evaluated). */
  public Effect effect() {
    for (PolicyResult r : results) {
      if (r.effect() == Effect.DENY) {
        return Effect.DENY;
      }
    }
    return Effect.ALLOW;
  }

  /** The result that decided: the first denied message, else the first message; null if none. */
  public PolicyResult deciding() {
    for (PolicyResult r : results) {
      if (r.effect() == Effect.DENY) {
        return r;
      }
    }
    return results.isEmpty() ? null : results.get(0);
  }

  /** Rule id(s) for the decision record: the deciding rule, or for an allowed batch every distinct rule. */
  public String ruleId() {
    if (results.isEmpty()) {
      return "";
    }
    if (effect() == Effect.DENY || results.size() == 1) {
      return deciding().ruleId();
    }
    Set<String> ids = new LinkedHashSet<>();
    results.forEach(r -> ids.add(r.ruleId()));
    return String.join(",", ids);
  }

  /** Client-token scopes the allowing rules require (ordered, distinct); empty on deny. */
  public List<String> scopes() {
    Set<String> out = new LinkedHashSet<>();
    if (effect() == Effect.ALLOW) {
      for (PolicyResult r : results) {
        if (r.rule() != null) {
          out.addAll(r.rule().scopes());
        }
      }
    }
    return List.copyOf(out);
  }

  /** Upstream-provider scopes the allowing rules require (for the token vault); empty on deny. */
  public List<String> upstreamScopes() {
    Set<String> out = new LinkedHashSet<>();
    if (effect() == Effect.ALLOW) {
      for (PolicyResult r : results) {
        if (r.rule() != null) {
          out.addAll(r.rule().upstreamScopes());
        }
      }
    }
    return List.copyOf(out);
  }

  /** Every scope the call needs: the server's required scopes ∪ the allowing rules' scopes, in that order. */
  public List<String> neededScopes(Collection<String> serverRequired) {
    Set<String> out = new LinkedHashSet<>(serverRequired);
    out.addAll(scopes());
    return List.copyOf(out);
  }

  /** The gateway's answer to a call with these token scopes: shared by the Check path and the CLI. */
  public Judgement judge(Collection<String> serverRequired, Set<String> tokenScopes) {
    List<String> needed = neededScopes(serverRequired);
    if (!tokenScopes.containsAll(serverRequired)) {
      return new Judgement(Judgement.Kind.INSUFFICIENT_SCOPE, needed);
    }
    if (effect() == Effect.DENY) {
      return new Judgement(Judgement.Kind.DENY, needed);
    }
    if (!tokenScopes.containsAll(needed)) {
      return new Judgement(Judgement.Kind.INSUFFICIENT_SCOPE, needed);
    }
    return new Judgement(Judgement.Kind.ALLOW, needed);
  }

  /**
   * @param scopes every scope the call needs (named together in one challenge when insufficient)
   */
  public record Judgement(Kind kind, List<String> scopes) {
    public enum Kind {
      ALLOW,
      DENY,
      INSUFFICIENT_SCOPE;

      public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
      }
    }
  }
}
