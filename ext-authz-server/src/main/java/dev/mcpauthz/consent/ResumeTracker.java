package dev.mcpauthz.consent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryExpiredListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import dev.mcpauthz.telemetry.ConsentAudit;
import dev.mcpauthz.telemetry.ConsentMetrics;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Recognises the resumed call (issue 4 item 4 and 6): after a consent completes, the first allowed
 * call of that user to that server with the same method, name and arguments is the resume. It is
 * counted once cluster-wide ({@code IMap.remove} decides) with the time from prompt to resumed call.
 * An expectation nobody resumes within {@code consent.resume_ttl} is counted as a failed resume by
 * the member owning it.
 *
 * <p>Check-path cost: one {@code isEmpty()} on a local map, which every replica keeps in step with
 * the Hazelcast map {@value #MAP_NAME} through an entry listener; the digest and the remote remove
 * happen only for a user with a completed consent.
 */
public final class ResumeTracker implements AutoCloseable {
  public static final String MAP_NAME = "mcp-authz-resumes";
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Who(String issuer, String subject, String server) {}

  private record Expected(String key, String elicitationId, String provider, String callDigest, Instant promptedAt) {}

  private final IMap<String, String> map;
  private final ConcurrentHashMap<Who, Expected> local = new ConcurrentHashMap<>();
  private final Duration ttl;
  private final Clock clock;
  private final Executor executor;
  private final ConsentMetrics metrics;
  private final ConsentAudit audit;
  private final UUID listener;
  private final UUID expiryListener;

  public ResumeTracker(HazelcastInstance hazelcast, Duration ttl, Clock clock, Executor executor,
      ConsentMetrics metrics, ConsentAudit audit) {
    this.map = hazelcast.getMap(MAP_NAME);
    this.ttl = ttl;
    this.clock = clock;
    this.executor = executor;
    this.metrics = metrics;
    this.audit = audit;
    this.listener = map.addEntryListener(new Mirror(), true);
    this.expiryListener = map.addLocalEntryListener((EntryExpiredListener<String, String>) this::expired);
    map.forEach((k, v) -> remember(v));
  }

  /** A consent completed: its call is now expected back. Blocking (consent pages' virtual threads). */
  public void expect(Elicitation e) {
    String json = JSON.createObjectNode().put("iss", e.issuer()).put("sub", e.subject()).put("server", e.server())
        .put("provider", e.provider()).put("eid", e.id()).put("call", e.callDigest())
        .put("prompted", e.createdAt().toEpochMilli()).toString();
    map.set(key(e.issuer(), e.subject(), e.server()), json, ttl.toMillis(), TimeUnit.MILLISECONDS);
    remember(json); // this replica at once; the listener brings the others
  }

  /** Whether any completed consent awaits its call: false almost always, and then nothing else runs. */
  public boolean expectingAny() {
    return !local.isEmpty();
  }

  /** A call of this user to this server was allowed with an upstream credential. */
  public void allowed(String issuer, String subject, String server, Supplier<String> callDigest) {
    if (local.isEmpty()) {
      return;
    }
    Expected e = local.get(new Who(issuer, subject, server));
    if (e == null || !e.callDigest().equals(callDigest.get())) {
      return;
    }
    map.removeAsync(e.key()).whenCompleteAsync((removed, error) -> {
      if (removed != null) {
        Duration delay = Duration.between(e.promptedAt(), clock.instant());
        // The delay first: whoever sees the resume counted (a dashboard, a test) also sees its delay.
        metrics.resumeDelay(e.provider(), server, delay);
        metrics.resumed("succeeded", "retried", e.provider(), server);
        audit.resumeSucceeded(subject, issuer, server, e.provider(), e.elicitationId(), delay.toMillis());
      }
    }, executor);
  }

  private void expired(EntryEvent<String, String> event) {
    JsonNode o = parse(event.getOldValue());
    if (o != null) {
      metrics.resumed("failed", "not_retried", o.get("provider").asText(), o.get("server").asText());
      audit.resumeFailed(o.get("sub").asText(), o.get("iss").asText(), o.get("server").asText(),
          o.get("eid").asText(), "not_retried");
    }
  }

  private void remember(String json) {
    JsonNode o = parse(json);
    if (o != null) {
      Who who = new Who(o.get("iss").asText(), o.get("sub").asText(), o.get("server").asText());
      local.put(who, new Expected(key(who.issuer(), who.subject(), who.server()), o.get("eid").asText(),
          o.get("provider").asText(), o.get("call").asText(), Instant.ofEpochMilli(o.get("prompted").asLong())));
    }
  }

  private void forget(String json) {
    JsonNode o = parse(json);
    if (o != null) {
      Who who = new Who(o.get("iss").asText(), o.get("sub").asText(), o.get("server").asText());
      local.computeIfPresent(who, (w, e) -> e.elicitationId().equals(o.get("eid").asText()) ? null : e);
    }
  }

  private static JsonNode parse(String json) {
    if (json == null) {
      return null;
    }
    try {
      return JSON.readTree(json);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Hashed, so the map's keys carry no user identifier. */
  private static String key(String issuer, String subject, String server) {
    return FlowSecrets.digest(issuer + "\0" + subject + "\0" + server);
  }

  /** Keeps {@link #local} in step with the cluster map. */
  private final class Mirror implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String>,
      EntryRemovedListener<String, String>, EntryExpiredListener<String, String> {
    @Override
    public void entryAdded(EntryEvent<String, String> event) {
      remember(event.getValue());
    }

    @Override
    public void entryUpdated(EntryEvent<String, String> event) {
      remember(event.getValue());
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
      forget(event.getOldValue());
    }

    @Override
    public void entryExpired(EntryEvent<String, String> event) {
      forget(event.getOldValue());
    }
  }

  @Override
  public void close() {
    try {
      map.removeEntryListener(listener);
      map.removeEntryListener(expiryListener);
    } catch (RuntimeException e) {
      // The member is already shutting down: its listeners go with it.
    }
  }
}
