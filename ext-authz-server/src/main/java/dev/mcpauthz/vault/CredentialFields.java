package dev.mcpauthz.vault;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Everything a write of new tokens carries into an entry processor: the sealed tokens and their
 * metadata. Java-serialisable because entry processors travel with Java serialisation; it holds
 * only ciphertext.
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
    byte[] ciphertext) implements Serializable {

  public CredentialFields {
    scopes = new ArrayList<>(scopes);
  }

  static CredentialFields of(String provider, String resource, List<String> scopes, long issuedAt, long expiresAt,
      boolean refreshable, SealedCredential s) {
    return new CredentialFields(provider, resource, scopes, issuedAt, expiresAt, refreshable, s.keyId(), s.iv(),
        s.ciphertext());
  }

  SealedCredential sealed() {
    return new SealedCredential(keyId, iv, ciphertext);
  }

  @Override
  public String toString() {
    return "CredentialFields[provider=" + provider + ", resource=" + resource + ", scopes=" + scopes + "]";
  }
}
