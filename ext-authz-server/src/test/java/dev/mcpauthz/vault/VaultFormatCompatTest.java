package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.TokenGrant;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A rolling upgrade from the release before record format 2: a member of that release (its record
 * serializer, no format attribute) in the same cluster. New members read its records, and write
 * format 1 (which it reads) until it has left; then they write format 2.
 */
class VaultFormatCompatTest {
  private final List<HazelcastInstance> members = new ArrayList<>();
  private VaultService vault;

  @AfterEach
  void stop() {
    if (vault != null) {
      vault.close();
    }
    members.forEach(m -> m.getLifecycleService().terminate());
  }

  @Test
  void previousReleaseRecordsAreReadAndItCanReadWhatIsWrittenWhileItIsThere() throws Exception {
    AuthzConfig.Vault cfg = VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20));
    KeyRing ring = VaultTestCluster.ring();
    String name = "vault-compat-" + java.util.UUID.randomUUID();
    int first = FreePorts.pick();
    HazelcastInstance current = Hazelcast.newHazelcastInstance(VaultTestCluster.memberConfig(name, first, first, cfg));
    members.add(current);
    HazelcastInstance previous = Hazelcast.newHazelcastInstance(
        Format1Legacy.previousReleaseMember(VaultTestCluster.memberConfig(name, FreePorts.pick(), first, cfg)));
    members.add(previous);
    dev.mcpauthz.testing.Conditions.waitUntil(Duration.ofSeconds(60), "cluster of 2",
        () -> current.getCluster().getMembers().size() == 2 && previous.getCluster().getMembers().size() == 2);
    vault = new VaultService(current, cfg, ring,
        r -> CompletableFuture.completedFuture(new RefreshOutcome.Failed("unused", Duration.ofSeconds(1), 0)),
        new SimpleMeterRegistry(), Clock.systemUTC());
    assertThat(VaultService.writeFormat(current.getCluster().getMembers())).isEqualTo(1);

    // 1. A record the previous release wrote (its sealing, its serializer): read and opened here.
    CredentialKey bob = key("bob");
    String bobToken = TokenCodecTest.jwt(new java.util.Random(1), 700);
    Format1Legacy.Sealed old = Format1Legacy.seal(ring, bob, new Secrets(bobToken, "rt-bob"));
    VaultRecord oldRecord = new VaultRecord(3, PROVIDER, RESOURCE.toString(), List.of("repo:read"),
        System.currentTimeMillis(), System.currentTimeMillis() + 600_000, true, CredentialStatus.ACTIVE,
        old.current(), null);
    int legacyReads = Format1Legacy.RecordSerializer.READS.get();
    IMap<CredentialKey, VaultRecord> previousMap = map(previous);
    previousMap.set(bob, oldRecord);
    assertThat(previousMap.get(bob)).isNotNull();
    assertThat(Format1Legacy.RecordSerializer.READS.get()).as("the old member used the old serializer")
        .isGreaterThan(legacyReads);
    assertThat(await(vault.credentialFor(bob, UPSTREAM, List.of(), decisionId())))
        .isEqualTo(VaultLookup.Granted.bearer(bobToken, Instant.ofEpochMilli(oldRecord.expiresAt()), 3));

    // 2. While the old member is in the cluster, writes are format 1, and it opens them.
    CredentialKey alice = key("alice");
    String aliceToken = TokenCodecTest.jwt(new java.util.Random(2), 700);
    TokenGrant grant = new TokenGrant(aliceToken, "rt-alice", Instant.now().plusSeconds(600), List.of("repo:read"));
    await(vault.store(alice, UPSTREAM, List.of("repo:read"), grant, decisionId()));
    assertThat(stored(current, alice).sealed().format()).isEqualTo(1);
    VaultRecord seenByOld = previousMap.get(alice);
    assertThat(Format1Legacy.open(ring, alice, seenByOld.sealed().keyId(), seenByOld.sealed().format1Iv(),
        seenByOld.sealed().format1Ciphertext())).isEqualTo(new Secrets(aliceToken, "rt-alice"));

    // 3. Once it has left, writes are format 2; everything stored before still opens.
    previous.getLifecycleService().shutdown();
    dev.mcpauthz.testing.Conditions.waitUntil(Duration.ofSeconds(60), "cluster of 1",
        () -> current.getCluster().getMembers().size() == 1);
    assertThat(VaultService.writeFormat(current.getCluster().getMembers())).isEqualTo(2);
    CredentialKey carol = key("carol");
    String carolToken = TokenCodecTest.jwt(new java.util.Random(3), 700);
    await(vault.store(carol, UPSTREAM, List.of("repo:read"),
        new TokenGrant(carolToken, "rt-carol", Instant.now().plusSeconds(600), List.of("repo:read")), decisionId()));
    assertThat(stored(current, carol).sealed().format()).isEqualTo(2);
    assertThat(((VaultLookup.Granted) await(vault.credentialFor(carol, UPSTREAM, List.of(), decisionId()))).accessToken())
        .isEqualTo(carolToken);
    assertThat(((VaultLookup.Granted) await(vault.credentialFor(alice, UPSTREAM, List.of(), decisionId()))).accessToken())
        .isEqualTo(aliceToken);
    assertThat(((VaultLookup.Granted) await(vault.credentialFor(bob, UPSTREAM, List.of(), decisionId()))).accessToken())
        .isEqualTo(bobToken);
  }

  /** A record in the previous release's schema, as it would have stored it (no "sealed" field). */
  private static com.hazelcast.nio.serialization.genericrecord.GenericRecord previousSchema(String keyId, byte[] iv,
      byte[] ct, long expiresAt) {
    return com.hazelcast.nio.serialization.genericrecord.GenericRecordBuilder.compact("mcpauthz.VaultRecord")
        .setInt64("version", 7)
        .setString("provider", PROVIDER)
        .setString("resource", RESOURCE.toString())
        .setArrayOfString("scopes", new String[] {"repo:read"})
        .setInt64("issuedAt", System.currentTimeMillis())
        .setInt64("expiresAt", expiresAt)
        .setBoolean("refreshable", true)
        .setInt8("status", (byte) CredentialStatus.ACTIVE.ordinal())
        .setString("keyId", keyId)
        .setArrayOfInt8("iv", iv)
        .setArrayOfInt8("ct", ct)
        .setString("leaseId", null)
        .setString("leaseHolder", null)
        .setInt64("leaseExpiresAt", 0)
        .build();
  }

  @Test
  void previousSchemaIsReadAndARecordWithoutTokensCountsAsNoCredential() {
    AuthzConfig.Vault cfg = VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20));
    KeyRing ring = VaultTestCluster.ring();
    try (VaultTestCluster cluster = VaultTestCluster.start(1, cfg, ring,
        r -> CompletableFuture.completedFuture(new RefreshOutcome.Failed("unused", Duration.ofSeconds(1), 0)),
        Clock.systemUTC())) {
      IMap<Object, Object> raw = cluster.member(0).getMap(VaultService.MAP_NAME);
      long expiresAt = System.currentTimeMillis() + 600_000;
      // Written in the old schema directly (what the map holds after an upgrade), read by today's serializer.
      CredentialKey dave = key("dave");
      Format1Legacy.Sealed old = Format1Legacy.seal(ring, dave, new Secrets("at-dave", "rt-dave"));
      raw.set(dave, previousSchema("k1", old.iv(), old.ciphertext(), expiresAt));
      VaultRecord read = stored(cluster.member(0), dave);
      assertThat(read.sealed().format()).isEqualTo(1);
      assertThat(await(cluster.vault(0).credentialFor(dave, UPSTREAM, List.of(), decisionId())))
          .isEqualTo(VaultLookup.Granted.bearer("at-dave", Instant.ofEpochMilli(expiresAt), 7));

      // The same schema without tokens (a previous-release member rewrote a format-2 record it could
      // not read): no exception anywhere, no credential, first consent.
      CredentialKey erin = key("erin");
      raw.set(erin, previousSchema("k1", null, null, expiresAt));
      assertThat(stored(cluster.member(0), erin).sealed()).isNull();
      assertThat(await(cluster.vault(0).credentialFor(erin, UPSTREAM, List.of(), decisionId())))
          .isEqualTo(new VaultLookup.ConsentNeeded(dev.mcpauthz.decision.ConsentReason.FIRST_CONSENT, PROVIDER,
              List.of("repo:read")));
      CredentialKey frank = key("frank");
      raw.set(frank, previousSchema("k1", new byte[3], new byte[40], System.currentTimeMillis() - 1));
      assertThat(await(cluster.vault(0).credentialFor(frank, UPSTREAM, List.of(), decisionId())))
          .isEqualTo(new VaultLookup.ConsentNeeded(dev.mcpauthz.decision.ConsentReason.FIRST_CONSENT, PROVIDER,
              List.of("repo:read")));
    }
  }
}
