package dev.mcpauthz.consent;

import com.nimbusds.oauth2.sdk.AuthorizationErrorResponse;
import com.nimbusds.oauth2.sdk.AuthorizationRequest;
import com.nimbusds.oauth2.sdk.AuthorizationResponse;
import com.nimbusds.oauth2.sdk.AuthorizationSuccessResponse;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.ResponseType;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.State;
import com.nimbusds.oauth2.sdk.pkce.CodeChallengeMethod;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.telemetry.ConsentAudit;
import dev.mcpauthz.telemetry.ConsentMetrics;
import dev.mcpauthz.upstream.CodeExchange;
import dev.mcpauthz.upstream.ExchangeOutcome;
import dev.mcpauthz.upstream.ProviderClient;
import dev.mcpauthz.upstream.ProviderEndpoints;
import dev.mcpauthz.upstream.ProviderRegistry;
import dev.mcpauthz.vault.CredentialKey;
import dev.mcpauthz.vault.VaultService;
import java.net.URI;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consent pages' logic (issue 4 item 3), independent of HTTP: {@code /auth/start} (with an
 * elicitation, or a pre-connect), {@code /auth/callback} (for both the inbound sign-in and the
 * upstream authorization) and {@code /auth/resume}. Each method runs on its own virtual thread and
 * may block on Hazelcast and the identity providers.
 *
 * <p>The order of checks on {@code /auth/start} is the security argument: the elicitation must
 * exist and be live; the browser user must be signed in at the elicitation's inbound issuer and
 * have the same {@code sub} (MCP 2025-11-25 client/elicitation "Phishing"); only then does the
 * browser go to the provider, with PKCE S256 (RFC 7636), a single-use {@code state} bound to this
 * browser, RFC 8707 {@code resource} and the elicitation's least-privilege scopes.
 */
public final class ConsentFlow {
  private static final Logger log = LoggerFactory.getLogger(ConsentFlow.class);
  public static final String SESSION_COOKIE = "mcp_authz_session";
  public static final String BROWSER_COOKIE = "mcp_authz_browser";
  /** What {@link FlowSecrets#random()} produces (elicitation ids and cookies alike). */
  private static final Pattern OPAQUE = Pattern.compile("[A-Za-z0-9_-]{43}");
  private static final long WAIT_SECONDS = 30;

  /** The cookies a request came with (null when absent). */
  public record Browser(String session, String binding) {}

  private final ElicitationStore elicitations;
  private final FlowStates flows;
  private final FlowSecrets secrets;
  private final BrowserSessions sessions;
  private final ResumeStates resumeStates;
  private final ResumeTracker resumes;
  private final ClientApps apps;
  private final Map<String, SignInClient> signInByIssuerUrl;
  private final Map<String, SignInClient> signInById;
  private final ProviderRegistry providers;
  private final VaultService vault;
  private final Map<String, AuthzConfig.Server> servers;
  private final Map<String, String> providerNames;
  private final Supplier<String> publicBase;
  private final Clock clock;
  private final ConsentMetrics metrics;
  private final ConsentAudit audit;

  public ConsentFlow(ElicitationStore elicitations, FlowStates flows, FlowSecrets secrets, BrowserSessions sessions,
      ResumeStates resumeStates, ResumeTracker resumes, ClientApps apps, List<SignInClient> signIns,
      ProviderRegistry providers, VaultService vault, List<AuthzConfig.Server> servers,
      Map<String, String> providerNames, Supplier<String> publicBase, Clock clock, ConsentMetrics metrics,
      ConsentAudit audit) {
    this.elicitations = elicitations;
    this.flows = flows;
    this.secrets = secrets;
    this.sessions = sessions;
    this.resumeStates = resumeStates;
    this.resumes = resumes;
    this.apps = apps;
    this.signInByIssuerUrl = new java.util.HashMap<>();
    this.signInById = new java.util.HashMap<>();
    signIns.forEach(s -> {
      signInByIssuerUrl.put(s.issuerUrl(), s);
      signInById.put(s.issuerId(), s);
    });
    this.providers = providers;
    this.vault = vault;
    this.servers = new java.util.LinkedHashMap<>();
    servers.forEach(s -> this.servers.put(s.id(), s));
    this.providerNames = Map.copyOf(providerNames);
    this.publicBase = publicBase;
    this.clock = clock;
    this.metrics = metrics;
    this.audit = audit;
  }

  // ---------------------------------------------------------------- /auth/start?elicitation=

  public ConsentOutcome start(String elicitationId, boolean switchUser, Browser browser) throws InterruptedException {
    if (elicitationId == null || !OPAQUE.matcher(elicitationId).matches()) {
      return show(ConsentPages.unknownLink());
    }
    Optional<Elicitation> found = await(elicitations.lookup(elicitationId));
    if (found.isEmpty()) {
      audit.refused("unknown_elicitation", null, null, null, null, elicitationId, null);
      return show(ConsentPages.unknownLink());
    }
    Elicitation e = found.get();
    if (!e.completed() && e.expiredAt(clock.instant())) {
      metrics.outcome("expired", e.provider(), e.server());
      audit.expired(e.subject(), e.issuer(), e.server(), e.provider(), e.id());
      return show(ConsentPages.expired(serverName(e.server()), providerName(e.provider())));
    }
    SignInClient signIn = signInByIssuerUrl.get(e.issuer());
    if (signIn == null) {
      log.error("consent.sign_in has no client for issuer {}: consent cannot check the browser user", e.issuer());
      return show(ConsentPages.signInNotConfigured());
    }
    List<ConsentOutcome.Cookie> cookies = new ArrayList<>();
    String binding = binding(browser, cookies);
    Optional<BrowserSessions.SignedIn> user = sessions.find(browser.session());
    if (switchUser || user.isEmpty() || !user.get().issuer().equals(e.issuer())) {
      return signIn(signIn, binding, "elicitation=" + e.id(), switchUser, cookies);
    }
    if (!user.get().subject().equals(e.subject())) {
      // Phishing guard: someone else's consent link, or a shared browser signed in as someone else.
      metrics.outcome("refused", e.provider(), e.server());
      audit.refused("different_user", user.get().subject(), e.issuer(), e.server(), e.provider(), e.id(), null);
      return show(ConsentPages.differentUser(publicBase.get() + "/auth/start?elicitation=" + e.id() + "&switch_user=1"),
          cookies);
    }
    if (e.completed()) {
      return resumePage(e, cookies);
    }
    return authorizeUpstream(e, binding, cookies);
  }

  private ConsentOutcome signIn(SignInClient client, String binding, String returnTo, boolean forceLogin,
      List<ConsentOutcome.Cookie> cookies) {
    String kid = secrets.keyId();
    String state = flows.begin(FlowState.Kind.SIGN_IN, FlowSecrets.digest(binding), kid, client.issuerId(), returnTo);
    try {
      return new ConsentOutcome.Redirect(client.authorizationUrl(callbackUri(), state, secrets.verifier(kid, state),
          secrets.nonce(kid, state), forceLogin), cookies);
    } catch (SignInClient.SignInException ex) {
      return show(ConsentPages.unavailable("sign-in service", ex.getMessage(), null), cookies);
    }
  }

  private ConsentOutcome authorizeUpstream(Elicitation e, String binding, List<ConsentOutcome.Cookie> cookies)
      throws InterruptedException {
    ProviderClient provider = providers.client(e.provider());
    AuthzConfig.Server server = servers.get(e.server());
    if (provider == null || server == null || server.upstream() == null) {
      log.error("elicitation {} names provider {} / server {} that are no longer configured", e.id(), e.provider(),
          e.server());
      return show(ConsentPages.expired(serverName(e.server()), providerName(e.provider())), cookies);
    }
    ProviderEndpoints endpoints;
    try {
      endpoints = await(provider.endpoints());
    } catch (Unavailable ex) {
      return show(ConsentPages.unavailable(providerName(e.provider()), "its discovery document could not be read",
          retryLink(e)), cookies);
    }
    if (endpoints.authorizationEndpoint() == null) {
      log.error("provider {} has no authorization_endpoint (configure it or enable discovery)", e.provider());
      return show(ConsentPages.unavailable(providerName(e.provider()), "it is not set up for sign-in", null), cookies);
    }
    String kid = secrets.keyId();
    String state = flows.begin(FlowState.Kind.UPSTREAM, FlowSecrets.digest(binding), kid, e.id(), null);
    AuthorizationRequest.Builder request = new AuthorizationRequest.Builder(ResponseType.CODE,
        new ClientID(provider.config().clientId()))
        .endpointURI(endpoints.authorizationEndpoint())
        .redirectionURI(callbackUri())
        .scope(e.scopes().isEmpty() ? null : new Scope(e.scopes().toArray(String[]::new)))
        .state(new State(state))
        .codeChallenge(secrets.verifier(kid, state), CodeChallengeMethod.S256);
    URI resource = resource(server);
    if (resource != null && provider.config().sendResource()) {
      request.resource(resource); // RFC 8707 §2: the token is for this server only
    }
    return new ConsentOutcome.Redirect(request.build().toURI(), cookies);
  }

  // ---------------------------------------------------------------- /auth/start?client=&provider=

  /**
   * Pre-connect (no prompt yet): sign in, then consent for a provider from the client's settings.
   * {@code client} must be allowlisted and {@code returnMode} must be {@code resume}: neither can
   * name an arbitrary target (no open redirect).
   */
  public ConsentOutcome preconnect(String client, String provider, String server, String returnMode,
      Browser browser) throws InterruptedException {
    if (client == null || apps.app(client).isEmpty()) {
      audit.refused("unknown_client", null, null, server, provider, null, null);
      return show(ConsentPages.badRequest("The client application is not one this gateway can return you to."));
    }
    if (!"resume".equals(returnMode)) {
      audit.refused("unknown_return", null, null, server, provider, null, null);
      return show(ConsentPages.badRequest("Unsupported return mode; only return=resume is accepted."));
    }
    List<AuthzConfig.Server> candidates = servers.values().stream()
        .filter(s -> s.upstream() != null && s.upstream().provider().equals(provider))
        .filter(s -> server == null || s.id().equals(server))
        .toList();
    if (candidates.isEmpty()) {
      return show(ConsentPages.badRequest("No MCP server behind this gateway uses that provider."));
    }
    if (candidates.size() > 1) {
      return show(ConsentPages.chooseServer(candidates.stream().map(s -> new ConsentPage.Action("server-" + s.id(),
          serverName(s.id()), publicBase.get() + "/auth/start?" + preconnectQuery(client, provider, s.id()))).toList()));
    }
    AuthzConfig.Server target = candidates.get(0);
    List<ConsentOutcome.Cookie> cookies = new ArrayList<>();
    String binding = binding(browser, cookies);
    Optional<BrowserSessions.SignedIn> user = sessions.find(browser.session())
        .filter(u -> target.issuers().isEmpty() || target.issuers().contains(u.issuerId()));
    if (user.isEmpty()) {
      Optional<SignInClient> signIn = (target.issuers().isEmpty() ? signInById.keySet().stream()
          : target.issuers().stream()).map(signInById::get).filter(java.util.Objects::nonNull).findFirst();
      if (signIn.isEmpty()) {
        return show(ConsentPages.signInNotConfigured(), cookies);
      }
      return signIn(signIn.get(), binding, preconnectQuery(client, provider, target.id()), false, cookies);
    }
    // A pre-connect is a first consent without a call to resume (empty digest): it reuses a pending
    // prompt for the same user, server and scopes if one exists.
    Elicitation e = await(elicitations.mint(new ElicitationStore.Request(user.get().issuer(), user.get().subject(),
        target.id(), provider, target.upstream().scopes(), ConsentReason.FIRST_CONSENT, "", client)));
    return new ConsentOutcome.Redirect(URI.create(publicBase.get() + "/auth/start?elicitation=" + e.id()), cookies);
  }

  private static String preconnectQuery(String client, String provider, String server) {
    return "client=" + enc(client) + "&provider=" + enc(provider) + "&server=" + enc(server) + "&return=resume";
  }

  // ---------------------------------------------------------------- /auth/callback

  /** @param query the callback's raw query string */
  public ConsentOutcome callback(String query, Browser browser) throws InterruptedException {
    AuthorizationResponse response;
    try {
      response = AuthorizationResponse.parse(URI.create(callbackUri() + "?" + (query == null ? "" : query)));
    } catch (ParseException | IllegalArgumentException ex) {
      audit.refused("malformed_callback", null, null, null, null, null, null);
      return show(ConsentPages.badRequest("This sign-in answer is incomplete. Start again from your client."));
    }
    if (response.getState() == null) {
      audit.refused("missing_state", null, null, null, null, null, null);
      return show(ConsentPages.badRequest("This sign-in answer is incomplete. Start again from your client."));
    }
    String state = response.getState().getValue();
    String flowId = FlowSecrets.digest(state).substring(0, 16);
    Optional<FlowState> taken = flows.take(state);
    if (taken.isEmpty()) {
      // Unknown, expired or already used: a replayed callback lands here.
      audit.refused("unknown_or_used_state", null, null, null, null, null, flowId);
      return show(ConsentPages.staleState());
    }
    FlowState flow = taken.get();
    if (browser.binding() == null || !FlowSecrets.digest(browser.binding()).equals(flow.browser())) {
      audit.refused("other_browser", null, null, null, null, null, flowId);
      return show(ConsentPages.otherBrowser());
    }
    return flow.kind() == FlowState.Kind.SIGN_IN
        ? signedIn(flow, state, response, flowId)
        : authorized(flow, state, response, flowId);
  }

  private ConsentOutcome signedIn(FlowState flow, String state, AuthorizationResponse response, String flowId) {
    SignInClient client = signInById.get(flow.target());
    if (client == null) {
      return show(ConsentPages.signInNotConfigured());
    }
    try {
      if (!issuerMatches(response, client.issuerUrl(), client.issParameterSupported())) {
        audit.refused("iss_mismatch", null, client.issuerUrl(), null, null, null, flowId);
        return show(ConsentPages.issuerMismatch());
      }
      if (!response.indicatesSuccess()) {
        String code = errorCode(response);
        audit.refused("sign_in_" + code, null, client.issuerUrl(), null, null, null, flowId);
        return show(ConsentPages.signInFailed(code));
      }
      AuthorizationSuccessResponse ok = response.toSuccessResponse();
      if (ok.getAuthorizationCode() == null) {
        return show(ConsentPages.badRequest("This sign-in answer carries no code. Start again from your client."));
      }
      SignInClient.Identity who = client.exchange(ok.getAuthorizationCode().getValue(), callbackUri(),
          secrets.verifier(flow.keyId(), state), secrets.nonce(flow.keyId(), state));
      String cookie = sessions.open(new BrowserSessions.SignedIn(who.issuer(), client.issuerId(), who.subject()));
      return new ConsentOutcome.Redirect(URI.create(publicBase.get() + "/auth/start?" + flow.returnTo()),
          List.of(new ConsentOutcome.Cookie(SESSION_COOKIE, cookie, sessions.ttl())));
    } catch (SignInClient.SignInException ex) {
      audit.refused("sign_in_failed", null, client.issuerUrl(), null, null, null, flowId);
      return show(ConsentPages.unavailable("sign-in service", ex.getMessage(), null));
    } catch (IllegalArgumentException ex) {
      return show(ConsentPages.staleState()); // the flow's key left the ring
    }
  }

  private ConsentOutcome authorized(FlowState flow, String state, AuthorizationResponse response, String flowId)
      throws InterruptedException {
    Optional<Elicitation> found = await(elicitations.lookup(flow.target()));
    if (found.isEmpty()) {
      return show(ConsentPages.unknownLink());
    }
    Elicitation e = found.get();
    ProviderClient provider = providers.client(e.provider());
    AuthzConfig.Server server = servers.get(e.server());
    if (provider == null || server == null || server.upstream() == null) {
      return show(ConsentPages.expired(serverName(e.server()), providerName(e.provider())));
    }
    String providerName = providerName(e.provider());
    boolean issRequired;
    try {
      issRequired = await(provider.endpoints()).issParameterSupported();
    } catch (Unavailable ex) {
      issRequired = false; // discovery down now: a present iss is still checked below
    }
    if (!issuerMatches(response, provider.config().issuer(), issRequired)) {
      // RFC 9207 §2.4: a response from another issuer (mix-up attack) is refused before any exchange.
      metrics.outcome("refused", e.provider(), e.server());
      audit.refused("iss_mismatch", e.subject(), e.issuer(), e.server(), e.provider(), e.id(), flowId);
      return show(ConsentPages.issuerMismatch());
    }
    if (!response.indicatesSuccess()) {
      String code = errorCode(response);
      if ("access_denied".equals(code)) {
        metrics.outcome("denied", e.provider(), e.server());
        audit.denied(e.subject(), e.issuer(), e.server(), e.provider(), e.id(), flowId);
        return show(ConsentPages.denied(providerName, serverName(e.server()), retryLink(e)));
      }
      metrics.outcome("failed", e.provider(), e.server());
      audit.refused("provider_" + code, e.subject(), e.issuer(), e.server(), e.provider(), e.id(), flowId);
      return show(ConsentPages.providerError(providerName, code, retryLink(e)));
    }
    AuthorizationSuccessResponse ok = response.toSuccessResponse();
    if (ok.getAuthorizationCode() == null) {
      return show(ConsentPages.badRequest("This answer from " + providerName + " carries no code. Start again."));
    }
    URI resource = provider.config().sendResource() ? resource(server) : null;
    ExchangeOutcome outcome;
    try {
      outcome = await(provider.exchangeCode(new CodeExchange(ok.getAuthorizationCode().getValue(),
          secrets.verifier(flow.keyId(), state).getValue(), callbackUri(), resource, flowId)));
    } catch (Unavailable ex) {
      outcome = new ExchangeOutcome.Failed("unreachable", null, 0);
    } catch (IllegalArgumentException ex) {
      return show(ConsentPages.staleState());
    }
    switch (outcome) {
      case ExchangeOutcome.Exchanged x -> {
        await(vault.store(new CredentialKey(e.issuer(), e.subject(), e.server()), server.upstream(), e.scopes(),
            x.grant(), flowId));
        Elicitation done = await(elicitations.complete(e));
        if (!done.callDigest().isEmpty()) {
          resumes.expect(done);
        }
        metrics.outcome("completed", e.provider(), e.server());
        audit.completed(e.subject(), e.issuer(), e.server(), e.provider(), e.id(), flowId);
        // Post/redirect/get: reloading the page never replays the callback.
        return new ConsentOutcome.Redirect(URI.create(publicBase.get() + "/auth/resume?state="
            + resumeStates.seal(done)), List.of());
      }
      case ExchangeOutcome.Rejected r -> {
        metrics.outcome("failed", e.provider(), e.server());
        audit.refused("code_rejected_" + r.error(), e.subject(), e.issuer(), e.server(), e.provider(), e.id(), flowId);
        return show(ConsentPages.providerError(providerName, r.error(), retryLink(e)));
      }
      case ExchangeOutcome.Failed f -> {
        metrics.outcome("failed", e.provider(), e.server());
        audit.refused("exchange_" + f.reason(), e.subject(), e.issuer(), e.server(), e.provider(), e.id(), flowId);
        return show(ConsentPages.unavailable(providerName, "it did not complete the sign-in (" + f.reason() + ")",
            retryLink(e)));
      }
    }
  }

  /**
   * RFC 9207 §2.4: an {@code iss} in the response must equal the expected issuer; a response
   * without one is refused when the metadata promised it. A provider configured without an issuer
   * cannot be checked, so an {@code iss} from it is refused rather than trusted.
   */
  static boolean issuerMatches(AuthorizationResponse response, String expected, boolean required) {
    var iss = response.getIssuer();
    if (iss == null) {
      return !required;
    }
    return expected != null && expected.equals(iss.getValue());
  }

  private static String errorCode(AuthorizationResponse response) {
    var error = ((AuthorizationErrorResponse) response).getErrorObject();
    String code = error == null || error.getCode() == null ? "error" : error.getCode();
    return code.replaceAll("[^A-Za-z0-9_.-]", "_");
  }

  // ---------------------------------------------------------------- /auth/resume

  public ConsentOutcome resume(String state) {
    Optional<ResumeState> opened = resumeStates.open(state);
    if (opened.isEmpty()) {
      metrics.resumed("failed", "invalid_state", "", "");
      audit.resumeFailed(null, null, null, null, "invalid_state");
      return show(ConsentPages.invalidResume());
    }
    ResumeState r = opened.get();
    Optional<URI> deepLink = apps.deepLink(r.client(), state);
    return show(ConsentPages.resume(providerName(r.provider()), serverName(r.server()), apps.displayName(r.client()),
        deepLink.map(URI::toString).orElse(null), state, !r.callDigest().isEmpty()));
  }

  private ConsentOutcome resumePage(Elicitation e, List<ConsentOutcome.Cookie> cookies) {
    return new ConsentOutcome.Redirect(URI.create(publicBase.get() + "/auth/resume?state=" + resumeStates.seal(e)),
        cookies);
  }

  // ---------------------------------------------------------------- helpers

  /** The browser-binding cookie: the one the browser has, or a new one set with this response. */
  private String binding(Browser browser, List<ConsentOutcome.Cookie> cookies) {
    if (browser.binding() != null && OPAQUE.matcher(browser.binding()).matches()) {
      return browser.binding();
    }
    String fresh = FlowSecrets.random();
    cookies.add(new ConsentOutcome.Cookie(BROWSER_COOKIE, fresh, null));
    return fresh;
  }

  private URI callbackUri() {
    return URI.create(publicBase.get() + "/auth/callback");
  }

  private String retryLink(Elicitation e) {
    return publicBase.get() + "/auth/start?elicitation=" + e.id();
  }

  private static URI resource(AuthzConfig.Server server) {
    // The form the vault stores and the refresh sends (dev.mcpauthz.vault.Need), so both agree.
    URI r = server.upstream().resource();
    return r == null ? null : URI.create(dev.mcpauthz.authn.ResourceUri.normalize(r.toString()));
  }

  private String providerName(String id) {
    return providerNames.getOrDefault(id, id);
  }

  private String serverName(String id) {
    AuthzConfig.Server s = servers.get(id);
    return s != null && s.resourceName() != null ? s.resourceName() : id;
  }

  private static String enc(String s) {
    return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static ConsentOutcome show(ConsentPage page) {
    return new ConsentOutcome.Show(page);
  }

  private static ConsentOutcome show(ConsentPage page, List<ConsentOutcome.Cookie> cookies) {
    return new ConsentOutcome.Show(page, cookies);
  }

  /** A provider or the cluster failed or did not answer in time (the pages answer "try again"). */
  private static final class Unavailable extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Unavailable(Throwable cause) {
      super(cause == null ? "timeout" : cause.toString(), cause, false, false);
    }
  }

  private static <T> T await(CompletableFuture<T> f) throws InterruptedException {
    try {
      return f.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException ex) {
      throw new Unavailable(ex.getCause());
    } catch (TimeoutException ex) {
      throw new Unavailable(null);
    }
  }
}
