package dev.mcpauthz.decision;

import java.util.List;

/** What the token vault says about the user's upstream credential for one server. */
public sealed interface UpstreamAccess {

  /**
   * A valid upstream access token, held as the ready {@code Authorization} header value
   * ({@code Bearer <token>}, RFC 6750 §2.1): the vault builds it in the same pass that decrypts the
   * token, so a Check injects it without another 1 KB copy (docs/PERFORMANCE.md, "Token vault").
   */
  record Granted(String authorization) implements UpstreamAccess {
    /** The RFC 6750 §2.1 scheme and its separating space. */
    public static final String BEARER_PREFIX = "Bearer ";

    public Granted {
      if (!authorization.startsWith(BEARER_PREFIX) || authorization.length() == BEARER_PREFIX.length()) {
        throw new IllegalArgumentException("not a bearer authorization value");
      }
    }

    public static Granted bearer(String accessToken) {
      return new Granted(BEARER_PREFIX + accessToken);
    }

    /** The token alone (a copy; the Check path never needs it). */
    public String accessToken() {
      return authorization.substring(BEARER_PREFIX.length());
    }

    @Override
    public String toString() {
      return "Granted[authorization=<redacted>]";
    }
  }

  /**
   * The user must (re-)consent at the upstream provider.
   *
   * @param scopes every scope the consent should ask for: granted ∪ needed (least privilege, no
   *     more)
   */
  record ConsentNeeded(ConsentReason reason, String provider, List<String> scopes) implements UpstreamAccess {
    public ConsentNeeded {
      scopes = List.copyOf(scopes);
    }
  }

  /** Transient: the token expired and could not be refreshed yet. Never a reason for consent. */
  record Unavailable(int retryAfterSeconds, String reason) implements UpstreamAccess {}
}
