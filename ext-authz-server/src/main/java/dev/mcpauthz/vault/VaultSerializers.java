package dev.mcpauthz.vault;

import com.hazelcast.config.Config;
import com.hazelcast.nio.serialization.compact.CompactReader;
import com.hazelcast.nio.serialization.compact.CompactSerializer;
import com.hazelcast.nio.serialization.compact.CompactWriter;
import java.util.Arrays;
import java.util.List;

/**
 * Hazelcast Compact serializers for what the vault map stores and returns: small (a schema id, not
 * class descriptors as with Java serialisation) and explicit, so the stored bytes are exactly the
 * fields listed here. Every member must register them ({@link #register}).
 */
public final class VaultSerializers {
  private VaultSerializers() {}

  public static Config register(Config config) {
    config.getSerializationConfig().getCompactSerializationConfig()
        .addSerializer(new KeySerializer())
        .addSerializer(new RecordSerializer())
        .addSerializer(new VerdictSerializer());
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
      String keyId = in.readString("keyId");
      SealedCredential sealed = keyId == null ? null
          : new SealedCredential(keyId, in.readArrayOfInt8("iv"), in.readArrayOfInt8("ct"));
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
      out.writeArrayOfInt8("iv", s == null ? null : s.iv());
      out.writeArrayOfInt8("ct", s == null ? null : s.ciphertext());
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
