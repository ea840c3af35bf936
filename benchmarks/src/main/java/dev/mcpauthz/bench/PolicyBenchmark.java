package dev.mcpauthz.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mcpauthz.policy.PolicyCompiler;
import dev.mcpauthz.policy.PolicyEnvironment;
import dev.mcpauthz.policy.PolicyInput;
import dev.mcpauthz.policy.PolicyResult;
import dev.mcpauthz.policy.PolicySource;
import dev.mcpauthz.policy.ServerPolicy;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Per-tool policy cost per Check: {@link ServerPolicy#evaluate} for one tools/call against a
 * server policy of {@code rules} rules (exact-name rules, name patterns, method rules and a CEL
 * condition), including building the request's {@link PolicyInput} and the lazy CEL variables.
 *
 * <ul>
 *   <li>{@code exactName}: a tool with its own rule (index hit, no condition);
 *   <li>{@code globName}: a tool only a name pattern covers (the method's pattern list);
 *   <li>{@code celCondition}: a rule whose condition reads claims and tool arguments;
 *   <li>{@code defaultDeny}: a tool no rule covers (walks the pattern list, then the default).
 * </ul>
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar PolicyBenchmark -bm sample -tu ns
 * </pre>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class PolicyBenchmark {
  @Param({"10", "1000"})
  public int rules;

  private ServerPolicy policy;
  private Map<String, Object> claims;
  private JsonNode args;
  private String exactTool;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    policy = PolicyCompiler.compile(List.of(new PolicySource("bench.yaml", yaml(rules))), PolicyEnvironment.ANY, 1)
        .forServer("bench");
    claims = Map.of("sub", "alice", "org", "acme", "groups", List.of("developers", "maintainers"), "scope", "mcp:tools repo:write");
    args = new ObjectMapper().readTree("{\"owner\":\"acme\",\"repo\":\"web\",\"branch\":\"feature/x\",\"files\":[{\"path\":\"a\"}]}");
    int middle = (rules - 5) / 2;
    exactTool = "tool_" + middle;
    check("exact", evaluate("tools/call", exactTool), "exact_" + middle);
    check("glob", evaluate("tools/call", "search_code"), "read-tools");
    check("cel", evaluate("tools/call", "push_files"), "push");
    check("default", evaluate("tools/call", "run_shell"), "default");
  }

  /** A policy of n rules: n-5 exact tool rules, 2 name patterns, a conditional push rule, protocol methods, a deny. */
  static String yaml(int n) {
    StringBuilder y = new StringBuilder("server: bench\ndefault: deny\nrules:\n");
    y.append("  - {id: protocol, match: {method: [initialize, ping, \"notifications/*\", tools/list]}, effect: allow}\n");
    y.append("  - {id: never-delete, priority: 100, match: {tool: \"delete_*\"}, effect: deny}\n");
    y.append("  - {id: read-tools, match: {tool: [\"get_*\", \"list_*\", \"search_*\"]}, scopes: [repo:read], effect: allow}\n");
    y.append("  - {id: writes, match: {tool: \"write_*\"}, scopes: [repo:write], effect: allow}\n");
    y.append("  - id: push\n    match: {tool: push_files}\n    scopes: [repo:write]\n")
        .append("    when: 'claims.org == \"acme\" && \"maintainers\" in claims.groups && args.branch != \"main\"'\n")
        .append("    effect: allow\n");
    for (int i = 0; i < n - 5; i++) {
      y.append("  - {id: exact_").append(i).append(", match: {tool: tool_").append(i).append("}, scopes: [repo:read], effect: allow}\n");
    }
    return y.toString();
  }

  private PolicyResult evaluate(String method, String name) {
    return policy.evaluate(PolicyInput.of("bench", method, name, () -> claims, Map::of, args, false));
  }

  private static void check(String what, PolicyResult r, String rule) {
    if (!r.ruleId().equals(rule)) {
      throw new IllegalStateException(what + ": expected rule " + rule + ", got " + r.ruleId());
    }
  }

  @Benchmark
  public PolicyResult exactName() {
    return evaluate("tools/call", exactTool);
  }

  @Benchmark
  public PolicyResult globName() {
    return evaluate("tools/call", "search_code");
  }

  @Benchmark
  public PolicyResult celCondition() {
    return evaluate("tools/call", "push_files");
  }

  @Benchmark
  public PolicyResult defaultDeny() {
    return evaluate("tools/call", "run_shell");
  }
}
