package dev.mcpauthz.it.keycloak;

import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What {@link KeycloakServer#createRealm(RealmSpec)} sets up.
 *
 * @param name realm name (letters, digits, '-', '_')
 * @param clients the clients; each gets every scope of {@code scopes} as an optional client scope
 * @param users users with permanent passwords
 * @param scopes OAuth scopes to create as client scopes, e.g. {@code mcp:tools}, {@code repo:read}
 * @param audienceResource the MCP server's canonical resource URI (RFC 8707); every access token
 *     of the realm carries it in {@code aud}, and a token requested with {@code resource=} this URI
 *     carries exactly it. Null: no audience set-up
 * @param accessTokenLifespan access token lifetime; null keeps Keycloak's default (5 minutes)
 */
public record RealmSpec(String name, List<ClientSpec> clients, List<UserSpec> users, List<String> scopes,
    String audienceResource, Duration accessTokenLifespan) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
  private static final Pattern SCOPE = Pattern.compile("[\\x21\\x23-\\x5B\\x5D-\\x7E]+");

  public RealmSpec {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("realm name must match " + NAME + ": " + name);
    }
    if ("master".equals(name)) {
      throw new IllegalArgumentException("the master realm is not a test realm");
    }
    clients = clients == null ? List.of() : List.copyOf(clients);
    users = users == null ? List.of() : List.copyOf(users);
    scopes = scopes == null ? List.of() : List.copyOf(scopes);
    for (String s : scopes) {
      if (!SCOPE.matcher(s).matches()) {
        throw new IllegalArgumentException("not an OAuth scope token: " + s);
      }
    }
    requireUnique(clients.stream().map(ClientSpec::clientId).toList(), "client id");
    requireUnique(users.stream().map(UserSpec::username).toList(), "username");
    requireUnique(scopes, "scope");
    if (audienceResource != null) {
      URI uri = URI.create(audienceResource);
      if (!uri.isAbsolute() || uri.getFragment() != null || uri.getQuery() != null) {
        throw new IllegalArgumentException(
            "RFC 8707 resource must be an absolute URI without query or fragment: " + audienceResource);
      }
      if (clients.stream().anyMatch(c -> c.clientId().equals(audienceResource))) {
        throw new IllegalArgumentException("a client may not use the resource URI as its id: " + audienceResource);
      }
    }
    if (accessTokenLifespan != null && accessTokenLifespan.toSeconds() < 1) {
      throw new IllegalArgumentException("accessTokenLifespan must be at least 1 s: " + accessTokenLifespan);
    }
  }

  private static void requireUnique(List<String> values, String what) {
    var seen = new HashSet<String>();
    for (String v : values) {
      if (!seen.add(v)) {
        throw new IllegalArgumentException("duplicate " + what + ": " + v);
      }
    }
  }
}
