package dev.mcpauthz.policy;

import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.testing.TestIssuer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Shared set-up of the policy tests: the example policy, a harness config that uses a policy directory. */
final class PolicyFixtures {
  /** examples/policies (tests run in ext-authz-server/). */
  static final Path EXAMPLES = Path.of("..", "examples", "policies").toAbsolutePath().normalize();
  static final Path EXAMPLE_CASES = Path.of("..", "examples", "policy-tests").toAbsolutePath().normalize();

  private PolicyFixtures() {}

  /**
   * The harness's default config plus a policy directory and an upstream for the {@code github}
   * server (so rules may name upstream_scopes), with its vault on a single embedded member.
   * Tests that expect an allow store the user's credential first ({@link #connectUpstream}).
   */
  static String yaml(TestIssuer issuer, Path policyDir) {
    return AuthzHarness.defaultYaml(issuer)
        .replace("logging: {decisions: denied}", "logging: {decisions: all}")
        .replace("    required_scopes: [mcp:tools]\n",
            "    required_scopes: [mcp:tools]\n    upstream: {provider: gh, scopes: [read:user]}\n")
        + """
        providers:
          - id: gh
            client_id: mcp-authz
            client_secret: s3cret
            token_endpoint: http://127.0.0.1:1/token
        vault:
          keys: [{id: k1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]
        cluster: {cluster_name: policy-%d, port: %d}
        policy: {dir: %s, watch: false}
        """.formatted(System.nanoTime(), FreePorts.pick(), policyDir);
  }

  /** The upstream token {@link #connectUpstream} stores for a user. */
  static String upstreamToken(String subject) {
    return "gh-access-" + subject;
  }

  /**
   * Stands in for the consent flow: stores the user's GitHub credential with every scope the
   * example policy can ask for, valid for an hour, so allowed calls inject {@link #upstreamToken}.
   */
  static void connectUpstream(dev.mcpauthz.testing.AuthzHarness authz, TestIssuer issuer, String subject) {
    var server = authz.server();
    try {
      server.vault().store(new dev.mcpauthz.vault.CredentialKey(issuer.issuer(), subject, "github"),
          new dev.mcpauthz.config.AuthzConfig.Upstream("gh", null, java.util.List.of("read:user")),
          java.util.List.of("read:user", "public_repo", "repo"),
          new dev.mcpauthz.upstream.TokenGrant(upstreamToken(subject), "gh-refresh-" + subject,
              java.time.Instant.now().plus(java.time.Duration.ofHours(1)), java.util.List.of("read:user", "public_repo", "repo")),
          "test").get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("cannot store the upstream credential", e);
    }
  }

  /** A fresh temp directory holding a copy of the example GitHub policy. */
  static Path copyOfExamples(Path tmp) {
    try {
      Path dir = Files.createDirectories(tmp.resolve("policies"));
      Files.copy(EXAMPLES.resolve("github.yaml"), dir.resolve("github.yaml"));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static void write(Path file, String text) {
    try {
      Files.writeString(file, text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Compiles policy text for one server (any server id accepted). */
  static ServerPolicy compile(String server, String yaml) {
    return PolicyCompiler.compile(List.of(new PolicySource(server + ".yaml", yaml)), PolicyEnvironment.ANY, 1)
        .forServer(server);
  }

  static PolicyInput input(String method, String name, Map<String, ?> claims, String argsJson) {
    try {
      var args = argsJson == null ? null : new com.fasterxml.jackson.databind.ObjectMapper().readTree(argsJson);
      return PolicyInput.of("github", method, name, () -> claims, Map::of, args, false);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
