package dev.mcpauthz.upstream;

import com.nimbusds.oauth2.sdk.AuthorizationCode;
import com.nimbusds.oauth2.sdk.AuthorizationCodeGrant;
import com.nimbusds.oauth2.sdk.AuthorizationGrant;
import com.nimbusds.oauth2.sdk.RefreshTokenGrant;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.oauth2.sdk.token.RefreshToken;
import dev.mcpauthz.config.AuthzConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The token-endpoint client for one upstream provider: the refresh_token grant (RFC 6749 §6) for
 * the vault and the authorization_code grant with PKCE (RFC 6749 §4.1.3, RFC 7636 §4.5) for
 * consent. Requests are built and responses parsed by Nimbus; I/O is asynchronous
 * ({@code HttpClient.sendAsync}); waits between retries are scheduled, never slept.
 *
 * <p>Every operation: circuit breaker → endpoints (configured or discovered) → attempts. An
 * attempt that ends in a timeout, a connection error, 5xx, 429 or a transient OAuth error is
 * retried after exponential backoff with full jitter, or after {@code Retry-After} (429/503), at
 * most {@code retry.max_attempts} times and never past {@code retry.max_total}. A code exchange is
 * not retried once the server answered with a 4xx (the code may be consumed). Results are never
 * exceptions: see {@link RefreshOutcome} and {@link ExchangeOutcome}. Tokens, secrets and codes
 * are never logged.
 */
public final class ProviderClient implements TokenRefresher {
  private static final Logger log = LoggerFactory.getLogger(ProviderClient.class);
  static final String REFRESH = "refresh_token";
  static final String CODE = "authorization_code";
  private static final Set<String> RESTRICTED_HEADERS = Set.of("content-length", "host", "connection", "expect", "upgrade");

  private final AuthzConfig.Provider config;
  private final ProviderContext ctx;
  private final ClientCredentials credentials;
  private final ProviderDiscovery discovery;
  private final CircuitBreaker breaker;
  private final Backoff backoff;

  /**
   * @throws IllegalArgumentException when a secret or key file cannot be read or parsed
   */
  public ProviderClient(AuthzConfig.Provider config, ProviderContext ctx) {
    this.config = config;
    this.ctx = ctx;
    this.credentials = ClientCredentials.of(config);
    this.discovery = new ProviderDiscovery(config, ctx.http());
    this.breaker = new CircuitBreaker(config.circuitBreaker().failureThreshold(), config.circuitBreaker().openFor(), ctx.clock());
    this.backoff = Backoff.of(config.retry(), ctx.random());
    ctx.metrics().circuit(config.id(), () -> breaker.state().gauge);
  }

  public String id() {
    return config.id();
  }

  public AuthzConfig.Provider config() {
    return config;
  }

  /** The endpoints, discovering them on first use (a failed discovery is retried on the next call). */
  public CompletableFuture<ProviderEndpoints> endpoints() {
    return discovery.endpoints();
  }

  /** The authorization endpoint when configured or already discovered; never triggers I/O. */
  public Optional<URI> authorizationEndpoint() {
    if (config.authorizationEndpoint() != null) {
      return Optional.of(config.authorizationEndpoint());
    }
    ProviderEndpoints known = discovery.known();
    return Optional.ofNullable(known == null ? null : known.authorizationEndpoint());
  }

  @Override
  public CompletableFuture<RefreshOutcome> refresh(RefreshRequest request) {
    if (request.refreshToken() == null || request.refreshToken().isEmpty()) {
      return CompletableFuture.completedFuture(new RefreshOutcome.Revoked("invalid_grant", "no_refresh_token"));
    }
    Operation op = new Operation(REFRESH, () -> new RefreshTokenGrant(new RefreshToken(request.refreshToken())),
        config.sendResource() ? request.resource() : null, request.scopes(), request.decisionId());
    return run(op).thenApply(done -> switch (done.attempt()) {
      case Attempt.Granted g -> new RefreshOutcome.Refreshed(g.grant(), done.attempts());
      case Attempt.Rejected r -> new RefreshOutcome.Revoked(r.error(), r.providerCode());
      case Attempt.Broken b -> new RefreshOutcome.Failed(b.reason(), b.retryAfter(), done.attempts());
      case Attempt.Transient t -> throw new IllegalStateException("unreachable");
    });
  }

  /** The authorization_code grant with the PKCE verifier; same retry rules, except after a 4xx. */
  public CompletableFuture<ExchangeOutcome> exchangeCode(CodeExchange exchange) {
    Supplier<AuthorizationGrant> grant = () -> new AuthorizationCodeGrant(new AuthorizationCode(exchange.code()),
        exchange.redirectUri(), exchange.codeVerifier() == null ? null : new CodeVerifier(exchange.codeVerifier()));
    Operation op = new Operation(CODE, grant, config.sendResource() ? exchange.resource() : null, List.of(),
        exchange.decisionId());
    return run(op).thenApply(done -> switch (done.attempt()) {
      case Attempt.Granted g -> new ExchangeOutcome.Exchanged(g.grant(), done.attempts());
      case Attempt.Rejected r -> new ExchangeOutcome.Rejected(r.error(), r.providerCode());
      case Attempt.Broken b -> new ExchangeOutcome.Failed(b.reason(), b.retryAfter(), done.attempts());
      case Attempt.Transient t -> throw new IllegalStateException("unreachable");
    });
  }

  /** One token-endpoint operation; the grant is rebuilt per attempt. */
  private record Operation(String grantType, Supplier<AuthorizationGrant> grant, URI resource, List<String> scopes,
      String decisionId) {}

  /** The final attempt: Granted, Rejected or Broken (a transient failure that ran out of budget). */
  private record Done(Attempt attempt, int attempts) {}

  private CompletableFuture<Done> run(Operation op) {
    try {
      return guarded(op);
    } catch (RuntimeException e) { // the contract: outcomes, never exceptions
      breaker.onFailure(); // never leave a half-open probe slot taken
      return CompletableFuture.completedFuture(internalError(op, e, 0));
    }
  }

  private CompletableFuture<Done> guarded(Operation op) {
    CircuitBreaker.Permit permit = breaker.tryAcquire();
    if (!permit.allowed()) {
      ctx.metrics().request(id(), op.grantType(), "failed", "circuit_open");
      return CompletableFuture.completedFuture(new Done(new Attempt.Broken("circuit_open", permit.retryAfter()), 0));
    }
    Instant start = ctx.clock().instant();
    return discovery.endpoints()
        .handle((endpoints, failure) -> failure == null
            ? attempt(op, endpoints.tokenEndpoint(), 1, start)
            : CompletableFuture.completedFuture(discoveryFailed(op, failure)))
        .thenCompose(f -> f)
        .handle((done, failure) -> {
          Done result = failure == null ? done
              : ProviderDiscovery.unwrap(failure) instanceof CancellationException ? failed(op, "shutdown", config.retry().maxBackoff(), 0)
              : internalError(op, failure, 0);
          if (result.attempt() instanceof Attempt.Broken b) {
            breaker.onFailure();
            log.warn("token request failed provider={} grant={} reason={} attempts={} decision_id={}",
                id(), op.grantType(), b.reason(), result.attempts(), op.decisionId());
          } else {
            breaker.onSuccess();
          }
          return result;
        });
  }

  private Done discoveryFailed(Operation op, Throwable failure) {
    ctx.metrics().request(id(), op.grantType(), "failed", "discovery");
    log.warn("discovery failed provider={} issuer={} error={}", id(), config.issuer(),
        ProviderDiscovery.unwrap(failure).getMessage());
    return new Done(new Attempt.Broken("discovery", config.retry().maxBackoff()), 0);
  }

  private Done internalError(Operation op, Throwable failure, int attempts) {
    ctx.metrics().request(id(), op.grantType(), "failed", "internal_error");
    log.error("token request could not be made provider={} grant={} error={}", id(), op.grantType(),
        ProviderDiscovery.unwrap(failure).getClass().getName());
    return new Done(new Attempt.Broken("internal_error", config.retry().maxBackoff()), attempts);
  }

  private CompletableFuture<Done> attempt(Operation op, URI endpoint, int n, Instant start) {
    Duration left = remaining(start);
    if (!left.isPositive()) {
      return CompletableFuture.completedFuture(failed(op, "timeout", backoff.cap(n), n - 1));
    }
    Duration timeout = min(config.timeout(), left);
    HttpRequest request;
    try {
      request = toJdk(credentials.request(endpoint, op.grant().get(), op.resource(), op.scopes()), timeout);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(internalError(op, e, n - 1));
    }
    Instant requestedAt = ctx.clock().instant();
    long t0 = System.nanoTime();
    return ctx.http().sendAsync(request, BoundedBody.handler(BoundedBody.MAX_BYTES))
        // The request timeout ends at the response headers; this bounds a trickling body too.
        .orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS)
        .handle((response, failure) -> {
          ctx.metrics().latency(id(), Duration.ofNanos(System.nanoTime() - t0));
          return failure != null
              ? new TokenResponses.Classified(transport(failure), null, Map.of())
              : TokenResponses.classify(config.profile(), response.statusCode(), response.headers(), response.body(),
                  requestedAt, ctx.clock());
        })
        .thenCompose(classified -> next(op, endpoint, n, start, classified));
  }

  private CompletableFuture<Done> next(Operation op, URI endpoint, int n, Instant start, TokenResponses.Classified c) {
    switch (c.attempt()) {
      case Attempt.Granted g -> {
        ctx.metrics().request(id(), op.grantType(), "success", "ok");
        return CompletableFuture.completedFuture(new Done(g, n));
      }
      case Attempt.Rejected r -> {
        ctx.metrics().request(id(), op.grantType(), "revoked", r.error());
        log.info("token grant refused provider={} grant={} error={} provider_code={} decision_id={}",
            id(), op.grantType(), r.error(), r.providerCode(), op.decisionId());
        return CompletableFuture.completedFuture(new Done(r, n));
      }
      case Attempt.Broken b -> {
        if (b.reason().equals(ErrorProfile.CLIENT_MISCONFIGURED)) {
          // The user cannot fix this: tell the operator (error code only; descriptions may echo input).
          log.error("provider {} refused client {}: check client_id, credentials and allowed grant types"
                  + " error={} provider_code={}", id(), config.clientId(),
              c.error() == null ? null : c.error().getCode(),
              c.error() == null ? null : ErrorProfile.operatorCode(config.profile(), c.error(), c.json()));
        }
        return CompletableFuture.completedFuture(failed(op, b.reason(), b.retryAfter(), n));
      }
      case Attempt.Transient t -> {
        Duration retryAfter = t.retryAfter() != null ? t.retryAfter() : backoff.cap(n);
        boolean answered4xx = t.status() >= 400 && t.status() < 500;
        if (n >= config.retry().maxAttempts() || (op.grantType().equals(CODE) && answered4xx)) {
          return CompletableFuture.completedFuture(failed(op, t.reason(), retryAfter, n));
        }
        Duration delay = t.retryAfter() != null ? t.retryAfter() : backoff.delay(n);
        if (delay.compareTo(remaining(start)) >= 0) {
          // Retry-After (or the backoff) reaches past max_total: hand the wait to the caller.
          return CompletableFuture.completedFuture(failed(op, t.reason(), delay, n));
        }
        ctx.metrics().request(id(), op.grantType(), "retry", t.reason());
        log.debug("token request retry provider={} grant={} reason={} attempt={} delay_ms={}",
            id(), op.grantType(), t.reason(), n, delay.toMillis());
        return ctx.delayer().after(delay).thenCompose(v -> attempt(op, endpoint, n + 1, start));
      }
    }
  }

  private Done failed(Operation op, String reason, Duration retryAfter, int attempts) {
    ctx.metrics().request(id(), op.grantType(), "failed", reason);
    return new Done(new Attempt.Broken(reason, retryAfter), attempts);
  }

  private static Attempt transport(Throwable failure) {
    Throwable e = ProviderDiscovery.unwrap(failure);
    if (e instanceof BoundedBody.TooLarge) {
      return new Attempt.Broken("invalid_response", Duration.ofSeconds(30));
    }
    if (e instanceof HttpConnectTimeoutException || e instanceof ConnectException) {
      return new Attempt.Transient("connect", null, 0);
    }
    if (e instanceof HttpTimeoutException || e instanceof TimeoutException) {
      return new Attempt.Transient("timeout", null, 0);
    }
    if (e instanceof IOException) {
      return new Attempt.Transient("io", null, 0);
    }
    return new Attempt.Broken("internal_error", Duration.ofSeconds(30));
  }

  private Duration remaining(Instant start) {
    return config.retry().maxTotal().minus(Duration.between(start, ctx.clock().instant()));
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  @SuppressWarnings("unchecked")
  private static HttpRequest toJdk(HTTPRequest nimbus, Duration timeout) {
    String body = nimbus.getBody() == null ? "" : nimbus.getBody();
    HttpRequest.Builder b = HttpRequest.newBuilder(nimbus.getURI()).timeout(timeout)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    Map<String, List<String>> headers = nimbus.getHeaderMap();
    headers.forEach((name, values) -> {
      if (!RESTRICTED_HEADERS.contains(name.toLowerCase(java.util.Locale.ROOT))) {
        values.forEach(v -> b.header(name, v));
      }
    });
    return b.header("Accept", "application/json").build(); // GitHub answers form-encoded without it
  }

  @Override
  public String toString() {
    return "ProviderClient[" + config.id() + ", " + config.profile() + ", " + credentials + "]";
  }
}
