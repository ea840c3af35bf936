package dev.mcpauthz.vault;

import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.RefreshRequest;
import dev.mcpauthz.upstream.TokenGrant;
import dev.mcpauthz.upstream.TokenRefresher;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A scripted token endpoint that behaves like Keycloak with refresh-token rotation and reuse
 * detection: every refresh rotates the refresh token; presenting a refresh token a second time
 * kills the session (every later refresh is {@code invalid_grant}). A duplicate refresh therefore
 * shows up as {@link #reuseDetected()} and as revocations. Calls can be held on a gate or answered
 * from a script (transient failures, revocation).
 */
final class KeycloakLikeRefresher implements TokenRefresher {
  /** A held refresh: the request reached the endpoint ({@link #arrived}) but is not processed until {@link #release()}. */
  static final class Gate {
    final CountDownLatch arrived = new CountDownLatch(1);
    private final CompletableFuture<Void> open = new CompletableFuture<>();

    void release() {
      open.complete(null);
    }
  }

  private final String session = UUID.randomUUID().toString().substring(0, 8);
  private final Clock clock;
  private final Duration lifetime;
  private final Executor executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Object lock = new Object();
  private final AtomicInteger calls = new AtomicInteger();
  private final AtomicInteger reuse = new AtomicInteger();
  private final AtomicInteger issued = new AtomicInteger();
  private final AtomicInteger rotations = new AtomicInteger();
  private final Set<String> used = ConcurrentHashMap.newKeySet();
  private final ConcurrentLinkedQueue<Gate> gates = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Function<RefreshRequest, RefreshOutcome>> script = new ConcurrentLinkedQueue<>();
  final ConcurrentLinkedQueue<RefreshRequest> requests = new ConcurrentLinkedQueue<>();
  private volatile String current;
  private volatile boolean killed;
  private volatile String lastAccessToken;

  KeycloakLikeRefresher(Clock clock, Duration lifetime) {
    this.clock = clock;
    this.lifetime = lifetime;
  }

  /** The tokens of the initial consent; its refresh token is the current one. */
  TokenGrant consent(List<String> scopes, Duration validFor) {
    synchronized (lock) {
      TokenGrant g = mint(scopes, validFor);
      current = g.refreshToken();
      return g;
    }
  }

  /** The next call is held until the returned gate is released. */
  Gate holdNext() {
    Gate g = new Gate();
    gates.add(g);
    return g;
  }

  /** The next call answers with this instead of rotating (the refresh token is not consumed). */
  void answerNext(Function<RefreshRequest, RefreshOutcome> answer) {
    script.add(answer);
  }

  int calls() {
    return calls.get();
  }

  int rotations() {
    return rotations.get();
  }

  int reuseDetected() {
    return reuse.get();
  }

  boolean sessionKilled() {
    return killed;
  }

  String lastAccessToken() {
    return lastAccessToken;
  }

  String currentRefreshToken() {
    return current;
  }

  @Override
  public CompletableFuture<RefreshOutcome> refresh(RefreshRequest request) {
    calls.incrementAndGet();
    requests.add(request);
    Gate gate = gates.poll();
    Function<RefreshRequest, RefreshOutcome> scripted = script.poll();
    CompletableFuture<Void> ready = CompletableFuture.completedFuture(null);
    if (gate != null) {
      gate.arrived.countDown();
      ready = gate.open;
    }
    return ready.thenApplyAsync(x -> scripted != null ? scripted.apply(request) : rotate(request), executor);
  }

  private RefreshOutcome rotate(RefreshRequest request) {
    synchronized (lock) {
      String presented = request.refreshToken();
      if (!used.add(presented)) {
        reuse.incrementAndGet();
        killed = true; // Keycloak: reuse of a rotated refresh token revokes the whole session
        return new RefreshOutcome.Revoked("invalid_grant", "Maximum allowed refresh token reuse exceeded");
      }
      if (killed || !presented.equals(current)) {
        return new RefreshOutcome.Revoked("invalid_grant", "Invalid refresh token");
      }
      TokenGrant g = mint(null, lifetime);
      current = g.refreshToken();
      rotations.incrementAndGet();
      return new RefreshOutcome.Refreshed(g, 1);
    }
  }

  private TokenGrant mint(List<String> scopes, Duration validFor) {
    int n = issued.incrementAndGet();
    String access = "AT-" + session + "-" + n + "-" + UUID.randomUUID();
    lastAccessToken = access;
    return new TokenGrant(access, "RT-" + session + "-" + n + "-" + UUID.randomUUID(), clock.instant().plus(validFor),
        scopes);
  }
}
