package dev.mcpauthz.authn;

import com.nimbusds.jose.jwk.JWKSet;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An issuer's JWK set, kept in memory so verifying a token never waits on the network.
 *
 * <ul>
 *   <li>Refresh-ahead: the set is re-fetched in the background every {@code refreshInterval}.
 *   <li>Unknown {@code kid}: one refetch, shared by every concurrent caller (single-flight), and at
 *       most one per {@code minRefetchInterval}, so a flood of tokens with random kids cannot make
 *       the gateway hammer the IdP.
 *   <li>A failed fetch keeps the last good set.
 * </ul>
 *
 * Fetching itself (Nimbus' retriever, blocking) runs on the I/O executor, never on a gRPC thread.
 */
public final class JwksCache implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JwksCache.class);

  private final String issuerId;
  private final Callable<JWKSet> loader;
  private final Executor io;
  private final long minRefetchNanos;
  private final LongSupplier nanoClock;
  private final AtomicReference<CompletableFuture<JWKSet>> inFlight = new AtomicReference<>();
  private final ScheduledFuture<?> refreshAhead;
  private volatile JWKSet current;
  private volatile long lastFetchStartNanos;
  private volatile boolean everFetched;

  public JwksCache(
      String issuerId,
      Callable<JWKSet> loader,
      Duration refreshInterval,
      Duration minRefetchInterval,
      Executor io,
      ScheduledExecutorService scheduler,
      LongSupplier nanoClock) {
    this.issuerId = issuerId;
    this.loader = loader;
    this.io = io;
    this.minRefetchNanos = minRefetchInterval.toNanos();
    this.nanoClock = nanoClock;
    this.lastFetchStartNanos = nanoClock.getAsLong() - minRefetchNanos;
    long every = Math.max(1, refreshInterval.toMillis());
    this.refreshAhead =
        scheduler.scheduleWithFixedDelay(this::refresh, every, every, TimeUnit.MILLISECONDS);
  }

  /** The last good set, or null before the first successful fetch. */
  public JWKSet current() {
    return current;
  }

  /** Starts the first fetch; callers need not wait for it. */
  public CompletableFuture<JWKSet> start() {
    return refresh();
  }

  /**
   * Called when a token names a key the current set lacks. Returns the set to retry with: a fresh
   * one when a refetch is allowed now (joining one already in flight), else the current set.
   */
  public CompletableFuture<JWKSet> refreshForUnknownKey() {
    CompletableFuture<JWKSet> running = inFlight.get();
    if (running != null) {
      return running;
    }
    if (everFetched && nanoClock.getAsLong() - lastFetchStartNanos < minRefetchNanos) {
      return CompletableFuture.completedFuture(current);
    }
    return refresh();
  }

  /** Fetches now unless a fetch is already running; all callers share one result. */
  public CompletableFuture<JWKSet> refresh() {
    CompletableFuture<JWKSet> mine = new CompletableFuture<>();
    CompletableFuture<JWKSet> running = inFlight.compareAndExchange(null, mine);
    if (running != null) {
      return running;
    }
    lastFetchStartNanos = nanoClock.getAsLong();
    try {
      io.execute(() -> fetchInto(mine));
    } catch (RuntimeException rejected) {
      inFlight.set(null);
      mine.completeExceptionally(rejected);
    }
    return mine;
  }

  private void fetchInto(CompletableFuture<JWKSet> target) {
    try {
      JWKSet set = loader.call();
      current = set;
      everFetched = true;
      log.debug("jwks refreshed issuer={} keys={}", issuerId, set.getKeys().size());
      inFlight.set(null);
      target.complete(set);
    } catch (Exception e) {
      everFetched = true;
      log.warn("jwks fetch failed issuer={} error={}", issuerId, e.toString());
      inFlight.set(null);
      target.completeExceptionally(e);
    }
  }

  @Override
  public void close() {
    refreshAhead.cancel(false);
  }
}
