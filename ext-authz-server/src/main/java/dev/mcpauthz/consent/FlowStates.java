package dev.mcpauthz.consent;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Authorization round trips in flight, in the Hazelcast map {@value #MAP_NAME} (the callback may
 * reach another replica than the start did). Keyed by a digest of {@code state}; {@link #take}
 * removes atomically, so a state is good for one callback only (a replayed callback finds nothing).
 * Called from the consent pages' virtual threads: blocking calls are fine here.
 */
public final class FlowStates {
  public static final String MAP_NAME = "mcp-authz-consent-flows";

  private final IMap<String, String> map;
  private final Duration ttl;
  private final Clock clock;

  public FlowStates(HazelcastInstance hazelcast, Duration ttl, Clock clock) {
    this.map = hazelcast.getMap(MAP_NAME);
    this.ttl = ttl;
    this.clock = clock;
  }

  /** Stores a new flow and returns its {@code state}. */
  public String begin(FlowState.Kind kind, String browser, String keyId, String target, String returnTo) {
    String state = FlowSecrets.random();
    FlowState f = new FlowState(kind, browser, keyId, target, returnTo, clock.instant().plus(ttl));
    map.set(FlowSecrets.digest(state), f.toJson(), ttl.toMillis(), TimeUnit.MILLISECONDS);
    return state;
  }

  /** The flow for {@code state}, removed so no second callback can use it; empty when unknown, used or expired. */
  public Optional<FlowState> take(String state) {
    String json = map.remove(FlowSecrets.digest(state));
    return Optional.ofNullable(json).map(FlowState::fromJson).filter(f -> clock.instant().isBefore(f.expiresAt()));
  }

  public Duration ttl() {
    return ttl;
  }
}
