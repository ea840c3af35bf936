package dev.mcpauthz.vault;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * A reversible, compact plaintext encoding of one token, applied before sealing (record format 2,
 * docs/vault.md). Most OAuth tokens are base64url text: JWTs ({@code header.payload.signature}),
 * JWEs (five segments) and many opaque tokens ({@code gho_…} is 40 base64url characters). Stored as
 * the bytes the text encodes, they take 3/4 of the space; opened, they are re-encoded to exactly
 * the original text.
 *
 * <p>Layout, first byte the form:
 *
 * <ul>
 *   <li>{@code 0} ({@link #RAW}): the token's UTF-8 bytes.
 *   <li>{@code 1} ({@link #SEGMENTS}): one or more segments, each a varint length and the bytes the
 *       segment decodes to; the token is those segments base64url-encoded without padding, joined by
 *       {@code .}.
 * </ul>
 *
 * <p>The segment form is used only when it is smaller and when encoding back gives the very same
 * string, checked at encode time: padding, characters outside the base64url alphabet, non-zero
 * unused trailing bits (non-canonical base64url) and lengths of 4k+1 all fall back to raw. So {@link
 * #decode} never has to guess: it returns the original token or fails.
 */
final class TokenCodec {
  static final byte RAW = 0;
  static final byte SEGMENTS = 1;

  private static final byte[] ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".getBytes(StandardCharsets.US_ASCII);
  /** The two base64url characters of every 12-bit value, high character in the high byte. */
  private static final int[] PAIRS = new int[1 << 12];
  private static final java.lang.invoke.VarHandle INT_BE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.BIG_ENDIAN);
  private static final java.lang.invoke.VarHandle LONG_BE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, java.nio.ByteOrder.BIG_ENDIAN);

  static {
    for (int v = 0; v < PAIRS.length; v++) {
      PAIRS[v] = (ALPHABET[v >>> 6] & 0xFF) << 8 | (ALPHABET[v & 0x3F] & 0xFF);
    }
  }

  private static final Base64.Decoder URL_DECODER = Base64.getUrlDecoder();
  private static final Base64.Encoder URL_ENCODER = Base64.getUrlEncoder().withoutPadding();

  private TokenCodec() {}

  /** The encoded token (write path only; allocates freely). */
  static byte[] encode(String token) {
    byte[] raw = token.getBytes(StandardCharsets.UTF_8);
    byte[] segments = segments(token);
    if (segments != null && segments.length < raw.length + 1) {
      return segments;
    }
    byte[] out = new byte[raw.length + 1];
    out[0] = RAW;
    System.arraycopy(raw, 0, out, 1, raw.length);
    return out;
  }

  /** The segment form, or null when the token is not canonical base64url segments. */
  private static byte[] segments(String token) {
    if (token.isEmpty()) {
      return null;
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(token.length());
    out.write(SEGMENTS);
    int start = 0;
    while (true) {
      int dot = token.indexOf('.', start);
      String segment = token.substring(start, dot < 0 ? token.length() : dot);
      byte[] bytes = decodeCanonical(segment);
      if (bytes == null) {
        return null;
      }
      writeVarint(out, bytes.length);
      out.writeBytes(bytes);
      if (dot < 0) {
        break;
      }
      start = dot + 1;
    }
    byte[] encoded = out.toByteArray();
    // Belt and braces: the form is kept only if the decoder gives back exactly this token.
    try {
      if (!decode(encoded, 0, encoded.length).equals(token)) {
        return null;
      }
    } catch (UnreadableCredentialException e) {
      return null;
    }
    return encoded;
  }

  /** The bytes of one base64url segment, or null unless re-encoding them gives the same text. */
  private static byte[] decodeCanonical(String segment) {
    for (int i = 0; i < segment.length(); i++) {
      if (value(segment.charAt(i)) < 0) {
        return null; // also rejects '=' padding, '+', '/', whitespace and non-ASCII
      }
    }
    if (segment.length() % 4 == 1) {
      return null;
    }
    byte[] bytes;
    try {
      bytes = URL_DECODER.decode(segment);
    } catch (IllegalArgumentException e) {
      return null;
    }
    // The JDK decoder ignores non-zero unused bits; the re-encoding would then differ.
    return URL_ENCODER.encodeToString(bytes).equals(segment) ? bytes : null;
  }

  private static int value(char c) {
    if (c >= 'A' && c <= 'Z') {
      return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
      return c - '0' + 52;
    }
    return c == '-' ? 62 : c == '_' ? 63 : -1;
  }

  private static void writeVarint(java.io.ByteArrayOutputStream out, int v) {
    while ((v & ~0x7F) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
  }

  /** Where {@link #decode} may build a token's characters; it zeroes what it used before returning. */
  interface Scratch {
    /** An array of at least {@code n} bytes. */
    byte[] chars(int n);
  }

  static String decode(byte[] buf, int off, int len) {
    return decode(buf, off, len, n -> new byte[n], "");
  }

  /**
   * The token encoded in {@code buf[off, off + len)}, after {@code prefix}. Allocates only the
   * returned String: the characters are built in {@code scratch} first, which is zeroed before
   * returning.
   *
   * @param prefix ASCII text to put before the token (the Check path's {@code "Bearer "}), or ""
   * @throws UnreadableCredentialException when the bytes are not an encoded token
   */
  static String decode(byte[] buf, int off, int len, Scratch scratch, String prefix) {
    if (len < 1) {
      throw new UnreadableCredentialException("cannot open: empty token");
    }
    int end = off + len;
    int head = prefix.length();
    switch (buf[off]) {
      case RAW -> {
        if (head == 0) {
          return new String(buf, off + 1, len - 1, StandardCharsets.UTF_8);
        }
        byte[] chars = scratch.chars(head + len - 1);
        try {
          putAscii(prefix, chars);
          System.arraycopy(buf, off + 1, chars, head, len - 1);
          return new String(chars, 0, head + len - 1, StandardCharsets.UTF_8);
        } finally {
          java.util.Arrays.fill(chars, 0, head + len - 1, (byte) 0);
        }
      }
      case SEGMENTS -> {
        int total = head + textLength(buf, off + 1, end);
        byte[] chars = scratch.chars(total);
        try {
          putAscii(prefix, chars);
          int n = head;
          int p = off + 1;
          boolean first = true;
          while (p < end) {
            long lv = readVarint(buf, p, end);
            int segLen = (int) lv;
            p = (int) (lv >>> 32);
            if (!first) {
              chars[n++] = '.';
            }
            first = false;
            n = encodeSegment(buf, p, segLen, chars, n);
            p += segLen;
          }
          return new String(chars, 0, n, StandardCharsets.ISO_8859_1);
        } finally {
          java.util.Arrays.fill(chars, 0, total, (byte) 0);
        }
      }
      default -> throw new UnreadableCredentialException("cannot open: unknown token form " + buf[off]);
    }
  }

  private static void putAscii(String ascii, byte[] dst) {
    for (int i = 0; i < ascii.length(); i++) {
      dst[i] = (byte) ascii.charAt(i);
    }
  }

  /** Characters of the segment form in {@code buf[p, end)}, checking every length on the way. */
  private static int textLength(byte[] buf, int p, int end) {
    if (p >= end) {
      throw new UnreadableCredentialException("cannot open: no segment");
    }
    long total = 0;
    int segments = 0;
    while (p < end) {
      long lv = readVarint(buf, p, end);
      int segLen = (int) lv;
      p = (int) (lv >>> 32);
      if (segLen > end - p) {
        throw new UnreadableCredentialException("cannot open: bad segment length");
      }
      total += (segLen / 3) * 4L + (segLen % 3 == 0 ? 0 : segLen % 3 + 1);
      segments++;
      p += segLen;
    }
    total += segments - 1;
    if (total > 1 << 20) {
      throw new UnreadableCredentialException("cannot open: token too long");
    }
    return (int) total;
  }

  /** A varint at {@code buf[p]}: the value in the low 32 bits, the position after it in the high 32. */
  private static long readVarint(byte[] buf, int p, int end) {
    int v = 0;
    for (int shift = 0; shift < 28; shift += 7) {
      if (p >= end) {
        throw new UnreadableCredentialException("cannot open: truncated length");
      }
      byte b = buf[p++];
      v |= (b & 0x7F) << shift;
      if (b >= 0) {
        return ((long) p << 32) | (v & 0xFFFFFFFFL);
      }
    }
    throw new UnreadableCredentialException("cannot open: bad length");
  }

  /** Base64url without padding of {@code src[off, off + len)} into {@code dst} at {@code n}; returns the new n. */
  private static int encodeSegment(byte[] src, int off, int len, byte[] dst, int n) {
    int end = off + len;
    int p = off;
    // The Check path's hot loop (docs/PERFORMANCE.md): 6 bytes (read as one long, inside the
    // segment) become 8 characters with four lookups of 12 bits each and one 8-byte store; then 3
    // bytes at a time. About 2.5x a character-at-a-time loop.
    while (end - p >= 8) {
      long bits = (long) LONG_BE.get(src, p) >>> 16;
      LONG_BE.set(dst, n, (long) PAIRS[(int) (bits >>> 36)] << 48 | (long) PAIRS[(int) (bits >>> 24) & 0xFFF] << 32
          | (long) PAIRS[(int) (bits >>> 12) & 0xFFF] << 16 | PAIRS[(int) bits & 0xFFF]);
      n += 8;
      p += 6;
    }
    while (end - p >= 3) {
      int bits = (src[p] & 0xFF) << 16 | (src[p + 1] & 0xFF) << 8 | (src[p + 2] & 0xFF);
      INT_BE.set(dst, n, PAIRS[bits >>> 12] << 16 | PAIRS[bits & 0xFFF]);
      n += 4;
      p += 3;
    }
    if (end - p == 1) {
      int bits = (src[p] & 0xFF) << 16;
      dst[n++] = ALPHABET[bits >>> 18];
      dst[n++] = ALPHABET[(bits >>> 12) & 0x3F];
    } else if (end - p == 2) {
      int bits = (src[p] & 0xFF) << 16 | (src[p + 1] & 0xFF) << 8;
      dst[n++] = ALPHABET[bits >>> 18];
      dst[n++] = ALPHABET[(bits >>> 12) & 0x3F];
      dst[n++] = ALPHABET[(bits >>> 6) & 0x3F];
    }
    return n;
  }
}
