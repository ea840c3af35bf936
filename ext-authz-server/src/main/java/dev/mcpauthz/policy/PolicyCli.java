package dev.mcpauthz.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigException;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.policy.YamlTree.ListNode;
import dev.mcpauthz.policy.YamlTree.MapNode;
import dev.mcpauthz.policy.YamlTree.Node;
import dev.mcpauthz.policy.YamlTree.Scalar;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code mcp-authz policy validate|test|explain}: the tools a security owner uses to edit, test and
 * trust a policy before it ships. Exit status: 0 ok, 1 invalid policy or a test mismatch, 2 usage
 * error (bad arguments, unreadable or malformed cases/request file).
 */
@Command(name = "policy", mixinStandardHelpOptions = true,
    description = "Validate, test and explain mcp-authz per-tool policies (docs/policy.md).",
    subcommands = {PolicyCli.Validate.class, PolicyCli.Test.class, PolicyCli.Explain.class},
    exitCodeListHeading = "%nExit status:%n",
    exitCodeList = {"0:ok", "1:invalid policy or test mismatch", "2:usage error"})
public final class PolicyCli implements Callable<Integer> {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;

  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** Runs {@code policy ARGS...} and returns the exit status. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new PolicyCli());
    cl.setOut(out).setErr(err).setCommandName("mcp-authz policy");
    cl.setExecutionExceptionHandler((ex, line, parsed) -> {
      err.println("error: " + ex.getMessage());
      return ex instanceof UsageProblem ? USAGE : FAILED;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return USAGE;
  }

  /** Options shared by the subcommands. */
  static class Common {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
        description = "mcp-authz config: checks server ids and upstreams, and applies servers[].required_scopes")
    Path config;

    AuthzConfig loadConfig() {
      if (config == null) {
        return null;
      }
      try {
        return ConfigLoader.load(config, System.getenv());
      } catch (ConfigException e) {
        throw new UsageProblem("invalid configuration: " + e.getMessage());
      }
    }

    PolicyEnvironment environment(AuthzConfig c) {
      return c == null ? PolicyEnvironment.ANY : PolicyEnvironment.of(c);
    }

    static List<String> requiredScopes(AuthzConfig c, String server) {
      if (c == null) {
        return List.of();
      }
      return c.servers().stream().filter(s -> s.id().equals(server)).findFirst()
          .map(AuthzConfig.Server::requiredScopes).orElse(List.of());
    }
  }

  @Command(name = "validate", mixinStandardHelpOptions = true,
      description = "Parse and compile every policy file in DIR; report the first problem with file, line and reason.")
  static final class Validate extends Common implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR")
    Path dir;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      AuthzConfig config = loadConfig();
      PolicySet set;
      try {
        set = PolicyLoader.load(dir, environment(config));
      } catch (PolicyException e) {
        err.println("invalid policy: " + e.getMessage());
        return FAILED;
      }
      out.println("policy OK: " + dir + " (" + set.files().size() + " files, version " + set.version() + ")");
      set.all().stream().sorted(java.util.Comparator.comparing(ServerPolicy::server)).forEach(sp ->
          out.println("  server " + sp.server() + ": " + sp.rules().size() + " rules, default " + sp.defaultEffect().label()
              + (sp.defaultSource().equals("built-in") ? " (built-in)" : "")));
      return OK;
    }
  }

  @Command(name = "test", mixinStandardHelpOptions = true,
      description = "Run CASES (sample requests with expected decisions) against the policy in DIR; exit 1 on any mismatch.")
  static final class Test extends Common implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR")
    Path dir;

    @Parameters(index = "1", paramLabel = "CASES.yaml")
    Path cases;

    @Option(names = {"-v", "--verbose"}, description = "also show the details of passing cases")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      AuthzConfig config = loadConfig();
      PolicySet set;
      try {
        set = PolicyLoader.load(dir, environment(config));
      } catch (PolicyException e) {
        err.println("invalid policy: " + e.getMessage());
        return FAILED;
      }
      String file = cases.getFileName().toString();
      List<TestCase> list = TestCase.parse(file, read(cases));
      int passed = 0;
      for (TestCase tc : list) {
        Outcome actual = Outcome.of(set, tc.request(), Common.requiredScopes(config, tc.request().server()));
        List<String> diff = tc.expect().diff(actual);
        if (diff.isEmpty()) {
          passed++;
          out.println("PASS  " + tc.name());
          if (verbose) {
            out.println("      " + actual.describe());
          }
        } else {
          out.println("FAIL  " + tc.name() + "  (" + file + ":" + tc.line() + ")");
          diff.forEach(d -> out.println("      " + d));
          out.println("      actual: " + actual.describe());
        }
      }
      int failed = list.size() - passed;
      out.println((failed == 0 ? "PASS: " : "FAIL: ") + passed + "/" + list.size() + " cases passed (policy " + set.version() + ")");
      return failed == 0 ? OK : FAILED;
    }
  }

  @Command(name = "explain", mixinStandardHelpOptions = true,
      description = "Show which rule decides REQUEST (JSON or YAML) and why, with the values of its condition.")
  static final class Explain extends Common implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "DIR")
    Path dir;

    @Parameters(index = "1", paramLabel = "REQUEST.json")
    Path request;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      AuthzConfig config = loadConfig();
      PolicySet set;
      try {
        set = PolicyLoader.load(dir, environment(config));
      } catch (PolicyException e) {
        err.println("invalid policy: " + e.getMessage());
        return FAILED;
      }
      String file = request.getFileName().toString();
      Node root = parseTree(file, read(request));
      SampleRequest req = SampleRequest.parse(root, file, "");
      List<String> required = Common.requiredScopes(config, req.server());
      out.println("request: " + req.method() + (req.name() == null ? "" : " " + req.name()) + "  server " + req.server()
          + "  token scopes [" + String.join(" ", req.scopes()) + "]");
      ServerPolicy sp = set.forServer(req.server());
      if (sp == null) {
        out.println("server " + req.server() + " has no policy file: decided without per-tool policy (opt-in per server)");
        out.println("decision: " + Outcome.of(set, req, required).describe());
        return OK;
      }
      out.println("policy " + set.version() + ": server " + sp.server() + ", " + sp.rules().size() + " rules, default "
          + sp.defaultEffect().label() + " (" + sp.defaultSource() + ")");
      Explanation ex = sp.explain(req.input());
      if (ex.steps().isEmpty()) {
        out.println("no rule can apply to " + req.method() + (req.name() == null ? "" : " " + req.name()));
      } else {
        out.println("rules tried, in evaluation order:");
      }
      int i = 1;
      for (Explanation.Step s : ex.steps()) {
        Rule r = s.rule();
        out.println("  " + i++ + ". " + r.id() + "  (" + r.location() + ", priority " + r.priority() + ", " + r.effect().label()
            + ", " + r.kind() + " " + String.join(" | ", r.patterns()) + ")");
        if (s.trace() != null) {
          out.println("     when: " + r.condition().source().strip().replace("\n", " "));
          for (Condition.Term t : s.trace().terms()) {
            out.println("       " + t.expression() + "  ->  " + (t.evaluated() ? t.value() : "(not evaluated)"));
          }
        }
        out.println("     " + s.verdict());
      }
      PolicyResult res = ex.result();
      out.println(res.rule() == null
          ? "policy: " + res.effect().label() + " by the server's default (" + sp.defaultSource() + ")"
          : "policy: " + res.effect().label() + " by rule " + res.rule().id() + " (" + res.rule().location() + ")");
      out.println("decision: " + Outcome.of(set, req, required).describe());
      return OK;
    }
  }

  /** What the gateway would answer: the Check path's rules (PolicyVerdict.judge) on a sample request. */
  record Outcome(String decision, String rule, List<String> scopes, List<String> upstreamScopes) {
    static Outcome of(PolicySet set, SampleRequest req, List<String> serverRequired) {
      ServerPolicy sp = set.forServer(req.server());
      PolicyVerdict verdict;
      if (sp == null) {
        verdict = PolicyVerdict.notEvaluated(set.version(), req.server());
      } else {
        PolicyResult r = sp.evaluate(req.input());
        verdict = new PolicyVerdict(set.version(), req.server(), r == null ? List.of() : List.of(r));
      }
      PolicyVerdict.Judgement j = verdict.judge(serverRequired, req.scopes());
      return new Outcome(j.kind().label(), verdict.ruleId(),
          j.kind() == PolicyVerdict.Judgement.Kind.INSUFFICIENT_SCOPE ? j.scopes() : List.of(), verdict.upstreamScopes());
    }

    String describe() {
      StringBuilder sb = new StringBuilder(decision);
      if (!rule.isEmpty()) {
        sb.append("  rule=").append(rule);
      }
      if (!scopes.isEmpty()) {
        sb.append("  scope=\"").append(String.join(" ", scopes)).append('"');
      }
      if (!upstreamScopes.isEmpty()) {
        sb.append("  upstream_scopes=[").append(String.join(" ", upstreamScopes)).append(']');
      }
      return sb.toString();
    }
  }

  /** A sample request: the facts a Check would give the policy. */
  record SampleRequest(String server, String method, String name, Set<String> scopes, Map<String, Object> claims,
      JsonNode args, Map<String, String> headers) {
    static final Set<String> KEYS = Set.of("server", "method", "name", "scopes", "claims", "args", "headers");

    PolicyInput input() {
      return PolicyInput.of(server, method, name, () -> claims, () -> headers, args, false);
    }

    static SampleRequest parse(Node n, String file, String key) {
      MapNode m = map(n, file, key);
      known(m, KEYS, file, key);
      String server = text(m, "server", file, key, true);
      String method = text(m, "method", file, key, true);
      String name = text(m, "name", file, key, false);
      Set<String> scopes = new LinkedHashSet<>();
      Node s = m.entries().get("scopes");
      if (s instanceof Scalar sc && !sc.isNull()) {
        for (String part : sc.text().split(" ")) {
          if (!part.isEmpty()) {
            scopes.add(part);
          }
        }
      } else if (s instanceof ListNode l) {
        l.items().forEach(i -> scopes.add(String.valueOf(toJava(i))));
      }
      Map<String, Object> claims = new LinkedHashMap<>();
      Node c = m.entries().get("claims");
      if (c != null && toJava(c) instanceof Map<?, ?> cm) {
        cm.forEach((k, v) -> claims.put(String.valueOf(k), v));
      } else if (c != null && !(c instanceof Scalar sc2 && sc2.isNull())) {
        throw new UsageProblem(file + ":" + c.line() + ": " + join(key, "claims") + ": must be a mapping");
      }
      JsonNode args = null;
      Node a = m.entries().get("args");
      if (a != null) {
        args = JSON.valueToTree(toJava(a));
      }
      Map<String, String> headers = new LinkedHashMap<>();
      Node h = m.entries().get("headers");
      if (h != null && toJava(h) instanceof Map<?, ?> hm) {
        hm.forEach((k, v) -> headers.put(String.valueOf(k).toLowerCase(java.util.Locale.ROOT), String.valueOf(v)));
      }
      return new SampleRequest(server, method, name, java.util.Collections.unmodifiableSet(scopes), claims, args, headers);
    }
  }

  /** Expected outcome; unset fields are not compared. */
  record Expectation(String decision, String rule, List<String> scopes, List<String> upstreamScopes) {
    List<String> diff(Outcome actual) {
      List<String> d = new ArrayList<>();
      if (!decision.equals(actual.decision())) {
        d.add("- decision: " + decision);
        d.add("+ decision: " + actual.decision());
      }
      if (rule != null && !rule.equals(actual.rule())) {
        d.add("- rule: " + rule);
        d.add("+ rule: " + (actual.rule().isEmpty() ? "(none)" : actual.rule()));
      }
      if (scopes != null && !new LinkedHashSet<>(scopes).equals(new LinkedHashSet<>(actual.scopes()))) {
        d.add("- scopes: [" + String.join(" ", scopes) + "]");
        d.add("+ scopes: [" + String.join(" ", actual.scopes()) + "]");
      }
      if (upstreamScopes != null && !new LinkedHashSet<>(upstreamScopes).equals(new LinkedHashSet<>(actual.upstreamScopes()))) {
        d.add("- upstream_scopes: [" + String.join(" ", upstreamScopes) + "]");
        d.add("+ upstream_scopes: [" + String.join(" ", actual.upstreamScopes()) + "]");
      }
      return d;
    }
  }

  record TestCase(String name, int line, SampleRequest request, Expectation expect) {
    static final Set<String> KEYS = Set.of("name", "request", "expect");
    static final Set<String> EXPECT_KEYS = Set.of("decision", "rule", "scopes", "upstream_scopes");
    static final Set<String> DECISIONS = Set.of("allow", "deny", "insufficient_scope");

    static List<TestCase> parse(String file, String text) {
      MapNode root = map(parseTree(file, text), file, "");
      known(root, Set.of("cases"), file, "");
      Node cs = root.entries().get("cases");
      if (!(cs instanceof ListNode list) || list.items().isEmpty()) {
        throw new UsageProblem(file + ": cases: required: a non-empty list of test cases");
      }
      List<TestCase> out = new ArrayList<>();
      for (int i = 0; i < list.items().size(); i++) {
        String key = "cases[" + i + "]";
        MapNode m = map(list.items().get(i), file, key);
        known(m, KEYS, file, key);
        String name = text(m, "name", file, key, false);
        Node req = m.entries().get("request");
        if (req == null) {
          throw new UsageProblem(file + ":" + m.line() + ": " + key + ".request: required");
        }
        SampleRequest r = SampleRequest.parse(req, file, key + ".request");
        Node e = m.entries().get("expect");
        if (e == null) {
          throw new UsageProblem(file + ":" + m.line() + ": " + key + ".expect: required (allow, deny or insufficient_scope)");
        }
        Expectation x;
        if (e instanceof Scalar s) {
          x = new Expectation(decision(s.text(), file, s.line(), key), null, null, null);
        } else {
          MapNode em = map(e, file, key + ".expect");
          known(em, EXPECT_KEYS, file, key + ".expect");
          x = new Expectation(decision(text(em, "decision", file, key + ".expect", true), file, em.line(), key),
              text(em, "rule", file, key + ".expect", false), list(em, "scopes"), list(em, "upstream_scopes"));
        }
        out.add(new TestCase(name == null ? key + " " + r.method() + (r.name() == null ? "" : " " + r.name()) : name,
            m.line(), r, x));
      }
      return out;
    }

    private static String decision(String d, String file, int line, String key) {
      if (d == null || !DECISIONS.contains(d)) {
        throw new UsageProblem(file + ":" + line + ": " + key + ".expect: must be one of " + DECISIONS + ", got '" + d + "'");
      }
      return d;
    }

    private static List<String> list(MapNode m, String k) {
      Node n = m.entries().get(k);
      if (n == null) {
        return null;
      }
      Object v = toJava(n);
      if (v instanceof List<?> l) {
        return l.stream().map(String::valueOf).toList();
      }
      return v == null ? List.of() : List.of(String.valueOf(v).split(" "));
    }
  }

  /** A problem with the command's input (not with the policy): exit status 2. */
  static final class UsageProblem extends RuntimeException {
    UsageProblem(String message) {
      super(message);
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new UsageProblem("cannot read " + p + ": " + e.getMessage());
    }
  }

  private static Node parseTree(String file, String text) {
    try {
      return YamlTree.parse(file, text);
    } catch (PolicyException e) {
      throw new UsageProblem(e.getMessage());
    }
  }

  private static MapNode map(Node n, String file, String key) {
    if (n instanceof MapNode m) {
      return m;
    }
    throw new UsageProblem(file + ":" + n.line() + ": " + (key.isEmpty() ? "top level" : key) + ": must be a mapping");
  }

  private static void known(MapNode m, Set<String> keys, String file, String key) {
    for (String k : m.entries().keySet()) {
      if (!keys.contains(k)) {
        throw new UsageProblem(file + ":" + m.keyLines().get(k) + ": " + join(key, k) + ": unknown key (known keys: "
            + new java.util.TreeSet<>(keys) + ")");
      }
    }
  }

  private static String text(MapNode m, String k, String file, String key, boolean required) {
    Node n = m.entries().get(k);
    if (n == null || (n instanceof Scalar s && s.isNull())) {
      if (required) {
        throw new UsageProblem(file + ":" + m.line() + ": " + join(key, k) + ": required");
      }
      return null;
    }
    if (!(n instanceof Scalar s)) {
      throw new UsageProblem(file + ":" + n.line() + ": " + join(key, k) + ": must be a single value");
    }
    return s.text();
  }

  private static String join(String key, String k) {
    return key.isEmpty() ? k : key + "." + k;
  }

  /** YAML node → plain Java values (Map, List, String, Long, Double, Boolean, null). */
  static Object toJava(Node n) {
    return switch (n) {
      case MapNode m -> {
        Map<String, Object> out = new LinkedHashMap<>();
        m.entries().forEach((k, v) -> out.put(k, toJava(v)));
        yield out;
      }
      case ListNode l -> {
        List<Object> out = new ArrayList<>();
        l.items().forEach(i -> out.add(toJava(i)));
        yield out;
      }
      case Scalar s -> switch (s.kind()) {
        case VALUE_NULL -> null;
        case VALUE_TRUE -> Boolean.TRUE;
        case VALUE_FALSE -> Boolean.FALSE;
        case VALUE_NUMBER_INT -> parseLong(s.text());
        case VALUE_NUMBER_FLOAT -> Double.parseDouble(s.text());
        default -> s.text();
      };
    };
  }

  private static Object parseLong(String s) {
    try {
      return Long.parseLong(s);
    } catch (NumberFormatException e) {
      return Double.parseDouble(s);
    }
  }
}
