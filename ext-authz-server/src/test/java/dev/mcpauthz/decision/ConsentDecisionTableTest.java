package dev.mcpauthz.decision;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.benmanes.caffeine.cache.Ticker;
import dev.mcpauthz.authn.IssuerRuntime;
import dev.mcpauthz.authn.TokenVerifier;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.ingress.EnvoyCheckContext;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Issue 4 item 1, the consent decision model as a table: what the vault says × which MCP method →
 * what the gateway does. Prompts happen only for first consent, scope escalation and revocation, and
 * never on handshakes or discovery; a usable or refreshable credential never prompts; a transient
 * refresh failure is a 503, never a prompt. (What the vault says for each stored state is
 * {@code vault.ConsentRules}, tabled in {@code ConsentRulesTableTest}.)
 */
class ConsentDecisionTableTest {
  private static final ExecutorService io = Executors.newVirtualThreadPerTaskExecutor();
  private static final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private static final AtomicReference<UpstreamAccess> vaultSays = new AtomicReference<>();
  private static TestIssuer issuer;
  private static List<IssuerRuntime> issuers;
  private static AuthorizationEngine engine;
  private static String jwt;

  @BeforeAll
  static void start() throws Exception {
    issuer = TestIssuer.start();
    String yaml = AuthzHarness.defaultYaml(issuer).replace("    required_scopes: [mcp:tools]\n",
        "    required_scopes: [mcp:tools]\n    upstream: {provider: gh, scopes: [repo]}\n") + """
        providers:
          - {id: gh, token_endpoint: https://gh.example.test/token, client_id: c, client_secret: s}
        vault:
          keys: [{id: k1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]
        """;
    AuthzConfig config = ConfigLoader.parse(yaml, "t.yaml", Map.of(), null);
    issuers = config.issuers().stream()
        .map(i -> new IssuerRuntime(i, io, scheduler, Clock.systemUTC(), Ticker.systemTicker())).toList();
    issuers.forEach(IssuerRuntime::start);
    UpstreamCredentials scripted = (user, server, needed, id) -> CompletableFuture.completedFuture(vaultSays.get());
    engine = new AuthorizationEngine(config, new ServerRouter(config, issuers),
        new TokenVerifier(issuers, Clock.systemUTC(), Ticker.systemTicker()), scripted);
    jwt = issuer.mint(AuthzHarness.RESOURCE, c -> c.claim("scope", "mcp:tools"));
  }

  @AfterAll
  static void stop() {
    issuers.forEach(IssuerRuntime::close);
    issuer.close();
    io.shutdownNow();
    scheduler.shutdownNow();
  }

  private static UpstreamAccess vault(String state) {
    return switch (state) {
      case "valid" -> UpstreamAccess.Granted.bearer("upstream-token");
      case "none" -> new UpstreamAccess.ConsentNeeded(ConsentReason.FIRST_CONSENT, "gh", List.of("repo"));
      case "needs_more" -> new UpstreamAccess.ConsentNeeded(ConsentReason.SCOPE_ESCALATION, "gh",
          List.of("read:user", "repo"));
      case "revoked" -> new UpstreamAccess.ConsentNeeded(ConsentReason.REVOKED, "gh", List.of("repo"));
      case "refresh_failing" -> new UpstreamAccess.Unavailable(7, "http_5xx");
      default -> throw new IllegalArgumentException(state);
    };
  }

  private static String body(String method) {
    return switch (method) {
      case "tools/call" -> "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"search\",\"arguments\":{}}}";
      case "resources/read" -> "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"uri\":\"repo://x\"}}";
      case "prompts/get" -> "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/get\",\"params\":{\"name\":\"p\"}}";
      case "initialize" -> "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
      case "notifications/initialized" -> "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
      default -> "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"" + method + "\"}";
    };
  }

  @ParameterizedTest(name = "vault {0}, {1} -> {2} {3}")
  @CsvSource({
      // vault,          method,                    outcome, reason
      "valid,            tools/call,                ALLOW,   upstream_token_injected",
      "valid,            initialize,                ALLOW,   upstream_token_injected",
      "none,             tools/call,                ELICIT,  consent_required_first_consent",
      "none,             resources/read,            ELICIT,  consent_required_first_consent",
      "none,             prompts/get,               ELICIT,  consent_required_first_consent",
      "needs_more,       tools/call,                ELICIT,  consent_required_scope_escalation",
      "revoked,          tools/call,                ELICIT,  consent_required_revoked",
      "none,             initialize,                ALLOW,   upstream_consent_deferred",
      "none,             notifications/initialized, ALLOW,   upstream_consent_deferred",
      "none,             ping,                      ALLOW,   upstream_consent_deferred",
      "none,             tools/list,                ALLOW,   upstream_consent_deferred",
      "none,             resources/list,            ALLOW,   upstream_consent_deferred",
      "none,             prompts/list,              ALLOW,   upstream_consent_deferred",
      "none,             server/discover,           ALLOW,   upstream_consent_deferred",
      "revoked,          tools/list,                ALLOW,   upstream_consent_deferred",
      "needs_more,       ping,                      ALLOW,   upstream_consent_deferred",
      "refresh_failing,  tools/call,                DENY,    upstream_unavailable",
      "refresh_failing,  resources/read,            DENY,    upstream_unavailable",
  })
  void decides(String vault, String method, Decision.Outcome outcome, String reason) throws Exception {
    vaultSays.set(vault(vault));
    Decision d = engine.decide(new EnvoyCheckContext(Checks.post("/mcp").bearer(jwt).body(body(method)).build()),
        "table").get(10, TimeUnit.SECONDS);
    assertThat(d.outcome()).isEqualTo(outcome);
    assertThat(d.reason()).isEqualTo(reason);
    if (outcome == Decision.Outcome.ELICIT) {
      assertThat(d.consent()).isEqualTo(vaultSays.get()); // the scopes asked for are exactly granted ∪ needed
    } else {
      assertThat(d.consent()).isNull();
    }
    if (vault.equals("refresh_failing")) {
      assertThat(d.httpStatus()).isEqualTo(503);
      assertThat(d.retryAfterSeconds()).isEqualTo(7);
    }
  }
}
