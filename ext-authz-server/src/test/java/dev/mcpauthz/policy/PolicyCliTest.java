package dev.mcpauthz.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.McpAuthzMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mcp-authz policy validate|test|explain}: exit codes and what a security owner reads. */
class PolicyCliTest {
  static final String DIR = PolicyFixtures.EXAMPLES.toString();
  static final String CASES = PolicyFixtures.EXAMPLE_CASES.resolve("github-cases.yaml").toString();
  static final String PUSH = PolicyFixtures.EXAMPLE_CASES.resolve("push-to-main.json").toString();

  @TempDir
  Path tmp;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = PolicyCli.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void validateAcceptsTheExample() {
    Run r = run("validate", DIR);
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("policy OK: " + DIR + " (1 files, version ").contains("server github: 7 rules, default deny");
  }

  @Test
  void validateReportsFileLineAndReasonAndExits1() throws Exception {
    Files.writeString(tmp.resolve("github.yaml"), """
        server: github
        rules:
          - id: push
            match: {tool: push_files}
            when: claims.org = "acme"
            effect: allow
        """);
    Run r = run("validate", tmp.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).startsWith("invalid policy: github.yaml:5: rules[0].when: CEL compile error");
  }

  @Test
  void usageErrorsExit2() {
    assertThat(run().code()).isEqualTo(2);
    assertThat(run("validate").code()).isEqualTo(2);
    assertThat(run("frobnicate", DIR).code()).isEqualTo(2);
    assertThat(run("test", DIR).err()).contains("Missing required parameter");
    Run missingCases = run("test", DIR, tmp.resolve("nope.yaml").toString());
    assertThat(missingCases.code()).isEqualTo(2);
    assertThat(missingCases.err()).contains("cannot read");
  }

  @Test
  void testRunsTheExampleCases() {
    Run r = run("test", DIR, CASES);
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("PASS  a maintainer pushes to a feature branch").contains("PASS: 10/10 cases passed");
  }

  @Test
  void aMismatchExits1WithAReadableDiff() throws Exception {
    Path cases = tmp.resolve("cases.yaml");
    Files.writeString(cases, """
        cases:
          - name: reader may push (wrong on purpose)
            request: {server: github, method: tools/call, name: push_files, scopes: [repo:write], claims: {org: acme}, args: {branch: x}}
            expect: {decision: allow, rule: push}
          - name: reader reads
            request: {server: github, method: tools/call, name: get_issue, scopes: "repo:read"}
            expect: allow
        """);
    Run r = run("test", DIR, cases.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("""
        FAIL  reader may push (wrong on purpose)  (cases.yaml:2)
              - decision: allow
              + decision: deny
              - rule: push
              + rule: default
              actual: deny  rule=default
        PASS  reader reads
        FAIL: 1/2 cases passed""");
  }

  @Test
  void malformedCasesAreAUsageError() throws Exception {
    Path cases = tmp.resolve("cases.yaml");
    Files.writeString(cases, "cases:\n  - request: {server: github, method: tools/call}\n    expect: maybe\n");
    Run r = run("test", DIR, cases.toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("cases.yaml:3: cases[0].expect: must be one of");
  }

  @Test
  void explainShowsTheRulesTriedAndTheConditionValues() {
    Run r = run("explain", DIR, PUSH);
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out())
        .contains("request: tools/call push_files  server github  token scopes [mcp:tools repo:write]")
        .contains("2. push  (github.yaml:40, priority 0, allow, tool push_files)")
        .contains("       \"maintainers\" in claims.groups  ->  true")
        .contains("       args.branch != \"main\"  ->  false")
        .contains("     condition false: does not apply")
        .contains("policy: deny by the server's default (github.yaml:12)")
        .contains("decision: deny  rule=default");
  }

  @Test
  void configAddsTheServersRequiredScopesToEveryChallenge() throws Exception {
    Path config = tmp.resolve("mcp-authz.yaml");
    Files.writeString(config, """
        issuers:
          - {id: idp, issuer: https://idp.example.com, jwks_uri: https://idp.example.com/jwks}
        servers:
          - id: github
            resource: https://mcp.example.com/mcp
            required_scopes: [mcp:tools]
            upstream: {provider: gh, scopes: [read:user]}
        providers:
          - {id: gh, client_id: c, client_secret: s, token_endpoint: https://github.com/login/oauth/access_token}
        vault:
          keys: [{id: k1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]
        policy: {dir: %s}
        """.formatted(DIR));
    Path cases = tmp.resolve("cases.yaml");
    Files.writeString(cases, """
        cases:
          - request: {server: github, method: tools/call, name: get_issue, scopes: [repo:read]}
            expect: {decision: insufficient_scope, scopes: [mcp:tools, repo:read]}
        """);
    Run r = run("test", "--config", config.toString(), DIR, cases.toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();

    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      McpAuthzMain.main(new String[] {"--config", config.toString(), "--check-config"});
    } finally {
      System.setOut(stdout);
    }
    assertThat(captured.toString(StandardCharsets.UTF_8)).contains("mcp-authz: policy OK: ").contains("1 servers, 7 rules");
  }

  @Test
  void aPolicyForAnUnconfiguredServerIsRefusedWithConfig() throws Exception {
    Path config = tmp.resolve("mcp-authz.yaml");
    Files.writeString(config, """
        issuers:
          - {id: idp, issuer: https://idp.example.com, jwks_uri: https://idp.example.com/jwks}
        servers:
          - {id: gitlab, resource: https://mcp.example.com/mcp}
        """);
    Run r = run("validate", "-c", config.toString(), DIR);
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.err()).contains("github.yaml:11: server: unknown MCP server 'github' (configured: [gitlab])");
  }
}
