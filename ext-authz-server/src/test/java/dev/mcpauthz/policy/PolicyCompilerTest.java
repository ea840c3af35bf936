package dev.mcpauthz.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Policy files → compiled policy: what is refused (with file, line and reason) and how rules are ordered. */
class PolicyCompilerTest {
  static PolicyException invalid(String yaml) {
    try {
      PolicyCompiler.compile(List.of(new PolicySource("p.yaml", yaml)), new PolicyEnvironment(Set.of("github"), Set.of()), 1);
    } catch (PolicyException e) {
      return e;
    }
    throw new AssertionError("accepted: " + yaml);
  }

  @Test
  void yamlErrorsNameTheLine() {
    PolicyException e = invalid("server: github\nrules:\n  - id: a\n    match: {tool: [x\n    effect: allow\n");
    assertThat(e.file()).isEqualTo("p.yaml");
    assertThat(e.line()).isBetween(4, 6);
    assertThat(e.reason()).startsWith("invalid YAML");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      unknown rule key                | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    effekt: allow\\n                               | 5 | rules[0].effekt | unknown key 'effekt' (known keys: [description, effect, id, match, priority, scopes, upstream_scopes, when])
      unknown top-level key           | server: github\\nversion: 2\\n                                                                                  | 2 | version             | unknown key 'version'
      unknown match key               | server: github\\nrules:\\n  - id: a\\n    match: {tools: x}\\n    effect: allow\\n                               | 4 | rules[0].match.tools | unknown key 'tools'
      two match kinds                 | server: github\\nrules:\\n  - id: a\\n    match: {tool: x, method: y}\\n    effect: allow\\n                       | 4 | rules[0].match  | set exactly one of tool, resource, prompt, method
      bad effect                      | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    effect: maybe\\n                               | 5 | rules[0].effect | must be allow or deny, got 'maybe'
      missing effect                  | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n                                                | 3 | rules[0].effect | required
      deny with scopes                | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    scopes: [s]\\n    effect: deny\\n              | 5 | rules[0]        | a deny rule cannot require scopes
      bad scope token                 | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    scopes: ['a b']\\n    effect: allow\\n         | 5 | rules[0].scopes | not a valid scope token
      bad glob                        | server: github\\nrules:\\n  - id: a\\n    match: {tool: 'x***'}\\n    effect: allow\\n                          | 4 | rules[0].match.tool | invalid pattern 'x***'
      unknown server                  | server: gitlab\\nrules: []\\n                                                                                 | 1 | server              | unknown MCP server 'gitlab' (configured: [github])
      upstream scopes without upstream| server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    upstream_scopes: [repo]\\n    effect: allow\\n   | 3 | rules[0].upstream_scopes | has no upstream credential
      duplicate rule id               | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    effect: allow\\n  - id: a\\n    match: {tool: y}\\n    effect: allow\\n | 6 | rules[1].id | duplicate rule id 'a'
      duplicate key                   | server: github\\nserver: github\\n                                                                             | 2 | server              | duplicate key
      CEL syntax error                | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    when: claims.org ==\\n    effect: allow\\n     | 5 | rules[0].when       | CEL compile error
      CEL unknown variable            | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    when: user.name == 'x'\\n    effect: allow\\n | 5 | rules[0].when       | undeclared reference to 'user'
      CEL not a bool                  | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    when: name + 'x'\\n    effect: allow\\n     | 5 | rules[0].when       | CEL compile error
      conflicting effects             | server: github\\nrules:\\n  - id: a\\n    match: {tool: x}\\n    effect: allow\\n  - id: b\\n    match: {tool: x}\\n    when: name == 'x'\\n    effect: deny\\n | 6 | rules[1] | rule 'b' conflicts with rule 'a' (p.yaml:3): same match and priority 0 but effect deny vs allow
      unreachable rule                | server: github\\nrules:\\n  - id: a\\n    match: {tool: [x, y]}\\n    effect: allow\\n  - id: b\\n    match: {tool: [y, x]}\\n    scopes: [s]\\n    effect: allow\\n | 6 | rules[1] | rule 'b' can never apply
      """)
  void invalidEditsAreRefusedWithFileLineAndReason(String what, String yaml, int line, String key, String reason) {
    PolicyException e = invalid(yaml.replace("\\n", "\n"));
    assertThat(e.file()).isEqualTo("p.yaml");
    assertThat(e.line()).as(e.getMessage()).isEqualTo(line);
    assertThat(e.key()).as(e.getMessage()).isEqualTo(key);
    assertThat(e.reason()).as(e.getMessage()).contains(reason);
    assertThat(e.getMessage()).startsWith("p.yaml:" + line + ": " + key + ": ");
  }

  @Test
  void celErrorsInAMultiLineConditionPointAtTheirLine() {
    PolicyException e = invalid("""
        server: github
        rules:
          - id: a
            match: {tool: x}
            when: >-
              claims.org == "acme"
              && args.branch !== "main"
            effect: allow
        """);
    assertThat(e.reason()).contains("CEL compile error");
    assertThat(e.line()).isEqualTo(5);
  }

  @Test
  void differentDefaultsForOneServerConflict() {
    var env = new PolicyEnvironment(Set.of("github"), Set.of());
    var a = new PolicySource("a.yaml", "server: github\ndefault: allow\n");
    var b = new PolicySource("b.yaml", "server: github\ndefault: deny\n");
    assertThatThrownBy(() -> PolicyCompiler.compile(List.of(a, b), env, 1))
        .isInstanceOf(PolicyException.class).hasMessage("b.yaml:2: default: conflicts with default: allow in a.yaml:2 for server 'github'");
  }

  @Test
  void serversWithoutADefaultDenyAndFilesMerge() {
    var a = new PolicySource("a.yaml", "server: github\nrules:\n  - {id: r1, match: {tool: x}, effect: allow}\n");
    var b = new PolicySource("b.yaml", "server: github\nrules:\n  - {id: r2, match: {tool: y}, effect: allow}\n");
    PolicySet set = PolicyCompiler.compile(List.of(a, b), PolicyEnvironment.ANY, 3);
    ServerPolicy p = set.forServer("github");
    assertThat(p.defaultEffect()).isEqualTo(Effect.DENY);
    assertThat(p.defaultSource()).isEqualTo("built-in");
    assertThat(p.rules()).extracting(Rule::id).containsExactly("r1", "r2");
    assertThat(set.version()).matches("[0-9a-f]{12}-3").startsWith(set.contentHash());
    assertThat(PolicyCompiler.compile(List.of(a, b), PolicyEnvironment.ANY, 4).contentHash()).isEqualTo(set.contentHash());
  }

  @Test
  void priorityThenSpecificityThenFileOrder() {
    ServerPolicy p = PolicyFixtures.compile("s", """
        server: s
        rules:
          - {id: any-method, match: {method: "tools/*"}, effect: deny}
          - {id: glob, match: {tool: "get_*"}, effect: allow}
          - {id: exact, match: {tool: get_issue}, effect: allow}
          - {id: tools-call, match: {method: tools/call}, effect: deny}
          - {id: urgent, priority: 5, match: {method: "*"}, when: "name == 'get_secret'", effect: deny}
        """);
    assertThat(p.rules()).extracting(Rule::id).containsExactly("urgent", "exact", "glob", "tools-call", "any-method");
    assertThat(decide(p, "tools/call", "get_issue")).isEqualTo("exact");
    assertThat(decide(p, "tools/call", "get_pr")).isEqualTo("glob");
    assertThat(decide(p, "tools/call", "get_secret")).isEqualTo("urgent");
    assertThat(decide(p, "tools/call", "push")).isEqualTo("tools-call");
    assertThat(decide(p, "tools/list", null)).isEqualTo("any-method");
    assertThat(decide(p, "resources/read", "x://y")).isEqualTo("default");
  }

  @Test
  void conditionErrorsFailClosed() {
    ServerPolicy p = PolicyFixtures.compile("s", """
        server: s
        default: allow
        rules:
          - {id: deny-unless-staff, priority: 1, match: {tool: admin}, when: "claims.role != 'staff'", effect: deny}
          - {id: allow-if-staff, match: {tool: ops}, when: "claims.role == 'staff'", effect: allow}
          - {id: ops-otherwise, match: {tool: "op*"}, effect: deny}
        """);
    // claims.role is missing: the deny rule applies, the allow rule does not.
    PolicyResult denied = p.evaluate(PolicyFixtures.input("tools/call", "admin", Map.of(), null));
    assertThat(denied.effect()).isEqualTo(Effect.DENY);
    assertThat(denied.ruleId()).isEqualTo("deny-unless-staff");
    assertThat(denied.conditionError()).contains("role");
    assertThat(p.evaluate(PolicyFixtures.input("tools/call", "ops", Map.of(), null)).ruleId()).isEqualTo("ops-otherwise");
    assertThat(p.evaluate(PolicyFixtures.input("tools/call", "ops", Map.of("role", "staff"), null)).ruleId())
        .isEqualTo("allow-if-staff");
    assertThat(p.evaluate(PolicyFixtures.input("tools/call", "admin", Map.of("role", "staff"), null)).ruleId())
        .isEqualTo("default");
  }

  @Test
  void conditionsSeeEveryVariable() {
    ServerPolicy p = PolicyFixtures.compile("github", """
        server: github
        rules:
          - id: all
            match: {tool: t}
            when: >
              server == "github" && method == "tools/call" && name == "t"
              && claims.n == 3 && claims.n > 2.5 && claims.groups.exists(g, g == "a")
              && args.count == 2 && args.nested.list[1] == "y" && args.maybe == null
              && headers["x-env"] == "prod" && !("authorization" in headers)
              && name.startsWith("t") && sets.contains(claims.groups, ["a"])
            effect: allow
        """);
    var in = PolicyInput.of("github", "tools/call", "t", () -> Map.of("n", 3, "groups", List.of("a", "b")),
        () -> Map.of("x-env", "prod", "authorization", "Bearer secret"),
        json("{\"count\":2,\"nested\":{\"list\":[\"x\",\"y\"]},\"maybe\":null}"), false);
    assertThat(p.evaluate(in).ruleId()).isEqualTo("all");
  }

  @Test
  void argumentsOnlyKeptWhenAConditionReadsThem() {
    assertThat(PolicyFixtures.compile("s", "server: s\nrules:\n  - {id: a, match: {tool: x}, when: \"claims.x == 1\", effect: allow}\n")
        .needsArguments()).isFalse();
    assertThat(PolicyFixtures.compile("s", "server: s\nrules:\n  - {id: a, match: {tool: x}, when: \"args.x == 1\", effect: allow}\n")
        .needsArguments()).isTrue();
  }

  /** The index must return exactly what trying every rule in order returns. */
  @Test
  void indexAgreesWithTryingEveryRuleInOrder() {
    Random rnd = new Random(42);
    String[] names = {"get_issue", "get_pr", "list_x", "push", "delete_repo", "a/b", "repo://acme/x/README.md", "sum_y"};
    String[] patterns = {"get_*", "get_issue", "*", "list_?", "push", "delete_*", "repo://acme/*/README.md", "sum*", "a/*"};
    String[] methods = {"tools/call", "resources/read", "prompts/get", "tools/list", "notifications/initialized"};
    String[] kinds = {"tool", "resource", "prompt", "method"};
    String[] methodPatterns = {"tools/*", "*", "notifications/*", "tools/list", "tools/call"};
    for (int round = 0; round < 30; round++) {
      StringBuilder y = new StringBuilder("server: s\ndefault: " + (rnd.nextBoolean() ? "allow" : "deny") + "\nrules:\n");
      List<String> seen = new ArrayList<>();
      int n = 5 + rnd.nextInt(25);
      for (int i = 0; i < n; i++) {
        String kind = kinds[rnd.nextInt(kinds.length)];
        String pat = kind.equals("method") ? methodPatterns[rnd.nextInt(methodPatterns.length)] : patterns[rnd.nextInt(patterns.length)];
        int prio = rnd.nextInt(3);
        String effect = rnd.nextBoolean() ? "allow" : "deny";
        String sig = prio + kind + pat;
        if (seen.contains(sig)) {
          continue;
        }
        seen.add(sig);
        String when = rnd.nextInt(4) == 0 ? ", when: \"name.size() % 2 == 0\"" : "";
        y.append("  - {id: r").append(i).append(", priority: ").append(prio).append(", match: {").append(kind).append(": \"")
            .append(pat).append("\"}").append(when).append(", effect: ").append(effect).append("}\n");
      }
      ServerPolicy p = PolicyFixtures.compile("s", y.toString());
      for (String m : methods) {
        for (String name : names) {
          PolicyInput in = PolicyFixtures.input(m, name, Map.of(), null);
          assertThat(p.evaluate(in).ruleId()).as(y + "\n" + m + " " + name).isEqualTo(linear(p, in));
        }
      }
    }
  }

  private static String linear(ServerPolicy p, PolicyInput in) {
    for (Rule r : p.rules()) {
      String implied = r.impliedMethod();
      boolean methodOk = implied != null ? implied.equals(in.method())
          : r.patterns().stream().anyMatch(pt -> Glob.compile(pt, false).matches(in.method()));
      boolean nameOk = implied == null || r.patterns().stream().anyMatch(pt -> Glob.compile(pt, r.kind().equals("resource")).matches(in.name()));
      if (methodOk && nameOk && (r.condition() == null || r.condition().evaluate(in))) {
        return r.id();
      }
    }
    return "default";
  }

  private static String decide(ServerPolicy p, String method, String name) {
    return p.evaluate(PolicyFixtures.input(method, name, Map.of(), null)).ruleId();
  }

  static com.fasterxml.jackson.databind.JsonNode json(String s) {
    try {
      return new com.fasterxml.jackson.databind.ObjectMapper().readTree(s);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
