package dev.mcpauthz.consent;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.TreeMap;

/**
 * SHA-256 of method + name + canonical arguments: lets resume recognise "the same call" without
 * storing the arguments (which may hold personal data). Canonical form: object members sorted by
 * name, no whitespace, so key order and formatting do not change the digest.
 */
public final class CallDigest {
  private CallDigest() {}

  /**
   * @param arguments {@code params.arguments}, or null when absent
   * @param argumentsTooLarge the arguments were over the parser's limit (digest marks it, so such a
   *     call never matches an exact one)
   */
  public static String of(String method, String name, JsonNode arguments, boolean argumentsTooLarge) {
    StringBuilder b = new StringBuilder();
    b.append(method == null ? "" : method).append('\0').append(name == null ? "" : name).append('\0');
    if (argumentsTooLarge) {
      b.append("!too-large");
    } else if (arguments != null) {
      canonical(arguments, b);
    }
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(b.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static void canonical(JsonNode n, StringBuilder b) {
    if (n.isObject()) {
      TreeMap<String, JsonNode> sorted = new TreeMap<>();
      for (Iterator<java.util.Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        var e = it.next();
        sorted.put(e.getKey(), e.getValue());
      }
      b.append('{');
      boolean first = true;
      for (var e : sorted.entrySet()) {
        if (!first) {
          b.append(',');
        }
        first = false;
        b.append(com.fasterxml.jackson.databind.node.TextNode.valueOf(e.getKey())).append(':');
        canonical(e.getValue(), b);
      }
      b.append('}');
    } else if (n.isArray()) {
      b.append('[');
      for (int i = 0; i < n.size(); i++) {
        if (i > 0) {
          b.append(',');
        }
        canonical(n.get(i), b);
      }
      b.append(']');
    } else {
      b.append(n.toString());
    }
  }
}
