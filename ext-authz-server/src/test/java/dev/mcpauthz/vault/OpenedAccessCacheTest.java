package dev.mcpauthz.vault;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The Check path's cache of opened access tokens (ADR 0005, "Check-path cache"): it serves only the
 * seal it was opened from, holds no plaintext, stays bounded and can be turned off.
 */
class OpenedAccessCacheTest {
  private static final CredentialKey ALICE = new CredentialKey("https://idp.example/realms/corp", "alice", "github");
  private static final CredentialKey BOB = new CredentialKey("https://idp.example/realms/corp", "bob", "github");
  private final Random random = new Random(3);
  private final CredentialSealer sealer = new CredentialSealer(VaultTestCluster.ring(), 100);

  @Test
  void aSecondCheckOfTheSameSealIsServedFromTheCacheAndGetsTheSameValue() {
    String access = TokenCodecTest.jwt(random, 900);
    SealedCredential s = sealer.seal(ALICE, new Secrets(access, "r"));
    assertThat(sealer.cachedEntries()).isZero();
    assertThat(sealer.openAuthorization(ALICE, s).authorization()).isEqualTo("Bearer " + access);
    assertThat(sealer.cachedEntries()).isEqualTo(1);
    assertThat(sealer.openAuthorization(ALICE, s).authorization()).isEqualTo("Bearer " + access);
    // A copy of the record, as the near cache holds after an invalidation, is the same seal.
    SealedCredential copy = new SealedCredential(s.keyId(), s.bytes().clone());
    assertThat(sealer.openAuthorization(ALICE, copy).authorization()).isEqualTo("Bearer " + access);
  }

  @Test
  void aNewSealOfTheCredentialIsNeverAnsweredWithTheOldValue() {
    SealedCredential first = sealer.seal(ALICE, new Secrets("at-1", "rt-1"));
    assertThat(sealer.openAuthorization(ALICE, first).authorization()).isEqualTo("Bearer at-1");
    // A refresh or a new consent seals again with a fresh nonce: the first Check opens it.
    SealedCredential second = sealer.seal(ALICE, new Secrets("at-2", "rt-2"));
    assertThat(sealer.openAuthorization(ALICE, second).authorization()).isEqualTo("Bearer at-2");
    assertThat(sealer.openAuthorization(ALICE, first).authorization()).isEqualTo("Bearer at-1");
    // Format 1 seals (written during a rolling upgrade) are told apart the same way.
    SealedCredential legacy = sealer.seal(ALICE, new Secrets("at-3", "rt-3"), SealedCredential.FORMAT_1);
    assertThat(sealer.openAuthorization(ALICE, legacy).authorization()).isEqualTo("Bearer at-3");
    // Another user's record copied under alice's key still fails to open: entries are per key.
    SealedCredential bobs = sealer.seal(BOB, new Secrets("at-bob", null));
    assertThat(sealer.openAuthorization(BOB, bobs).authorization()).isEqualTo("Bearer at-bob");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> sealer.openAuthorization(ALICE, bobs))
        .isInstanceOf(UnreadableCredentialException.class);
  }

  @Test
  void aSealUnderAnotherKeyIdIsNotServedFromAnEntryOfTheSameBytes() {
    KeyRing two = KeyRing.of(Map.of("k1", new byte[32], "k2", new byte[32]));
    CredentialSealer s = new CredentialSealer(two, 10);
    SealedCredential sealed = s.seal(ALICE, new Secrets("at", null));
    assertThat(s.openAuthorization(ALICE, sealed).authorization()).isEqualTo("Bearer at");
    String other = sealed.keyId().equals("k1") ? "k2" : "k1";
    // Same bytes, relabelled: the key id is in the associated data, so it must be opened (and fail).
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> s.openAuthorization(ALICE, new SealedCredential(other, sealed.bytes())))
        .isInstanceOf(UnreadableCredentialException.class);
  }

  @Test
  void theCacheHoldsNoPlaintextAndZeroesItsScratch() {
    String access = TokenCodecTest.jwt(random, 1200);
    OpenedAccessCache cache = new OpenedAccessCache(10);
    SealedCredential s = sealer.seal(ALICE, new Secrets(access, null));
    cache.put(ALICE, s, "Bearer " + access);
    byte[] secret = access.getBytes(StandardCharsets.UTF_8);
    byte[] slice = java.util.Arrays.copyOfRange(secret, 100, 116);
    assertThat(cache.heldValues()).hasSize(1);
    for (Object value : cache.heldValues()) {
      assertThat(value.toString()).doesNotContain(access.substring(0, 16));
      for (java.lang.reflect.RecordComponent c : value.getClass().getRecordComponents()) {
        Object v;
        try {
          var accessor = c.getAccessor();
          accessor.setAccessible(true);
          v = accessor.invoke(value);
        } catch (ReflectiveOperationException e) {
          throw new AssertionError(e);
        }
        if (v instanceof byte[] b) {
          assertThat(VaultAtRestTest.contains(b, slice)).as(c.getName()).isFalse();
        } else if (v instanceof String str) {
          assertThat(str).doesNotContain(access.substring(100, 116));
        }
      }
    }
    byte[] scratch = new byte[4096];
    assertThat(cache.get(ALICE, s, n -> scratch)).isEqualTo("Bearer " + access);
    assertThat(scratch).containsOnly(0);
  }

  @Test
  void anEntryEndsItsTtlAfterItWasOpenedAndExpiredEntriesAreDroppedFirst() {
    long[] now = {0};
    OpenedAccessCache cache = new OpenedAccessCache(2, () -> now[0]);
    SealedCredential s = sealer.seal(ALICE, new Secrets("at", null));
    cache.put(ALICE, s, "Bearer at");
    now[0] += OpenedAccessCache.TTL.toNanos() - 1;
    assertThat(cache.get(ALICE, s, n -> new byte[n])).isEqualTo("Bearer at");
    now[0] += 1;
    assertThat(cache.get(ALICE, s, n -> new byte[n])).as("expired: the seal is opened again").isNull();
    // At the bound, the expired entry goes before a live one.
    SealedCredential b = sealer.seal(BOB, new Secrets("bt", null));
    cache.put(BOB, b, "Bearer bt");
    CredentialKey carol = new CredentialKey("https://idp.example/realms/corp", "carol", "github");
    SealedCredential c = sealer.seal(carol, new Secrets("ct", null));
    cache.put(carol, c, "Bearer ct");
    assertThat(cache.get(BOB, b, n -> new byte[n])).isEqualTo("Bearer bt");
    assertThat(cache.get(carol, c, n -> new byte[n])).isEqualTo("Bearer ct");
    assertThat(cache.size()).isEqualTo(2);
  }

  @Test
  void itIsBoundedAndCanBeTurnedOff() {
    OpenedAccessCache small = new OpenedAccessCache(3);
    for (int i = 0; i < 20; i++) {
      CredentialKey k = new CredentialKey("https://idp.example", "user-" + i, "github");
      small.put(k, sealer.seal(k, new Secrets("at-" + i, null)), "Bearer at-" + i);
    }
    assertThat(small.size()).isLessThanOrEqualTo(3);

    OpenedAccessCache off = new OpenedAccessCache(0);
    SealedCredential s = sealer.seal(ALICE, new Secrets("at", null));
    off.put(ALICE, s, "Bearer at");
    assertThat(off.enabled()).isFalse();
    assertThat(off.get(ALICE, s, n -> new byte[n])).isNull();
    // A value beyond the cap is opened every time rather than cached.
    OpenedAccessCache capped = new OpenedAccessCache(10);
    String huge = "Bearer " + "x".repeat(OpenedAccessCache.MAX_VALUE_BYTES);
    capped.put(ALICE, s, huge);
    assertThat(capped.get(ALICE, s, n -> new byte[n])).isNull();
  }

  @Test
  void theConfiguredBoundIsValidatedAndDefaultsToTenThousand() {
    String yaml = """
        issuers:
          - {id: idp, issuer: https://idp.example.com, jwks_uri: https://idp.example.com/jwks}
        providers:
          - {id: gh, token_endpoint: https://gh.example.com/token, client_id: c, client_secret: s}
        servers:
          - {id: gh, resource: https://mcp.example.com/gh, upstream: {provider: gh, resource: https://api.example.com/}}
        vault:
          keys: [{id: k1, secret: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=}]
        """;
    assertThat(dev.mcpauthz.config.ConfigLoader.parse(yaml, "t.yaml", Map.of(), null).vault().checkCacheEntries())
        .isEqualTo(10_000);
    assertThat(dev.mcpauthz.config.ConfigLoader.parse(yaml + "  check_cache_entries: 0\n", "t.yaml", Map.of(), null)
        .vault().checkCacheEntries()).isZero();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.mcpauthz.config.ConfigLoader.parse(
        yaml + "  check_cache_entries: -1\n", "t.yaml", Map.of(), null))
        .isInstanceOf(dev.mcpauthz.config.ConfigException.class).hasMessageContaining("vault.check_cache_entries");
  }
}
