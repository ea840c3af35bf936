package dev.mcpauthz.mcp;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Decoding of MCP header values (2026-07-28 Streamable HTTP, "Value Encoding"): a value that is not
 * plain header-safe ASCII is sent as {@code =?base64?<Base64 of UTF-8>?=}; the markers are
 * case-sensitive. Servers must decode before comparing with the body.
 */
public final class HeaderValues {
  private static final String PREFIX = "=?base64?";
  private static final String SUFFIX = "?=";

  private HeaderValues() {}

  /** Thrown for a value that is neither safe plain ASCII nor a valid sentinel. */
  public static final class InvalidHeaderValueException extends Exception {
    InvalidHeaderValueException(String message) {
      super(message, null, false, false);
    }
  }

  public static String decode(String headerName, String raw) throws InvalidHeaderValueException {
    if (raw.startsWith(PREFIX) && raw.endsWith(SUFFIX) && raw.length() >= PREFIX.length() + SUFFIX.length()) {
      String b64 = raw.substring(PREFIX.length(), raw.length() - SUFFIX.length());
      byte[] bytes;
      try {
        bytes = Base64.getDecoder().decode(b64);
      } catch (IllegalArgumentException e) {
        throw new InvalidHeaderValueException(headerName + " header has an invalid Base64 sentinel value");
      }
      try {
        return StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes))
            .toString();
      } catch (CharacterCodingException e) {
        throw new InvalidHeaderValueException(headerName + " header Base64 value is not UTF-8");
      }
    }
    for (int i = 0; i < raw.length(); i++) {
      char c = raw.charAt(i);
      if (c < 0x20 || c > 0x7E) {
        throw new InvalidHeaderValueException(
            headerName + " header contains characters that must be sent Base64-encoded");
      }
    }
    return raw;
  }
}
