package dev.mcpauthz.vault;

/**
 * The access and refresh tokens of one credential, encrypted with AES-256-GCM by {@link
 * CredentialSealer}. Only ciphertext: safe to store, replicate and near-cache.
 *
 * @param keyId the key-ring key that sealed it (rotation: any ring key may open it)
 * @param iv the random 96-bit GCM nonce
 * @param ciphertext ciphertext followed by the 128-bit tag
 */
public record SealedCredential(String keyId, byte[] iv, byte[] ciphertext) {
  @Override
  public String toString() {
    return "SealedCredential[key=" + keyId + ", bytes=" + ciphertext.length + "]";
  }
}
