package dev.mcpauthz.vault;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.telemetry.VaultAudit;
import dev.mcpauthz.telemetry.VaultMetrics;
import dev.mcpauthz.upstream.TokenGrant;
import dev.mcpauthz.upstream.TokenRefresher;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The upstream token vault (issue 3): one sealed credential per (user, MCP server) in the Hazelcast
 * map {@value #MAP_NAME}, served from the near cache on the Check path, refreshed ahead of expiry
 * with one token-endpoint call per refresh cycle across the whole cluster (ADR 0005).
 *
 * <p>Threading: {@link #credentialFor} never blocks. A near-cache hit outside the refresh window
 * returns a completed future; everything else completes later on the vault's own executor, never on
 * the caller's thread or on a Hazelcast thread.
 */
public final class VaultService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(VaultService.class);

  /** The vault map; {@code cluster.ClusterMember} configures its backups and near cache. */
  public static final String MAP_NAME = "mcp-authz-vault";

  /** A caller re-judges at most this many newer records before answering 503 (a refresh race). */
  private static final int MAX_ROUNDS = 5;

  private final IMap<CredentialKey, VaultRecord> map;
  private final VaultRuntime rt;
  private final RefreshWindow window;
  private final Duration waitTimeout;
  private final UUID listenerId;
  /** The map's near cache when it has one (see {@link #read}); null otherwise. */
  private final com.hazelcast.internal.nearcache.NearCache<Object, Object> nearCache;
  /** Reads of the map in flight on this member, by key: concurrent near-cache misses share one. */
  private final ConcurrentHashMap<CredentialKey, CompletableFuture<VaultRecord>> reads = new ConcurrentHashMap<>();

  /** Sends RFC 8707 {@code resource} on refreshes for every provider. */
  public VaultService(HazelcastInstance hz, AuthzConfig.Vault cfg, KeyRing keys, TokenRefresher refresher,
      MeterRegistry meters, Clock clock) {
    this(hz, cfg, keys, refresher, meters, clock, provider -> true);
  }

  /**
   * @param sendResource whether refreshes for a provider id carry RFC 8707 {@code resource}
   *     ({@code providers[].send_resource}); when false the refresh request's resource is null
   */
  public VaultService(HazelcastInstance hz, AuthzConfig.Vault cfg, KeyRing keys, TokenRefresher refresher,
      MeterRegistry meters, Clock clock, Predicate<String> sendResource) {
    this.map = hz.getMap(MAP_NAME);
    this.window = new RefreshWindow(cfg.refreshAheadMin(), cfg.refreshAheadFraction());
    this.waitTimeout = cfg.waitTimeout();
    ExecutorService executor = Executors.newThreadPerTaskExecutor(
        Thread.ofVirtual().name("vault-", 0).factory());
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("vault-timer").factory());
    ChangeWatchers watchers = new ChangeWatchers(executor);
    this.rt = new VaultRuntime(map, new CredentialSealer(keys, cfg.checkCacheEntries()), refresher, new VaultMetrics(meters), new VaultAudit(),
        clock, executor, scheduler, watchers, hz.getCluster().getLocalMember().getUuid().toString(),
        cfg.lease().toMillis(), Math.max(cfg.waitTimeout().toMillis(), cfg.lease().toMillis()), sendResource,
        new ConcurrentHashMap<>(), new ConcurrentHashMap<>(), () -> writeFormat(hz.getCluster().getMembers()));
    this.listenerId = map.addEntryListener(watchers, true);
    this.nearCache = map instanceof com.hazelcast.map.impl.proxy.NearCachedMapProxyImpl<?, ?> near
        ? near.getNearCache() : null;
  }

  /**
   * The user's upstream access token for one server, or why there is none. Rules, in order: no
   * credential → consent (first); stored resource or provider differs from the server's (RFC 8707)
   * → consent (first); revoked → consent (revoked); needed scopes not granted → consent (scope
   * escalation, asking for granted ∪ needed); valid → granted (and a background refresh inside the
   * refresh-ahead window); expired → wait for the one refresh in flight, up to {@code
   * vault.wait_timeout}; a transient failure then is 503, never consent.
   *
   * @param neededScopes upstream scopes this call needs beyond {@code upstream.scopes}
   */
  public CompletableFuture<VaultLookup> credentialFor(
      CredentialKey key, AuthzConfig.Upstream upstream, List<String> neededScopes, String decisionId) {
    Need need = Need.of(upstream, neededScopes);
    // One Check is judged as of its arrival: a token refreshed while it waited is fresh for it.
    long now = rt.clock().millis();
    long deadline = System.nanoTime() + waitTimeout.toNanos();
    CompletableFuture<VaultRecord> read;
    try {
      read = read(key);
    } catch (RuntimeException e) {
      return done(unavailable(1, "vault_unreachable"));
    }
    if (read.isDone() && !read.isCompletedExceptionally()) {
      return judge(key, need, read.join(), null, decisionId, now, deadline, 0); // near-cache hit: no network hop
    }
    // A remote read completes on the vault executor (see read), so every caller that shares it is
    // judged on that one thread: no task per caller, never a Hazelcast thread.
    return read.thenCompose(r -> judge(key, need, r, null, decisionId, now, deadline, 0))
        .exceptionally(e -> unavailable(1, "vault_unreachable"));
  }

  /**
   * The sealed-record format a write uses: 2 when every member announces it reads format 2
   * ({@link VaultSerializers#FORMAT_ATTRIBUTE}), else 1, so that during a rolling upgrade from a
   * release that reads only format 1 no member meets a record it cannot read. Writes are rare
   * (consent, refresh); the member list is a local view.
   */
  static int writeFormat(java.util.Collection<com.hazelcast.cluster.Member> members) {
    for (com.hazelcast.cluster.Member m : members) {
      String f = m.getAttribute(VaultSerializers.FORMAT_ATTRIBUTE);
      int readable;
      try {
        readable = f == null ? SealedCredential.FORMAT_1 : Integer.parseInt(f);
      } catch (NumberFormatException e) {
        readable = SealedCredential.FORMAT_1;
      }
      if (readable < SealedCredential.FORMAT_2) {
        return SealedCredential.FORMAT_1;
      }
    }
    return SealedCredential.FORMAT_2;
  }

  /**
   * The record from the near cache, or one remote read shared by every caller that misses at the
   * same time. A refresh invalidates the near cache, so without sharing a burst of Checks on one
   * credential (an agent fanning out tool calls) becomes one network read per Check. A shared read
   * can be older than a caller's arrival by one round trip; judging handles stale records anyway
   * (the refresh cycle's lease step compares versions).
   */
  private CompletableFuture<VaultRecord> read(CredentialKey key) {
    // Hazelcast 5.7's IMap.getAsync costs ~200 µs even when the near cache holds the value
    // (docs/PERFORMANCE.md), against ~0.2 µs for the near cache itself. Its public API has no
    // non-blocking "cached value or nothing", so the near cache is read directly; Hazelcast still
    // owns invalidation and repair. Anything but a cached record falls back to getAsync.
    if (nearCache != null && nearCache.get(key) instanceof VaultRecord cached) {
      return CompletableFuture.completedFuture(cached);
    }
    CompletableFuture<VaultRecord> inFlight = reads.get(key);
    if (inFlight != null) {
      return inFlight;
    }
    CompletableFuture<VaultRecord> remote = map.getAsync(key).toCompletableFuture();
    if (remote.isDone()) {
      return remote; // near-cache hit: no network hop
    }
    // One hop to the vault executor per shared read: its callers then run there, one after another.
    CompletableFuture<VaultRecord> read = new CompletableFuture<>();
    CompletableFuture<VaultRecord> raced = reads.putIfAbsent(key, read);
    if (raced != null) {
      return raced;
    }
    remote.whenCompleteAsync((r, e) -> {
      reads.remove(key, read);
      if (e != null) {
        read.completeExceptionally(e);
      } else {
        read.complete(r);
      }
    }, rt.executor());
    return read;
  }

  /**
   * Stores the tokens of a consent as the credential's next version (any refresh still running
   * for an older version is fenced out).
   *
   * @param grantedScopes scopes granted at consent; used when the grant names none
   */
  public CompletableFuture<Void> store(CredentialKey key, AuthzConfig.Upstream upstream, List<String> grantedScopes,
      TokenGrant grant, String decisionId) {
    Secrets secrets = new Secrets(grant.accessToken(), grant.refreshToken());
    List<String> scopes = grant.scopes() != null ? grant.scopes() : grantedScopes;
    CredentialFields fields = rt.fields(key, upstream.provider(), Need.canonicalResource(upstream), scopes,
        rt.clock().millis(), grant.expiresAt(), secrets);
    return map.submitToKey(key, new PutCredential(fields)).toCompletableFuture()
        .thenAcceptAsync(v -> {
          rt.backoffs().remove(key);
          log.info("vault credential stored: server={} user={} version={} decision_id={}", key.serverId(),
              key.subject(), v.record().version(), decisionId);
        }, rt.executor());
  }

  /**
   * Marks the credential revoked (user disconnect, operator action): its tokens are dropped and the
   * next call asks for consent (revoked).
   *
   * @return whether an active credential was revoked
   */
  public CompletableFuture<Boolean> revoke(CredentialKey key, String decisionId) {
    rt.sealer().forget(key);
    return map.submitToKey(key, new MarkRevoked(MarkRevoked.ANY_VERSION)).toCompletableFuture()
        .thenApplyAsync(v -> {
          if (v.applied()) {
            log.info("vault credential revoked: server={} user={} decision_id={}", key.serverId(), key.subject(),
                decisionId);
          }
          return v.applied();
        }, rt.executor());
  }

  private CompletableFuture<VaultLookup> judge(CredentialKey key, Need need, VaultRecord r,
      RefreshCycle.SharedGrant shared, String decisionId, long now, long deadline, int round) {
    VaultLookup.ConsentNeeded consent = ConsentRules.check(r, need);
    if (consent != null) {
      return done(counted(consent));
    }
    if (now < r.expiresAt()) {
      // Refresh-ahead (issue 3 item 3): keep serving the current token, refresh in the background.
      if (r.refreshable() && now >= window.refreshAt(r) && activeBackoff(key, now) == null) {
        join(key, r, decisionId);
      }
      return done(granted(key, r, need, shared));
    }
    if (!r.refreshable()) {
      // Expired and nothing to refresh with: only a new consent helps.
      return done(counted(new VaultLookup.ConsentNeeded(ConsentReason.REVOKED, need.provider(),
          Need.union(r.scopes(), need.scopes()))));
    }
    Backoff backoff = activeBackoff(key, now);
    if (backoff != null) {
      return done(unavailable(backoff.retryAfterSeconds(now), backoff.reason()));
    }
    long remaining = deadline - System.nanoTime();
    if (round >= MAX_ROUNDS || remaining <= 0) {
      return done(unavailable(1, round >= MAX_ROUNDS ? "refresh_race" : "refresh_timeout"));
    }
    // vault.wait_timeout (issue 3 item 3): a Check waits for the refresh in flight, then gets 503.
    VaultLookup timedOut = new VaultLookup.Unavailable(retryAfterSeconds(Duration.ofMillis(rt.leaseMillis())),
        "refresh_timeout");
    CompletableFuture<VaultLookup> waiting = join(key, r, decisionId)
        .thenCompose(res -> afterRefresh(key, need, r, res, decisionId, now, deadline, round))
        .completeOnTimeout(timedOut, remaining, TimeUnit.NANOSECONDS);
    waiting.thenAccept(v -> {
      if (v == timedOut) {
        rt.metrics().lookup("unavailable");
      }
    });
    return waiting;
  }

  private CompletableFuture<VaultLookup> afterRefresh(CredentialKey key, Need need, VaultRecord seen,
      RefreshCycle.Result res, String decisionId, long now, long deadline, int round) {
    return switch (res) {
      case RefreshCycle.Result.Current c when c.record() == null -> done(counted(ConsentRules.check(null, need)));
      case RefreshCycle.Result.Current c ->
          judge(key, need, c.record().version() >= seen.version() ? c.record() : seen, c.shared(), decisionId, now,
              deadline,
              round + 1);
      // Transient (issue 3 item 5): 503 with Retry-After, never consent.
      case RefreshCycle.Result.Failed f -> done(unavailable(retryAfterSeconds(f.retryAfter()), f.reason()));
      case RefreshCycle.Result.Unreadable u -> done(counted(ConsentRules.check(null, need)));
    };
  }

  /** Local single-flight: every caller on this member shares one cycle per credential. */
  private CompletableFuture<RefreshCycle.Result> join(CredentialKey key, VaultRecord r, String decisionId) {
    RefreshCycle running = rt.inFlight().get(key);
    if (running == null) {
      RefreshCycle created = new RefreshCycle(rt, key, r, decisionId);
      running = rt.inFlight().putIfAbsent(key, created);
      if (running == null) {
        try {
          rt.executor().execute(created::start);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
          rt.inFlight().remove(key, created);
          return done(new RefreshCycle.Result.Failed("shutting_down", Duration.ofSeconds(1)));
        }
        return created.result();
      }
    }
    rt.metrics().deduplicated();
    return running.result();
  }

  /** @param shared the cycle's shared answer when this judges a refresh result, else null */
  private VaultLookup granted(CredentialKey key, VaultRecord r, Need need, RefreshCycle.SharedGrant shared) {
    try {
      VaultLookup.Granted g = shared == null ? grant(key, r) : shared.get(r, rec -> grant(key, rec));
      rt.metrics().lookup("granted");
      return g;
    } catch (UnreadableCredentialException e) {
      // A record that does not open (key removed from the ring, copied, tampered) is no credential.
      log.warn("vault credential cannot be opened: server={} user={} reason={}", key.serverId(), key.subject(),
          e.getMessage());
      return counted(ConsentRules.check(null, need));
    }
  }

  private VaultLookup.Granted grant(CredentialKey key, VaultRecord r) {
    return new VaultLookup.Granted(rt.sealer().openAuthorization(key, r.sealed()),
        r.expiresAt() == Long.MAX_VALUE ? Instant.MAX : Instant.ofEpochMilli(r.expiresAt()), r.version());
  }

  private Backoff activeBackoff(CredentialKey key, long now) {
    Backoff b = rt.backoffs().get(key);
    if (b != null && b.until() <= now) {
      rt.backoffs().remove(key, b);
      return null;
    }
    return b;
  }

  private VaultLookup counted(VaultLookup.ConsentNeeded c) {
    rt.metrics().lookup("consent_" + c.reason().label());
    return c;
  }

  private VaultLookup unavailable(int retryAfterSeconds, String reason) {
    rt.metrics().lookup("unavailable");
    return new VaultLookup.Unavailable(retryAfterSeconds, reason);
  }

  private static int retryAfterSeconds(Duration d) {
    return (int) Math.max(1, Math.min(3600, (d.toMillis() + 999) / 1000));
  }

  private static <T> CompletableFuture<T> done(T value) {
    return CompletableFuture.completedFuture(value);
  }

  /** Stops refreshing on this member; callers still waiting get 503. Does not stop Hazelcast. */
  @Override
  public void close() {
    try {
      map.removeEntryListener(listenerId);
    } catch (RuntimeException alreadyDown) {
      // the member is gone; its listener with it
    }
    rt.scheduler().shutdownNow();
    rt.executor().shutdown();
    for (RefreshCycle c : rt.inFlight().values()) {
      c.result().complete(new RefreshCycle.Result.Failed("shutting_down", Duration.ofSeconds(1)));
    }
    rt.inFlight().clear();
  }
}
