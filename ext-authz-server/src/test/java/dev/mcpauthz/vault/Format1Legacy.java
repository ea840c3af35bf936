package dev.mcpauthz.vault;

import com.hazelcast.config.Config;
import com.hazelcast.nio.serialization.compact.CompactReader;
import com.hazelcast.nio.serialization.compact.CompactSerializer;
import com.hazelcast.nio.serialization.compact.CompactWriter;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * The sealing and the Compact record serializer of the release before format 2, copied as they
 * were (commit 750fcf9), only adapted to hand back today's {@link SealedCredential}: what "records
 * written by the previous format" and "a member of the previous release" mean in the tests.
 */
final class Format1Legacy {
  private Format1Legacy() {}

  record Sealed(String keyId, byte[] iv, byte[] ciphertext) {
    SealedCredential current() {
      return SealedCredential.format1(keyId, iv, ciphertext);
    }
  }

  static Sealed seal(KeyRing ring, CredentialKey key, Secrets secrets) {
    byte[] iv = new byte[12];
    new SecureRandom().nextBytes(iv);
    String keyId = ring.primaryId();
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, ring.primary(), new GCMParameterSpec(128, iv));
      c.updateAAD(associatedData(key, keyId));
      return new Sealed(keyId, iv, c.doFinal(encode(secrets)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static Secrets open(KeyRing ring, CredentialKey key, String keyId, byte[] iv, byte[] ciphertext) throws Exception {
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(Cipher.DECRYPT_MODE, ring.key(keyId), new GCMParameterSpec(128, iv));
    c.updateAAD(associatedData(key, keyId));
    byte[] plain = c.doFinal(ciphertext);
    try (DataInputStream d = new DataInputStream(new ByteArrayInputStream(plain))) {
      String access = new String(readBytes(d), StandardCharsets.UTF_8);
      String refresh = d.readBoolean() ? new String(readBytes(d), StandardCharsets.UTF_8) : null;
      return new Secrets(access, refresh);
    }
  }

  static byte[] associatedData(CredentialKey key, String keyId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128);
    try (DataOutputStream d = new DataOutputStream(out)) {
      d.writeUTF("mcp-authz/vault/v1");
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

  /** A member config of the previous release: its record serializer, and no format attribute. */
  static Config previousReleaseMember(Config config) {
    config.getSerializationConfig().getCompactSerializationConfig().setSerializers(
        new VaultSerializers.KeySerializer(), new RecordSerializer(), new VaultSerializers.VerdictSerializer());
    config.getMemberAttributeConfig().removeAttribute(VaultSerializers.FORMAT_ATTRIBUTE);
    return config;
  }

  /** The previous release's record serializer (reads {@code iv} and {@code ct}, nothing else). */
  static final class RecordSerializer implements CompactSerializer<VaultRecord> {
    /** Records this serializer read: proves a test's "old" member really used it. */
    static final java.util.concurrent.atomic.AtomicInteger READS = new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public VaultRecord read(CompactReader in) {
      READS.incrementAndGet();
      String keyId = in.readString("keyId");
      SealedCredential sealed = keyId == null ? null
          : SealedCredential.format1(keyId, in.readArrayOfInt8("iv"), in.readArrayOfInt8("ct"));
      String leaseId = in.readString("leaseId");
      Lease lease = leaseId == null ? null
          : new Lease(in.readString("leaseHolder"), leaseId, in.readInt64("leaseExpiresAt"));
      String[] scopes = in.readArrayOfString("scopes");
      return new VaultRecord(
          in.readInt64("version"),
          in.readString("provider"),
          in.readString("resource"),
          scopes == null ? List.of() : Arrays.asList(scopes),
          in.readInt64("issuedAt"),
          in.readInt64("expiresAt"),
          in.readBoolean("refreshable"),
          CredentialStatus.values()[in.readInt8("status")],
          sealed,
          lease);
    }

    @Override
    public void write(CompactWriter out, VaultRecord r) {
      out.writeInt64("version", r.version());
      out.writeString("provider", r.provider());
      out.writeString("resource", r.resource());
      out.writeArrayOfString("scopes", r.scopes().toArray(String[]::new));
      out.writeInt64("issuedAt", r.issuedAt());
      out.writeInt64("expiresAt", r.expiresAt());
      out.writeBoolean("refreshable", r.refreshable());
      out.writeInt8("status", (byte) r.status().ordinal());
      SealedCredential s = r.sealed();
      out.writeString("keyId", s == null ? null : s.keyId());
      out.writeArrayOfInt8("iv", s == null ? null : s.format1Iv());
      out.writeArrayOfInt8("ct", s == null ? null : s.format1Ciphertext());
      Lease l = r.lease();
      out.writeString("leaseId", l == null ? null : l.id());
      out.writeString("leaseHolder", l == null ? null : l.holder());
      out.writeInt64("leaseExpiresAt", l == null ? 0 : l.expiresAt());
    }

    @Override
    public String getTypeName() {
      return "mcpauthz.VaultRecord";
    }

    @Override
    public Class<VaultRecord> getCompactClass() {
      return VaultRecord.class;
    }
  }
}
