package dev.mcpauthz.consent;

import java.net.URI;
import java.util.function.Supplier;

/**
 * Builds consent URLs: {@code <consent.public_base_url>/auth/start?elicitation=<id>}. The opaque
 * id is the only variable part: no user data, token or pre-authenticated grant (MCP 2025-11-25
 * client/elicitation "Safe URL Handling"); /auth/start makes the browser user sign in and checks it
 * is the user the elicitation was minted for.
 */
public final class ConsentLinks {
  private final Supplier<String> base;

  /** @param base the public base URL, without a trailing slash, read when a link is built */
  public ConsentLinks(Supplier<String> base) {
    this.base = base;
  }

  /** From {@code consent.public_base_url}, else the loopback HTTP listener (local clients only). */
  public static ConsentLinks of(URI publicBaseUrl, java.util.function.IntSupplier httpPort) {
    if (publicBaseUrl != null) {
      String b = strip(publicBaseUrl.toString());
      return new ConsentLinks(() -> b);
    }
    return new ConsentLinks(() -> "http://127.0.0.1:" + httpPort.getAsInt());
  }

  /** The public base URL, without a trailing slash. */
  public String base() {
    return base.get();
  }

  public String start(String elicitationId) {
    // The id is URL-safe Base64: nothing to escape.
    return base.get() + "/auth/start?elicitation=" + elicitationId;
  }

  private static String strip(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }
}
