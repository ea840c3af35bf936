package dev.mcpauthz.ingress;

import static dev.mcpauthz.testing.Responses.allowed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Shutdown drains in-flight Checks and reports NOT_SERVING to health checks first. */
class GracefulShutdownTest {
  @Test
  void inFlightCheckCompletesDuringShutdown() throws Exception {
    try (TestIssuer issuer = TestIssuer.start()) {
      AuthzHarness authz = AuthzHarness.start(issuer);
      var health = HealthGrpc.newBlockingStub(authz.channel());
      assertThat(health.check(HealthCheckRequest.newBuilder().setService(McpAuthzServer.HEALTH_SERVICE).build()).getStatus())
          .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

      String token = issuer.opaque(Map.of("sub", "dave", "scope", "mcp:tools", "aud", List.of(AuthzHarness.RESOURCE),
          "exp", Instant.now().plusSeconds(600).getEpochSecond()));
      issuer.holdIntrospection();
      CompletableFuture<CheckResponse> inFlight = KeyAndIntrospectionFetchTest.send(authz,
          Checks.post("/mcp").bearer(token).toolsCall(1, "search", "{}"));
      KeyAndIntrospectionFetchTest.waitUntil(() -> issuer.introspectionRequests() == 1);

      CompletableFuture<Void> closing = CompletableFuture.runAsync(() -> authz.server().close());
      // New calls are refused once shutdown started...
      KeyAndIntrospectionFetchTest.waitUntil(() -> {
        try {
          authz.check(Checks.post("/mcp").toolsCall(2, "search", "{}"));
          return false;
        } catch (StatusRuntimeException refused) {
          return true;
        }
      });
      assertThat(closing).isNotDone();
      // ...while the one in flight still gets its answer.
      issuer.releaseIntrospection();
      assertThat(allowed(inFlight.get(10, TimeUnit.SECONDS))).isTrue();
      closing.get(10, TimeUnit.SECONDS);
      assertThatThrownBy(() -> authz.check(Checks.post("/mcp").toolsCall(3, "search", "{}")))
          .isInstanceOf(StatusRuntimeException.class);
      authz.channel().shutdownNow();
    }
  }
}
