package dev.mcpauthz.it.keycloak;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.oauth2.sdk.ErrorObject;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.ResourceOwnerPasswordCredentialsGrant;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.http.HTTPRequest;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.token.AccessToken;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The few Keycloak Admin REST API calls the harness needs, over java.net.http and Jackson (no
 * admin-client dependency). The admin token comes from a Nimbus password grant on the master
 * realm's {@code admin-cli} client and is fetched again shortly before it expires (master realm
 * access tokens live 60 s).
 */
final class KeycloakAdmin {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

  private final URI baseUri;
  private final String username;
  private final String password;
  private final HttpClient http;
  private String accessToken;
  private Instant accessTokenRenewAt = Instant.MIN;

  KeycloakAdmin(URI baseUri, String username, String password) {
    this.baseUri = baseUri;
    this.username = username;
    this.password = password;
    this.http = HttpClient.newBuilder()
        .connectTimeout(Duration.ofSeconds(5))
        .followRedirects(HttpClient.Redirect.NEVER)
        .version(HttpClient.Version.HTTP_1_1)
        .build();
  }

  static ObjectNode object() {
    return JSON.createObjectNode();
  }

  static ArrayNode array(Iterable<String> values) {
    ArrayNode a = JSON.createArrayNode();
    values.forEach(a::add);
    return a;
  }

  static String encode(String pathSegment) {
    return URLEncoder.encode(pathSegment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  // ---------------------------------------------------------------- realm-level operations

  boolean realmExists(String realm) {
    return send("GET", "/admin/realms/" + encode(realm), null, 200, 404).status() == 200;
  }

  void deleteRealm(String realm) {
    send("DELETE", "/admin/realms/" + encode(realm), null, 204, 404);
  }

  void createRealm(ObjectNode representation) {
    send("POST", "/admin/realms", representation, 201);
  }

  void updateRealm(String realm, ObjectNode partialRepresentation) {
    send("PUT", "/admin/realms/" + encode(realm), partialRepresentation, 204);
  }

  /** Creates a client scope and returns its id. */
  String createClientScope(String realm, ObjectNode representation) {
    return idFromLocation(send("POST", realmPath(realm) + "/client-scopes", representation, 201));
  }

  /** Links a client scope to every client created afterwards, as a default or an optional scope. */
  void addRealmDefaultClientScope(String realm, String scopeId, boolean optional) {
    String kind = optional ? "default-optional-client-scopes" : "default-default-client-scopes";
    send("PUT", realmPath(realm) + "/" + kind + "/" + encode(scopeId), null, 204);
  }

  /** Creates a client and returns its internal id. */
  String createClient(String realm, ObjectNode representation) {
    return idFromLocation(send("POST", realmPath(realm) + "/clients", representation, 201));
  }

  /** Creates a user and returns its id. */
  String createUser(String realm, ObjectNode representation) {
    return idFromLocation(send("POST", realmPath(realm) + "/users", representation, 201));
  }

  Optional<String> findUserId(String realm, String username) {
    JsonNode users = send("GET", realmPath(realm) + "/users?exact=true&username=" + encode(username), null, 200)
        .json();
    for (JsonNode u : users) {
      if (username.equalsIgnoreCase(u.path("username").asText())) {
        return Optional.of(u.path("id").asText());
      }
    }
    return Optional.empty();
  }

  /** Deletes the user's consent to a client (by client id); 404 (no consent, no offline token) is fine. */
  void revokeConsent(String realm, String userId, String clientId) {
    send("DELETE", realmPath(realm) + "/users/" + encode(userId) + "/consents/" + encode(clientId), null, 204, 404);
  }

  void logoutUser(String realm, String userId) {
    send("POST", realmPath(realm) + "/users/" + encode(userId) + "/logout", null, 204);
  }

  /** Fetches an admin token now: proves the bootstrap admin can log in. */
  void checkLogin() {
    token();
  }

  // ---------------------------------------------------------------- plumbing

  private static String realmPath(String realm) {
    return "/admin/realms/" + encode(realm);
  }

  private record Response(int status, String body, Optional<String> location) {
    JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private static String idFromLocation(Response r) {
    String location = r.location().orElseThrow(() -> new IllegalStateException("Keycloak sent no Location header"));
    return location.substring(location.lastIndexOf('/') + 1);
  }

  private Response send(String method, String path, JsonNode body, int... expected) {
    HttpRequest.Builder b = HttpRequest.newBuilder(baseUri.resolve(path))
        .timeout(REQUEST_TIMEOUT)
        .header("Authorization", "Bearer " + token())
        .header("Accept", "application/json");
    if (body != null) {
      b.header("Content-Type", "application/json");
      b.method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> resp;
    try {
      resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException("Keycloak admin API " + method + " " + path + " failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted during Keycloak admin API call", e);
    }
    for (int ok : expected) {
      if (resp.statusCode() == ok) {
        return new Response(resp.statusCode(), resp.body(), resp.headers().firstValue("Location"));
      }
    }
    throw new IllegalStateException("Keycloak admin API " + method + " " + path + " answered HTTP "
        + resp.statusCode() + ": " + abbreviate(resp.body()));
  }

  private static String abbreviate(String s) {
    return s == null ? "" : s.length() <= 500 ? s : s.substring(0, 500) + "...";
  }

  private synchronized String token() {
    Instant now = Instant.now();
    if (accessToken != null && now.isBefore(accessTokenRenewAt)) {
      return accessToken;
    }
    URI endpoint = baseUri.resolve("/realms/master/protocol/openid-connect/token");
    TokenRequest request = new TokenRequest.Builder(endpoint, new ClientID("admin-cli"),
        new ResourceOwnerPasswordCredentialsGrant(username, new Secret(password))).build();
    HTTPRequest httpRequest = request.toHTTPRequest();
    httpRequest.setConnectTimeout(5_000);
    httpRequest.setReadTimeout(60_000);
    TokenResponse response;
    try {
      response = TokenResponse.parse(httpRequest.send());
    } catch (IOException e) {
      throw new UncheckedIOException("Keycloak admin login failed", e);
    } catch (ParseException e) {
      throw new IllegalStateException("unparseable token response from Keycloak's master realm", e);
    }
    if (!response.indicatesSuccess()) {
      ErrorObject error = response.toErrorResponse().getErrorObject();
      throw new IllegalStateException("Keycloak admin login as '" + username + "' failed: " + error.getCode()
          + " " + error.getDescription() + " (a data directory from another set-up? delete target/keycloak-data)");
    }
    AccessToken at = response.toSuccessResponse().getTokens().getAccessToken();
    long lifetime = at.getLifetime() > 0 ? at.getLifetime() : 60;
    accessToken = at.getValue();
    accessTokenRenewAt = now.plusSeconds(Math.max(1, lifetime - 15));
    return accessToken;
  }
}
