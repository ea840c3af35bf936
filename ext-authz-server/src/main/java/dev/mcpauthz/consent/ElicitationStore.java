package dev.mcpauthz.consent;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.mcpauthz.decision.ConsentReason;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Pending consent prompts in the Hazelcast map {@value #MAP_NAME}, shared by every replica (the
 * browser's /auth/start may reach another replica than the Check did). Two kinds of entry, both
 * with the elicitation TTL: {@code id:<id>} → elicitation (lookup by the id in the consent URL) and
 * {@code pending:<digest of user, server, reason, scopes>} → elicitation (reuse while pending).
 * The id entry outlives the link by {@link #EXPIRED_GRACE}, so a late click is told "expired" (and
 * counted) rather than "unknown".
 *
 * <p>Every call is asynchronous and completes on {@code executor}, never on a Hazelcast thread and
 * never blocking the gRPC thread.
 */
public final class ElicitationStore {
  public static final String MAP_NAME = "mcp-authz-elicitations";
  /** How long an expired (or completed) elicitation is still recognised. */
  static final Duration EXPIRED_GRACE = Duration.ofHours(1);

  private final IMap<String, String> map;
  private final Duration ttl;
  private final Clock clock;
  private final Executor executor;
  private final java.util.function.Consumer<Elicitation> onMinted;

  public ElicitationStore(HazelcastInstance hazelcast, Duration ttl, Clock clock, Executor executor) {
    this(hazelcast, ttl, clock, executor, e -> {});
  }

  /** @param onMinted told of each new elicitation (not of reuses): the denominator of completion rates */
  public ElicitationStore(HazelcastInstance hazelcast, Duration ttl, Clock clock, Executor executor,
      java.util.function.Consumer<Elicitation> onMinted) {
    this.onMinted = onMinted;
    this.map = hazelcast.getMap(MAP_NAME);
    this.ttl = ttl;
    this.clock = clock;
    this.executor = executor;
  }

  /** What a prompt is for; everything but the id and times of an {@link Elicitation}. */
  public record Request(String issuer, String subject, String server, String provider, List<String> scopes,
      ConsentReason reason, String callDigest, String client) {
    public Request {
      scopes = List.copyOf(scopes);
    }
  }

  /**
   * The pending elicitation for this user, server, reason and scopes, minting one when none is
   * live. A repeat within the TTL reuses the first (same id, same link; its call digest is the
   * first call's).
   */
  public CompletableFuture<Elicitation> mint(Request r) {
    Instant now = clock.instant();
    Elicitation candidate = new Elicitation(newId(), r.issuer(), r.subject(), r.server(), r.provider(), r.scopes(),
        r.reason(), r.callDigest(), r.client(), now, now.plus(ttl), null);
    String json = candidate.toJson();
    long ttlMillis = ttl.toMillis();
    // The id entry is written first, so whoever reads the pending slot can always resolve its id.
    return map.setAsync(idKey(candidate.id()), json, ttl.plus(EXPIRED_GRACE).toMillis(), TimeUnit.MILLISECONDS)
        .thenCompose(v -> map.submitToKey(pendingKey(r), new ClaimPending(json, now.toEpochMilli(), ttlMillis)))
        .thenCompose(winner -> {
          Elicitation e = Elicitation.fromJson(winner);
          // The losing candidate was never shown to anyone: remove it before answering.
          if (e.id().equals(candidate.id())) {
            onMinted.accept(e);
          }
          return e.id().equals(candidate.id()) ? CompletableFuture.completedFuture(e)
              : map.deleteAsync(idKey(candidate.id())).thenApply(deleted -> e);
        })
        .thenApplyAsync(e -> e, executor)
        .toCompletableFuture();
  }

  /** The live elicitation with this id; empty when unknown or expired. */
  public CompletableFuture<Optional<Elicitation>> find(String id) {
    return map.getAsync(idKey(id))
        .thenApplyAsync(json -> Optional.ofNullable(json).map(Elicitation::fromJson)
            .filter(e -> !e.expiredAt(clock.instant())), executor)
        .toCompletableFuture();
  }

  /**
   * The elicitation with this id, live, completed or expired within the last {@link #EXPIRED_GRACE};
   * empty when unknown (never minted, or long gone).
   */
  public CompletableFuture<Optional<Elicitation>> lookup(String id) {
    return map.getAsync(idKey(id))
        .thenApplyAsync(json -> Optional.ofNullable(json).map(Elicitation::fromJson), executor)
        .toCompletableFuture();
  }

  /**
   * Marks the elicitation completed and frees its pending slot, so the next prompt for this user
   * and server (a later revocation, say) mints a new link instead of reusing a finished one.
   *
   * @return the completed elicitation
   */
  public CompletableFuture<Elicitation> complete(Elicitation e) {
    Elicitation done = e.completeAt(clock.instant());
    String pending = pendingKey(new Request(e.issuer(), e.subject(), e.server(), e.provider(), e.scopes(), e.reason(),
        e.callDigest(), e.client()));
    return map.setAsync(idKey(e.id()), done.toJson(), EXPIRED_GRACE.toMillis(), TimeUnit.MILLISECONDS)
        .thenCompose(v -> map.submitToKey(pending, new ReleasePending(e.id())))
        .thenApplyAsync(v -> done, executor)
        .toCompletableFuture();
  }

  /** Runs the claim processor once on a throwaway key, so its first real use is not the slow one. */
  public static void warmUp(HazelcastInstance hazelcast) {
    IMap<String, String> map = hazelcast.getMap(MAP_NAME);
    String key = "warm-up:" + newId();
    map.executeOnKey(key, new ReleasePending(""));
    map.delete(key);
  }

  /**
   * A fresh opaque id: {@link FlowSecrets#random()}, 256 bits (MCP elicitation "Safe URL Handling":
   * the URL is not a credential).
   */
  static String newId() {
    return FlowSecrets.random();
  }

  private static String idKey(String id) {
    return "id:" + id;
  }

  /** Hashed, so the map's keys carry no user identifier either. */
  static String pendingKey(Request r) {
    String joined = String.join("\0", r.issuer(), r.subject(), r.server(), r.provider(), r.reason().name(),
        String.join(" ", new TreeSet<>(r.scopes())));
    return "pending:" + FlowSecrets.digest(joined);
  }
}
