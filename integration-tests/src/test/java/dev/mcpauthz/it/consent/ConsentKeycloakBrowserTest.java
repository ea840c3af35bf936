package dev.mcpauthz.it.consent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.it.browser.Browser;
import dev.mcpauthz.it.envoy.EnvoyExtAuthzEmulator;
import dev.mcpauthz.it.envoy.ExtAuthzFilterConfig;
import dev.mcpauthz.it.keycloak.ClientSpec;
import dev.mcpauthz.it.keycloak.KeycloakExtension;
import dev.mcpauthz.it.keycloak.KeycloakServer;
import dev.mcpauthz.it.keycloak.RealmHandle;
import dev.mcpauthz.it.keycloak.RealmSpec;
import dev.mcpauthz.it.keycloak.UserSpec;
import dev.mcpauthz.it.mcp.DemoMcpServer;
import dev.mcpauthz.it.mcp.TsMcpClient;
import dev.mcpauthz.it.mcp.TsMcpClient.Sdk;
import dev.mcpauthz.it.mcp.TsMcpServer;
import dev.mcpauthz.testing.Conditions;
import dev.mcpauthz.testing.FreePorts;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpError;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;

/**
 * Issue 4 with every part real: a Keycloak with two realms (the inbound authorization server of
 * the MCP server, and the upstream provider whose tokens the MCP server needs), mcp-authz behind the
 * Envoy ext_authz emulator, real MCP servers (MCP Java SDK for 2025-11-25, TypeScript SDK 2.x for
 * 2026-07-28), real MCP clients (TypeScript SDK 1.x and 2.x, MCP Java SDK) and a real headless
 * Chromium that signs in on Keycloak's own login pages and answers Keycloak's own consent screen.
 *
 * <p>Each test gets a fresh mcp-authz (empty vault, fresh metrics) on the same fixed HTTP port, so
 * the redirect URI {@code <public_base_url>/auth/callback} registered at both realms stays right;
 * Keycloak forgets the users' earlier grants before each test, so its consent screen shows again.
 * Screenshots: {@code integration-tests/target/screenshots/ConsentKeycloakBrowserTest/}.
 */
@ExtendWith(KeycloakExtension.class)
class ConsentKeycloakBrowserTest {
  static final ObjectMapper JSON = new ObjectMapper();
  /** The MCP server's canonical URI (RFC 8707): the audience of the inbound access tokens. */
  static final String MCP_RESOURCE = "https://tools.consent-e2e.test/mcp";
  /** The upstream API's resource: the audience of the tokens mcp-authz gets from the provider. */
  static final String UPSTREAM_RESOURCE = "https://api.consent-e2e.test/";
  static final String UPSTREAM_SCOPE = "repo:read";
  static final String SERVER = "tools";
  static final String PROVIDER = "kc-up";
  static final String PROVIDER_NAME = "Team Keycloak";
  /** The MCP client's OAuth client at the inbound realm (the test gets its tokens by password grant). */
  static final String MCP_CLIENT = "vscode-mcp";
  static final String SIGN_IN_CLIENT = "mcp-authz-consent";
  static final String SIGN_IN_SECRET = "consent-sign-in-secret";
  static final String UPSTREAM_CLIENT = "mcp-authz";
  static final String UPSTREAM_SECRET = "upstream-client-secret";
  static final String DEEP_LINK = "vscode://example.mcp-authz/mcp-auth-complete?state=";
  static final Map<String, String> PASSWORDS = Map.of("alice", "alice-pw", "bob", "bob-pw");

  static RealmHandle inbound;
  static RealmHandle upstream;
  static String base;
  static int httpPort;
  static DemoMcpServer demo;
  static TsMcpServer modern;
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  McpAuthzServer authz;
  /** mcp-authz's clock: real time, which a test can move forward (token expiry without waiting). */
  final JumpingClock clock = new JumpingClock();
  EnvoyExtAuthzEmulator demoGateway;
  EnvoyExtAuthzEmulator modernGateway;
  Browser browser;

  @BeforeAll
  static void realmsAndServers(KeycloakServer keycloak) throws Exception {
    // Picked up front: both realms must know the exact redirect URI before mcp-authz listens.
    httpPort = FreePorts.pick();
    base = "http://127.0.0.1:" + httpPort;
    String callback = base + "/auth/callback";
    List<UserSpec> users = PASSWORDS.entrySet().stream().map(e -> UserSpec.of(e.getKey(), e.getValue())).toList();
    inbound = keycloak.createRealm(new RealmSpec("consent-inbound", List.of(
        ClientSpec.publicPkce(MCP_CLIENT),
        // The same-user guard's OIDC client: code flow with PKCE, exactly one redirect URI.
        new ClientSpec(SIGN_IN_CLIENT, SIGN_IN_SECRET, List.of(callback), true, false, false)),
        users, List.of("mcp:tools"), MCP_RESOURCE, Duration.ofMinutes(30)));
    upstream = keycloak.createRealm(new RealmSpec("consent-upstream", List.of(
        new ClientSpec(UPSTREAM_CLIENT, UPSTREAM_SECRET, List.of(callback), true, false, false)
            .withConsentRequired(true)),
        users, List.of(UPSTREAM_SCOPE), UPSTREAM_RESOURCE, Duration.ofMinutes(5)));
    assertRealmsAdvertiseIss();
    demo = DemoMcpServer.start(0);
    modern = TsMcpServer.start();
  }

  /**
   * Keycloak promises RFC 9207 {@code iss} in its metadata, so mcp-authz refuses a callback without
   * it (and one with another issuer): the real check runs on every callback below.
   */
  static void assertRealmsAdvertiseIss() throws Exception {
    for (RealmHandle realm : List.of(inbound, upstream)) {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(realm.discoveryUri()).build(),
          HttpResponse.BodyHandlers.ofString());
      JsonNode metadata = JSON.readTree(r.body());
      assertThat(metadata.path("issuer").asText()).isEqualTo(realm.issuer());
      assertThat(metadata.path("authorization_response_iss_parameter_supported").asBoolean()).as(realm.name())
          .isTrue();
      assertThat(metadata.path("code_challenge_methods_supported")).extracting(JsonNode::asText).contains("S256");
    }
  }

  @AfterAll
  static void stopServers() {
    if (modern != null) {
      modern.close();
    }
    if (demo != null) {
      demo.close();
    }
  }

  @BeforeEach
  void start() throws Exception {
    for (String user : PASSWORDS.keySet()) {
      upstream.revokeConsent(user, UPSTREAM_CLIENT);
    }
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    String yaml = """
        grpc: {port: 0, drain_timeout: 1s}
        http: {port: %d}
        issuers:
          - {id: kc-in, issuer: %s, jwks_uri: %s}
        servers:
          - id: %s
            resource: %s
            resource_name: Team tools
            scopes_supported: [mcp:tools]
            required_scopes: [mcp:tools]
            upstream: {provider: %s, resource: %s, scopes: [%s]}
        providers:
          - id: %s
            display_name: %s
            profile: keycloak
            issuer: %s
            client_id: %s
            client_secret: %s
        vault:
          keys: [{id: k1, secret: %s}]
        cluster: {cluster_name: consent-e2e-%d, port: %d}
        consent:
          public_base_url: %s
          sign_in: [{issuer: kc-in, client_id: %s, client_secret: %s}]
          clients:
            - id: vscode
              display_name: Visual Studio Code
              deep_link: "%s{state}"
              oauth_client_ids: [%s]
        """.formatted(httpPort, inbound.issuer(), inbound.jwksUri(), SERVER, MCP_RESOURCE, PROVIDER,
        UPSTREAM_RESOURCE, UPSTREAM_SCOPE, PROVIDER, PROVIDER_NAME, upstream.issuer(), UPSTREAM_CLIENT,
        UPSTREAM_SECRET, Base64.getEncoder().encodeToString(key), System.nanoTime(), FreePorts.pick(), base,
        SIGN_IN_CLIENT, SIGN_IN_SECRET, DEEP_LINK, MCP_CLIENT);
    authz = McpAuthzServer.start(ConfigLoader.parse(yaml, "consent-e2e.yaml", Map.of(), null), clock);
    demoGateway = gateway(authz.grpcPort(), demo.baseUri());
    modernGateway = gateway(authz.grpcPort(), modern.baseUri());
    browser = Browser.start(ConsentKeycloakBrowserTest.class);
  }

  /**
   * The Envoy ext_authz emulator as {@code envoy-examples/envoy.yaml} configures Envoy, except a
   * 5 s ext_authz timeout instead of 500 ms: Keycloak, Chromium, Node and the JVM share two cores
   * here, and a slow Check would turn into a 503 that has nothing to do with consent.
   */
  static EnvoyExtAuthzEmulator gateway(int grpcPort, URI upstreamMcp) {
    return EnvoyExtAuthzEmulator.start(ExtAuthzFilterConfig.builder("127.0.0.1:" + grpcPort)
        .timeout(Duration.ofSeconds(5))
        .withRequestBody(1024 * 1024, true)
        .packAsBytes(true)
        .statusOnError(503)
        .contextExtension("mcp_server", SERVER)
        .build(), upstreamMcp);
  }

  @AfterEach
  void stop() {
    for (AutoCloseable c : new AutoCloseable[] {browser, modernGateway, demoGateway, authz}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // close the others anyway
      }
    }
  }

  // ---- 1. TypeScript SDK 1.x, 2025-11-25: -32042, consent in the browser, retry passes -----------

  @Test
  void tsSdk1xGetsUrlElicitationConsentsInChromiumAndTheRetryPassesWithAlicesUpstreamToken() throws Exception {
    String token = mcpToken("alice");
    String sub = SignedJWT.parse(token).getJWTClaimsSet().getSubject();
    int seenBefore = demo.seen().size();
    String refreshed;
    try (TsMcpClient c = TsMcpClient.start(Sdk.V1, demoGateway.baseUri().resolve("/mcp"), token, "whoami",
        Map.of(), TsMcpClient.options().calls(3))) {
      assertThat(c.nextEvent("connected").path("protocolVersion").asText()).isEqualTo("2025-11-25");
      TsMcpClient.Outcome first = c.nextOutcome();
      assertThat(first.outcome()).as(first.json().toString()).isEqualTo("url_elicitation_required");
      assertThat(first.code()).isEqualTo(-32042);
      TsMcpClient.Elicitation e = first.elicitations().get(0);
      assertThat(e.mode()).isEqualTo("url");
      assertThat(e.url()).isEqualTo(base + "/auth/start?elicitation=" + e.elicitationId());
      assertThat(e.message()).contains(PROVIDER_NAME);

      consentInBrowser(e.url(), "alice", "1-v1");

      // The same call again (new JSON-RPC id) in the same session.
      c.nextEvent("waiting");
      c.send("retry");
      TsMcpClient.Outcome second = c.nextOutcome();
      assertThat(second.call()).isEqualTo(2);
      assertThat(second.outcome()).as("no second prompt: %s", second.json()).isEqualTo("ok");
      assertThat(second.text()).isEqualTo("subject=" + sub + " authorization_forwarded=true");
      int afterRetry = demo.seen().size();
      List<String> forwarded = demo.seen().subList(seenBefore, afterRetry).stream()
          .map(DemoMcpServer.Seen::authorization).filter(a -> a != null).distinct().toList();
      assertThat(forwarded).as("what the MCP server received as Authorization").singleElement()
          .satisfies(a -> assertThat(a).startsWith("Bearer ").isNotEqualTo("Bearer " + token));
      String consented = forwarded.get(0).substring("Bearer ".length());
      assertUpstreamTokenOf(consented, "alice");

      // Ten minutes later the upstream access token (5 minutes) has expired: the next call still
      // passes without a prompt, mcp-authz refreshed it at Keycloak with the refresh token from the
      // consent (rotated: the realm revokes refresh tokens on use).
      clock.jump(Duration.ofMinutes(10));
      c.nextEvent("waiting");
      c.send("retry");
      TsMcpClient.Outcome third = c.nextOutcome();
      assertThat(third.outcome()).as("no prompt after expiry: %s", third.json()).isEqualTo("ok");
      assertThat(third.text()).isEqualTo("subject=" + sub + " authorization_forwarded=true");
      refreshed = demo.seen().get(afterRetry).authorization().substring("Bearer ".length());
      assertThat(refreshed).isNotEqualTo(consented);
      assertUpstreamTokenOf(refreshed, "alice");
      assertThat(c.awaitExit()).isZero();
    }
    List<DemoMcpServer.Seen> seen = demo.seen().subList(seenBefore, demo.seen().size());
    assertThat(seen).allSatisfy(s -> {
      assertThat(s.subject()).isEqualTo(sub);
      assertThat(s.authorization()).as("never the client's own token").isNotEqualTo("Bearer " + token);
    });
    assertThat(metric("mcp_authz_provider_token_requests_total", "grant", "authorization_code", "outcome",
        "success")).isEqualTo(1);
    assertThat(metric("mcp_authz_provider_token_requests_total", "grant", "refresh_token", "outcome", "success"))
        .isEqualTo(1);

    assertThat(metric("mcp_authz_consent_prompts_total", "mode", "url_elicitation_error")).isEqualTo(1);
    assertThat(metric("mcp_authz_consent_prompts_total")).as("one prompt in all").isEqualTo(1);
    assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "completed")).isEqualTo(1);
    awaitMetric("mcp_authz_consent_resumes_total", 1, "outcome", "succeeded");
    assertThat(metric("mcp_authz_consent_resume_delay_seconds_count")).as("prompt → resumed call").isEqualTo(1);
  }

  // ---- 2. TypeScript SDK 2.x, 2026-07-28: input_required, the SDK retries by itself ---------------

  @Test
  void tsSdk2xModernEraGetsInputRequiredAndItsOwnRetryPassesAfterConsent() throws Exception {
    String token = mcpToken("alice");
    String sub = SignedJWT.parse(token).getJWTClaimsSet().getSubject();
    int requestsBefore = modern.requests().size();
    String injected;
    try (TsMcpClient c = TsMcpClient.start(Sdk.V2, modernGateway.baseUri().resolve("/mcp"), token, "whoami",
        Map.of(), TsMcpClient.options().era("auto").inputRequired("fulfil").maxRounds(1)
            .arg("--timeout-ms", "120000"))) {
      JsonNode connected = c.nextEvent("connected");
      assertThat(connected.path("era").asText()).isEqualTo("modern");
      assertThat(connected.path("protocolVersion").asText()).isEqualTo("2026-07-28");
      // The SDK's multi-round-trip driver hands the input_required's elicitation/create to the
      // client's handler, which waits for the user.
      JsonNode elicitation = c.nextEvent("elicitation").path("params");
      assertThat(elicitation.path("mode").asText()).isEqualTo("url");
      String url = elicitation.path("url").asText();
      assertThat(url).startsWith(base + "/auth/start?elicitation=");
      assertThat(elicitation.path("message").asText()).contains(PROVIDER_NAME);

      consentInBrowser(url, "alice", "2-v2");

      c.send("accept"); // the user is back: the SDK retries the call itself (max one round)
      TsMcpClient.Outcome o = c.nextOutcome();
      assertThat(o.outcome()).as("no second prompt: %s", o.json()).isEqualTo("ok");
      Matcher m = Pattern.compile("subject=(\\S+) authorization=Bearer (\\S+) era=modern").matcher(o.text());
      assertThat(m.matches()).as(o.text()).isTrue();
      assertThat(m.group(1)).isEqualTo(sub);
      injected = m.group(2);
    }
    assertThat(injected).isNotEqualTo(token);
    assertUpstreamTokenOf(injected, "alice");
    // The TypeScript server saw the probe and the retried call, never the prompt or the client's token.
    List<JsonNode> requests = modern.requests().subList(requestsBefore, modern.requests().size());
    List<JsonNode> calls = requests.stream()
        .filter(r -> "tools/call".equals(r.at("/headers/mcp-method").asText())).toList();
    assertThat(calls).singleElement().satisfies(r -> {
      assertThat(r.at("/headers/authorization").asText()).isEqualTo("Bearer " + injected);
      assertThat(r.at("/body/params/inputResponses").has("mcp_authz_consent")).as("the SDK's retry").isTrue();
    });
    assertThat(requests).allSatisfy(r -> assertThat(r.at("/headers/authorization").asText())
        .isNotEqualTo("Bearer " + token));

    assertThat(metric("mcp_authz_consent_prompts_total", "mode", "input_required")).isEqualTo(1);
    assertThat(metric("mcp_authz_consent_prompts_total")).isEqualTo(1);
    assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "completed")).isEqualTo(1);
    awaitMetric("mcp_authz_consent_resumes_total", 1, "outcome", "succeeded");
  }

  // ---- 3. the same-user guard: bob opens alice's link (MCP Java SDK client) ----------------------

  @Test
  void bobOpeningAlicesLinkIsRefusedBeforeTheProviderSeesAnythingThenAliceSwitchesAccountAndHerRetryPasses()
      throws Exception {
    String aliceToken = mcpToken("alice");
    String link;
    try (McpSyncClient alice = javaClient(aliceToken)) {
      alice.initialize();
      link = promptUrl(alice);

      browser.open(link);
      signIn(inbound, "bob", "3-attack-1-inbound-login-as-bob");
      String page = awaitConsentPage("3-attack-2-different-user");
      assertThat(page).isEqualTo("different-user");
      assertThat(browser.pageText()).contains("This link was created for someone else");
      assertThat(browser.exists(By.id("switch-user"))).isTrue();
      assertThat(browser.currentUrl()).startsWith(base + "/auth/start?elicitation=");
      // The browser never left for the upstream realm: no authorization request, no login page.
      assertThat(browser.navigations()).as("every page the browser loaded").isNotEmpty()
          .noneMatch(u -> u.startsWith(upstream.issuer()));
      assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "refused")).isEqualTo(1);
      assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "completed")).isZero();

      // Nothing was granted: alice's next call still prompts, with the same pending link.
      assertThat(promptUrl(alice)).isEqualTo(link);
      assertThat(metric("mcp_authz_consent_prompts_total")).isEqualTo(2);

      // "Sign in with another account" sends prompt=login. Keycloak answers it by asking bob (name
      // fixed) to re-authenticate; its "Restart login" ends bob's Keycloak session and offers an
      // empty form, where alice signs in. Then her link works for her.
      browser.click(By.id("switch-user"));
      browser.waitForUrl("the inbound realm again", u -> u.startsWith(inbound.issuer() + "/"));
      assertThat(browser.attribute(By.id("kc-attempted-username"), "value")).isEqualTo("bob");
      browser.screenshot("3-attack-3-keycloak-reauthenticate-bob");
      browser.click(By.id("reset-login"));
      signIn(inbound, "alice", "3-attack-4-inbound-login-as-alice");
      signIn(upstream, "alice", "3-attack-5-upstream-login");
      approveAndCheckResumePage("3-attack-6");

      // The MCP Java SDK client retries the same call in the same session: it passes.
      int seenBefore = demo.seen().size();
      McpSchema.CallToolResult r = alice.callTool(new McpSchema.CallToolRequest("whoami", Map.of()));
      assertThat(((McpSchema.TextContent) r.content().get(0)).text()).isEqualTo("subject="
          + SignedJWT.parse(aliceToken).getJWTClaimsSet().getSubject() + " authorization_forwarded=true");
      String forwarded = demo.seen().get(seenBefore).authorization();
      assertThat(forwarded).startsWith("Bearer ");
      assertUpstreamTokenOf(forwarded.substring("Bearer ".length()), "alice");
    }
    assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "refused")).isEqualTo(1);
    assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "completed")).isEqualTo(1);
    awaitMetric("mcp_authz_consent_resumes_total", 1, "outcome", "succeeded");
  }

  // ---- 4. the user says No on Keycloak's consent screen (MCP Java SDK client) ---------------------

  @Test
  void declinedOnKeycloaksConsentScreenShowsTheDeniedPageTheNextCallPromptsAgainAndAYesLaterCompletes()
      throws Exception {
    try (McpSyncClient alice = javaClient(mcpToken("alice"))) {
      alice.initialize();
      String link = promptUrl(alice);

      browser.open(link);
      signIn(inbound, "alice", "4-deny-1-inbound-login");
      signIn(upstream, "alice", "4-deny-2-upstream-login");
      browser.find(By.name("cancel"));
      browser.screenshot("4-deny-3-upstream-consent");
      browser.click(By.name("cancel"));
      assertThat(awaitConsentPage("4-deny-4-denied")).isEqualTo("denied");
      assertThat(browser.pageText()).contains("You declined access");
      assertThat(browser.exists(By.id("retry"))).isTrue();
      assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "denied")).isEqualTo(1);

      assertThat(promptUrl(alice)).as("the next call prompts again, with the same pending link").isEqualTo(link);
      assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "completed")).isZero();

      // The user changes their mind: "Connect ... after all" starts a new authorization at the
      // provider (mcp-authz still knows the browser user). Keycloak ended its own session when the
      // user said No, so it asks for the password again; this time the answer is Yes.
      browser.click(By.id("retry"));
      signIn(upstream, "alice", "4-deny-5-upstream-login-again");
      approveAndCheckResumePage("4-deny-6-changed-mind");
      McpSchema.CallToolResult r = alice.callTool(new McpSchema.CallToolRequest("whoami", Map.of()));
      assertThat(((McpSchema.TextContent) r.content().get(0)).text()).endsWith(" authorization_forwarded=true");
    }
    assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "denied")).isEqualTo(1);
    assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "completed")).isEqualTo(1);
    awaitMetric("mcp_authz_consent_resumes_total", 1, "outcome", "succeeded");
  }

  // ---- 5. pre-connect from the client's settings, then no prompt at all (MCP Java SDK client) -----

  @Test
  void preConnectInTheBrowserThenBobsVeryFirstCallPassesWithoutAPrompt() throws Exception {
    browser.open(base + "/auth/start?client=vscode&provider=" + PROVIDER + "&return=resume");
    signIn(inbound, "bob", "5-preconnect-1-inbound-login");
    signIn(upstream, "bob", "5-preconnect-2-upstream-login");
    approveAndCheckResumePage("5-preconnect");

    String token = mcpToken("bob");
    String sub = SignedJWT.parse(token).getJWTClaimsSet().getSubject();
    int seenBefore = demo.seen().size();
    try (McpSyncClient bob = javaClient(token)) {
      bob.initialize();
      McpSchema.CallToolResult r = bob.callTool(new McpSchema.CallToolRequest("whoami", Map.of()));
      assertThat(((McpSchema.TextContent) r.content().get(0)).text())
          .isEqualTo("subject=" + sub + " authorization_forwarded=true");
    }
    List<String> forwarded = demo.seen().subList(seenBefore, demo.seen().size()).stream()
        .map(DemoMcpServer.Seen::authorization).filter(a -> a != null).distinct().toList();
    assertThat(forwarded).singleElement().satisfies(a -> assertThat(a).startsWith("Bearer "));
    assertUpstreamTokenOf(forwarded.get(0).substring("Bearer ".length()), "bob");
    assertThat(metric("mcp_authz_consent_prompts_total")).as("no prompt at all").isZero();
    assertThat(metric("mcp_authz_consent_outcomes_total", "outcome", "completed")).isEqualTo(1);
  }

  // ---- the browser part ---------------------------------------------------------------------------

  /**
   * The user's part of a prompt: open the link, sign in at the inbound realm (same-user guard),
   * sign in at the upstream realm, approve Keycloak's consent screen, land on the resume page.
   * Returns the resume state.
   */
  String consentInBrowser(String link, String user, String step) throws Exception {
    browser.open(link);
    signIn(inbound, user, step + "-1-inbound-login");
    signIn(upstream, user, step + "-2-upstream-login");
    String state = approveAndCheckResumePage(step);

    // What went over the browser: least privilege, RFC 8707, PKCE at the provider, and RFC 9207 iss
    // on the way back; no user data in any URL of mcp-authz's.
    List<String> navigations = browser.navigations();
    String authorize = navigations.stream().filter(u -> u.startsWith(upstream.issuer()
        + "/protocol/openid-connect/auth?")).findFirst().orElseThrow(() -> new AssertionError(navigations));
    Map<String, String> q = query(authorize);
    assertThat(q).containsEntry("client_id", UPSTREAM_CLIENT).containsEntry("scope", UPSTREAM_SCOPE)
        .containsEntry("resource", UPSTREAM_RESOURCE).containsEntry("code_challenge_method", "S256")
        .containsEntry("redirect_uri", base + "/auth/callback");
    assertThat(navigations).filteredOn(u -> u.startsWith(base + "/auth/callback?"))
        .as("one callback from each realm").hasSize(2)
        .extracting(u -> query(u).get("iss")).containsExactly(inbound.issuer(), upstream.issuer());
    assertThat(navigations).filteredOn(u -> u.startsWith(base)).allSatisfy(u -> assertThat(u).doesNotContain(user));
    return state;
  }

  /** Keycloak's consent screen: approve; then mcp-authz's resume page with deep link and resume code. */
  String approveAndCheckResumePage(String step) {
    browser.find(By.name("accept"));
    assertThat(browser.pageText()).contains(UPSTREAM_SCOPE);
    browser.screenshot(step + "-3-upstream-consent");
    browser.click(By.name("accept"));
    browser.waitForUrl("mcp-authz's resume page", u -> u.startsWith(base + "/auth/resume?state="));
    assertThat(awaitConsentPage(step + "-4-resume")).isEqualTo("resume");
    assertThat(browser.pageText()).contains("You're all set", PROVIDER_NAME, "Visual Studio Code");

    String deepLink = browser.hrefOf(By.id("open-client"));
    assertThat(deepLink).startsWith(DEEP_LINK);
    String state = deepLink.substring(DEEP_LINK.length());
    assertThat(state).isNotBlank().doesNotContain("&");
    assertThat(browser.property(By.id("resume-token"), "value")).as("the copyable resume code").isEqualTo(state);
    assertThat(query(browser.currentUrl())).containsEntry("state", state);
    // Clicking the button would open VS Code: captured, not followed.
    assertThat(browser.clickAndCaptureNavigation(By.id("open-client"), "vscode:")).isEqualTo(deepLink);
    return state;
  }

  /** Keycloak's login form of {@code realm}: screenshot, then sign in as {@code user}. */
  void signIn(RealmHandle realm, String user, String step) {
    browser.waitForUrl("the login page of realm " + realm.name(), u -> u.startsWith(realm.issuer() + "/"));
    browser.find(By.id("username"));
    browser.screenshot(step);
    browser.fill("username", user).fill("password", PASSWORDS.get(user));
    browser.click(By.id("kc-login"));
  }

  /** Waits for one of mcp-authz's pages, screenshots it, returns its {@code data-page}. */
  String awaitConsentPage(String step) {
    browser.waitForUrl("a page of mcp-authz", u -> u.startsWith(base + "/auth/"));
    String page = browser.attribute(By.cssSelector("body[data-page]"), "data-page");
    browser.screenshot(step);
    return page;
  }

  // ---- clients, tokens, metrics -------------------------------------------------------------------

  /** An access token of the inbound realm for the MCP server, issued to the VS Code client. */
  static String mcpToken(String user) {
    return inbound.passwordGrant(MCP_CLIENT, null, user, PASSWORDS.get(user), "mcp:tools", MCP_RESOURCE)
        .accessToken();
  }

  /** The MCP Java SDK client (2025-11-25, declares URL-mode elicitation) through the demo gateway. */
  McpSyncClient javaClient(String token) {
    var transport = HttpClientStreamableHttpTransport.builder(demoGateway.baseUri().toString())
        .endpoint("/mcp")
        .httpRequestCustomizer((builder, method, uri, body, context) -> builder.setHeader("Authorization",
            "Bearer " + token))
        .build();
    return McpClient.sync(transport)
        .requestTimeout(Duration.ofSeconds(20))
        .clientInfo(new McpSchema.Implementation("mcp-authz-consent-e2e", "1.0"))
        .capabilities(McpSchema.ClientCapabilities.builder().elicitation(false, true).build())
        // A server-sent elicitation/create (a gateway never sends one): not part of this test.
        .urlElicitation(request -> new McpSchema.ElicitResult(McpSchema.ElicitResult.Action.CANCEL, null))
        .build();
  }

  /** Calls whoami and expects the -32042 URL elicitation: returns its URL. */
  String promptUrl(McpSyncClient client) {
    McpError error = catchThrowableOfType(McpError.class,
        () -> client.callTool(new McpSchema.CallToolRequest("whoami", Map.of())));
    assertThat(error).as("a consent prompt").isNotNull();
    assertThat(error.getJsonRpcError().code()).isEqualTo(McpSchema.ErrorCodes.URL_ELICITATION_REQUIRED);
    JsonNode data = JSON.valueToTree(error.getJsonRpcError().data());
    JsonNode elicitation = data.path("elicitations").path(0);
    assertThat(elicitation.path("mode").asText()).isEqualTo("url");
    String url = elicitation.path("url").asText();
    assertThat(url).isEqualTo(base + "/auth/start?elicitation=" + elicitation.path("elicitationId").asText());
    return url;
  }

  /**
   * An access token of the upstream realm for {@code user}: signed with the realm's key (JWKS),
   * {@code iss} the upstream realm, {@code aud} the upstream resource, {@code sub} the user's id there.
   */
  static void assertUpstreamTokenOf(String token, String user) throws Exception {
    var processor = new DefaultJWTProcessor<SecurityContext>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.RS256,
        JWKSourceBuilder.create(upstream.jwksUri().toURL()).build()));
    processor.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(UPSTREAM_RESOURCE,
        new JWTClaimsSet.Builder().issuer(upstream.issuer()).build(), Set.of("exp", "sub")));
    JWTClaimsSet claims = processor.process(token, null);
    assertThat(claims.getIssuer()).isEqualTo(upstream.issuer());
    assertThat(claims.getSubject()).isEqualTo(upstream.userId(user));
    assertThat(claims.getStringClaim("preferred_username")).isEqualTo(user);
    assertThat(claims.getStringClaim("azp")).isEqualTo(UPSTREAM_CLIENT);
    assertThat(claims.getStringClaim("scope")).contains(UPSTREAM_SCOPE);
  }

  /** The sum of a counter over the series of mcp-authz's /metrics whose labels include {@code labels}. */
  double metric(String name, String... labels) throws IOException, InterruptedException {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    Pattern label = Pattern.compile("(\\w+)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    double sum = 0;
    for (String line : r.body().split("\n")) {
      if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) {
        continue;
      }
      Map<String, String> have = new HashMap<>();
      int close = line.lastIndexOf('}');
      if (close > 0) {
        Matcher m = label.matcher(line.substring(line.indexOf('{') + 1, close));
        while (m.find()) {
          have.put(m.group(1), m.group(2));
        }
      }
      boolean matches = true;
      for (int i = 0; i < labels.length; i += 2) {
        matches &= labels[i + 1].equals(have.get(labels[i]));
      }
      if (matches) {
        sum += Double.parseDouble(line.substring(close + 1).trim().split(" ")[0]);
      }
    }
    return sum;
  }

  void awaitMetric(String name, double value, String... labels) {
    Conditions.waitUntil(Duration.ofSeconds(10), name + " " + List.of(labels) + " = " + value, () -> {
      try {
        return metric(name, labels) == value;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    });
  }

  /** The system clock plus an offset that only grows: time passes as usual, and can jump ahead. */
  static final class JumpingClock extends Clock {
    private final AtomicReference<Duration> offset;
    private final ZoneId zone;

    JumpingClock() {
      this(new AtomicReference<>(Duration.ZERO), ZoneOffset.UTC);
    }

    private JumpingClock(AtomicReference<Duration> offset, ZoneId zone) {
      this.offset = offset;
      this.zone = zone;
    }

    void jump(Duration d) {
      offset.updateAndGet(o -> o.plus(d));
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(offset.get());
    }

    @Override
    public ZoneId getZone() {
      return zone;
    }

    @Override
    public Clock withZone(ZoneId z) {
      return new JumpingClock(offset, z);
    }
  }

  static Map<String, String> query(String url) {
    Map<String, String> out = new HashMap<>();
    String q = URI.create(url).getRawQuery();
    if (q == null) {
      return out;
    }
    for (String pair : q.split("&")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      out.put(URLDecoder.decode(k, StandardCharsets.UTF_8), URLDecoder.decode(v, StandardCharsets.UTF_8));
    }
    return out;
  }
}
