package dev.mcpauthz.decision;

import java.util.List;

/** What the token vault says about the user's upstream credential for one server. */
public sealed interface UpstreamAccess {

  /** A valid upstream access token, to be injected as {@code Authorization: Bearer}. */
  record Granted(String accessToken) implements UpstreamAccess {
    @Override
    public String toString() {
      return "Granted[accessToken=<redacted>]";
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
