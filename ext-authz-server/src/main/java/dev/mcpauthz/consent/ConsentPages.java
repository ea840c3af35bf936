package dev.mcpauthz.consent;

import java.util.List;

/**
 * The words of every consent page, in one place: each says what happened and what to do next
 * (issue 4 item 3: denial, expiry and provider errors get a clear page). No page echoes request
 * input other than configured names.
 */
final class ConsentPages {
  private ConsentPages() {}

  static ConsentPage unknownLink() {
    return ConsentPage.message(404, "unknown-link", "This consent link is not valid",
        "The link may be mistyped or too old. Go back to your client and run the tool again: it will show a new link.");
  }

  static ConsentPage expired(String server, String provider) {
    return ConsentPage.message(410, "expired", "This consent link has expired",
        "The link to connect " + provider + " for " + server + " is no longer valid.",
        "Go back to your client and run the tool again: it will show a new link.");
  }

  static ConsentPage signInNotConfigured() {
    return ConsentPage.message(503, "sign-in-not-configured", "Sign-in is not set up",
        "This gateway cannot confirm who you are, so it cannot connect your account. Ask your administrator to "
            + "configure consent.sign_in for your identity provider.");
  }

  static ConsentPage differentUser(String switchUserHref) {
    return ConsentPage.message(403, "different-user", "This link was created for someone else",
        "You are signed in as a different user than the one this consent link was made for. For your safety it "
            + "cannot be used from this account.",
        "If you were given this link by someone else, close this page. If it is yours, sign in with the right account.")
        .with(new ConsentPage.Action("switch-user", "Sign in with another account", switchUserHref));
  }

  static ConsentPage staleState() {
    return ConsentPage.message(400, "stale-state", "This sign-in was already used or has expired",
        "Each sign-in link works once and for a few minutes. Go back to your client and run the tool again.");
  }

  static ConsentPage otherBrowser() {
    return ConsentPage.message(400, "other-browser", "This sign-in was started in another browser",
        "Finish the sign-in in the browser where you opened the consent link, or open the link again here.");
  }

  static ConsentPage issuerMismatch() {
    return ConsentPage.message(400, "issuer-mismatch", "The answer came from the wrong sign-in service",
        "The response did not come from the identity provider this gateway sent you to, so it was discarded. "
            + "Nothing was connected. Go back to your client and try again.");
  }

  static ConsentPage signInFailed(String code) {
    return ConsentPage.message(400, "sign-in-failed", "Sign-in did not complete",
        "The identity provider answered: " + code + ". Nothing was connected. Go back to your client and try again.");
  }

  static ConsentPage denied(String provider, String server, String retryHref) {
    return ConsentPage.message(200, "denied", "You declined access",
        "Nothing was shared with " + server + ". Tools that need your " + provider
            + " account will ask again the next time you use them.")
        .with(new ConsentPage.Action("retry", "Connect " + provider + " after all", retryHref));
  }

  static ConsentPage providerError(String provider, String code, String retryHref) {
    return ConsentPage.message(502, "provider-error", provider + " did not connect your account",
        provider + " answered: " + code + ". Nothing was stored. You can try again.")
        .with(new ConsentPage.Action("retry", "Try again", retryHref));
  }

  static ConsentPage unavailable(String what, String why, String retryHref) {
    ConsentPage p = ConsentPage.message(503, "unavailable", "Please try again in a moment",
        "The " + what + " is not available right now: " + why + ". Nothing was lost.");
    return retryHref == null ? p : p.with(new ConsentPage.Action("retry", "Try again", retryHref));
  }

  static ConsentPage badRequest(String why) {
    return ConsentPage.message(400, "bad-request", "This request cannot be handled", why);
  }

  static ConsentPage chooseServer(List<ConsentPage.Action> servers) {
    return new ConsentPage(200, "choose-server", "Which server do you want to connect?",
        List.of("Several MCP servers use this account. Pick the one to connect."), servers, null);
  }

  static ConsentPage invalidResume() {
    return ConsentPage.message(400, "invalid-resume", "This resume link is not valid",
        "It may have expired or been altered. Go back to your client and run the tool again; if your account is "
            + "connected it will simply work.");
  }

  /**
   * @param deepLink the client's allowlisted deep link, or null when the client is unknown
   * @param call whether a call is waiting to be retried (false after a pre-connect)
   */
  static ConsentPage resume(String provider, String server, String client, String deepLink, String token,
      boolean call) {
    List<String> text = List.of("Your " + provider + " account is connected to " + server + ".",
        call ? "Return to " + client + " and run the tool again: it will go through without asking you again."
            : "Return to " + client + ": tools that use " + provider + " will work without asking you.");
    List<ConsentPage.Action> actions = deepLink == null ? List.of()
        : List.of(new ConsentPage.Action("open-client", "Resume in " + client, deepLink));
    return new ConsentPage(200, "resume", "You're all set", text, actions, token);
  }
}
