package dev.mcpauthz.vault;

import java.util.Arrays;

/**
 * The access and refresh tokens of one credential, encrypted with AES-256-GCM by {@link
 * CredentialSealer}. Only ciphertext: safe to store, replicate and near-cache. One array holds
 * everything, its first byte the format (docs/vault.md, "Stored format"):
 *
 * <ul>
 *   <li>{@link #FORMAT_1}: {@code 1 | iv(12) | ciphertext+tag} of both tokens together, as every
 *       record written before format 2 (read from the map's {@code iv} and {@code ct} fields).
 *   <li>{@link #FORMAT_2}: {@code 2 | flags | access iv(12) | varint n | access ciphertext+tag(n) [|
 *       refresh iv(12) | refresh ciphertext+tag]}: each token sealed on its own, so a Check
 *       authenticates and decrypts only the access token.
 * </ul>
 *
 * @param keyId the key-ring key that sealed it (rotation: any ring key may open it)
 * @param bytes the format byte and the sealed tokens; never modified once built
 */
public record SealedCredential(String keyId, byte[] bytes) {
  static final byte FORMAT_1 = 1;
  static final byte FORMAT_2 = 2;
  static final int IV_BYTES = 12;

  public SealedCredential {
    java.util.Objects.requireNonNull(keyId, "keyId");
    if (bytes == null || bytes.length < 1 + IV_BYTES || (bytes[0] != FORMAT_1 && bytes[0] != FORMAT_2)) {
      throw new IllegalArgumentException("not a sealed credential");
    }
  }

  /** A format-1 record as stored in the map's {@code iv} and {@code ct} fields. */
  static SealedCredential format1(String keyId, byte[] iv, byte[] ciphertext) {
    if (iv == null || iv.length != IV_BYTES || ciphertext == null) {
      throw new IllegalArgumentException("not a format-1 sealed credential");
    }
    byte[] b = new byte[1 + IV_BYTES + ciphertext.length];
    b[0] = FORMAT_1;
    System.arraycopy(iv, 0, b, 1, IV_BYTES);
    System.arraycopy(ciphertext, 0, b, 1 + IV_BYTES, ciphertext.length);
    return new SealedCredential(keyId, b);
  }

  public int format() {
    return bytes[0];
  }

  /** Format 1 only: the nonce, for the map's {@code iv} field. */
  byte[] format1Iv() {
    requireFormat1();
    return Arrays.copyOfRange(bytes, 1, 1 + IV_BYTES);
  }

  /** Format 1 only: ciphertext and tag, for the map's {@code ct} field. */
  byte[] format1Ciphertext() {
    requireFormat1();
    return Arrays.copyOfRange(bytes, 1 + IV_BYTES, bytes.length);
  }

  private void requireFormat1() {
    if (bytes[0] != FORMAT_1) {
      throw new IllegalStateException("not format 1");
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SealedCredential s && s.keyId.equals(keyId) && Arrays.equals(s.bytes, bytes);
  }

  @Override
  public int hashCode() {
    return keyId.hashCode() * 31 + Arrays.hashCode(bytes);
  }

  @Override
  public String toString() {
    return "SealedCredential[key=" + keyId + ", format=" + bytes[0] + ", bytes=" + bytes.length + "]";
  }
}
