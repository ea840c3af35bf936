package dev.mcpauthz.policy;

import dev.mcpauthz.policy.YamlTree.ListNode;
import dev.mcpauthz.policy.YamlTree.MapNode;
import dev.mcpauthz.policy.YamlTree.Node;
import dev.mcpauthz.policy.YamlTree.Scalar;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads one policy file into {@link FileSpec}: strict (unknown keys are errors, listing the known
 * ones), every problem reported with its file, line and key path.
 */
final class PolicyParser {
  static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  static final Set<String> FILE_KEYS = Set.of("server", "default", "description", "rules");
  static final Set<String> RULE_KEYS =
      Set.of("id", "description", "priority", "match", "scopes", "upstream_scopes", "when", "effect");
  static final Set<String> MATCH_KEYS = Set.of("tool", "resource", "prompt", "method");
  static final int MAX_PRIORITY = 1_000_000;

  private PolicyParser() {}

  record FileSpec(String file, String server, int serverLine, Effect defaultEffect, int defaultLine, List<RuleSpec> rules) {}

  record RuleSpec(String file, int line, String key, String id, String description, int priority, String kind,
      List<String> patterns, int matchLine, List<String> scopes, List<String> upstreamScopes, String when, int whenLine,
      Effect effect) {}

  static FileSpec parse(String file, String text) {
    Node root = YamlTree.parse(file, text);
    MapNode top = map(root, file, "");
    known(top, FILE_KEYS, file, "");
    Scalar serverNode = scalar(top, "server", file, "", true);
    String server = serverNode.text();
    if (server == null || !ID.matcher(server).matches()) {
      throw new PolicyException(file, serverNode.line(), "server", "required: the MCP server id (servers[].id) this file governs, got '" + server + "'");
    }
    Effect def = null;
    int defLine = 0;
    Scalar d = scalar(top, "default", file, "", false);
    if (d != null) {
      def = effect(d, file, "default");
      defLine = d.line();
    }
    scalar(top, "description", file, "", false);
    List<RuleSpec> rules = new ArrayList<>();
    Node rulesNode = top.entries().get("rules");
    if (rulesNode != null && !(rulesNode instanceof Scalar s && s.isNull())) {
      if (!(rulesNode instanceof ListNode list)) {
        throw new PolicyException(file, rulesNode.line(), "rules", "must be a list of rules");
      }
      for (int i = 0; i < list.items().size(); i++) {
        rules.add(rule(list.items().get(i), file, "rules[" + i + "]"));
      }
    }
    return new FileSpec(file, server, serverNode.line(), def, defLine, List.copyOf(rules));
  }

  private static RuleSpec rule(Node n, String file, String key) {
    MapNode m = map(n, file, key);
    known(m, RULE_KEYS, file, key);
    Scalar idNode = scalar(m, "id", file, key, true);
    String id = idNode.text();
    if (id == null || !ID.matcher(id).matches()) {
      throw new PolicyException(file, idNode.line(), key + ".id", "required: letters, digits, '.', '_' or '-' (max 64), got '" + id + "'");
    }
    String where = key;
    Scalar desc = scalar(m, "description", file, where, false);
    int priority = 0;
    Scalar prio = scalar(m, "priority", file, where, false);
    if (prio != null) {
      try {
        priority = Integer.parseInt(prio.text());
      } catch (NumberFormatException e) {
        throw new PolicyException(file, prio.line(), where + ".priority", "must be an integer, got '" + prio.text() + "'");
      }
      if (Math.abs(priority) > MAX_PRIORITY) {
        throw new PolicyException(file, prio.line(), where + ".priority", "must be between -" + MAX_PRIORITY + " and " + MAX_PRIORITY);
      }
    }
    Node matchNode = m.entries().get("match");
    if (matchNode == null) {
      throw new PolicyException(file, m.line(), where + ".match",
          "required: one of tool, resource, prompt or method, e.g. match: {tool: get_issue}");
    }
    MapNode match = map(matchNode, file, where + ".match");
    known(match, MATCH_KEYS, file, where + ".match");
    if (match.entries().size() != 1) {
      throw new PolicyException(file, match.line(), where + ".match",
          "set exactly one of tool, resource, prompt, method (a rule matches one kind of call), got " + match.entries().keySet());
    }
    String kind = match.entries().keySet().iterator().next();
    List<String> patterns = strings(match.entries().get(kind), file, where + ".match." + kind, true);
    boolean segmented = kind.equals("resource");
    for (String p : patterns) {
      try {
        Glob.compile(p, segmented);
      } catch (IllegalArgumentException e) {
        throw new PolicyException(file, match.keyLines().get(kind), where + ".match." + kind, "invalid pattern '" + p + "': " + e.getMessage());
      }
    }
    Scalar effectNode = scalar(m, "effect", file, where, true);
    Effect effect = effect(effectNode, file, where + ".effect");
    List<String> scopes = m.entries().containsKey("scopes") ? strings(m.entries().get("scopes"), file, where + ".scopes", false) : List.of();
    List<String> upstream = m.entries().containsKey("upstream_scopes")
        ? strings(m.entries().get("upstream_scopes"), file, where + ".upstream_scopes", false) : List.of();
    for (String s : scopes) {
      scope(s, file, m.keyLines().get("scopes"), where + ".scopes");
    }
    for (String s : upstream) {
      scope(s, file, m.keyLines().get("upstream_scopes"), where + ".upstream_scopes");
    }
    if (effect == Effect.DENY && (!scopes.isEmpty() || !upstream.isEmpty())) {
      int line = m.keyLines().getOrDefault("scopes", m.keyLines().getOrDefault("upstream_scopes", m.line()));
      throw new PolicyException(file, line, where, "a deny rule cannot require scopes: scopes and upstream_scopes apply to allow rules");
    }
    Scalar when = scalar(m, "when", file, where, false);
    String condition = when == null ? null : when.text();
    if (when != null && (condition == null || condition.isBlank())) {
      throw new PolicyException(file, when.line(), where + ".when", "empty condition: remove 'when' or write a CEL expression");
    }
    return new RuleSpec(file, m.line(), key, id, desc == null ? null : desc.text(), priority, kind, patterns,
        match.line(), scopes, upstream, condition, when == null ? 0 : when.line(), effect);
  }

  private static Effect effect(Scalar s, String file, String key) {
    String v = s.text() == null ? "" : s.text().toLowerCase(Locale.ROOT);
    return switch (v) {
      case "allow" -> Effect.ALLOW;
      case "deny" -> Effect.DENY;
      default -> throw new PolicyException(file, s.line(), key, "must be allow or deny, got '" + s.text() + "'");
    };
  }

  /** RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E. */
  private static void scope(String s, String file, int line, String key) {
    if (s.isEmpty() || !s.chars().allMatch(ch -> ch == 0x21 || (ch >= 0x23 && ch <= 0x5B) || (ch >= 0x5D && ch <= 0x7E))) {
      throw new PolicyException(file, line, key, "not a valid scope token (RFC 6749 section 3.3): '" + s + "'");
    }
  }

  private static MapNode map(Node n, String file, String key) {
    if (n instanceof MapNode m) {
      return m;
    }
    throw new PolicyException(file, n.line(), key, key.isEmpty() ? "top level must be a mapping (server, default, rules)" : "must be a mapping");
  }

  private static void known(MapNode m, Set<String> keys, String file, String key) {
    for (var e : m.entries().keySet()) {
      if (!keys.contains(e)) {
        throw new PolicyException(file, m.keyLines().get(e), key.isEmpty() ? e : key + "." + e,
            "unknown key '" + e + "' (known keys: " + new TreeSet<>(keys) + ")");
      }
    }
  }

  private static Scalar scalar(MapNode m, String name, String file, String key, boolean required) {
    Node n = m.entries().get(name);
    String k = key.isEmpty() ? name : key + "." + name;
    if (n == null) {
      if (required) {
        throw new PolicyException(file, m.line(), k, "required");
      }
      return null;
    }
    if (!(n instanceof Scalar s)) {
      throw new PolicyException(file, n.line(), k, "must be a single value");
    }
    if (required && s.isNull()) {
      throw new PolicyException(file, n.line(), k, "required");
    }
    return s;
  }

  /** A string or a list of strings. */
  private static List<String> strings(Node n, String file, String key, boolean nonEmpty) {
    List<String> out = new ArrayList<>();
    if (n instanceof Scalar s && !s.isNull()) {
      out.add(s.text());
    } else if (n instanceof ListNode l) {
      for (Node item : l.items()) {
        if (!(item instanceof Scalar s) || s.isNull()) {
          throw new PolicyException(file, item.line(), key, "must be a string or a list of strings");
        }
        out.add(s.text());
      }
    } else if (!(n instanceof Scalar)) {
      throw new PolicyException(file, n.line(), key, "must be a string or a list of strings");
    }
    if (nonEmpty && (out.isEmpty() || out.stream().anyMatch(String::isEmpty))) {
      throw new PolicyException(file, n.line(), key, "must name at least one non-empty name or pattern");
    }
    return List.copyOf(out);
  }
}
