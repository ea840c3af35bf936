package dev.mcpauthz.upstream;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.AuthzConfig.ClientAuth;
import dev.mcpauthz.config.AuthzConfig.ProviderProfile;
import dev.mcpauthz.telemetry.ProviderMetrics;
import dev.mcpauthz.testing.FaultyTokenEndpoint;
import dev.mcpauthz.testing.MutableClock;
import dev.mcpauthz.testing.RecordingDelayer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A provider client against a {@link FaultyTokenEndpoint}, on a {@link MutableClock} whose
 * {@link RecordingDelayer} runs retries instantly and records their delays. Jitter is fixed at
 * 0.5, so backoff delays are half their cap.
 */
final class ProviderTestKit implements AutoCloseable {
  static final String CLIENT_ID = "mcp-authz-client";
  static final String CLIENT_SECRET = "cl1ent-s3cret-Value";
  static final URI RESOURCE = URI.create("https://mcp.example.com/github");

  final FaultyTokenEndpoint endpoint;
  final MutableClock clock = MutableClock.start();
  final RecordingDelayer delayer = new RecordingDelayer(clock);
  final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  final ProviderContext context;

  ProviderTestKit() {
    endpoint = FaultyTokenEndpoint.start(clock);
    context = new ProviderContext(http, delayer, clock, () -> 0.5, new ProviderMetrics(meters));
  }

  /** Editable provider settings; defaults: explicit token endpoint, client_secret_basic, 4 attempts. */
  static final class Settings {
    String id = "upstream";
    ProviderProfile profile = ProviderProfile.RFC6749;
    String issuer;
    Boolean discovery = false;
    URI tokenEndpoint;
    URI authorizationEndpoint;
    String clientId = CLIENT_ID;
    String clientSecret = CLIENT_SECRET;
    Path clientSecretFile;
    Path privateKeyFile;
    ClientAuth clientAuth = ClientAuth.CLIENT_SECRET_BASIC;
    boolean sendResource = true;
    Duration timeout = Duration.ofSeconds(5);
    int maxAttempts = 4;
    Duration initialBackoff = Duration.ofMillis(200);
    Duration maxBackoff = Duration.ofSeconds(5);
    Duration maxTotal = Duration.ofSeconds(20);
    int failureThreshold = 5;
    Duration openFor = Duration.ofSeconds(30);

    AuthzConfig.Provider build() {
      return new AuthzConfig.Provider(id, "Upstream", profile, issuer, discovery, authorizationEndpoint, tokenEndpoint,
          null, clientId, clientSecret, clientSecretFile, privateKeyFile, clientAuth, sendResource, timeout,
          new AuthzConfig.Retry(maxAttempts, initialBackoff, maxBackoff, maxTotal),
          new AuthzConfig.CircuitBreaker(failureThreshold, openFor));
    }
  }

  Settings settings() {
    Settings s = new Settings();
    s.tokenEndpoint = endpoint.tokenEndpoint();
    s.issuer = endpoint.issuer();
    return s;
  }

  ProviderClient client() {
    return client(s -> { });
  }

  ProviderClient client(Consumer<Settings> edit) {
    Settings s = settings();
    edit.accept(s);
    return new ProviderClient(s.build(), context);
  }

  static RefreshRequest refresh(String refreshToken) {
    return new RefreshRequest("upstream", refreshToken, RESOURCE, List.of(), "dec-1");
  }

  static <T> T await(java.util.concurrent.CompletableFuture<T> f) throws Exception {
    return f.get(30, TimeUnit.SECONDS);
  }

  double counter(String outcome, String reason) {
    var c = meters.find("mcp.authz.provider.token.requests").tag("outcome", outcome).tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  @Override
  public void close() {
    endpoint.close();
    http.close();
  }
}
