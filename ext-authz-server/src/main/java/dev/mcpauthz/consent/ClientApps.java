package dev.mcpauthz.consent;

import dev.mcpauthz.config.AuthzConfig;
import java.net.URI;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The allowlist of client applications a user can be sent back to after consent ({@code
 * consent.clients}). A deep link is only ever built from a configured template: no request
 * parameter can choose the target (issue 4 item 5: no open redirect).
 */
public final class ClientApps {
  private final Map<String, AuthzConfig.ClientApp> byId = new LinkedHashMap<>();
  private final Map<String, String> byOAuthClient = new HashMap<>();

  public ClientApps(List<AuthzConfig.ClientApp> apps) {
    for (AuthzConfig.ClientApp a : apps) {
      byId.put(a.id(), a);
      a.oauthClientIds().forEach(c -> byOAuthClient.put(c, a.id()));
    }
  }

  /** The application using this inbound OAuth client id, or null when none is configured. */
  public String forOAuthClient(String oauthClientId) {
    return oauthClientId == null ? null : byOAuthClient.get(oauthClientId);
  }

  public Optional<AuthzConfig.ClientApp> app(String id) {
    return Optional.ofNullable(id == null ? null : byId.get(id));
  }

  /**
   * The application's deep link carrying {@code state}. Resume state is compact JWE (Base64url and
   * dots): nothing in it needs escaping in a query.
   */
  public Optional<URI> deepLink(String appId, String state) {
    return app(appId).map(a -> URI.create(a.deepLink().replace("{state}", state)));
  }

  /** Display name for pages: the configured one, else the id. */
  public String displayName(String appId) {
    return app(appId).map(a -> a.displayName() == null ? a.id() : a.displayName()).orElse("your MCP client");
  }
}
