package dev.mcpauthz.policy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The compiled, immutable policy of one MCP server: its rules in evaluation order and an index so a
 * request only visits the rules that can apply to it.
 *
 * <p>Evaluation is first-match over a precomputed candidate list: by exact method, then by exact
 * name (exact-name rules merged with that method's pattern rules), else that method's pattern rules;
 * method-pattern rules are merged into every list. Each list keeps {@link Rule#order()}, so the
 * index returns exactly what trying every rule in order would.
 *
 * <p>Fail closed: a condition that cannot be evaluated (missing claim, type error, budget exceeded)
 * makes an allow rule not apply and a deny rule apply. A name longer than
 * {@link #MAX_NAME_CHARS} is denied outright. Resource URIs with dot segments ({@code .}, {@code ..},
 * also percent-encoded) never match a resource pattern, so {@code repo://a/**} cannot be escaped.
 */
public final class ServerPolicy {
  /** Rule id recorded when no rule applied and the server's default decided. */
  public static final String DEFAULT_RULE = "default";
  /** Rule id recorded when a name is too long to be matched. */
  public static final String NAME_TOO_LONG_RULE = "_name_too_long";
  public static final int MAX_NAME_CHARS = 8_192;

  private static final Candidate[] NONE = new Candidate[0];

  private final String server;
  private final Effect defaultEffect;
  private final String defaultSource;
  private final List<Rule> rules;
  private final Map<String, MethodIndex> byMethod;
  private final Candidate[] methodPatterns;
  private final boolean needsArguments;
  private final String version;

  /** One rule as a candidate in a list; null globs mean "already known to match". */
  private record Candidate(Rule rule, Glob[] methodGlobs, Glob[] nameGlobs) {}

  private record MethodIndex(Map<String, Candidate[]> byName, Candidate[] fallback) {}

  ServerPolicy(String server, Effect defaultEffect, String defaultSource, List<Rule> orderedRules, String version) {
    this.server = server;
    this.defaultEffect = defaultEffect;
    this.defaultSource = defaultSource;
    this.rules = List.copyOf(orderedRules);
    this.version = version;
    this.needsArguments = rules.stream().anyMatch(r -> r.condition() != null && r.condition().variables().contains("args"));

    Map<String, Map<String, List<Candidate>>> exact = new HashMap<>();
    Map<String, List<Candidate>> perMethod = new HashMap<>();
    List<Candidate> methodGlobbed = new ArrayList<>();
    for (Rule r : rules) {
      String implied = r.impliedMethod();
      boolean segmented = r.kind().equals("resource");
      if (implied != null) {
        List<Glob> globs = new ArrayList<>();
        for (String p : r.patterns()) {
          if (Glob.isPattern(p)) {
            globs.add(Glob.compile(p, segmented));
          } else {
            exact.computeIfAbsent(implied, k -> new HashMap<>()).computeIfAbsent(Glob.unescape(p), k -> new ArrayList<>())
                .add(new Candidate(r, null, null));
          }
        }
        if (!globs.isEmpty()) {
          perMethod.computeIfAbsent(implied, k -> new ArrayList<>()).add(new Candidate(r, null, globs.toArray(Glob[]::new)));
        }
      } else {
        List<Glob> globs = new ArrayList<>();
        for (String p : r.patterns()) {
          if (Glob.isPattern(p)) {
            globs.add(Glob.compile(p, false));
          } else {
            perMethod.computeIfAbsent(Glob.unescape(p), k -> new ArrayList<>()).add(new Candidate(r, null, null));
          }
        }
        if (!globs.isEmpty()) {
          methodGlobbed.add(new Candidate(r, globs.toArray(Glob[]::new), null));
        }
      }
    }
    this.methodPatterns = merge(List.of(methodGlobbed));
    Map<String, MethodIndex> index = new HashMap<>();
    java.util.Set<String> methods = new java.util.HashSet<>(perMethod.keySet());
    methods.addAll(exact.keySet());
    for (String m : methods) {
      Candidate[] fallback = merge(List.of(perMethod.getOrDefault(m, List.of()), methodGlobbed));
      Map<String, Candidate[]> byName = new HashMap<>();
      for (var e : exact.getOrDefault(m, Map.of()).entrySet()) {
        byName.put(e.getKey(), merge(List.of(e.getValue(), Arrays.asList(fallback))));
      }
      index.put(m, new MethodIndex(Map.copyOf(byName), fallback));
    }
    this.byMethod = Map.copyOf(index);
  }

  /** Merges candidate lists by rule order; one candidate per rule, the one needing fewest checks. */
  private static Candidate[] merge(List<List<Candidate>> lists) {
    Map<Rule, Candidate> best = new LinkedHashMap<>();
    for (List<Candidate> l : lists) {
      for (Candidate c : l) {
        best.merge(c.rule(), c, (a, b) -> checks(a) <= checks(b) ? a : b);
      }
    }
    if (best.isEmpty()) {
      return NONE;
    }
    return best.values().stream().sorted(Comparator.comparingInt(c -> c.rule().order())).toArray(Candidate[]::new);
  }

  private static int checks(Candidate c) {
    return (c.methodGlobs() == null ? 0 : 1) + (c.nameGlobs() == null ? 0 : 1);
  }

  public String server() {
    return server;
  }

  public Effect defaultEffect() {
    return defaultEffect;
  }

  /** Where the default comes from: {@code file:line}, or "built-in" (deny). */
  public String defaultSource() {
    return defaultSource;
  }

  /** Every rule, in evaluation order. */
  public List<Rule> rules() {
    return rules;
  }

  public String version() {
    return version;
  }

  /** True when a condition reads {@code args}: only then does the parser keep tool arguments. */
  public boolean needsArguments() {
    return needsArguments;
  }

  /**
   * Decides one JSON-RPC message; null when the message carries no method (a JSON-RPC response,
   * or an HTTP request without a JSON-RPC body, e.g. the GET that opens an SSE stream): those are
   * not governed by per-tool policy.
   */
  public PolicyResult evaluate(PolicyInput in) {
    String method = in.method();
    if (method == null) {
      return null;
    }
    String name = in.name();
    if (name != null && name.length() > MAX_NAME_CHARS) {
      return new PolicyResult(method, name, tooLongRule(), Effect.DENY, null);
    }
    for (Candidate c : candidates(method, name)) {
      if (!matches(c, method, name)) {
        continue;
      }
      Rule r = c.rule();
      if (r.condition() == null) {
        return new PolicyResult(method, name, r, r.effect(), null);
      }
      try {
        if (r.condition().evaluate(in)) {
          return new PolicyResult(method, name, r, r.effect(), null);
        }
      } catch (Condition.ConditionError e) {
        if (r.effect() == Effect.DENY) {
          return new PolicyResult(method, name, r, Effect.DENY, e.getMessage());
        }
      }
    }
    return new PolicyResult(method, name, null, defaultEffect, null);
  }

  /** Like {@link #evaluate} but records every candidate rule and its condition terms. */
  public Explanation explain(PolicyInput in) {
    String method = in.method();
    List<Explanation.Step> steps = new ArrayList<>();
    if (method == null) {
      return new Explanation(this, in, steps, null);
    }
    String name = in.name();
    if (name != null && name.length() > MAX_NAME_CHARS) {
      return new Explanation(this, in, steps, new PolicyResult(method, name, tooLongRule(), Effect.DENY, null));
    }
    for (Candidate c : candidates(method, name)) {
      Rule r = c.rule();
      if (!matches(c, method, name)) {
        steps.add(new Explanation.Step(r, false, null, "match does not cover " + describe(method, name)));
        continue;
      }
      if (r.condition() == null) {
        steps.add(new Explanation.Step(r, true, null, "applies (no condition)"));
        return new Explanation(this, in, steps, new PolicyResult(method, name, r, r.effect(), null));
      }
      Condition.Trace t = r.condition().trace(in);
      if (t.error() != null) {
        if (r.effect() == Effect.DENY) {
          steps.add(new Explanation.Step(r, true, t, "condition failed (" + t.error() + "): a deny rule applies when its condition cannot be evaluated"));
          return new Explanation(this, in, steps, new PolicyResult(method, name, r, Effect.DENY, t.error()));
        }
        steps.add(new Explanation.Step(r, true, t, "condition failed (" + t.error() + "): an allow rule does not apply when its condition cannot be evaluated"));
      } else if (t.result()) {
        steps.add(new Explanation.Step(r, true, t, "condition true: applies"));
        return new Explanation(this, in, steps, new PolicyResult(method, name, r, r.effect(), null));
      } else {
        steps.add(new Explanation.Step(r, true, t, "condition false: does not apply"));
      }
    }
    return new Explanation(this, in, steps, new PolicyResult(method, name, null, defaultEffect, null));
  }

  private Candidate[] candidates(String method, String name) {
    MethodIndex mi = byMethod.get(method);
    if (mi == null) {
      return methodPatterns;
    }
    if (name != null) {
      Candidate[] exact = mi.byName().get(name);
      if (exact != null) {
        return exact;
      }
    }
    return mi.fallback();
  }

  private static boolean matches(Candidate c, String method, String name) {
    if (c.methodGlobs() != null && !any(c.methodGlobs(), method)) {
      return false;
    }
    if (c.nameGlobs() != null) {
      if (name == null) {
        return false;
      }
      if (c.rule().kind().equals("resource") && hasDotSegment(name)) {
        return false;
      }
      return any(c.nameGlobs(), name);
    }
    return true;
  }

  private static boolean any(Glob[] globs, String s) {
    for (Glob g : globs) {
      if (g.matches(s)) {
        return true;
      }
    }
    return false;
  }

  /** RFC 3986 §3.3 dot segments, also percent-encoded, which could step out of a pattern's prefix. */
  static boolean hasDotSegment(String uri) {
    String u = uri.replace("%2e", ".").replace("%2E", ".").replace("%2f", "/").replace("%2F", "/").replace('\\', '/');
    int q = u.indexOf('?');
    if (q >= 0) {
      u = u.substring(0, q);
    }
    for (String seg : u.split("/", -1)) {
      if (seg.equals(".") || seg.equals("..")) {
        return true;
      }
    }
    return false;
  }

  private static String describe(String method, String name) {
    return name == null ? method : method + " " + name;
  }

  private Rule tooLongRule() {
    return new Rule(NAME_TOO_LONG_RULE, "(built-in)", 0, Integer.MAX_VALUE, "method", List.of("*"), Effect.DENY,
        List.of(), List.of(), null, "names longer than " + MAX_NAME_CHARS + " characters are refused", -1);
  }

  @Override
  public String toString() {
    return "ServerPolicy[" + server + ", " + rules.size() + " rules, default " + defaultEffect.label().toLowerCase(Locale.ROOT) + "]";
  }
}
