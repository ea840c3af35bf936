package dev.mcpauthz.vault;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import dev.mcpauthz.config.AuthzConfig;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** Shared names and helpers of the vault tests. */
final class VaultFixtures {
  static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");
  static final String ISSUER = "https://login.example.test/realms/corp";
  static final String PROVIDER = "keycloak";
  static final URI RESOURCE = URI.create("https://api.example.test/mcp");
  static final AuthzConfig.Upstream UPSTREAM = new AuthzConfig.Upstream(PROVIDER, RESOURCE, List.of("repo:read"));

  private VaultFixtures() {}

  static CredentialKey key(String user) {
    return new CredentialKey(ISSUER, user, "github");
  }

  static String decisionId() {
    return UUID.randomUUID().toString();
  }

  static IMap<CredentialKey, VaultRecord> map(HazelcastInstance hz) {
    return hz.getMap(VaultService.MAP_NAME);
  }

  /** Completes with the first record of {@code key} that matches, current or written later (map events). */
  static CompletableFuture<VaultRecord> awaitRecord(HazelcastInstance hz, CredentialKey key, Predicate<VaultRecord> p) {
    IMap<CredentialKey, VaultRecord> map = map(hz);
    CompletableFuture<VaultRecord> found = new CompletableFuture<>();
    class Listener implements EntryUpdatedListener<CredentialKey, VaultRecord>, EntryAddedListener<CredentialKey, VaultRecord> {
      @Override
      public void entryUpdated(EntryEvent<CredentialKey, VaultRecord> e) {
        check(e);
      }

      @Override
      public void entryAdded(EntryEvent<CredentialKey, VaultRecord> e) {
        check(e);
      }

      private void check(EntryEvent<CredentialKey, VaultRecord> e) {
        if (e.getKey().equals(key) && e.getValue() != null && p.test(e.getValue())) {
          found.complete(e.getValue());
        }
      }
    }
    UUID id = map.addEntryListener(new Listener(), key, true);
    VaultRecord now = map.executeOnKey(key, entry -> entry.getValue());
    if (now != null && p.test(now)) {
      found.complete(now);
    }
    return found.orTimeout(30, TimeUnit.SECONDS).whenComplete((r, e) -> map.removeEntryListener(id));
  }

  /** The record as stored on the partition owner (not the near cache). */
  static VaultRecord stored(HazelcastInstance hz, CredentialKey key) {
    return map(hz).executeOnKey(key, entry -> entry.getValue());
  }

  static <T> T await(CompletableFuture<T> f) {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("future did not complete: " + e, e);
    }
  }
}
