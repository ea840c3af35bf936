package dev.mcpauthz.it.envoy;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Small string helpers that reproduce Envoy utilities. */
final class EnvoyStrings {

  private static final DateTimeFormatter IMF_FIXDATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

  private EnvoyStrings() {}

  /**
   * {@code MessageUtil::sanitizeUtf8String}: every byte that does not start a structurally valid UTF-8
   * sequence is replaced by {@code '!'} (one byte at a time, so the length in bytes is kept).
   */
  static String sanitizeUtf8(byte[] in) {
    byte[] out = in.clone();
    int i = 0;
    while (i < out.length) {
      int n = validSequenceLength(out, i);
      if (n == 0) {
        out[i] = '!';
        i++;
      } else {
        i += n;
      }
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  /** Same, for a header value as Jetty hands it over (one char per received octet, ISO-8859-1). */
  static String sanitizeUtf8HeaderValue(String latin1) {
    return sanitizeUtf8(headerValueBytes(latin1));
  }

  /** The octets Jetty received for a header value (its parser maps each octet to one char). */
  static byte[] headerValueBytes(String value) {
    for (int i = 0; i < value.length(); i++) {
      if (value.charAt(i) > 0xFF) {
        return value.getBytes(StandardCharsets.UTF_8); // set by code, not parsed from the wire
      }
    }
    return value.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** The header value as Jetty must emit it so that the given octets go out on the wire. */
  static String wireHeaderValue(String utf8Value) {
    return new String(utf8Value.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
  }

  /** Length of the well-formed UTF-8 sequence at {@code i} (RFC 3629 table), 0 if ill-formed. */
  private static int validSequenceLength(byte[] b, int i) {
    int b0 = b[i] & 0xFF;
    if (b0 < 0x80) {
      return 1;
    }
    int len;
    int lo = 0x80;
    int hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) {
        lo = 0xA0;
      } else if (b0 == 0xED) {
        hi = 0x9F;
      }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) {
        lo = 0x90;
      } else if (b0 == 0xF4) {
        hi = 0x8F;
      }
    } else {
      return 0;
    }
    if (i + len > b.length) {
      return 0;
    }
    int b1 = b[i + 1] & 0xFF;
    if (b1 < lo || b1 > hi) {
      return 0;
    }
    for (int k = 2; k < len; k++) {
      int bk = b[i + k] & 0xFF;
      if (bk < 0x80 || bk > 0xBF) {
        return 0;
      }
    }
    return len;
  }

  /** The {@code date} header value Envoy's date provider writes (IMF-fixdate). */
  static String httpDate(ZonedDateTime t) {
    return IMF_FIXDATE.format(t.withZoneSameInstant(ZoneOffset.UTC));
  }
}
