package dev.mcpauthz.it.keycloak;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(KeycloakExtension.class)
class KeycloakServerTest {

  static final String RESOURCE = "https://mcp.example.test/mcp";
  static final String CONFIDENTIAL = "mcp-gateway";
  static final String SECRET = "gateway-secret";
  static final String PUBLIC = "mcp-cli";

  static final RealmSpec SPEC = new RealmSpec("harness",
      List.of(ClientSpec.confidential(CONFIDENTIAL, SECRET), ClientSpec.publicPkce(PUBLIC)),
      List.of(UserSpec.of("alice", "alice-pw"), UserSpec.of("bob", "bob-pw")),
      List.of("mcp:tools", "repo:read"),
      RESOURCE,
      Duration.ofMinutes(5));

  static final HttpClient HTTP = HttpClient.newHttpClient();
  static final ObjectMapper JSON = new ObjectMapper();

  static RealmHandle realm;

  @BeforeAll
  static void createRealm(KeycloakServer keycloak) {
    realm = keycloak.createRealm(SPEC);
  }

  @Test
  void runsOnLoopbackWithHealthAndDiscovery(KeycloakServer keycloak) throws Exception {
    assertThat(keycloak).isSameAs(KeycloakServer.shared());
    assertThat(keycloak.baseUri().getHost()).isEqualTo("127.0.0.1");
    assertThat(keycloak.isRunning()).isTrue();
    assertThat(get(keycloak.managementUri().resolve("/health/ready")).statusCode()).isEqualTo(200);

    JsonNode discovery = JSON.readTree(get(realm.discoveryUri()).body());
    assertThat(discovery.path("issuer").asText()).isEqualTo(realm.issuer())
        .isEqualTo(keycloak.baseUri() + "/realms/harness");
    assertThat(URI.create(discovery.path("jwks_uri").asText())).isEqualTo(realm.jwksUri());
    assertThat(URI.create(discovery.path("token_endpoint").asText())).isEqualTo(realm.tokenEndpoint());

    assertThat(keycloak.createRealm(SPEC)).as("createRealm is idempotent by name").isSameAs(realm);
    assertThat(Files.size(keycloak.logFile())).as("Keycloak logs to a file").isPositive();
  }

  @Test
  void passwordGrantWithResourceIsBoundToTheResource() throws Exception {
    TokenSet tokens = realm.passwordGrant(CONFIDENTIAL, SECRET, "alice", "alice-pw", "mcp:tools repo:read", RESOURCE);

    JWTClaimsSet claims = verify(tokens.accessToken());
    assertThat(claims.getIssuer()).isEqualTo(realm.issuer());
    assertThat(claims.getAudience()).as("RFC 8707: aud is exactly the requested resource").containsExactly(RESOURCE);
    assertThat(claims.getStringClaim("azp")).isEqualTo(CONFIDENTIAL);
    assertThat(claims.getStringClaim("preferred_username")).isEqualTo("alice");
    assertThat(scopes(claims)).contains("mcp:tools", "repo:read");
    assertThat(tokens.scope().split(" ")).contains("mcp:tools", "repo:read");
    assertThat(tokens.expiresIn()).isEqualTo(Duration.ofMinutes(5));
    assertThat(tokens.refreshToken()).isNotNull();
    assertThat(tokens.toString()).doesNotContain(tokens.accessToken()).doesNotContain(tokens.refreshToken());
  }

  @Test
  void publicPkceClientGetsTheSameAudience() throws Exception {
    TokenSet tokens = realm.passwordGrant(PUBLIC, null, "bob", "bob-pw", "mcp:tools", RESOURCE);

    JWTClaimsSet claims = verify(tokens.accessToken());
    assertThat(claims.getAudience()).containsExactly(RESOURCE);
    assertThat(claims.getStringClaim("azp")).isEqualTo(PUBLIC);
    assertThat(scopes(claims)).contains("mcp:tools").doesNotContain("repo:read");
  }

  @Test
  void withoutResourceTheAudienceMapperStillNamesTheResource() throws Exception {
    TokenSet tokens = realm.passwordGrant(CONFIDENTIAL, SECRET, "alice", "alice-pw", null, null);

    JWTClaimsSet claims = verify(tokens.accessToken());
    assertThat(claims.getAudience()).contains(RESOURCE);
    assertThat(scopes(claims)).doesNotContain("mcp:tools", "repo:read");
  }

  @Test
  void anUnknownResourceIsRejected() {
    assertThatThrownBy(() -> realm.passwordGrant(CONFIDENTIAL, SECRET, "alice", "alice-pw", "mcp:tools",
        "https://other.example.test/mcp"))
        .isInstanceOfSatisfying(KeycloakTokenException.class, e -> assertThat(e.error()).isEqualTo("invalid_target"));
  }

  @Test
  void refreshRotatesAndASpentRefreshTokenFails() throws Exception {
    TokenSet first = realm.passwordGrant(CONFIDENTIAL, SECRET, "alice", "alice-pw", "mcp:tools", RESOURCE);

    TokenSet second = realm.refresh(CONFIDENTIAL, SECRET, first.refreshToken(), RESOURCE);
    assertThat(second.refreshToken()).isNotEqualTo(first.refreshToken());
    JWTClaimsSet claims = verify(second.accessToken());
    assertThat(claims.getAudience()).containsExactly(RESOURCE);
    assertThat(scopes(claims)).contains("mcp:tools");

    assertThatThrownBy(() -> realm.refresh(CONFIDENTIAL, SECRET, first.refreshToken(), RESOURCE))
        .as("second use of the rotated-out refresh token")
        .isInstanceOfSatisfying(KeycloakTokenException.class, e -> assertThat(e.error()).isEqualTo("invalid_grant"));
    // Keycloak answers the replay by ending the client session: the newer refresh token is dead too
    assertThatThrownBy(() -> realm.refresh(CONFIDENTIAL, SECRET, second.refreshToken(), RESOURCE))
        .isInstanceOfSatisfying(KeycloakTokenException.class, e -> assertThat(e.error()).isEqualTo("invalid_grant"));
  }

  @Test
  void aRefreshWithoutResourceKeepsTheBoundResource() throws Exception {
    TokenSet first = realm.passwordGrant(PUBLIC, null, "alice", "alice-pw", "mcp:tools", RESOURCE);

    TokenSet second = realm.refresh(PUBLIC, null, first.refreshToken(), null);

    assertThat(verify(second.accessToken()).getAudience()).containsExactly(RESOURCE);
  }

  @Test
  void aRefreshCannotChangeTheResource() {
    TokenSet bound = realm.passwordGrant(CONFIDENTIAL, SECRET, "alice", "alice-pw", "mcp:tools", RESOURCE);
    assertThatThrownBy(() -> realm.refresh(CONFIDENTIAL, SECRET, bound.refreshToken(), "https://other.example.test/mcp"))
        .isInstanceOfSatisfying(KeycloakTokenException.class, e -> assertThat(e.error()).isEqualTo("invalid_target"));

    TokenSet unbound = realm.passwordGrant(CONFIDENTIAL, SECRET, "alice", "alice-pw", "mcp:tools", null);
    assertThatThrownBy(() -> realm.refresh(CONFIDENTIAL, SECRET, unbound.refreshToken(), RESOURCE))
        .isInstanceOfSatisfying(KeycloakTokenException.class, e -> assertThat(e.error()).isEqualTo("invalid_target"));
  }

  @Test
  void revokedSessionsCannotRefresh() {
    TokenSet tokens = realm.passwordGrant(PUBLIC, null, "bob", "bob-pw", "mcp:tools", RESOURCE);

    realm.revokeUserSessions("bob");

    assertThatThrownBy(() -> realm.refresh(PUBLIC, null, tokens.refreshToken(), RESOURCE))
        .isInstanceOfSatisfying(KeycloakTokenException.class, e -> assertThat(e.error()).isEqualTo("invalid_grant"));
  }

  @Test
  void accessTokenLifespanCanChange() throws Exception {
    try {
      realm.setAccessTokenLifespan(Duration.ofSeconds(42));

      TokenSet tokens = realm.passwordGrant(CONFIDENTIAL, SECRET, "bob", "bob-pw", null, RESOURCE);
      assertThat(tokens.expiresIn()).isEqualTo(Duration.ofSeconds(42));
      JWTClaimsSet claims = verify(tokens.accessToken());
      assertThat(claims.getExpirationTime().getTime() - claims.getIssueTime().getTime()).isEqualTo(42_000);
    } finally {
      realm.setAccessTokenLifespan(SPEC.accessTokenLifespan());
    }
    assertThat(realm.passwordGrant(CONFIDENTIAL, SECRET, "bob", "bob-pw", null, RESOURCE).expiresIn())
        .isEqualTo(SPEC.accessTokenLifespan());
  }

  @Test
  @Timeout(180)
  void closeStopsTheWholeProcessTree() throws Exception {
    KeycloakServer isolated = KeycloakServer.startIsolated();
    List<ProcessHandle> tree;
    int port = isolated.baseUri().getPort();
    Path dataDir;
    try {
      assertThat(isolated).isNotSameAs(KeycloakServer.shared());
      assertThat(get(isolated.managementUri().resolve("/health/ready")).statusCode()).isEqualTo(200);
      tree = isolated.processTree();
      assertThat(tree).as("watchdog shell, kc.sh, Keycloak JVM").hasSizeGreaterThanOrEqualTo(3);
      assertThat(tree).anySatisfy(h -> assertThat(h.info().command().orElse("")).endsWith("java"));
      assertThat(tree).allMatch(ProcessHandle::isAlive);
      dataDir = isolated.dataDirectory();
      assertThat(dataDir).isDirectory();
    } finally {
      isolated.close();
    }
    assertThat(tree).noneMatch(ProcessHandle::isAlive);
    assertThat(isolated.isRunning()).isFalse();
    assertThat(canConnect(port)).as("port %d closed", port).isFalse();
    assertThat(dataDir).doesNotExist();
    assertThatThrownBy(() -> isolated.createRealm(SPEC)).isInstanceOf(IllegalStateException.class);
    isolated.close(); // idempotent
  }

  // ------------------------------------------------------------------------------------ helpers

  /** Verifies the signature against the realm's JWKS and checks iss and exp. */
  static JWTClaimsSet verify(String accessToken) throws Exception {
    RealmHandle r = realm;
    JWKSource<SecurityContext> keys = JWKSourceBuilder.create(r.jwksUri().toURL()).retrying(false).build();
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.RS256, keys));
    processor.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(
        new JWTClaimsSet.Builder().issuer(r.issuer()).build(), Set.of("sub", "exp", "iat", "aud")));
    JWTClaimsSet claims = processor.process(SignedJWT.parse(accessToken), null);
    assertThat(SignedJWT.parse(accessToken).getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
    return claims;
  }

  static List<String> scopes(JWTClaimsSet claims) throws Exception {
    String scope = claims.getStringClaim("scope");
    return scope == null ? List.of() : List.of(scope.split(" "));
  }

  static HttpResponse<String> get(URI uri) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static boolean canConnect(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (Exception e) {
      return false;
    }
  }
}
