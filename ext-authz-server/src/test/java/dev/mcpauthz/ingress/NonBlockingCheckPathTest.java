package dev.mcpauthz.ingress;

import static dev.mcpauthz.testing.Responses.allowed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * With a single gRPC handler thread, a Check waiting on the IdP (introspection held open) must not
 * stop other Checks: waiting happens off the gRPC threads.
 */
class NonBlockingCheckPathTest {
  @Test
  void checkWaitingOnIdpDoesNotHoldTheOnlyHandlerThread() throws Exception {
    try (TestIssuer issuer = TestIssuer.start();
        AuthzHarness authz = AuthzHarness.start(AuthzHarness.defaultYaml(issuer)
            .replace("grpc: {port: 0, drain_timeout: 5s}", "grpc: {port: 0, drain_timeout: 5s, executor_threads: 1}"))) {
      assertThat(allowed(authz.check(Checks.post("/mcp").bearer(issuer.mint(AuthzHarness.RESOURCE)).toolsCall(0, "search", "{}")))).isTrue();
      String opaque = issuer.opaque(Map.of("sub", "erin", "scope", "mcp:tools", "aud", List.of(AuthzHarness.RESOURCE),
          "exp", Instant.now().plusSeconds(600).getEpochSecond()));
      issuer.holdIntrospection();
      CompletableFuture<CheckResponse> waiting = new CompletableFuture<>();
      for (int i = 0; i < 4; i++) {
        var f = KeyAndIntrospectionFetchTest.send(authz, Checks.post("/mcp").bearer(opaque).toolsCall(i, "search", "{}"));
        if (i == 0) {
          f.whenComplete((r, e) -> waiting.complete(r));
        }
      }
      KeyAndIntrospectionFetchTest.waitUntil(() -> issuer.introspectionRequests() == 1);

      for (int i = 0; i < 20; i++) {
        CheckResponse r = authz.check(Checks.post("/mcp").bearer(issuer.mint(AuthzHarness.RESOURCE)).toolsCall(i, "search", "{}"));
        assertThat(allowed(r)).isTrue();
      }
      assertThat(waiting).as("introspection still held").isNotDone();
      issuer.releaseIntrospection();
      assertThat(allowed(waiting.get(10, TimeUnit.SECONDS))).isTrue();
    }
  }
}
