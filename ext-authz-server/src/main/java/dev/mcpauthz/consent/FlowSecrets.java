package dev.mcpauthz.consent;

import com.nimbusds.oauth2.sdk.pkce.CodeVerifier;
import com.nimbusds.openid.connect.sdk.Nonce;
import dev.mcpauthz.vault.KeyRing;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Random values and per-flow secrets of the consent flows. The PKCE verifier (RFC 7636 §4.1: 43
 * characters from the unreserved set, 256 bits) and the OIDC nonce are HMACs of the {@code state}
 * under a key derived from the vault key ring, so they never need storing; only the browser that
 * holds the state and the service that holds the key can produce them.
 */
public final class FlowSecrets {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String PURPOSE = "mcp-authz consent flow v1";

  private final KeyRing keys;

  public FlowSecrets(KeyRing keys) {
    this.keys = keys;
  }

  public String keyId() {
    return keys.primaryId();
  }

  /** 256 random bits, URL-safe Base64 without padding. */
  public static String random() {
    byte[] b = new byte[32];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** Hex SHA-256, for storing a cookie or state by a value that is useless when read back. */
  public static String digest(String value) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** @throws IllegalArgumentException when {@code keyId} has left the ring (the flow is then dead) */
  public CodeVerifier verifier(String keyId, String state) {
    return new CodeVerifier(mac(keyId, "pkce", state));
  }

  public Nonce nonce(String keyId, String state) {
    return new Nonce(mac(keyId, "nonce", state));
  }

  private String mac(String keyId, String label, String state) {
    byte[] key = keys.derive(keyId, PURPOSE);
    if (key == null) {
      throw new IllegalArgumentException("flow key '" + keyId + "' is no longer in the vault key ring");
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update((label + "\0" + state).getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
