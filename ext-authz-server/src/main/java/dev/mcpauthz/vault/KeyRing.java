package dev.mcpauthz.vault;

import dev.mcpauthz.config.AuthzConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The vault's AES-256 keys (issue 3 item 1): the first key seals every new write, every key opens
 * (rotation: add the new key first, keep the old ones until every record was rewritten). Key
 * material never appears in {@link #toString()} or in error messages.
 */
public final class KeyRing {
  private static final int KEY_BYTES = 32;

  private final String primaryId;
  private final Map<String, SecretKey> keys;

  private KeyRing(Map<String, SecretKey> keys) {
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("vault.keys: at least one key is required");
    }
    this.keys = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(keys));
    this.primaryId = keys.keySet().iterator().next();
  }

  /** Keys in ring order (the first encrypts); each value is 32 raw bytes. */
  public static KeyRing of(Map<String, byte[]> rawKeys) {
    Map<String, SecretKey> keys = new LinkedHashMap<>();
    rawKeys.forEach((id, raw) -> {
      if (raw.length != KEY_BYTES) {
        throw new IllegalArgumentException("vault key '" + id + "' must be 32 bytes, got " + raw.length);
      }
      if (keys.put(id, new SecretKeySpec(raw, "AES")) != null) {
        throw new IllegalArgumentException("duplicate vault key id '" + id + "'");
      }
    });
    return new KeyRing(keys);
  }

  /**
   * Reads {@code vault.keys}: Base64 secrets inline or in files (relative to {@code baseDir}, the
   * config file's directory; null = working directory).
   */
  public static KeyRing fromConfig(AuthzConfig.Vault vault, Path baseDir) {
    Map<String, byte[]> raw = new LinkedHashMap<>();
    for (AuthzConfig.VaultKey k : vault.keys()) {
      String text = k.secret() != null ? k.secret() : readFile(k, baseDir);
      byte[] bytes;
      try {
        bytes = Base64.getDecoder().decode(text.strip());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("vault key '" + k.id() + "' is not Base64 (openssl rand -base64 32)");
      }
      if (raw.putIfAbsent(k.id(), bytes) != null) {
        throw new IllegalArgumentException("duplicate vault key id '" + k.id() + "'");
      }
    }
    return of(raw);
  }

  private static String readFile(AuthzConfig.VaultKey k, Path baseDir) {
    Path file = baseDir == null ? k.secretFile() : baseDir.resolve(k.secretFile());
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalArgumentException("vault key '" + k.id() + "': cannot read " + file);
    }
  }

  public String primaryId() {
    return primaryId;
  }

  SecretKey primary() {
    return keys.get(primaryId);
  }

  /** The key with this id, or null when it is not (or no longer) in the ring. */
  SecretKey key(String id) {
    return keys.get(id);
  }

  /**
   * A key for another purpose (consent flow secrets, resume state), derived from ring key
   * {@code id} with HMAC-SHA256 over a purpose label (a single HKDF-Expand step, RFC 5869 §2.3), so
   * a vault key never encrypts anything but credentials and rotating the ring rotates these too.
   *
   * @return 32 bytes, or null when {@code id} is not in the ring
   */
  public byte[] derive(String id, String purpose) {
    SecretKey k = keys.get(id);
    if (k == null) {
      return null;
    }
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(k.getEncoded(), "HmacSHA256"));
      mac.update(purpose.getBytes(StandardCharsets.UTF_8));
      return mac.doFinal(new byte[] {1});
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  public List<String> ids() {
    return new ArrayList<>(keys.keySet());
  }

  @Override
  public String toString() {
    return "KeyRing[primary=" + primaryId + ", keys=" + keys.size() + "]";
  }
}
