package dev.mcpauthz.consent;

import java.net.URI;
import java.time.Duration;
import java.util.List;

/** What a consent endpoint answers: a redirect or a page, each possibly setting cookies. */
public sealed interface ConsentOutcome {
  List<Cookie> cookies();

  /**
   * A cookie of the consent pages. The HTTP layer adds HttpOnly, SameSite=Lax (sent on the
   * top-level redirect back from the identity provider, never on cross-site subrequests: CSRF),
   * Path=/auth, and Secure when the public base URL is https.
   *
   * @param maxAge null for a browser-session cookie
   */
  record Cookie(String name, String value, Duration maxAge) {}

  record Redirect(URI location, List<Cookie> cookies) implements ConsentOutcome {
    public Redirect {
      cookies = List.copyOf(cookies);
    }
  }

  record Show(ConsentPage page, List<Cookie> cookies) implements ConsentOutcome {
    public Show {
      cookies = List.copyOf(cookies);
    }

    public Show(ConsentPage page) {
      this(page, List.of());
    }
  }
}
