package dev.mcpauthz.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mcpauthz.config.AuthzConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 3 item 1: AES-256-GCM sealing bound to (issuer, subject, server), and the key ring. */
class VaultSealingTest {
  private static final CredentialKey ALICE = new CredentialKey("https://idp", "alice", "github");
  private final CredentialSealer sealer = new CredentialSealer(VaultTestCluster.ring());

  @Test
  void sealsAndOpensWithFreshNonces() {
    Secrets s = new Secrets("access-123", "refresh-456");
    SealedCredential a = sealer.seal(ALICE, s);
    SealedCredential b = sealer.seal(ALICE, s);
    assertThat(sealer.open(ALICE, a)).isEqualTo(s);
    assertThat(a.format()).isEqualTo(SealedCredential.FORMAT_2);
    // format 2: 2 | flags | access nonce (12) | ...: the nonces differ, and so does everything after
    assertThat(Arrays.copyOfRange(a.bytes(), 2, 14)).isNotEqualTo(Arrays.copyOfRange(b.bytes(), 2, 14));
    assertThat(Arrays.copyOfRange(a.bytes(), 14, a.bytes().length))
        .isNotEqualTo(Arrays.copyOfRange(b.bytes(), 14, b.bytes().length));
    assertThat(sealer.open(ALICE, sealer.seal(ALICE, new Secrets("only-access", null))).refreshToken()).isNull();
    assertThat(s.toString()).doesNotContain("access-123").doesNotContain("refresh-456");
    assertThat(a.toString()).doesNotContain(Base64.getEncoder().encodeToString(a.bytes()));
  }

  @Test
  void associatedDataBindsIssuerSubjectAndServer() {
    SealedCredential sealed = sealer.seal(ALICE, new Secrets("access", "refresh"));
    for (CredentialKey other : List.of(
        new CredentialKey("https://idp", "bob", "github"),
        new CredentialKey("https://idp", "alice", "jira"),
        new CredentialKey("https://other-idp", "alice", "github"),
        // Field boundaries are length-prefixed: shifting characters between fields does not collide.
        new CredentialKey("https://idpa", "lice", "github"))) {
      assertThatThrownBy(() -> sealer.open(other, sealed)).isInstanceOf(UnreadableCredentialException.class);
    }
  }

  @Test
  void tamperedCiphertextOrUnknownKeyDoesNotOpen() {
    SealedCredential sealed = sealer.seal(ALICE, new Secrets("access", "refresh"));
    byte[] flipped = sealed.bytes().clone();
    flipped[flipped.length - 1] ^= 1;
    assertThatThrownBy(() -> sealer.open(ALICE, new SealedCredential("k1", flipped)))
        .isInstanceOf(UnreadableCredentialException.class).hasMessageNotContaining("access");
    assertThatThrownBy(() -> sealer.open(ALICE, new SealedCredential("gone", sealed.bytes())))
        .isInstanceOf(UnreadableCredentialException.class).hasMessageContaining("'gone'");
  }

  @Test
  void rotatedRingOpensOldSealsAndSealsWithTheFirstKey() {
    SealedCredential old = sealer.seal(ALICE, new Secrets("old", "r"));
    CredentialSealer rotated = new CredentialSealer(
        VaultTestCluster.ring("k2", VaultTestCluster.KEY_2, "k1", VaultTestCluster.KEY_1));
    assertThat(rotated.open(ALICE, old).accessToken()).isEqualTo("old");
    SealedCredential fresh = rotated.seal(ALICE, new Secrets("new", "r"));
    assertThat(fresh.keyId()).isEqualTo("k2");
    assertThatThrownBy(() -> sealer.open(ALICE, fresh)).isInstanceOf(UnreadableCredentialException.class);
  }

  @Test
  void keyRingReadsInlineAndFileSecretsAndRefusesBadKeys(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("k2.key"), VaultTestCluster.KEY_2 + "\n");
    AuthzConfig.Vault cfg = vault(List.of(new AuthzConfig.VaultKey("k1", VaultTestCluster.KEY_1, null),
        new AuthzConfig.VaultKey("k2", null, Path.of("k2.key"))));
    KeyRing ring = KeyRing.fromConfig(cfg, dir);
    assertThat(ring.primaryId()).isEqualTo("k1");
    assertThat(ring.ids()).containsExactly("k1", "k2");
    assertThat(ring.toString()).doesNotContain(VaultTestCluster.KEY_1).doesNotContain(VaultTestCluster.KEY_2);

    String shortKey = Base64.getEncoder().encodeToString(new byte[16]);
    assertThatThrownBy(() -> KeyRing.fromConfig(vault(List.of(new AuthzConfig.VaultKey("weak", shortKey, null))), dir))
        .hasMessageContaining("'weak' must be 32 bytes").hasMessageNotContaining(shortKey);
    assertThatThrownBy(() -> KeyRing.fromConfig(vault(List.of(new AuthzConfig.VaultKey("bad", "not base64!", null))), dir))
        .hasMessageContaining("'bad' is not Base64").hasMessageNotContaining("not base64!");
    assertThatThrownBy(() -> KeyRing.fromConfig(vault(List.of(new AuthzConfig.VaultKey("k1", VaultTestCluster.KEY_1, null),
        new AuthzConfig.VaultKey("k1", VaultTestCluster.KEY_2, null))), dir)).hasMessageContaining("duplicate");
    assertThatThrownBy(() -> KeyRing.fromConfig(vault(List.of()), dir)).hasMessageContaining("at least one key");
    byte[] raw = new byte[32];
    Arrays.fill(raw, (byte) 7);
    assertThat(KeyRing.of(java.util.Map.of("x", raw)).primaryId()).isEqualTo("x");
  }

  private static AuthzConfig.Vault vault(List<AuthzConfig.VaultKey> keys) {
    return new AuthzConfig.Vault(keys, null, null, Duration.ofSeconds(10), null, null, null, null);
  }
}
