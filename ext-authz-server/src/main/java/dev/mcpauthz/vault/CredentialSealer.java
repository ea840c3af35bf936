package dev.mcpauthz.vault;

import dev.mcpauthz.decision.UpstreamAccess;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * AES-256-GCM for vault tokens (issue 3 item 1: encryption at rest). The associated data binds the
 * ciphertext to its {@link CredentialKey} (issuer, subject, server) and to the key id, so a record
 * copied under another user or server, or relabelled with another key id, fails to open. A fresh
 * random 96-bit nonce per sealed token (NIST SP 800-38D §8.2.2): format 2 seals two tokens, so
 * rotate keys well before 2^31 credential writes per key.
 *
 * <p>Format 2 (what {@link #seal} writes, see {@link SealedCredential}) seals the access and the
 * refresh token apart, each in the compact {@link TokenCodec} form. The associated data of either
 * part also names the part (access or refresh), the flags and both nonces, so a part cannot be
 * moved into the other's place (the refresh token injected as a bearer token) nor combined with a
 * part of another write. Format 1 (both tokens in one ciphertext) is still opened, and still
 * written while a member that cannot read format 2 is in the cluster ({@link #seal(CredentialKey,
 * Secrets, int)}).
 *
 * <p>The Check path ({@link #openAuthorization}) decrypts into pooled scratch arrays with pooled
 * ciphers and zeroes the scratch before returning it: what it allocates is the header value String
 * ({@code Bearer <token>}, built in the same pass as the token's characters) and what {@code
 * Cipher.init} allocates. With {@code vault.check_cache_entries} above 0, the value opened from a
 * seal is remembered masked ({@link OpenedAccessCache}) and later Checks of the same seal only
 * unmask it.
 */
public final class CredentialSealer {
  private static final String AAD_DOMAIN_1 = "mcp-authz/vault/v1";
  private static final String AAD_DOMAIN_2 = "mcp-authz/vault/v2";
  private static final byte PART_ACCESS = 'a';
  private static final byte PART_REFRESH = 'r';
  private static final byte FLAG_REFRESH = 1;
  private static final int IV_BYTES = SealedCredential.IV_BYTES;
  private static final int TAG_BITS = 128;
  private static final int TAG_BYTES = TAG_BITS / 8;
  /** A plaintext token larger than this is never decrypted into pooled scratch (it would stay that large). */
  private static final int MAX_POOLED = 1 << 16;
  private static final int MAX_TOKEN = 1 << 20;
  private static final String TRANSFORMATION = "AES/GCM/NoPadding";

  private final KeyRing ring;
  private final SecureRandom random = new SecureRandom();
  /**
   * Resolved once: a provider lookup per call walks the whole provider list, and for providers
   * from JARs that is a signature check per lookup (hundreds of microseconds on the Check path).
   */
  private final java.security.Provider provider;
  /** Decrypt workspaces; a slot is empty while a thread uses its workspace. */
  private final AtomicReferenceArray<Workspace> pool;
  private final OpenedAccessCache opened;

  /** A sealer without the Check-path cache: every {@link #openAuthorization} opens the seal. */
  public CredentialSealer(KeyRing ring) {
    this(ring, 0);
  }

  /** @param checkCacheEntries {@code vault.check_cache_entries}; 0 turns the cache off */
  public CredentialSealer(KeyRing ring, int checkCacheEntries) {
    this.ring = ring;
    this.opened = new OpenedAccessCache(checkCacheEntries);
    try {
      this.provider = Cipher.getInstance(TRANSFORMATION).getProvider();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
    int slots = Integer.highestOneBit(Math.max(4, Math.min(64, 2 * Runtime.getRuntime().availableProcessors())) * 2 - 1);
    this.pool = new AtomicReferenceArray<>(slots);
  }

  /** Seals in the current format (2). */
  public SealedCredential seal(CredentialKey key, Secrets secrets) {
    return seal(key, secrets, SealedCredential.FORMAT_2);
  }

  /**
   * @param format {@link SealedCredential#FORMAT_2}, or {@link SealedCredential#FORMAT_1} while a
   *     member that reads only format 1 is in the cluster
   */
  SealedCredential seal(CredentialKey key, Secrets secrets, int format) {
    String keyId = ring.primaryId();
    SecretKey k = ring.primary();
    if (format == SealedCredential.FORMAT_1) {
      byte[] iv = randomIv();
      byte[] plain = encodeFormat1(secrets);
      try {
        byte[] ct = encrypt(k, iv, aadFormat1(key, keyId), plain);
        return SealedCredential.format1(keyId, iv, ct);
      } finally {
        Arrays.fill(plain, (byte) 0);
      }
    }
    if (format != SealedCredential.FORMAT_2) {
      throw new IllegalArgumentException("unknown format " + format);
    }
    boolean hasRefresh = secrets.refreshToken() != null;
    byte[] accessIv = randomIv();
    byte[] refreshIv = hasRefresh ? randomIv() : null;
    byte flags = hasRefresh ? FLAG_REFRESH : 0;
    byte[] header = header(flags, accessIv, refreshIv);
    byte[] accessPlain = TokenCodec.encode(secrets.accessToken());
    byte[] refreshPlain = hasRefresh ? TokenCodec.encode(secrets.refreshToken()) : null;
    try {
      byte[] accessCt = encrypt(k, accessIv, aadFormat2(key, keyId, PART_ACCESS, header), accessPlain);
      ByteArrayOutputStream out = new ByteArrayOutputStream(
          header.length + accessCt.length + (hasRefresh ? refreshPlain.length + IV_BYTES + TAG_BYTES + 4 : 4));
      out.write(SealedCredential.FORMAT_2);
      out.write(flags);
      out.writeBytes(accessIv);
      writeVarint(out, accessCt.length);
      out.writeBytes(accessCt);
      if (hasRefresh) {
        out.writeBytes(refreshIv);
        out.writeBytes(encrypt(k, refreshIv, aadFormat2(key, keyId, PART_REFRESH, header), refreshPlain));
      }
      return new SealedCredential(keyId, out.toByteArray());
    } finally {
      Arrays.fill(accessPlain, (byte) 0);
      if (refreshPlain != null) {
        Arrays.fill(refreshPlain, (byte) 0);
      }
    }
  }

  /**
   * Both tokens: what a refresh needs.
   *
   * @throws UnreadableCredentialException when the key id is not in the ring, or the ciphertext
   *     was tampered with or belongs to another credential key
   */
  public Secrets open(CredentialKey key, SealedCredential sealed) {
    if (sealed == null) {
      throw new UnreadableCredentialException("no sealed tokens");
    }
    if (sealed.format() == SealedCredential.FORMAT_1) {
      return openFormat1(key, sealed, true);
    }
    Layout l = Layout.of(sealed.bytes());
    String access = openPart(key, sealed, l, PART_ACCESS, "");
    String refresh = l.refreshIvOffset < 0 ? null : openPart(key, sealed, l, PART_REFRESH, "");
    return new Secrets(access, refresh);
  }

  /**
   * Only the access token: what a Check injects. In format 2 only its own ciphertext is
   * authenticated and decrypted; the refresh token is not touched.
   *
   * @throws UnreadableCredentialException as {@link #open}
   */
  public String openAccessToken(CredentialKey key, SealedCredential sealed) {
    return openAccess(key, sealed, "");
  }

  /**
   * The access token as the {@code Authorization} value a Check injects: {@link #openAccessToken}
   * with the RFC 6750 scheme prepended while the characters are built, not copied afterwards.
   *
   * @throws UnreadableCredentialException as {@link #open}
   */
  public UpstreamAccess.Granted openAuthorization(CredentialKey key, SealedCredential sealed) {
    if (sealed != null && opened.enabled()) {
      Workspace ws = take();
      try {
        String cached = opened.get(key, sealed, ws);
        if (cached != null) {
          return new UpstreamAccess.Granted(cached);
        }
      } finally {
        give(ws);
      }
    }
    String value = openAccess(key, sealed, UpstreamAccess.Granted.BEARER_PREFIX);
    opened.put(key, sealed, value);
    return new UpstreamAccess.Granted(value);
  }

  /** Drops what the Check-path cache remembers of a credential (its revocation on this member). */
  void forget(CredentialKey key) {
    opened.forget(key);
  }

  /** Entries in the Check-path cache (tests). */
  long cachedEntries() {
    return opened.size();
  }

  private String openAccess(CredentialKey key, SealedCredential sealed, String prefix) {
    if (sealed == null) {
      throw new UnreadableCredentialException("no sealed tokens");
    }
    if (sealed.format() == SealedCredential.FORMAT_1) {
      return prefix + openFormat1(key, sealed, false).accessToken();
    }
    return openPart(key, sealed, Layout.of(sealed.bytes()), PART_ACCESS, prefix);
  }

  /** Where the parts of a format-2 array are; every offset checked against its length. */
  private record Layout(int accessCtOffset, int accessCtLength, int refreshIvOffset, int refreshCtOffset) {
    static Layout of(byte[] b) {
      if (b.length < 2 + IV_BYTES + 1) {
        throw new UnreadableCredentialException("cannot open: truncated");
      }
      byte flags = b[1];
      if ((flags & ~FLAG_REFRESH) != 0) {
        throw new UnreadableCredentialException("cannot open: unknown flags");
      }
      int p = 2 + IV_BYTES;
      int n = 0;
      for (int shift = 0; ; shift += 7) {
        if (shift > 21 || p >= b.length) {
          throw new UnreadableCredentialException("cannot open: bad length");
        }
        byte v = b[p++];
        n |= (v & 0x7F) << shift;
        if (v >= 0) {
          break;
        }
      }
      if (n < TAG_BYTES || n > b.length - p) {
        throw new UnreadableCredentialException("cannot open: bad length");
      }
      int end = p + n;
      if ((flags & FLAG_REFRESH) == 0) {
        if (end != b.length) {
          throw new UnreadableCredentialException("cannot open: trailing bytes");
        }
        return new Layout(p, n, -1, -1);
      }
      if (b.length - end < IV_BYTES + TAG_BYTES) {
        throw new UnreadableCredentialException("cannot open: truncated");
      }
      return new Layout(p, n, end, end + IV_BYTES);
    }
  }

  /** @param prefix ASCII text the returned String starts with, before the token */
  private String openPart(CredentialKey key, SealedCredential sealed, Layout l, byte part, String prefix) {
    SecretKey k = keyOf(sealed);
    byte[] b = sealed.bytes();
    boolean access = part == PART_ACCESS;
    int ivOffset = access ? 2 : l.refreshIvOffset;
    int ctOffset = access ? l.accessCtOffset : l.refreshCtOffset;
    int ctLength = access ? l.accessCtLength : b.length - l.refreshCtOffset;
    Workspace ws = take();
    byte[] plain = null;
    int n = 0;
    try {
      int aadLength = ws.aadFormat2(key, sealed.keyId(), part, b, l.refreshIvOffset);
      plain = ws.plain(ctLength - TAG_BYTES);
      try {
        ws.cipher.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, b, ivOffset, IV_BYTES));
        ws.cipher.updateAAD(ws.aad, 0, aadLength);
        n = ws.cipher.doFinal(b, ctOffset, ctLength, plain, 0);
      } catch (AEADBadTagException e) {
        throw new UnreadableCredentialException("authentication failed (tampered, or sealed for another credential)");
      } catch (GeneralSecurityException | RuntimeException e) {
        throw new UnreadableCredentialException("cannot open: " + e.getClass().getSimpleName());
      }
      return TokenCodec.decode(plain, 0, n, ws, prefix);
    } finally {
      if (plain != null) {
        Arrays.fill(plain, 0, Math.min(plain.length, ctLength), (byte) 0);
      }
      give(ws);
    }
  }

  private Secrets openFormat1(CredentialKey key, SealedCredential sealed, boolean withRefresh) {
    SecretKey k = keyOf(sealed);
    byte[] b = sealed.bytes();
    int ctLength = b.length - 1 - IV_BYTES;
    if (ctLength < TAG_BYTES) {
      throw new UnreadableCredentialException("cannot open: truncated");
    }
    Workspace ws = take();
    byte[] plain = null;
    int n = 0;
    try {
      int aadLength = ws.aadFormat1(key, sealed.keyId());
      plain = ws.plain(ctLength - TAG_BYTES);
      try {
        ws.cipher.init(Cipher.DECRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, b, 1, IV_BYTES));
        ws.cipher.updateAAD(ws.aad, 0, aadLength);
        n = ws.cipher.doFinal(b, 1 + IV_BYTES, ctLength, plain, 0);
      } catch (AEADBadTagException e) {
        throw new UnreadableCredentialException("authentication failed (tampered, or sealed for another credential)");
      } catch (GeneralSecurityException | RuntimeException e) {
        throw new UnreadableCredentialException("cannot open: " + e.getClass().getSimpleName());
      }
      // int length, UTF-8 access token, boolean, [int length, UTF-8 refresh token]
      int accessLength = readLength(plain, 0, n);
      String access = new String(plain, 4, accessLength, StandardCharsets.UTF_8);
      String refresh = null;
      int p = 4 + accessLength;
      if (p >= n) {
        throw new UnreadableCredentialException("cannot open: EOFException");
      }
      if (withRefresh && plain[p] != 0) {
        int refreshLength = readLength(plain, p + 1, n);
        refresh = new String(plain, p + 5, refreshLength, StandardCharsets.UTF_8);
      }
      return new Secrets(access, refresh);
    } finally {
      if (plain != null) {
        Arrays.fill(plain, 0, Math.min(plain.length, ctLength), (byte) 0);
      }
      give(ws);
    }
  }

  private static int readLength(byte[] plain, int p, int n) {
    if (p + 4 > n) {
      throw new UnreadableCredentialException("cannot open: EOFException");
    }
    int len = (plain[p] & 0xFF) << 24 | (plain[p + 1] & 0xFF) << 16 | (plain[p + 2] & 0xFF) << 8 | (plain[p + 3] & 0xFF);
    if (len < 0 || len > MAX_TOKEN || len > n - p - 4) {
      throw new UnreadableCredentialException("cannot open: IOException");
    }
    return len;
  }

  private SecretKey keyOf(SealedCredential sealed) {
    SecretKey k = ring.key(sealed.keyId());
    if (k == null) {
      throw new UnreadableCredentialException("key '" + sealed.keyId() + "' is not in the key ring");
    }
    return k;
  }

  private byte[] randomIv() {
    byte[] iv = new byte[IV_BYTES];
    random.nextBytes(iv);
    return iv;
  }

  private byte[] encrypt(SecretKey k, byte[] iv, byte[] aad, byte[] plain) {
    try {
      Cipher c = Cipher.getInstance(TRANSFORMATION, provider);
      c.init(Cipher.ENCRYPT_MODE, k, new GCMParameterSpec(TAG_BITS, iv));
      c.updateAAD(aad);
      return c.doFinal(plain);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /** The format-2 bytes the associated data covers besides the strings: flags and both nonces. */
  private static byte[] header(byte flags, byte[] accessIv, byte[] refreshIv) {
    byte[] h = new byte[2 + IV_BYTES + (refreshIv == null ? 0 : IV_BYTES)];
    h[0] = SealedCredential.FORMAT_2;
    h[1] = flags;
    System.arraycopy(accessIv, 0, h, 2, IV_BYTES);
    if (refreshIv != null) {
      System.arraycopy(refreshIv, 0, h, 2 + IV_BYTES, IV_BYTES);
    }
    return h;
  }

  /** Format 1: {@code int length, UTF-8 access, boolean, [int length, UTF-8 refresh]} (DataOutputStream). */
  private static byte[] encodeFormat1(Secrets s) {
    byte[] access = s.accessToken().getBytes(StandardCharsets.UTF_8);
    byte[] refresh = s.refreshToken() == null ? null : s.refreshToken().getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[4 + access.length + 1 + (refresh == null ? 0 : 4 + refresh.length)];
    int p = putInt(out, 0, access.length);
    System.arraycopy(access, 0, out, p, access.length);
    p += access.length;
    out[p++] = (byte) (refresh == null ? 0 : 1);
    if (refresh != null) {
      p = putInt(out, p, refresh.length);
      System.arraycopy(refresh, 0, out, p, refresh.length);
      Arrays.fill(refresh, (byte) 0);
    }
    Arrays.fill(access, (byte) 0);
    return out;
  }

  private static int putInt(byte[] b, int p, int v) {
    b[p] = (byte) (v >>> 24);
    b[p + 1] = (byte) (v >>> 16);
    b[p + 2] = (byte) (v >>> 8);
    b[p + 3] = (byte) v;
    return p + 4;
  }

  private static void writeVarint(ByteArrayOutputStream out, int v) {
    while ((v & ~0x7F) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
  }

  static byte[] aadFormat1(CredentialKey key, String keyId) {
    byte[] aad = new byte[Aad.format1Length(key, keyId)];
    Aad.format1(aad, key, keyId);
    return aad;
  }

  static byte[] aadFormat2(CredentialKey key, String keyId, byte part, byte[] header) {
    byte[] aad = new byte[Aad.format2Length(key, keyId, header.length)];
    Aad.format2(aad, key, keyId, part, header, 0, header.length);
    return aad;
  }

  /**
   * Associated data: length-prefixed fields, so no choice of values can make two different keys
   * collide. Each string is written as {@link java.io.DataOutputStream#writeUTF} does (two-byte
   * length, modified UTF-8): format 1 records were sealed that way.
   */
  static final class Aad {
    private Aad() {}

    static int format1Length(CredentialKey key, String keyId) {
      return utfLength(AAD_DOMAIN_1) + utfLength(keyId) + utfLength(key.issuer()) + utfLength(key.subject())
          + utfLength(key.serverId());
    }

    static int format1(byte[] dst, CredentialKey key, String keyId) {
      int p = writeUtf(dst, 0, AAD_DOMAIN_1);
      p = writeUtf(dst, p, keyId);
      p = writeUtf(dst, p, key.issuer());
      p = writeUtf(dst, p, key.subject());
      return writeUtf(dst, p, key.serverId());
    }

    static int format2Length(CredentialKey key, String keyId, int headerLength) {
      return utfLength(AAD_DOMAIN_2) + utfLength(keyId) + utfLength(key.issuer()) + utfLength(key.subject())
          + utfLength(key.serverId()) + 1 + headerLength;
    }

    /** The strings, the part, then the header: format and flags, access nonce, refresh nonce if any. */
    static int format2(byte[] dst, CredentialKey key, String keyId, byte part, byte[] header, int hOff, int hLen) {
      int p = writeUtf(dst, 0, AAD_DOMAIN_2);
      p = writeUtf(dst, p, keyId);
      p = writeUtf(dst, p, key.issuer());
      p = writeUtf(dst, p, key.subject());
      p = writeUtf(dst, p, key.serverId());
      dst[p++] = part;
      System.arraycopy(header, hOff, dst, p, hLen);
      return p + hLen;
    }

    static int utfLength(String s) {
      int n = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        n += c >= 0x0001 && c <= 0x007F ? 1 : c > 0x07FF ? 3 : 2;
      }
      if (n > 65535) {
        throw new IllegalStateException("associated data field too long: " + n + " bytes");
      }
      return n + 2;
    }

    static int writeUtf(byte[] dst, int p, String s) {
      int len = utfLength(s) - 2;
      dst[p++] = (byte) (len >>> 8);
      dst[p++] = (byte) len;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c >= 0x0001 && c <= 0x007F) {
          dst[p++] = (byte) c;
        } else if (c > 0x07FF) {
          dst[p++] = (byte) (0xE0 | ((c >> 12) & 0x0F));
          dst[p++] = (byte) (0x80 | ((c >> 6) & 0x3F));
          dst[p++] = (byte) (0x80 | (c & 0x3F));
        } else {
          dst[p++] = (byte) (0xC0 | ((c >> 6) & 0x1F));
          dst[p++] = (byte) (0x80 | (c & 0x3F));
        }
      }
      return p;
    }
  }

  private Workspace take() {
    int mask = pool.length() - 1;
    int h = (int) Thread.currentThread().threadId() * 0x9E3779B9;
    for (int i = 0; i < 4; i++) {
      Workspace ws = pool.getAndSet((h + i) & mask, null);
      if (ws != null) {
        return ws;
      }
    }
    try {
      return new Workspace(Cipher.getInstance(TRANSFORMATION, provider));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  private void give(Workspace ws) {
    int mask = pool.length() - 1;
    int h = (int) Thread.currentThread().threadId() * 0x9E3779B9;
    for (int i = 0; i < 4; i++) {
      if (pool.compareAndSet((h + i) & mask, null, ws)) {
        return;
      }
    }
    // every probed slot is taken: drop it (its scratch is already zeroed)
  }

  /**
   * One thread's decrypt state: a cipher (re-initialised per open) and scratch arrays for the
   * associated data, the plaintext and the token's characters. Scratch holding plaintext is zeroed
   * by whoever filled it before the workspace goes back to the pool.
   */
  static final class Workspace implements TokenCodec.Scratch {
    final Cipher cipher;
    byte[] aad = new byte[256];
    private byte[] plain = new byte[2048];
    private byte[] chars = new byte[2048];

    Workspace(Cipher cipher) {
      this.cipher = cipher;
    }

    byte[] plain(int n) {
      if (n <= plain.length) {
        return plain;
      }
      if (n > MAX_POOLED) {
        return new byte[n];
      }
      plain = new byte[Math.max(n, plain.length * 2)];
      return plain;
    }

    @Override
    public byte[] chars(int n) {
      if (n <= chars.length) {
        return chars;
      }
      if (n > MAX_POOLED) {
        return new byte[n];
      }
      chars = new byte[Math.max(n, chars.length * 2)];
      return chars;
    }

    int aadFormat1(CredentialKey key, String keyId) {
      aad(Aad.format1Length(key, keyId));
      return Aad.format1(aad, key, keyId);
    }

    int aadFormat2(CredentialKey key, String keyId, byte part, byte[] b, int refreshIvOffset) {
      int hLen = 2 + IV_BYTES + (refreshIvOffset < 0 ? 0 : IV_BYTES);
      aad(Aad.format2Length(key, keyId, hLen));
      int p = Aad.format2(aad, key, keyId, part, b, 0, 2 + IV_BYTES);
      if (refreshIvOffset >= 0) {
        // the header's refresh nonce sits after the access ciphertext in the stored array
        System.arraycopy(b, refreshIvOffset, aad, p, IV_BYTES);
        p += IV_BYTES;
      }
      return p;
    }

    private void aad(int n) {
      if (aad.length < n) {
        aad = new byte[Math.max(n, aad.length * 2)];
      }
    }
  }
}
