package dev.mcpauthz.consent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Who the browser on the consent pages signed in as, at the inbound issuer. The cookie carries 256
 * random bits; the Hazelcast map {@value #MAP_NAME} holds the identity under the cookie's digest,
 * so every replica recognises the session and a dump of the map yields no usable cookie.
 */
public final class BrowserSessions {
  public static final String MAP_NAME = "mcp-authz-browser-sessions";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A signed-in browser user: the inbound issuer (URL and configured id) and their {@code sub}. */
  public record SignedIn(String issuer, String issuerId, String subject) {}

  private final IMap<String, String> map;
  private final Duration ttl;
  private final Clock clock;

  public BrowserSessions(HazelcastInstance hazelcast, Duration ttl, Clock clock) {
    this.map = hazelcast.getMap(MAP_NAME);
    this.ttl = ttl;
    this.clock = clock;
  }

  /** @return the new session cookie's value */
  public String open(SignedIn user) {
    String cookie = FlowSecrets.random();
    String json = JSON.createObjectNode().put("iss", user.issuer()).put("issuer_id", user.issuerId())
        .put("sub", user.subject()).put("expires", clock.instant().plus(ttl).toEpochMilli()).toString();
    map.set(FlowSecrets.digest(cookie), json, ttl.toMillis(), TimeUnit.MILLISECONDS);
    return cookie;
  }

  public Optional<SignedIn> find(String cookie) {
    if (cookie == null || cookie.isEmpty()) {
      return Optional.empty();
    }
    String json = map.get(FlowSecrets.digest(cookie));
    if (json == null) {
      return Optional.empty();
    }
    try {
      JsonNode o = JSON.readTree(json);
      if (!clock.instant().isBefore(Instant.ofEpochMilli(o.get("expires").asLong()))) {
        return Optional.empty();
      }
      return Optional.of(new SignedIn(o.get("iss").asText(), o.get("issuer_id").asText(), o.get("sub").asText()));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Duration ttl() {
    return ttl;
  }
}
