package dev.mcpauthz.consent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.Conditions;
import dev.mcpauthz.testing.CookieBrowser;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.testing.LoopbackAuthorizationServer;
import dev.mcpauthz.testing.LoopbackAuthorizationServer.Client;
import dev.mcpauthz.testing.MutableClock;
import dev.mcpauthz.testing.Responses;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The consent pages end to end over real HTTP and gRPC: a Check prompts, a browser (cookies,
 * redirects hop by hop) signs in at the inbound issuer, authorizes at the upstream provider, lands on
 * the resume page, and the retried call passes with the new upstream token and no second prompt.
 * Both identity providers are real loopback authorization servers. Then the attacks of issue 4.
 */
class ConsentFlowTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String RESOURCE = AuthzHarness.RESOURCE;
  private static final String UPSTREAM_RESOURCE = "https://api.example.com/";
  private static final String MCP_CLIENT = "vscode-mcp";
  private static final String DEEP_LINK = "vscode://example.mcp-authz/mcp-auth-complete?state=";
  private static final String CALL_ARGS = "{\"query\":\"open issues\",\"limit\":5}";

  private LoopbackAuthorizationServer inbound;
  private LoopbackAuthorizationServer upstream;
  private McpAuthzServer authz;
  private ManagedChannel channel;
  private AuthorizationGrpc.AuthorizationBlockingStub stub;
  private String base;
  private final MutableClock clock = MutableClock.at(Instant.now());

  @BeforeEach
  void start() throws Exception {
    int httpPort = FreePorts.pick();
    base = "http://127.0.0.1:" + httpPort;
    inbound = LoopbackAuthorizationServer.builder().issuerPath("/realms/corp")
        .client(Client.confidential("mcp-authz-consent", "in-secret", base + "/auth/callback"))
        .start();
    upstream = LoopbackAuthorizationServer.builder().issuerPath("/realms/upstream")
        .client(Client.confidential("mcp-authz", "up-secret", base + "/auth/callback"))
        .start();
    String yaml = """
        grpc: {port: 0, drain_timeout: 5s}
        http: {port: %d}
        logging: {decisions: all}
        issuers:
          - {id: corp, issuer: %s, jwks_uri: %s}
        servers:
          - id: github
            resource: %s
            resource_name: GitHub tools
            match: {authority: mcp.example.com, path_prefix: /mcp}
            required_scopes: [mcp:tools]
            upstream: {provider: gh, resource: %s, scopes: [read:user, repo]}
        providers:
          - {id: gh, display_name: GitHub, issuer: %s, client_id: mcp-authz, client_secret: up-secret}
        vault:
          keys: [{id: k1, secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=}]
        cluster: {cluster_name: flow-%d, port: %d}
        consent:
          public_base_url: %s
          sign_in: [{issuer: corp, client_id: mcp-authz-consent, client_secret: in-secret}]
          clients:
            - id: vscode
              display_name: Visual Studio Code
              deep_link: "%s{state}"
              oauth_client_ids: [%s]
        """.formatted(httpPort, inbound.issuer(), inbound.jwksUri(), RESOURCE, UPSTREAM_RESOURCE, upstream.issuer(),
        System.nanoTime(), FreePorts.pick(), base, DEEP_LINK, MCP_CLIENT);
    authz = McpAuthzServer.start(ConfigLoader.parse(yaml, "flow.yaml", Map.of(), null), clock);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", authz.grpcPort()).usePlaintext().build();
    stub = AuthorizationGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    authz.close();
    inbound.close();
    upstream.close();
  }

  /** An MCP access token for {@code subject}, issued to the VS Code client by the inbound issuer. */
  private String mcpToken(String subject) {
    inbound.signInAs(subject);
    return inbound.mintIdToken(MCP_CLIENT, c -> c.subject(subject).audience(RESOURCE).claim("scope", "mcp:tools")
        .claim("client_id", MCP_CLIENT).expirationTime(java.util.Date.from(Instant.now().plusSeconds(3600))));
  }

  private CheckResponse call(String token, int id) {
    return stub.withDeadlineAfter(30, TimeUnit.SECONDS)
        .check(Checks.post("/mcp").bearer(token).toolsCall(id, "search_issues", CALL_ARGS).build());
  }

  /** The consent link of a prompting call (no URL elicitation declared: a tool result with the link). */
  private static String link(CheckResponse prompt) throws Exception {
    assertThat(Responses.metadata(prompt, "outcome")).isEqualTo("elicit");
    String text = JSON.readTree(Responses.body(prompt)).at("/result/content/0/text").asText();
    return text.substring(text.indexOf("http://"));
  }

  private static String query(URI uri, String name) {
    for (String pair : uri.getRawQuery().split("&")) {
      int eq = pair.indexOf('=');
      if (pair.substring(0, eq).equals(name)) {
        return URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      }
    }
    return null;
  }

  private static URI location(HttpResponse<String> r) {
    return r.uri().resolve(r.headers().firstValue("location").orElseThrow());
  }

  private double meter(String name, String... tags) {
    var search = authz.registry().find(name).tags(tags);
    return search.counter() == null ? 0 : search.counter().count();
  }

  @Test
  void promptSignInConsentResumeAndTheRetriedCallPassesWithoutASecondPrompt() throws Exception {
    String token = mcpToken("alice");
    String link = link(call(token, 1));
    assertThat(link).startsWith(base + "/auth/start?elicitation=");

    CookieBrowser browser = new CookieBrowser();
    inbound.signInAs("alice");
    CookieBrowser.Navigation nav = browser.navigate(link);
    HttpResponse<String> page = nav.last();
    assertThat(page.statusCode()).as("%s", nav.uris()).isEqualTo(200);
    assertThat(page.uri().getPath()).isEqualTo("/auth/resume");
    assertThat(page.body()).contains("data-page=\"resume\"", "GitHub", "GitHub tools", "Visual Studio Code");

    // Sign-in at the inbound issuer: OIDC code flow with PKCE S256 and a nonce, back to /auth/callback.
    var signIn = inbound.lastAuthorizeRequest();
    assertThat(signIn.clientId()).isEqualTo("mcp-authz-consent");
    assertThat(signIn.scope()).isEqualTo("openid");
    assertThat(signIn.codeChallengeMethod()).isEqualTo("S256");
    assertThat(signIn.nonce()).isNotBlank();
    assertThat(signIn.redirectUri()).isEqualTo(base + "/auth/callback");
    // Authorization at the provider: least privilege scopes, RFC 8707 resource, PKCE S256, a fresh state.
    var authorize = upstream.lastAuthorizeRequest();
    assertThat(authorize.clientId()).isEqualTo("mcp-authz");
    assertThat(authorize.scope().split(" ")).containsExactlyInAnyOrder("read:user", "repo");
    assertThat(authorize.resources()).containsExactly(UPSTREAM_RESOURCE);
    assertThat(authorize.codeChallengeMethod()).isEqualTo("S256");
    assertThat(authorize.state()).isNotEqualTo(signIn.state());
    assertThat(upstream.tokenCalls("authorization_code")).isEqualTo(1);
    assertThat(upstream.lastTokenRequest().succeeded()).isTrue();
    assertThat(upstream.lastTokenRequest().resources()).containsExactly(UPSTREAM_RESOURCE);
    // No user data, token or code in any URL of ours.
    for (URI u : nav.uris()) {
      if (u.toString().startsWith(base)) {
        assertThat(u.toString()).doesNotContain("alice");
      }
    }

    // The resume page: the allowlisted deep link and the copyable resume code are the same sealed state.
    String state = query(page.uri(), "state");
    assertThat(page.body()).contains("id=\"open-client\" href=\"" + DEEP_LINK + state + "\"")
        .contains("id=\"resume-token\" readonly value=\"" + state + "\"");
    assertThat(page.headers().firstValue("cache-control")).contains("no-store");
    assertThat(page.headers().firstValue("x-frame-options")).contains("DENY");
    assertThat(page.headers().firstValue("content-security-policy").orElseThrow()).contains("frame-ancestors 'none'")
        .contains("script-src 'nonce-");
    var session = browser.cookie(URI.create(base + "/auth/start"), ConsentFlow.SESSION_COOKIE);
    assertThat(session.isHttpOnly()).isTrue();
    assertThat(session.getPath()).isEqualTo("/auth");

    // The retry (new JSON-RPC id, same call) passes with the user's upstream token: no second prompt.
    CheckResponse retry = call(token, 2);
    assertThat(Responses.allowed(retry)).isTrue();
    String injected = Responses.okHeader(retry, "authorization");
    assertThat(injected).startsWith("Bearer ").isNotEqualTo("Bearer " + token);
    assertThat(Responses.metadata(retry, "reason")).isEqualTo("upstream_token_injected");

    assertThat(meter("mcp.authz.consent.outcomes", "outcome", "completed", "server", "github")).isEqualTo(1);
    assertThat(meter("mcp.authz.consent.elicitations", "reason", "first_consent", "server", "github")).isEqualTo(1);
    Conditions.waitUntil(() -> meter("mcp.authz.consent.resumes", "outcome", "succeeded") == 1);
    assertThat(authz.registry().find("mcp.authz.consent.resume.delay").timer().count()).isEqualTo(1);
    // A second retry is an ordinary call, not a second resume.
    assertThat(Responses.allowed(call(token, 3))).isTrue();
    assertThat(meter("mcp.authz.consent.resumes", "outcome", "succeeded")).isEqualTo(1);

    // Re-opening the consent link after completion shows the resume page again, without a new authorization.
    int authorizations = upstream.authorizeRequests().size();
    assertThat(browser.navigate(link).last().body()).contains("data-page=\"resume\"");
    assertThat(upstream.authorizeRequests()).hasSize(authorizations);
  }

  @Test
  void anotherUserOpeningTheLinkIsRefusedAndNothingIsAuthorized() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    inbound.signInAs("mallory");
    HttpResponse<String> page = new CookieBrowser().navigate(link).last();
    assertThat(page.statusCode()).isEqualTo(403);
    assertThat(page.body()).contains("data-page=\"different-user\"", "id=\"switch-user\"");
    assertThat(upstream.authorizeRequests()).isEmpty();
    assertThat(meter("mcp.authz.consent.outcomes", "outcome", "refused")).isEqualTo(1);
    link(call(mcpToken("alice"), 2)); // the same pending link re-sent: a second prompt, still one elicitation
    assertThat(meter("mcp.authz.consent.prompts", "server", "github")).isEqualTo(2);
    assertThat(meter("mcp.authz.consent.elicitations", "server", "github")).isEqualTo(1);
    // Alice's link still works for Alice.
    inbound.signInAs("alice");
    assertThat(new CookieBrowser().navigate(link).last().body()).contains("data-page=\"resume\"");
  }

  @Test
  void aReplayedCallbackAndACallbackFromAnotherBrowserAreRefused() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    CookieBrowser browser = new CookieBrowser();
    inbound.signInAs("alice");
    // Stop right before the provider's redirect back to us, then deliver it twice.
    CookieBrowser.Navigation nav = browser.navigate(link, upstream.issuer());
    URI callback = location(browser.get(location(nav.last())));
    assertThat(callback.getPath()).isEqualTo("/auth/callback");

    HttpResponse<String> stolen = new CookieBrowser().get(callback);
    assertThat(stolen.statusCode()).isEqualTo(400);
    assertThat(stolen.body()).contains("data-page=\"other-browser\"");
    // The state was spent by the foreign attempt: the real browser must start over, no code was exchanged.
    HttpResponse<String> replay = browser.get(callback);
    assertThat(replay.body()).contains("data-page=\"stale-state\"");
    assertThat(upstream.tokenCalls("authorization_code")).isZero();
    // Nothing was stored: the next call still prompts, with the same pending link.
    assertThat(link(call(mcpToken("alice"), 2))).isEqualTo(link);
  }

  @Test
  void aCallbackReplayedAfterSuccessDoesNotExchangeTheCodeAgain() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    CookieBrowser browser = new CookieBrowser();
    inbound.signInAs("alice");
    CookieBrowser.Navigation nav = browser.navigate(link);
    URI callback = nav.uris().stream().filter(u -> u.getPath().equals("/auth/callback"))
        .reduce((a, b) -> b).orElseThrow();
    assertThat(nav.last().body()).contains("data-page=\"resume\"");
    HttpResponse<String> replay = browser.get(callback);
    assertThat(replay.statusCode()).isEqualTo(400);
    assertThat(replay.body()).contains("data-page=\"stale-state\"");
    assertThat(upstream.tokenCalls("authorization_code")).isEqualTo(1);
  }

  @Test
  void aMismatchedOrMissingIssIsRefusedBeforeAnyExchange() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    inbound.signInAs("alice");
    upstream.sendIss("https://evil.example.com/");
    HttpResponse<String> mixUp = new CookieBrowser().navigate(link).last();
    assertThat(mixUp.body()).contains("data-page=\"issuer-mismatch\"");

    upstream.omitIss(); // the metadata promises iss (RFC 9207 §3): a response without it is refused too
    HttpResponse<String> missing = new CookieBrowser().navigate(link).last();
    assertThat(missing.body()).contains("data-page=\"issuer-mismatch\"");
    assertThat(upstream.tokenCalls("authorization_code")).isZero();

    upstream.sendCorrectIss();
    assertThat(new CookieBrowser().navigate(link).last().body()).contains("data-page=\"resume\"");
  }

  @Test
  void aFailedOrMixedUpSignInAtTheInboundIssuerConnectsNothing() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    inbound.refuseAuthorizations("login_required");
    HttpResponse<String> refused = new CookieBrowser().navigate(link).last();
    assertThat(refused.statusCode()).isEqualTo(400);
    assertThat(refused.body()).contains("data-page=\"sign-in-failed\"", "login_required");

    inbound.grantAccess().signInAs("alice").sendIss("https://evil.example.com/");
    HttpResponse<String> mixUp = new CookieBrowser().navigate(link).last();
    assertThat(mixUp.body()).contains("data-page=\"issuer-mismatch\"");
    assertThat(inbound.tokenCalls("authorization_code")).isZero();
    assertThat(upstream.authorizeRequests()).isEmpty();
  }

  @Test
  void aUserWhoDeclinesGetsAClearPageAndIsAskedAgainNextTime() throws Exception {
    String token = mcpToken("alice");
    String link = link(call(token, 1));
    inbound.signInAs("alice");
    upstream.denyAccess();
    HttpResponse<String> page = new CookieBrowser().navigate(link).last();
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("data-page=\"denied\"", "You declined access", "id=\"retry\"");
    assertThat(meter("mcp.authz.consent.outcomes", "outcome", "denied")).isEqualTo(1);
    assertThat(Responses.metadata(call(token, 2), "outcome")).isEqualTo("elicit");
  }

  @Test
  void anExpiredLinkSaysSoAndIsCounted() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    clock.advance(Duration.ofMinutes(11));
    HttpResponse<String> page = new CookieBrowser().navigate(link).last();
    assertThat(page.statusCode()).isEqualTo(410);
    assertThat(page.body()).contains("data-page=\"expired\"", "GitHub");
    assertThat(meter("mcp.authz.consent.outcomes", "outcome", "expired")).isEqualTo(1);

    HttpResponse<String> forged = new CookieBrowser().get(base + "/auth/start?elicitation=" + FlowSecrets.random());
    assertThat(forged.statusCode()).isEqualTo(404);
    assertThat(new CookieBrowser().get(base + "/auth/start?elicitation=%3Cscript%3E").body())
        .doesNotContain("<script>").contains("data-page=\"unknown-link\"");
  }

  @Test
  void tamperedOrForeignResumeStateIsRefused() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    inbound.signInAs("alice");
    HttpResponse<String> page = new CookieBrowser().navigate(link).last();
    String state = query(page.uri(), "state");
    char[] c = state.toCharArray();
    int at = state.lastIndexOf('.') - 5; // inside the ciphertext
    c[at] = c[at] == 'A' ? 'B' : 'A';
    HttpResponse<String> tampered = new CookieBrowser().get(base + "/auth/resume?state=" + new String(c));
    assertThat(tampered.statusCode()).isEqualTo(400);
    assertThat(tampered.body()).contains("data-page=\"invalid-resume\"");
    // Sealed with another ring's key: also refused.
    var other = new ResumeStates(dev.mcpauthz.vault.KeyRing.of(Map.of("k1", new byte[32])), Duration.ofMinutes(5),
        clock);
    String foreign = other.seal(new Elicitation(FlowSecrets.random(), inbound.issuer(), "alice", "github", "gh",
        java.util.List.of(), dev.mcpauthz.decision.ConsentReason.FIRST_CONSENT, "", "vscode", clock.instant(),
        clock.instant().plusSeconds(60), clock.instant()));
    assertThat(new CookieBrowser().get(base + "/auth/resume?state=" + foreign).statusCode()).isEqualTo(400);
    clock.advance(Duration.ofMinutes(16)); // past consent.resume_ttl
    assertThat(new CookieBrowser().get(page.uri()).statusCode()).isEqualTo(400);
    assertThat(meter("mcp.authz.consent.resumes", "outcome", "failed", "reason", "invalid_state")).isEqualTo(3);
  }

  @Test
  void preConnectSignsInConsentsAndReturnsOnlyToAnAllowlistedClient() throws Exception {
    inbound.signInAs("bob");
    HttpResponse<String> unknownClient = new CookieBrowser().get(base
        + "/auth/start?client=evil&provider=gh&return=resume");
    assertThat(unknownClient.statusCode()).isEqualTo(400);
    HttpResponse<String> openRedirect = new CookieBrowser().get(base
        + "/auth/start?client=vscode&provider=gh&return=https%3A%2F%2Fevil.example.com%2F");
    assertThat(openRedirect.statusCode()).isEqualTo(400);
    assertThat(openRedirect.headers().firstValue("location")).isEmpty();

    HttpResponse<String> page = new CookieBrowser().navigate(base
        + "/auth/start?client=vscode&provider=gh&return=resume").last();
    assertThat(page.body()).contains("data-page=\"resume\"", "href=\"" + DEEP_LINK);
    // Bob's first call now passes straight away.
    assertThat(Responses.allowed(call(mcpToken("bob"), 1))).isTrue();
  }

  @Test
  void pagesCannotBeFramedOrCachedAndCookiesAreLaxHttpOnly() throws Exception {
    String link = link(call(mcpToken("alice"), 1));
    HttpResponse<String> first = new CookieBrowser().get(link);
    assertThat(first.statusCode()).isEqualTo(303);
    assertThat(first.headers().firstValue("cache-control")).contains("no-store");
    assertThat(first.headers().firstValue("referrer-policy")).contains("no-referrer");
    assertThat(first.headers().allValues("set-cookie")).anySatisfy(c -> assertThat(c)
        .startsWith(ConsentFlow.BROWSER_COOKIE + "=").containsIgnoringCase("HttpOnly")
        .containsIgnoringCase("SameSite=Lax").contains("Path=/auth"));
    URI signIn = location(first);
    assertThat(signIn.toString()).startsWith(inbound.authorizationEndpoint().toString());
    assertThat(query(signIn, "code_challenge_method")).isEqualTo("S256");
    assertThat(link).doesNotContain("alice");
  }
}
