package dev.mcpauthz.it.keycloak;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.AuthzConfig.ClientAuth;
import dev.mcpauthz.config.AuthzConfig.ProviderProfile;
import dev.mcpauthz.telemetry.ProviderMetrics;
import dev.mcpauthz.upstream.Delayer;
import dev.mcpauthz.upstream.ProviderClient;
import dev.mcpauthz.upstream.ProviderContext;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.RefreshRequest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The upstream provider client against a real Keycloak with refresh-token rotation and reuse
 * detection on (revokeRefreshToken, refreshTokenMaxReuse 0): discovery, the RFC 8707 resource on
 * refresh, rotation, and how a reused or revoked refresh token is normalised.
 */
@ExtendWith(KeycloakExtension.class)
class KeycloakProviderClientTest {
  static final String RESOURCE = "https://mcp.example.test/upstream";
  static final String CLIENT = "mcp-authz-upstream";
  static final String SECRET = "upstream-secret";
  static final RealmSpec SPEC = new RealmSpec("provider-client",
      List.of(ClientSpec.confidential(CLIENT, SECRET)),
      List.of(UserSpec.of("carol", "carol-pw"), UserSpec.of("dave", "dave-pw"), UserSpec.of("erin", "erin-pw")),
      List.of("mcp:tools"), RESOURCE, Duration.ofMinutes(5));

  static RealmHandle realm;
  static ScheduledExecutorService scheduler;
  static HttpClient http;
  static ProviderContext context;

  @BeforeAll
  static void setUp(KeycloakServer keycloak) {
    realm = keycloak.createRealm(SPEC);
    scheduler = Executors.newSingleThreadScheduledExecutor();
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    context = new ProviderContext(http, Delayer.on(scheduler, Runnable::run), Clock.systemUTC(),
        () -> ThreadLocalRandom.current().nextDouble(), new ProviderMetrics(new SimpleMeterRegistry()));
  }

  @AfterAll
  static void tearDown() {
    scheduler.shutdownNow();
    http.close();
  }

  private static ProviderClient client(ClientAuth auth, String secret) {
    return new ProviderClient(new AuthzConfig.Provider("keycloak", "Keycloak", ProviderProfile.KEYCLOAK, realm.issuer(),
        true, null, null, null, CLIENT, secret, null, null, auth, true, Duration.ofSeconds(10),
        null, null), context);
  }

  private static RefreshRequest refresh(String refreshToken) {
    return new RefreshRequest("keycloak", refreshToken, URI.create(RESOURCE), List.of(), "it");
  }

  private static RefreshOutcome await(java.util.concurrent.CompletableFuture<RefreshOutcome> f) throws Exception {
    return f.get(60, TimeUnit.SECONDS);
  }

  @Test
  void refreshRotatesAndAReusedRefreshTokenIsRevoked() throws Exception {
    TokenSet first = realm.passwordGrant(CLIENT, SECRET, "carol", "carol-pw", "mcp:tools", RESOURCE);
    ProviderClient client = client(ClientAuth.CLIENT_SECRET_BASIC, SECRET);

    RefreshOutcome outcome = await(client.refresh(refresh(first.refreshToken())));
    assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class, r -> {
      assertThat(r.grant().accessToken()).isNotBlank().isNotEqualTo(first.accessToken());
      assertThat(r.grant().refreshToken()).isNotBlank().isNotEqualTo(first.refreshToken()); // rotated
      assertThat(r.grant().expiresAt()).isAfter(Instant.now().plusSeconds(200));
      assertThat(r.grant().scopes()).contains("mcp:tools");
    });
    assertThat(client.endpoints().get(10, TimeUnit.SECONDS).tokenEndpoint()).isEqualTo(realm.tokenEndpoint());

    // The spent refresh token again: Keycloak's reuse detection answers invalid_grant.
    RefreshOutcome reused = await(client.refresh(refresh(first.refreshToken())));
    // Keycloak 26: "Maximum allowed refresh token reuse exceeded"
    assertThat(reused).isEqualTo(new RefreshOutcome.Revoked("invalid_grant", "refresh_token_reused"));
  }

  @Test
  void revokedSessionIsRevokedAndPostAuthenticationWorks() throws Exception {
    TokenSet tokens = realm.passwordGrant(CLIENT, SECRET, "dave", "dave-pw", "mcp:tools", RESOURCE);
    ProviderClient client = client(ClientAuth.CLIENT_SECRET_POST, SECRET);
    realm.revokeUserSessions("dave");

    RefreshOutcome outcome = await(client.refresh(refresh(tokens.refreshToken())));
    assertThat(outcome).isEqualTo(new RefreshOutcome.Revoked("invalid_grant", "session_not_active"));
  }

  @Test
  void wrongClientSecretIsAMisconfigurationNeverARevocation() throws Exception {
    TokenSet tokens = realm.passwordGrant(CLIENT, SECRET, "erin", "erin-pw", "mcp:tools", RESOURCE);
    RefreshOutcome outcome = await(client(ClientAuth.CLIENT_SECRET_BASIC, "not-the-secret").refresh(refresh(tokens.refreshToken())));
    assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Failed.class,
        f -> assertThat(f.reason()).isEqualTo("client_misconfigured"));
  }
}
