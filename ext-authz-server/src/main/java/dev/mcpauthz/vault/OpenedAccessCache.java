package dev.mcpauthz.vault;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The Check path's memory of access tokens it has opened, per member and bounded ({@code
 * vault.check_cache_entries}, ADR 0005 "Check-path cache"): each credential's ready {@code
 * Authorization} value, XOR-masked with a per-process random pad. A hit costs an XOR and a String
 * instead of an AES-GCM open and a base64url re-encoding (docs/PERFORMANCE.md, "Token vault").
 *
 * <p>Masked, not encrypted: it keeps tokens out of a search of a heap dump, out of every {@code
 * toString} and out of Hazelcast (it is a plain local map, never serialised), not away from someone
 * who reads this process's memory with care; such a reader holds the vault's key ring anyway. At
 * rest in the map, in backups and in near caches the tokens stay AES-GCM sealed.
 *
 * <p>An entry serves only the seal it was opened from: same key id and the same leading bytes of
 * the seal, which hold its random access-token nonce (fresh for every seal). A refreshed,
 * re-consented or re-keyed credential therefore never gets an old value; its first Check opens the
 * new seal and replaces the entry. An entry also ends {@link #TTL} after it was opened.
 *
 * <p>A plain {@link ConcurrentHashMap}, not Caffeine: a hit must be a lookup and nothing else.
 * Caffeine's bookkeeping on reads (buffers drained on the common pool) tripled the hit's p99 on
 * two cores (docs/PERFORMANCE.md). The bound is kept on the miss path: past {@code maxEntries},
 * expired entries go first, then arbitrary ones (hash order), down to nine tenths of the bound.
 */
final class OpenedAccessCache {
  /** Format byte, flags and the 96-bit access nonce of format 2 (format 1: format byte, nonce, one more byte). */
  private static final int SEAL_HEAD = 2 + SealedCredential.IV_BYTES;
  /** Values longer than this are not cached (they are opened every time). */
  static final int MAX_VALUE_BYTES = 1 << 14;
  /** An entry is used at most this long after it was opened. */
  static final Duration TTL = Duration.ofMinutes(10);

  private final ConcurrentHashMap<CredentialKey, Entry> entries;
  private final int maxEntries;
  private final java.util.function.LongSupplier nanos;
  /** Twice the longest value, so that any start offset has a whole value's worth of pad after it. */
  private final byte[] pad = new byte[2 * MAX_VALUE_BYTES];
  private final SecureRandom random = new SecureRandom();

  /** @param maxEntries 0 disables the cache: every Check opens the seal */
  OpenedAccessCache(int maxEntries) {
    this(maxEntries, System::nanoTime);
  }

  /** @param nanos the monotonic clock entries expire by ({@link System#nanoTime}; tests move their own) */
  OpenedAccessCache(int maxEntries, java.util.function.LongSupplier nanos) {
    this.nanos = nanos;
    this.maxEntries = maxEntries;
    this.entries = maxEntries <= 0 ? null : new ConcurrentHashMap<>();
    random.nextBytes(pad);
  }

  /** One opened value, masked by the pad from {@code offset}; never holds the plaintext. */
  private record Entry(String keyId, byte[] sealHead, int offset, byte[] masked, long expiresAtNanos) {
    boolean serves(SealedCredential s, long nowNanos) {
      byte[] b = s.bytes();
      return nowNanos - expiresAtNanos < 0 && keyId.equals(s.keyId()) && b.length >= sealHead.length
          && Arrays.equals(sealHead, 0, sealHead.length, b, 0, sealHead.length);
    }

    @Override
    public String toString() {
      return "Entry[keyId=" + keyId + ", masked=<" + masked.length + " bytes>]";
    }
  }

  boolean enabled() {
    return entries != null;
  }

  /**
   * The cached value for this seal, unmasked into {@code scratch} (zeroed afterwards) and returned
   * as a new String; null on a miss.
   */
  String get(CredentialKey key, SealedCredential sealed, TokenCodec.Scratch scratch) {
    if (entries == null) {
      return null;
    }
    Entry e = entries.get(key);
    if (e == null || !e.serves(sealed, nanos.getAsLong())) {
      return null;
    }
    int n = e.masked.length;
    byte[] plain = scratch.chars(n);
    try {
      xor(e.masked, pad, e.offset, plain, n);
      return new String(plain, 0, n, StandardCharsets.UTF_8);
    } finally {
      Arrays.fill(plain, 0, n, (byte) 0);
    }
  }

  /** Remembers the value opened from this seal (masked), replacing the key's previous one. */
  void put(CredentialKey key, SealedCredential sealed, String authorization) {
    if (entries == null) {
      return;
    }
    byte[] masked = authorization.getBytes(StandardCharsets.UTF_8);
    if (masked.length > MAX_VALUE_BYTES || sealed.bytes().length < SEAL_HEAD) {
      Arrays.fill(masked, (byte) 0);
      return;
    }
    int offset = random.nextInt(MAX_VALUE_BYTES);
    xor(masked, pad, offset, masked, masked.length);
    long now = nanos.getAsLong();
    if (entries.size() >= maxEntries && !entries.containsKey(key)) {
      shrink(now);
    }
    entries.put(key, new Entry(sealed.keyId(), Arrays.copyOf(sealed.bytes(), SEAL_HEAD), offset, masked,
        now + TTL.toNanos()));
  }

  /** Expired entries first, then arbitrary ones, until nine tenths of the bound are left. */
  private void shrink(long now) {
    int target = maxEntries - Math.max(1, maxEntries / 10);
    entries.values().removeIf(e -> now - e.expiresAtNanos >= 0);
    for (Iterator<CredentialKey> it = entries.keySet().iterator(); it.hasNext() && entries.size() > target; ) {
      it.next();
      it.remove();
    }
  }

  /** {@code dst[i] = src[i] ^ pad[offset + i]} for i < n, eight bytes per step (the Check path's hit). */
  private static void xor(byte[] src, byte[] pad, int offset, byte[] dst, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      LONGS.set(dst, i, (long) LONGS.get(src, i) ^ (long) LONGS.get(pad, offset + i));
    }
    for (; i < n; i++) {
      dst[i] = (byte) (src[i] ^ pad[offset + i]);
    }
  }

  private static final java.lang.invoke.VarHandle LONGS =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.nativeOrder());

  /** Forgets a credential's value (revocation on this member). */
  void forget(CredentialKey key) {
    if (entries != null) {
      entries.remove(key);
    }
  }

  /** What the cache holds, for the tests that look for plaintext in it. */
  java.util.List<Object> heldValues() {
    return entries == null ? java.util.List.of() : java.util.List.copyOf(entries.values());
  }

  /** Entries held now (tests, diagnostics). */
  long size() {
    return entries == null ? 0 : entries.size();
  }
}
