package dev.mcpauthz.vault;

import dev.mcpauthz.telemetry.VaultAudit;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.RefreshRequest;
import dev.mcpauthz.upstream.TokenGrant;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One refresh of one credential driven by this member, shared by every local caller (local
 * single-flight) and coordinated with the other members through the lease in the record (cluster
 * single-flight, issue 3 item 4; ADR 0005):
 *
 * <ol>
 *   <li>{@link AcquireLease} for the version the caller saw. Version moved on → done, use it.
 *   <li>Lease held by a live refresher elsewhere → wait for the next change of the key (entry
 *       listener) or for that lease to lapse, then look again (takeover).
 *   <li>Lease granted → renew it every lease/3 while the token endpoint works, then write the
 *       result with {@link CompleteRefresh} (compare-and-set on the version: fencing).
 * </ol>
 */
final class RefreshCycle {
  private static final Logger log = LoggerFactory.getLogger(RefreshCycle.class);

  /** What a cycle came to. */
  sealed interface Result {
    /**
     * The record as it is now (refreshed here or elsewhere, revoked, or null when deleted).
     *
     * @param shared every waiter of this cycle on this member gets this one instance: the first to
     *     need the access token decrypts it, the others reuse its answer (1,000 waiters, one
     *     AES-GCM open, one header value)
     */
    record Current(VaultRecord record, SharedGrant shared) implements Result {
      Current(VaultRecord record) {
        this(record, new SharedGrant());
      }
    }

    /** Transient: not refreshed; retry after the given time. */
    record Failed(String reason, Duration retryAfter) implements Result {}

    /** The stored ciphertext cannot be opened with this key ring. */
    record Unreadable() implements Result {}
  }

  /**
   * The granted answer for one record, built once for the waiters of one cycle. It lives only as
   * long as those waiters' futures (the cycle leaves the in-flight map when it finishes), like the
   * answer each of them hands to its Check anyway.
   */
  static final class SharedGrant {
    private VaultRecord record;
    private VaultLookup.Granted granted;

    synchronized VaultLookup.Granted get(VaultRecord r, java.util.function.Function<VaultRecord, VaultLookup.Granted> open) {
      if (record != r) {
        granted = open.apply(r);
        record = r;
      }
      return granted;
    }
  }

  private final VaultRuntime rt;
  private final CredentialKey key;
  private final VaultRecord observed;
  private final String decisionId;
  private final String leaseId = UUID.randomUUID().toString();
  private final CompletableFuture<Result> result = new CompletableFuture<>();
  private final AtomicBoolean renewing = new AtomicBoolean();
  private volatile ScheduledFuture<?> renewal;

  RefreshCycle(VaultRuntime rt, CredentialKey key, VaultRecord observed, String decisionId) {
    this.rt = rt;
    this.key = key;
    this.observed = observed;
    this.decisionId = decisionId;
  }

  CompletableFuture<Result> result() {
    return result;
  }

  void start() {
    attempt();
  }

  private void attempt() {
    if (result.isDone()) {
      return;
    }
    // Watch before asking, so a change between the answer and the wait is never missed.
    CompletableFuture<VaultRecord> change = rt.watchers().nextChange(key);
    try {
      rt.map().submitToKey(key, new AcquireLease(observed.version(), rt.memberId(), leaseId, rt.leaseMillis()))
          .whenCompleteAsync((v, err) -> {
            if (err != null) {
              unreachable(err);
            } else {
              onLease(v, change);
            }
          }, rt.executor());
    } catch (RuntimeException e) {
      unreachable(e);
    }
  }

  private void onLease(EntryVerdict v, CompletableFuture<VaultRecord> change) {
    VaultRecord r = v.record();
    if (r == null || r.version() != observed.version() || r.status() != CredentialStatus.ACTIVE) {
      finish(new Result.Current(r));
    } else if (!v.applied()) {
      waitForHolder(r, v.ownerNow(), change);
    } else {
      if (v.takeover()) {
        rt.metrics().leaseTakeover();
        log.info("vault lease taken over after it lapsed: server={} user={}", key.serverId(), key.subject());
      }
      refreshUnderLease(r);
    }
  }

  /** Another member refreshes: its result arrives as a map event; a lapsed lease is taken over. */
  private void waitForHolder(VaultRecord r, long ownerNow, CompletableFuture<VaultRecord> change) {
    AtomicBoolean once = new AtomicBoolean();
    // Lease expiry and ownerNow come from the same (owner's) clock, so the delay is skew-free.
    long delay = Math.max(1, r.lease().expiresAt() - ownerNow + 1);
    ScheduledFuture<?> lapse = rt.scheduler().schedule(() -> {
      if (once.compareAndSet(false, true)) {
        execute(this::attempt);
      }
    }, delay, TimeUnit.MILLISECONDS);
    // ChangeWatchers completes on the vault executor already: no second hop.
    change.thenAccept(next -> {
      if (!once.compareAndSet(false, true)) {
        return;
      }
      lapse.cancel(false);
      if (next == null || next.version() != observed.version() || next.status() != CredentialStatus.ACTIVE) {
        finish(new Result.Current(next));
      } else {
        attempt(); // only the lease changed (renewed, released, taken): look again
      }
    });
  }

  private void refreshUnderLease(VaultRecord r) {
    Secrets secrets;
    try {
      secrets = rt.sealer().open(key, r.sealed());
    } catch (UnreadableCredentialException e) {
      log.warn("vault credential cannot be opened: server={} user={} reason={}", key.serverId(), key.subject(),
          e.getMessage());
      release();
      finish(new Result.Unreadable());
      return;
    }
    startRenewal();
    rt.metrics().timeToExpiryAtTrigger(r.expiresAt() - rt.clock().millis());
    // RFC 8707: the resource goes on every token request, refresh included.
    URI resource = r.resource() != null && rt.sendResource().test(r.provider()) ? URI.create(r.resource()) : null;
    RefreshRequest request = new RefreshRequest(r.provider(), secrets.refreshToken(), resource, List.of(), decisionId);
    CompletableFuture<RefreshOutcome> call;
    try {
      call = rt.refresher().refresh(request);
    } catch (RuntimeException e) {
      call = CompletableFuture.failedFuture(e);
    }
    call.whenCompleteAsync((outcome, err) -> {
      stopRenewal();
      RefreshOutcome o = err != null || outcome == null
          ? new RefreshOutcome.Failed("refresher_error", Duration.ofSeconds(1), 1) : outcome;
      switch (o) {
        case RefreshOutcome.Refreshed ok -> write(r, secrets, ok);
        case RefreshOutcome.Revoked rv -> revoked(r, rv);
        case RefreshOutcome.Failed f -> failed(f);
      }
    }, rt.executor());
  }

  private void write(VaultRecord r, Secrets old, RefreshOutcome.Refreshed ok) {
    rt.metrics().refreshSucceeded(ok.attempts());
    rt.audit().succeeded(subject(r), ok.attempts());
    if (ok.attempts() > 1) {
      rt.audit().retried(subject(r), ok.attempts() - 1);
    }
    TokenGrant g = ok.grant();
    // A provider that does not rotate sends no refresh token: keep the old one.
    Secrets fresh = new Secrets(g.accessToken(), g.refreshToken() != null ? g.refreshToken() : old.refreshToken());
    CredentialFields fields = rt.fields(key, r.provider(), r.resource(), g.scopes() != null ? g.scopes() : r.scopes(),
        rt.clock().millis(), g.expiresAt(), fresh);
    CompletableFuture<VaultRecord> change = rt.watchers().nextChange(key);
    submit(new CompleteRefresh(r.version(), fields), v -> {
      if (v.applied()) {
        rt.backoffs().remove(key);
      } else {
        rt.metrics().fenced();
        log.info("vault refresh result fenced (version moved on): server={} user={}", key.serverId(), key.subject());
      }
      finish(new Result.Current(v.record()));
    });
    finishOnNewerVersion(change, r.version());
  }

  /**
   * Serves this member's waiters as soon as the map event of a newer version arrives, whichever
   * comes first with the write's own answer. The owner answers a write only once its backup has
   * acknowledged it, which under load comes after the other members have already been served from
   * the same event (docs/PERFORMANCE.md, fan-out); the event carries the new record. A newer
   * version is the record as it is now whoever wrote it; a lease-only change is left to the answer.
   */
  private void finishOnNewerVersion(CompletableFuture<VaultRecord> change, long startedFrom) {
    change.thenAccept(next -> {
      if (next != null && next.version() > startedFrom) {
        finish(new Result.Current(next));
      }
    });
  }

  private void revoked(VaultRecord r, RefreshOutcome.Revoked rv) {
    submit(new MarkRevoked(r.version()), v -> {
      if (v.applied()) {
        rt.metrics().refreshRevoked();
        rt.audit().revoked(subject(r), rv.error(), rv.providerCode());
      } else {
        // Rotation rule: another replica rotated the refresh token we used; use its record.
        rt.metrics().rotationResolved();
        log.info("vault 'revoked' after a rotation elsewhere, using the newer record: server={} user={}",
            key.serverId(), key.subject());
      }
      finish(new Result.Current(v.record()));
    });
  }

  private void failed(RefreshOutcome.Failed f) {
    rt.metrics().refreshFailed(f.attempts());
    rt.audit().failed(subject(observed), f.reason(), f.attempts());
    if (f.attempts() > 1) {
      rt.audit().retried(subject(observed), f.attempts() - 1);
    }
    Duration retryAfter = f.retryAfter() == null || f.retryAfter().isNegative() ? Duration.ofSeconds(1) : f.retryAfter();
    rt.backoffs().put(key, new Backoff(rt.clock().millis() + retryAfter.toMillis(), f.reason()));
    release();
    finish(new Result.Failed(f.reason(), retryAfter));
  }

  /** Renew every lease/3 while the token endpoint works, up to the hold limit (ADR 0005). */
  private void startRenewal() {
    renewing.set(true);
    long period = Math.max(1, rt.leaseMillis() / 3);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(rt.maxHoldMillis());
    renewal = rt.scheduler().scheduleAtFixedRate(() -> {
      if (!renewing.get()) {
        return;
      }
      if (System.nanoTime() - deadline > 0) {
        // A hung refresh must not hold the credential forever: stop renewing, let the lease lapse.
        stopRenewal();
        finish(new Result.Failed("refresh_timeout", Duration.ofMillis(rt.leaseMillis())));
        return;
      }
      try {
        rt.map().submitToKey(key, new RenewLease(leaseId, rt.leaseMillis())).whenComplete((v, err) -> {
          if (err == null && v.applied()) {
            rt.metrics().leaseRenewed();
          } else if (err == null) {
            log.info("vault lease lost while refreshing: server={} user={}", key.serverId(), key.subject());
          }
        });
      } catch (RuntimeException gone) {
        stopRenewal(); // this member is shutting down
      }
    }, period, period, TimeUnit.MILLISECONDS);
  }

  private void stopRenewal() {
    renewing.set(false);
    ScheduledFuture<?> r = renewal;
    if (r != null) {
      r.cancel(false);
    }
  }

  private void release() {
    try {
      rt.map().submitToKey(key, new ReleaseLease(leaseId));
    } catch (RuntimeException ignored) {
      // the lease lapses by itself
    }
  }

  private void submit(VaultEntryProcessor ep, java.util.function.Consumer<EntryVerdict> then) {
    try {
      rt.map().submitToKey(key, ep).whenCompleteAsync((v, err) -> {
        if (err != null) {
          unreachable(err);
        } else {
          then.accept(v);
        }
      }, rt.executor());
    } catch (RuntimeException e) {
      unreachable(e);
    }
  }

  private void unreachable(Throwable err) {
    log.warn("vault map unreachable during refresh: server={} user={} error={}", key.serverId(), key.subject(),
        err.getClass().getSimpleName());
    finish(new Result.Failed("vault_unreachable", Duration.ofSeconds(1)));
  }

  private void finish(Result r) {
    stopRenewal();
    // Leave the single-flight table first, so a caller re-judging the result starts a new cycle.
    rt.inFlight().remove(key, this);
    result.complete(r);
  }

  private void execute(Runnable task) {
    try {
      rt.executor().execute(task);
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      finish(new Result.Failed("shutting_down", Duration.ofSeconds(1)));
    }
  }

  private VaultAudit.Subject subject(VaultRecord r) {
    return new VaultAudit.Subject(key.subject(), key.issuer(), key.serverId(), r.provider(), decisionId);
  }
}
