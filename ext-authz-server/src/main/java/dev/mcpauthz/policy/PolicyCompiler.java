package dev.mcpauthz.policy;

import dev.mcpauthz.policy.PolicyParser.FileSpec;
import dev.mcpauthz.policy.PolicyParser.RuleSpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Policy files → {@link PolicySet}: parses every file, compiles every condition once, merges the
 * files of each server, orders the rules and rejects conflicts. Either the whole set is valid or a
 * {@link PolicyException} names the first problem.
 */
public final class PolicyCompiler {
  private PolicyCompiler() {}

  /**
   * @param sources files in a stable order (by name)
   * @param generation the load counter that goes into the version
   */
  public static PolicySet compile(List<PolicySource> sources, PolicyEnvironment env, int generation) {
    String hash = contentHash(sources);
    String version = hash + "-" + generation;
    Map<String, List<FileSpec>> byServer = new LinkedHashMap<>();
    for (PolicySource src : sources) {
      FileSpec f = PolicyParser.parse(src.file(), src.text());
      if (!env.knows(f.server())) {
        throw new PolicyException(f.file(), f.serverLine(), "server",
            "unknown MCP server '" + f.server() + "' (configured: " + new TreeSet<>(env.servers()) + ")");
      }
      byServer.computeIfAbsent(f.server(), k -> new ArrayList<>()).add(f);
    }
    Map<String, ServerPolicy> servers = new HashMap<>();
    for (var e : byServer.entrySet()) {
      servers.put(e.getKey(), server(e.getKey(), e.getValue(), env, version));
    }
    return new PolicySet(version, hash, generation, servers, sources.stream().map(PolicySource::file).toList());
  }

  private static ServerPolicy server(String server, List<FileSpec> files, PolicyEnvironment env, String version) {
    Effect def = null;
    String defSource = "built-in";
    Map<String, RuleSpec> ids = new HashMap<>();
    List<RuleSpec> specs = new ArrayList<>();
    for (FileSpec f : files) {
      if (f.defaultEffect() != null) {
        if (def != null && def != f.defaultEffect()) {
          throw new PolicyException(f.file(), f.defaultLine(), "default",
              "conflicts with default: " + def.label() + " in " + defSource + " for server '" + server + "'");
        }
        if (def == null) {
          def = f.defaultEffect();
          defSource = f.file() + ":" + f.defaultLine();
        }
      }
      for (RuleSpec r : f.rules()) {
        RuleSpec prev = ids.putIfAbsent(r.id(), r);
        if (prev != null) {
          throw new PolicyException(r.file(), r.line(), r.key() + ".id",
              "duplicate rule id '" + r.id() + "' for server '" + server + "' (also at " + prev.file() + ":" + prev.line() + ")");
        }
        if (!r.upstreamScopes().isEmpty() && !env.hasUpstream(server)) {
          throw new PolicyException(r.file(), r.line(), r.key() + ".upstream_scopes",
              "server '" + server + "' has no upstream credential (servers[].upstream), so there is no upstream token to scope");
        }
        specs.add(r);
      }
    }
    // MCP authorization: deny unless configured otherwise (least privilege).
    Effect defaultEffect = def == null ? Effect.DENY : def;

    // Evaluation order: priority (high first), specificity, then file and position (stable sort).
    List<RuleSpec> ordered = new ArrayList<>(specs);
    ordered.sort(Comparator.comparingInt(RuleSpec::priority).reversed()
        .thenComparing(Comparator.comparingInt(PolicyCompiler::specificity).reversed()));
    conflicts(ordered);
    List<Rule> rules = new ArrayList<>(ordered.size());
    for (int i = 0; i < ordered.size(); i++) {
      RuleSpec s = ordered.get(i);
      Condition c = s.when() == null ? null : Condition.compile(s.when(), s.file(), s.whenLine(), s.key() + ".when");
      rules.add(new Rule(s.id(), s.file(), s.line(), s.priority(), s.kind(), s.patterns(), s.effect(), s.scopes(),
          s.upstreamScopes(), c, s.description(), i));
    }
    return new ServerPolicy(server, defaultEffect, defSource, rules, version);
  }

  /** 3 exact names, 2 name patterns, 1 exact methods, 0 method patterns. */
  static int specificity(RuleSpec r) {
    boolean anyPattern = r.patterns().stream().anyMatch(Glob::isPattern);
    if (r.kind().equals("method")) {
      return anyPattern ? 0 : 1;
    }
    return anyPattern ? 2 : 3;
  }

  /**
   * Two rules with the same match and priority but different effects make the outcome depend on
   * file order: refused. Same match, priority and effect with no condition on the first: the second
   * can never apply: refused too.
   */
  private static void conflicts(List<RuleSpec> ordered) {
    Map<String, RuleSpec> firstByMatch = new HashMap<>();
    for (RuleSpec r : ordered) {
      String key = r.priority() + "|" + r.kind() + "|" + new TreeSet<>(r.patterns());
      RuleSpec first = firstByMatch.putIfAbsent(key, r);
      if (first == null) {
        continue;
      }
      if (first.effect() != r.effect()) {
        throw new PolicyException(r.file(), r.line(), r.key(),
            "rule '" + r.id() + "' conflicts with rule '" + first.id() + "' (" + first.file() + ":" + first.line()
                + "): same match and priority " + r.priority() + " but effect " + r.effect().label() + " vs "
                + first.effect().label() + "; give the one that should win a higher priority");
      }
      if (first.when() == null) {
        throw new PolicyException(r.file(), r.line(), r.key(),
            "rule '" + r.id() + "' can never apply: rule '" + first.id() + "' (" + first.file() + ":" + first.line()
                + ") has the same match and priority and no condition");
      }
    }
  }

  static String contentHash(List<PolicySource> sources) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (PolicySource s : sources) {
        sha.update(s.file().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
        sha.update(s.text().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      }
      return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
