package dev.mcpauthz.vault;

import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.decision.UpstreamAccess;
import java.time.Instant;
import java.util.List;

/** The vault's answer for one (user, server) credential on the Check path. */
public sealed interface VaultLookup {

  UpstreamAccess toAccess();

  /**
   * A usable access token (possibly refreshed just now), held as the Check's ready answer: the
   * waiters of one refresh share one instance.
   */
  record Granted(UpstreamAccess.Granted access, Instant expiresAt, long version) implements VaultLookup {
    static Granted bearer(String accessToken, Instant expiresAt, long version) {
      return new Granted(UpstreamAccess.Granted.bearer(accessToken), expiresAt, version);
    }

    /** The token alone (a copy; the Check path uses {@link #access()}). */
    public String accessToken() {
      return access.accessToken();
    }

    @Override
    public UpstreamAccess toAccess() {
      return access;
    }

    @Override
    public String toString() {
      return "Granted[access=<redacted>, expiresAt=" + expiresAt + ", version=" + version + "]";
    }
  }

  /** @param scopes granted ∪ needed */
  record ConsentNeeded(ConsentReason reason, String provider, List<String> scopes) implements VaultLookup {
    public ConsentNeeded {
      scopes = List.copyOf(scopes);
    }

    @Override
    public UpstreamAccess toAccess() {
      return new UpstreamAccess.ConsentNeeded(reason, provider, scopes);
    }
  }

  /** Transient: the token expired and no fresh one is available yet; never a consent reason. */
  record Unavailable(int retryAfterSeconds, String reason) implements VaultLookup {
    @Override
    public UpstreamAccess toAccess() {
      return new UpstreamAccess.Unavailable(retryAfterSeconds, reason);
    }
  }
}
