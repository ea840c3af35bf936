package dev.mcpauthz.vault;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a write of new tokens carries into an entry processor: the sealed tokens and their
 * metadata. Java-serialisable because entry processors travel with Java serialisation; it holds
 * only ciphertext.
 *
 * <p>A format-1 seal travels in {@code iv} and {@code ciphertext}, as before format 2, so a member
 * that knows only format 1 still applies it during a rolling upgrade (records are deserialised by
 * component name; it ignores {@code packed}). A format-2 seal travels in {@code packed} (the whole
 * {@link SealedCredential#bytes()}); it is written only once every member reads format 2.
 */
public record CredentialFields(
    String provider,
    String resource,
    List<String> scopes,
    long issuedAt,
    long expiresAt,
    boolean refreshable,
    String keyId,
    byte[] iv,
    byte[] ciphertext,
    byte[] packed) implements Serializable {

  public CredentialFields {
    scopes = new ArrayList<>(scopes);
  }

  static CredentialFields of(String provider, String resource, List<String> scopes, long issuedAt, long expiresAt,
      boolean refreshable, SealedCredential s) {
    return s.format() == SealedCredential.FORMAT_1
        ? new CredentialFields(provider, resource, scopes, issuedAt, expiresAt, refreshable, s.keyId(), s.format1Iv(),
            s.format1Ciphertext(), null)
        : new CredentialFields(provider, resource, scopes, issuedAt, expiresAt, refreshable, s.keyId(), null, null,
            s.bytes());
  }

  SealedCredential sealed() {
    return packed != null ? new SealedCredential(keyId, packed) : SealedCredential.format1(keyId, iv, ciphertext);
  }

  @Override
  public String toString() {
    return "CredentialFields[provider=" + provider + ", resource=" + resource + ", scopes=" + scopes + "]";
  }
}
