package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.hazelcast.internal.serialization.SerializationService;
import com.hazelcast.map.IMap;
import com.hazelcast.spi.impl.SerializationServiceSupport;
import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.upstream.TokenGrant;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Issue 3 item 1: encryption at rest, binding to (user, server), key rotation. */
class VaultAtRestTest {
  private final MutableClock clock = new MutableClock(T0);
  private final KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
  private VaultTestCluster cluster;
  private final List<VaultService> extra = new ArrayList<>();

  @BeforeEach
  void start() {
    cluster = VaultTestCluster.start(1, VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20)),
        VaultTestCluster.ring(), idp, clock);
  }

  @AfterEach
  void stop() {
    extra.forEach(VaultService::close);
    cluster.close();
  }

  private VaultService vaultWith(KeyRing ring) {
    VaultService v = new VaultService(cluster.member(0), VaultTestCluster.vaultConfig(Duration.ofSeconds(10),
        Duration.ofSeconds(20)), ring, idp, new SimpleMeterRegistry(), clock);
    extra.add(v);
    return v;
  }

  @Test
  void rawEntriesAndHeapValuesHoldNoPlaintextToken() throws Exception {
    CredentialKey alice = key("alice");
    TokenGrant g = idp.consent(List.of("repo:read"), Duration.ofMinutes(5));
    await(cluster.vault(0).store(alice, UPSTREAM, List.of("repo:read"), g, decisionId()));
    clock.advance(Duration.ofMinutes(6));
    await(cluster.vault(0).credentialFor(alice, UPSTREAM, List.of(), decisionId())); // a rotation too
    List<String> secrets = List.of(g.accessToken(), g.refreshToken(), idp.lastAccessToken(), idp.currentRefreshToken());

    IMap<CredentialKey, VaultRecord> map = map(cluster.member(0));
    SerializationService ss = ((SerializationServiceSupport) cluster.member(0)).getSerializationService();
    VaultRecord record = map.get(alice); // the near-cached (heap) object
    byte[] raw = ss.toData(stored(cluster.member(0), alice)).toByteArray();
    for (String secret : secrets) {
      assertThat(contains(raw, secret.getBytes(StandardCharsets.UTF_8))).as("raw bytes").isFalse();
      assertThat(contains(raw, secret.getBytes(StandardCharsets.UTF_16BE))).isFalse();
      assertThat(new String(raw, StandardCharsets.ISO_8859_1)).doesNotContain(
          Base64.getEncoder().encodeToString(secret.getBytes(StandardCharsets.UTF_8)).substring(0, 16));
      assertThat(record.toString()).doesNotContain(secret);
      assertThat(HexFormat.of().formatHex(raw)).doesNotContain(
          HexFormat.of().formatHex(secret.getBytes(StandardCharsets.UTF_8)));
      for (Object value : reachable(record)) {
        if (value instanceof String s) {
          assertThat(s).doesNotContain(secret);
        } else if (value instanceof byte[] b) {
          assertThat(contains(b, secret.getBytes(StandardCharsets.UTF_8))).isFalse();
        }
      }
    }
    // The sealed bytes do open to the current token (the check above is not vacuous).
    assertThat(new CredentialSealer(VaultTestCluster.ring()).open(alice, record.sealed()).accessToken())
        .isEqualTo(idp.lastAccessToken());
  }

  @Test
  void compactlyStoredJwtsAppearNeitherAsTextNorAsTheirDecodedBytes() throws Exception {
    CredentialKey alice = key("alice");
    java.util.Random r = new java.util.Random(9);
    String access = TokenCodecTest.jwt(r, 700);
    String refresh = TokenCodecTest.jwt(r, 400);
    await(cluster.vault(0).store(alice, UPSTREAM, List.of("repo:read"),
        new TokenGrant(access, refresh, clock.instant().plusSeconds(600), null), decisionId()));
    VaultRecord record = map(cluster.member(0)).get(alice);
    assertThat(record.sealed().format()).isEqualTo(2);
    SerializationService ss = ((SerializationServiceSupport) cluster.member(0)).getSerializationService();
    byte[] raw = ss.toData(stored(cluster.member(0), alice)).toByteArray();
    List<byte[]> needles = new ArrayList<>();
    for (String token : List.of(access, refresh)) {
      needles.add(token.substring(0, 32).getBytes(StandardCharsets.US_ASCII));
      for (String segment : token.split("\\.")) {
        byte[] decoded = Base64.getUrlDecoder().decode(segment);
        // any 16 bytes of what the segment decodes to (the compact form's plaintext)
        for (int i = 0; i + 16 <= decoded.length; i += 16) {
          needles.add(java.util.Arrays.copyOfRange(decoded, i, i + 16));
        }
      }
    }
    for (byte[] needle : needles) {
      assertThat(contains(raw, needle)).isFalse();
      assertThat(contains(record.sealed().bytes(), needle)).isFalse();
    }
    assertThat(((VaultLookup.Granted) await(cluster.vault(0).credentialFor(alice, UPSTREAM, List.of(), decisionId())))
        .accessToken()).isEqualTo(access);
  }

  @Test
  void recordCopiedUnderAnotherUserOrServerDoesNotDecrypt() {
    CredentialKey alice = key("alice");
    CredentialKey mallory = key("mallory");
    CredentialKey otherServer = new CredentialKey(ISSUER, "alice", "jira");
    await(cluster.vault(0).store(alice, UPSTREAM, List.of("repo:read"),
        idp.consent(List.of("repo:read"), Duration.ofMinutes(20)), decisionId()));
    IMap<CredentialKey, VaultRecord> map = map(cluster.member(0));
    VaultRecord record = stored(cluster.member(0), alice);
    map.set(mallory, record); // an attacker with write access to the cluster copies the entry

    assertThat(await(cluster.vault(0).credentialFor(mallory, UPSTREAM, List.of(), decisionId())))
        .isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.FIRST_CONSENT, PROVIDER, List.of("repo:read")));
    CredentialSealer sealer = new CredentialSealer(VaultTestCluster.ring());
    assertThatThrownBy(() -> sealer.open(otherServer, record.sealed())).isInstanceOf(UnreadableCredentialException.class);
    // Relabelling the key id does not help either.
    SealedCredential relabelled = new SealedCredential("k2", record.sealed().bytes());
    assertThatThrownBy(() -> new CredentialSealer(VaultTestCluster.ring("k2", VaultTestCluster.KEY_1))
        .open(alice, relabelled)).isInstanceOf(UnreadableCredentialException.class);
  }

  @Test
  void keyRotationOldKeyStillOpensNewWritesUseTheNewKey() {
    CredentialKey alice = key("alice");
    TokenGrant old = idp.consent(List.of("repo:read"), Duration.ofMinutes(5));
    await(cluster.vault(0).store(alice, UPSTREAM, List.of("repo:read"), old, decisionId()));
    assertThat(stored(cluster.member(0), alice).sealed().keyId()).isEqualTo("k1");

    // Rotation step 1: the new key first, the old one still in the ring.
    VaultService rotated = vaultWith(VaultTestCluster.ring("k2", VaultTestCluster.KEY_2, "k1", VaultTestCluster.KEY_1));
    assertThat(await(rotated.credentialFor(alice, UPSTREAM, List.of(), decisionId())))
        .isEqualTo(VaultLookup.Granted.bearer(old.accessToken(), old.expiresAt(), 1));
    clock.advance(Duration.ofMinutes(6)); // the refresh rewrites the record with the new key
    VaultLookup refreshed = await(rotated.credentialFor(alice, UPSTREAM, List.of(), decisionId()));
    assertThat(((VaultLookup.Granted) refreshed).accessToken()).isEqualTo(idp.lastAccessToken());
    assertThat(stored(cluster.member(0), alice).sealed().keyId()).isEqualTo("k2");

    // Step 2: the old key leaves the ring; the rewritten record still opens.
    VaultService newOnly = vaultWith(VaultTestCluster.ring("k2", VaultTestCluster.KEY_2));
    assertThat(await(newOnly.credentialFor(alice, UPSTREAM, List.of(), decisionId()))).isEqualTo(refreshed);
    // A record still sealed with a removed key is unusable: consent again, never a crash or a leak.
    CredentialKey bob = key("bob");
    await(cluster.vault(0).store(bob, UPSTREAM, List.of("repo:read"),
        new TokenGrant("at-bob", "rt-bob", clock.instant().plusSeconds(600), null), decisionId()));
    assertThat(await(newOnly.credentialFor(bob, UPSTREAM, List.of(), decisionId())))
        .isEqualTo(new VaultLookup.ConsentNeeded(ConsentReason.FIRST_CONSENT, PROVIDER, List.of("repo:read")));
  }

  /** Every value reachable from a record through its components (records, lists, arrays). */
  private static List<Object> reachable(Object root) throws Exception {
    List<Object> out = new ArrayList<>();
    List<Object> todo = new ArrayList<>(List.of(root));
    while (!todo.isEmpty()) {
      Object o = todo.removeLast();
      if (o == null) {
        continue;
      }
      out.add(o);
      if (o.getClass().isRecord()) {
        for (RecordComponent c : o.getClass().getRecordComponents()) {
          todo.add(c.getAccessor().invoke(o));
        }
      } else if (o instanceof Collection<?> c) {
        todo.addAll(c);
      }
    }
    return out;
  }

  /** Whether {@code needle} occurs in {@code haystack} (also used by OpenedAccessCacheTest). */
  static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
