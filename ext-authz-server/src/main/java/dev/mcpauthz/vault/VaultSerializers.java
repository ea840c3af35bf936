package dev.mcpauthz.vault;

import com.hazelcast.config.Config;
import com.hazelcast.nio.serialization.compact.CompactReader;
import com.hazelcast.nio.serialization.compact.CompactSerializer;
import com.hazelcast.nio.serialization.FieldKind;
import com.hazelcast.nio.serialization.compact.CompactWriter;
import java.util.Arrays;
import java.util.List;

/**
 * Hazelcast Compact serializers for what the vault map stores and returns: small (a schema id, not
 * class descriptors as with Java serialisation) and explicit, so the stored bytes are exactly the
 * fields listed here. Every member must register them ({@link #register}), which also announces the
 * record formats this member reads ({@link #FORMAT_ATTRIBUTE}).
 *
 * <p>{@code mcpauthz.VaultRecord}: a format-1 record stores its sealed tokens in {@code iv} and
 * {@code ct}, a format-2 record stores {@link SealedCredential#bytes()} in {@code sealed}. Records
 * of the previous release (a schema without {@code sealed}) are read as format 1.
 */
public final class VaultSerializers {
  /**
   * Member attribute: the highest record format this member reads. A member without it (a release
   * before format 2) reads only format 1, and while one is in the cluster every write uses format 1.
   */
  public static final String FORMAT_ATTRIBUTE = "mcp-authz.vault.format";

  private VaultSerializers() {}

  public static Config register(Config config) {
    config.getSerializationConfig().getCompactSerializationConfig()
        .addSerializer(new KeySerializer())
        .addSerializer(new RecordSerializer())
        .addSerializer(new VerdictSerializer());
    config.getMemberAttributeConfig().setAttribute(FORMAT_ATTRIBUTE, Integer.toString(SealedCredential.FORMAT_2));
    return config;
  }

  static final class KeySerializer implements CompactSerializer<CredentialKey> {
    @Override
    public CredentialKey read(CompactReader in) {
      return new CredentialKey(in.readString("iss"), in.readString("sub"), in.readString("srv"));
    }

    @Override
    public void write(CompactWriter out, CredentialKey k) {
      out.writeString("iss", k.issuer());
      out.writeString("sub", k.subject());
      out.writeString("srv", k.serverId());
    }

    @Override
    public String getTypeName() {
      return "mcpauthz.CredentialKey";
    }

    @Override
    public Class<CredentialKey> getCompactClass() {
      return CredentialKey.class;
    }
  }

  static final class RecordSerializer implements CompactSerializer<VaultRecord> {
    @Override
    public VaultRecord read(CompactReader in) {
      // Shared strings and lists: the near cache keeps one deserialised record per credential.
      String keyId = Interner.intern(in.readString("keyId"));
      SealedCredential sealed;
      // Records of the previous release have no "sealed" field (their schema predates it).
      byte[] packed = in.getFieldKind("sealed") == FieldKind.ARRAY_OF_INT8 ? in.readArrayOfInt8("sealed") : null;
      try {
        if (keyId == null) {
          sealed = null;
        } else if (packed != null) {
          sealed = new SealedCredential(keyId, packed);
        } else {
          sealed = SealedCredential.format1(keyId, in.readArrayOfInt8("iv"), in.readArrayOfInt8("ct"));
        }
      } catch (IllegalArgumentException noTokens) {
        // A record whose tokens are missing or malformed (e.g. rewritten by a member of a release
        // that did not know the "sealed" field) is read, never thrown at: it opens to nothing,
        // which counts as no credential.
        sealed = null;
      }
      String leaseId = in.readString("leaseId");
      Lease lease = leaseId == null ? null
          : new Lease(in.readString("leaseHolder"), leaseId, in.readInt64("leaseExpiresAt"));
      String[] scopes = in.readArrayOfString("scopes");
      return new VaultRecord(
          in.readInt64("version"),
          Interner.intern(in.readString("provider")),
          Interner.intern(in.readString("resource")),
          scopes == null ? List.of() : Interner.intern(List.of(scopes)),
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
      // One schema for both formats (Hazelcast fixes a serializer's schema at its first write): a
      // format-1 record fills iv and ct, which the previous release reads (it skips "sealed"); a
      // format-2 record fills sealed only.
      boolean format1 = s != null && s.format() == SealedCredential.FORMAT_1;
      out.writeArrayOfInt8("iv", format1 ? s.format1Iv() : null);
      out.writeArrayOfInt8("ct", format1 ? s.format1Ciphertext() : null);
      out.writeArrayOfInt8("sealed", s != null && !format1 ? s.bytes() : null);
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

  static final class VerdictSerializer implements CompactSerializer<EntryVerdict> {
    @Override
    public EntryVerdict read(CompactReader in) {
      return new EntryVerdict(in.readCompact("record"), in.readBoolean("applied"), in.readBoolean("takeover"),
          in.readInt64("ownerNow"));
    }

    @Override
    public void write(CompactWriter out, EntryVerdict v) {
      out.writeCompact("record", v.record());
      out.writeBoolean("applied", v.applied());
      out.writeBoolean("takeover", v.takeover());
      out.writeInt64("ownerNow", v.ownerNow());
    }

    @Override
    public String getTypeName() {
      return "mcpauthz.EntryVerdict";
    }

    @Override
    public Class<EntryVerdict> getCompactClass() {
      return EntryVerdict.class;
    }
  }
}
