package dev.mcpauthz.vault;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM for vault tokens (issue 3 item 1: encryption at rest). The associated data binds the
 * ciphertext to its {@link CredentialKey} (issuer, subject, server) and to the key id, so a record
 * copied under another user or server, or relabelled with another key id, fails to open. A fresh
 * random 96-bit nonce per seal (NIST SP 800-38D §8.2.2); rotate keys well before 2^32 seals.
 */
public final class CredentialSealer {
  private static final String AAD_DOMAIN = "mcp-authz/vault/v1";
  private static final int IV_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final KeyRing ring;
  private final SecureRandom random = new SecureRandom();

  public CredentialSealer(KeyRing ring) {
    this.ring = ring;
    try {
      this.provider = Cipher.getInstance(TRANSFORMATION).getProvider();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";
  /**
   * Resolved once: a provider lookup per call walks the whole provider list, and for providers
   * from JARs that is a signature check per lookup (hundreds of microseconds on the Check path).
   */
  private final java.security.Provider provider;

  public SealedCredential seal(CredentialKey key, Secrets secrets) {
    byte[] iv = new byte[IV_BYTES];
    random.nextBytes(iv);
    String keyId = ring.primaryId();
    try {
      Cipher c = Cipher.getInstance(TRANSFORMATION, provider);
      c.init(Cipher.ENCRYPT_MODE, ring.primary(), new GCMParameterSpec(TAG_BITS, iv));
      c.updateAAD(associatedData(key, keyId));
      return new SealedCredential(keyId, iv, c.doFinal(encode(secrets)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /**
   * @throws UnreadableCredentialException when the key id is not in the ring, or the ciphertext
   *     was tampered with or belongs to another credential key
   */
  public Secrets open(CredentialKey key, SealedCredential sealed) {
    byte[] plain = decrypt(key, sealed);
    try (DataInputStream d = new DataInputStream(new ByteArrayInputStream(plain))) {
      String access = new String(readBytes(d), StandardCharsets.UTF_8);
      String refresh = d.readBoolean() ? new String(readBytes(d), StandardCharsets.UTF_8) : null;
      return new Secrets(access, refresh);
    } catch (IOException e) {
      throw new UnreadableCredentialException("cannot open: " + e.getClass().getSimpleName());
    } finally {
      java.util.Arrays.fill(plain, (byte) 0);
    }
  }

  /**
   * Only the access token: what a Check injects. The whole ciphertext is still authenticated, but
   * the refresh token never becomes a String on the Check path.
   *
   * @throws UnreadableCredentialException as {@link #open}
   */
  public String openAccessToken(CredentialKey key, SealedCredential sealed) {
    byte[] plain = decrypt(key, sealed);
    try (DataInputStream d = new DataInputStream(new ByteArrayInputStream(plain))) {
      return new String(readBytes(d), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UnreadableCredentialException("cannot open: " + e.getClass().getSimpleName());
    } finally {
      java.util.Arrays.fill(plain, (byte) 0);
    }
  }

  private byte[] decrypt(CredentialKey key, SealedCredential sealed) {
    SecretKey k = ring.key(sealed.keyId());
    if (k == null) {
      throw new UnreadableCredentialException("key '" + sealed.keyId() + "' is not in the key ring");
    }
    try {
      Cipher c = Cipher.getInstance(TRANSFORMATION, provider);
      c.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, sealed.iv()));
      c.updateAAD(associatedData(key, sealed.keyId()));
      return c.doFinal(sealed.ciphertext());
    } catch (javax.crypto.AEADBadTagException e) {
      throw new UnreadableCredentialException("authentication failed (tampered, or sealed for another credential)");
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new UnreadableCredentialException("cannot open: " + e.getClass().getSimpleName());
    }
  }

  /** Length-prefixed fields, so no choice of values can make two different keys collide. */
  private static byte[] associatedData(CredentialKey key, String keyId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128);
    try (DataOutputStream d = new DataOutputStream(out)) {
      d.writeUTF(AAD_DOMAIN);
      d.writeUTF(keyId);
      d.writeUTF(key.issuer());
      d.writeUTF(key.subject());
      d.writeUTF(key.serverId());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  private static byte[] encode(Secrets s) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (DataOutputStream d = new DataOutputStream(out)) {
      writeBytes(d, s.accessToken().getBytes(StandardCharsets.UTF_8));
      d.writeBoolean(s.refreshToken() != null);
      if (s.refreshToken() != null) {
        writeBytes(d, s.refreshToken().getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toByteArray();
  }

  private static void writeBytes(DataOutputStream d, byte[] b) throws IOException {
    d.writeInt(b.length);
    d.write(b);
  }

  private static byte[] readBytes(DataInputStream d) throws IOException {
    int n = d.readInt();
    if (n < 0 || n > 1 << 20) {
      throw new IOException("bad length");
    }
    return d.readNBytes(n);
  }
}
