package dev.mcpauthz.it.vault;

import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jwt.SignedJWT;
import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.it.gateway.Gateway;
import dev.mcpauthz.it.keycloak.ClientSpec;
import dev.mcpauthz.it.keycloak.KeycloakExtension;
import dev.mcpauthz.it.keycloak.KeycloakServer;
import dev.mcpauthz.it.keycloak.RealmHandle;
import dev.mcpauthz.it.keycloak.RealmSpec;
import dev.mcpauthz.it.keycloak.TokenSet;
import dev.mcpauthz.it.keycloak.UserSpec;
import dev.mcpauthz.testing.CheckCalls;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.Conditions;
import dev.mcpauthz.testing.MutableClock;
import dev.mcpauthz.testing.Responses;
import dev.mcpauthz.upstream.TokenGrant;
import dev.mcpauthz.vault.CredentialKey;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Refresh-and-inject across three mcp-authz replicas (three real Hazelcast members) with a real
 * Keycloak as the upstream provider. Its realm rotates refresh tokens and detects reuse: a second
 * use of a spent refresh token is refused with invalid_grant. Every token call goes through a
 * counting proxy, and a later refresh cycle must still succeed with the rotated refresh token the
 * vault stored: a lost rotation or a duplicate refresh would surface as consent (revoked).
 */
@ExtendWith(KeycloakExtension.class)
class VaultKeycloakTest {
  static final String MCP = "https://mcp.vault-it.test/mcp";
  static final String UPSTREAM = "https://api.vault-it.test/";
  static final String GATEWAY_CLIENT = "mcp-authz-upstream";
  static final String GATEWAY_SECRET = "upstream-secret";

  static RealmHandle inbound;
  static RealmHandle upstream;

  final List<McpAuthzServer> replicas = new ArrayList<>();
  final List<ManagedChannel> channels = new ArrayList<>();
  TokenEndpointProxy proxy;

  @BeforeAll
  static void realms(KeycloakServer keycloak) {
    // Members join a listed peer at once instead of waiting 5 s each for more to appear.
    System.setProperty("hazelcast.wait.seconds.before.join", "1");
    inbound = keycloak.createRealm(new RealmSpec("vault-inbound", List.of(ClientSpec.confidential("agent", "agent-pw")),
        List.of(UserSpec.of("alice", "alice-pw")), List.of("mcp:tools"), MCP, Duration.ofHours(8)));
    upstream = keycloak.createRealm(new RealmSpec("vault-upstream",
        List.of(ClientSpec.confidential(GATEWAY_CLIENT, GATEWAY_SECRET)),
        List.of(UserSpec.of("alice", "alice-pw")), List.of("repo:read"), UPSTREAM, Duration.ofMinutes(5)));
  }

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    replicas.forEach(McpAuthzServer::close);
    if (proxy != null) {
      proxy.close();
    }
  }

  @Test
  void concurrentChecksOverThreeReplicasRefreshOnceAndKeycloakNeverSeesAReuse() throws Exception {
    MutableClock clock = MutableClock.at(Instant.now());
    startReplicas(3, clock, Duration.ofSeconds(10));
    String client = inboundToken();
    CredentialKey key = keyOf(client);
    TokenSet consented = seed(key, clock);
    assertThat(validUpstreamToken(consented.accessToken())).as("consented token is a valid upstream token").isTrue();

    List<CompletableFuture<CheckResponse>> calls = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      calls.add(check(i % 3, client));
    }
    Set<String> injected = new HashSet<>();
    for (CompletableFuture<CheckResponse> c : calls) {
      CheckResponse r = c.get(60, TimeUnit.SECONDS);
      assertThat(Responses.allowed(r)).as("allowed: %s", r.getStatus()).isTrue();
      injected.add(Responses.okHeader(r, "authorization"));
    }
    assertThat(injected).as("every caller got the one new token").hasSize(1);
    String token = bearer(injected.iterator().next());
    assertThat(token).isNotEqualTo(consented.accessToken());
    assertThat(proxy.forwarded()).as("token-endpoint calls for 300 concurrent Checks").isEqualTo(1);
    assertThat(validUpstreamToken(token)).as("the injected token works upstream").isTrue();

    // A second refresh cycle spends the rotated refresh token: it only succeeds if the first cycle
    // stored the rotation and nobody reused the old one (Keycloak would have ended the session).
    clock.advance(Duration.ofMinutes(10));
    CheckResponse again = check(2, client).get(60, TimeUnit.SECONDS);
    assertThat(Responses.allowed(again)).isTrue();
    String second = bearer(Responses.okHeader(again, "authorization"));
    assertThat(second).isNotEqualTo(token);
    assertThat(proxy.forwarded()).isEqualTo(2);
    assertThat(validUpstreamToken(second)).isTrue();
  }

  @Test
  void replicaKilledMidRefreshIsTakenOverWithoutReuseOrFalseRevocation() throws Exception {
    MutableClock clock = MutableClock.at(Instant.now());
    startReplicas(3, clock, Duration.ofSeconds(1));
    String client = inboundToken();
    CredentialKey key = keyOf(client);
    seed(key, clock);
    awaitBackups(); // the credential has its backup before its primary's member is killed

    TokenEndpointProxy.Hold held = proxy.holdNext();
    CompletableFuture<CheckResponse> onVictim = check(0, client);
    assertThat(held.awaitArrival(Duration.ofSeconds(30))).as("replica 0 started the refresh").isTrue();

    // Kill replica 0 while its refresh request is in flight: its provider client goes first, so the
    // request it leaves behind can never be retried into Keycloak; then its member dies abruptly.
    McpAuthzServer victim = replicas.get(0);
    victim.providers().close();
    victim.hazelcast().getLifecycleService().terminate();
    held.drop();

    CompletableFuture<CheckResponse> onB = check(1, client);
    CompletableFuture<CheckResponse> onC = check(2, client);
    CheckResponse b = onB.get(60, TimeUnit.SECONDS);
    CheckResponse c = onC.get(60, TimeUnit.SECONDS);
    assertThat(Responses.allowed(b)).as("taken over, not consent: %s", Responses.body(b)).isTrue();
    assertThat(Responses.allowed(c)).isTrue();
    assertThat(Responses.okHeader(b, "authorization")).isEqualTo(Responses.okHeader(c, "authorization"));
    assertThat(proxy.received()).as("the killed attempt plus at most one takeover").isEqualTo(2);
    assertThat(proxy.forwarded()).as("Keycloak saw only the takeover").isEqualTo(1);
    String token = bearer(Responses.okHeader(b, "authorization"));
    assertThat(validUpstreamToken(token)).isTrue();
    onVictim.handle((r, e) -> null).get(30, TimeUnit.SECONDS);

    clock.advance(Duration.ofMinutes(10));
    CheckResponse later = check(1, client).get(60, TimeUnit.SECONDS);
    assertThat(Responses.allowed(later)).as("the rotation chain is intact: %s", Responses.body(later)).isTrue();
    assertThat(validUpstreamToken(bearer(Responses.okHeader(later, "authorization")))).isTrue();
  }

  private void startReplicas(int n, MutableClock clock, Duration lease) throws Exception {
    proxy = TokenEndpointProxy.start(upstream.tokenEndpoint());
    String clusterName = "vault-it-" + Long.toHexString(new SecureRandom().nextLong());
    List<Integer> ports = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ports.add(Gateway.freePort());
    }
    String members = ports.stream().map(p -> "\"127.0.0.1:" + p + "\"").reduce((a, b) -> a + ", " + b).orElseThrow();
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    for (int i = 0; i < n; i++) {
      String yaml = """
          grpc: {port: 0, drain_timeout: 1s}
          http: {port: 0}
          issuers:
            - {id: keycloak, issuer: %s, jwks_uri: %s}
          servers:
            - id: demo
              resource: %s
              scopes_supported: [mcp:tools]
              required_scopes: [mcp:tools]
              upstream: {provider: keycloak-up, resource: %s, scopes: [repo:read]}
          providers:
            - id: keycloak-up
              profile: keycloak
              discovery: false
              token_endpoint: %s
              client_id: %s
              client_secret: %s
              retry: {max_attempts: 2, initial_backoff: 50ms}
          cluster: {cluster_name: %s, port: %d, members: [%s]}
          vault:
            keys: [{id: it, secret: %s}]
            lease: %dms
            wait_timeout: 30s
          """.formatted(inbound.issuer(), inbound.jwksUri(), MCP, UPSTREAM, proxy.uri(), GATEWAY_CLIENT, GATEWAY_SECRET,
          clusterName, ports.get(i), members, Base64.getEncoder().encodeToString(key), lease.toMillis());
      AuthzConfig config = ConfigLoader.parse(yaml, "replica-" + i + ".yaml", Map.of(), null);
      McpAuthzServer s = McpAuthzServer.start(config, clock);
      replicas.add(s);
      channels.add(NettyChannelBuilder.forAddress("127.0.0.1", s.grpcPort()).usePlaintext().build());
    }
    for (McpAuthzServer s : replicas) {
      Conditions.waitUntil(Duration.ofSeconds(60), "cluster of " + n + " replicas",
          () -> s.hazelcast().getCluster().getMembers().size() >= n);
    }
    awaitBackups();
  }

  /**
   * Until every partition has its backup: a member killed while the partitions of a cluster that
   * just formed are still migrating can take the only copy of an entry with it (backup_count 1).
   */
  private void awaitBackups() {
    for (McpAuthzServer s : replicas) {
      if (s.hazelcast().getLifecycleService().isRunning()) {
        Conditions.waitUntil(Duration.ofSeconds(60), "partitions backed up",
            () -> s.hazelcast().getPartitionService().isClusterSafe());
      }
    }
  }

  private String inboundToken() {
    return inbound.passwordGrant("agent", "agent-pw", "alice", "alice-pw", "mcp:tools", MCP).accessToken();
  }

  private static CredentialKey keyOf(String clientToken) throws Exception {
    String sub = SignedJWT.parse(clientToken).getJWTClaimsSet().getSubject();
    return new CredentialKey(inbound.issuer(), sub, "demo");
  }

  /**
   * Stands in for the consent flow: real Keycloak tokens for alice, stored as already expired so
   * the next Check must wait for a refresh.
   */
  private TokenSet seed(CredentialKey key, MutableClock clock) throws Exception {
    TokenSet t = upstream.passwordGrant(GATEWAY_CLIENT, GATEWAY_SECRET, "alice", "alice-pw", "repo:read", UPSTREAM);
    TokenGrant grant = new TokenGrant(t.accessToken(), t.refreshToken(), clock.instant().minusSeconds(1),
        List.of("repo:read"));
    AuthzConfig.Upstream up = new AuthzConfig.Upstream("keycloak-up", URI.create(UPSTREAM), List.of("repo:read"));
    replicas.get(1).vault().store(key, up, List.of("repo:read"), grant, "seed").get(30, TimeUnit.SECONDS);
    return t;
  }

  private CompletableFuture<CheckResponse> check(int replica, String token) {
    CheckRequest req = Checks.post("/mcp").contextExtension("mcp_server", "demo").bearer(token)
        .toolsCall(1, "search", "{}").build();
    return CheckCalls.send(AuthorizationGrpc.newStub(channels.get(replica)), req, 60);
  }

  /**
   * An access token Keycloak's upstream realm signed, unexpired, issued for the upstream resource
   * (RFC 8707 audience). Verified with the realm's JWKS.
   */
  private boolean validUpstreamToken(String accessToken) throws Exception {
    var processor = new com.nimbusds.jwt.proc.DefaultJWTProcessor<com.nimbusds.jose.proc.SecurityContext>();
    processor.setJWSKeySelector(new com.nimbusds.jose.proc.JWSVerificationKeySelector<>(
        com.nimbusds.jose.JWSAlgorithm.RS256,
        com.nimbusds.jose.jwk.source.JWKSourceBuilder.create(upstream.jwksUri().toURL()).build()));
    processor.setJWTClaimsSetVerifier(new com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier<>(UPSTREAM,
        new com.nimbusds.jwt.JWTClaimsSet.Builder().issuer(upstream.issuer()).build(), Set.of("exp", "sub")));
    try {
      processor.process(accessToken, null);
      return true;
    } catch (com.nimbusds.jose.proc.BadJOSEException e) {
      System.err.println("upstream token rejected: " + e.getMessage());
      return false;
    }
  }

  private static String bearer(String header) {
    assertThat(header).startsWith("Bearer ");
    return header.substring("Bearer ".length());
  }
}
