package dev.mcpauthz.ingress;

import static dev.mcpauthz.testing.Responses.allowed;
import static dev.mcpauthz.testing.Responses.deniedHeader;
import static dev.mcpauthz.testing.Responses.httpStatus;
import static dev.mcpauthz.testing.Responses.metadata;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.RSAKey;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.CheckCalls;
import dev.mcpauthz.testing.Conditions;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Network behaviour towards the IdP: single-flight, rate limits, caching and outages. */
class KeyAndIntrospectionFetchTest {
  static final String AUD = AuthzHarness.RESOURCE;

  private static String withMinRefetch(TestIssuer issuer, String interval) {
    return AuthzHarness.defaultYaml(issuer).replace("jwks_min_refetch_interval: 1s", "jwks_min_refetch_interval: " + interval);
  }

  @Test
  void unknownKidTriggersOneRefetchSharedByAllConcurrentCallers() throws Exception {
    try (TestIssuer issuer = TestIssuer.start(); AuthzHarness authz = AuthzHarness.start(withMinRefetch(issuer, "0s"))) {
      // Warm up: first fetch done and a token verified.
      assertThat(allowed(authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD)).toolsCall(0, "search", "{}")))).isTrue();
      int before = issuer.jwksRequests();
      issuer.rotate("k2");
      issuer.holdJwks();
      List<CompletableFuture<CheckResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        calls.add(send(authz, Checks.post("/mcp").bearer(issuer.mint(AUD, c -> c.subject("user-" + Math.random()))).toolsCall(1, "search", "{}")));
      }
      // Every call is parked on the same fetch; exactly one reached the IdP.
      waitUntil(() -> issuer.jwksRequests() - before >= 1);
      issuer.releaseJwks();
      for (CompletableFuture<CheckResponse> c : calls) {
        assertThat(allowed(c.get(10, TimeUnit.SECONDS))).isTrue();
      }
      assertThat(issuer.jwksRequests() - before).isEqualTo(1);
    }
  }

  @Test
  void floodOfUnknownKidsIsRateLimited() {
    try (TestIssuer issuer = TestIssuer.start(); AuthzHarness authz = AuthzHarness.start(withMinRefetch(issuer, "1h"))) {
      assertThat(allowed(authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD)).toolsCall(0, "search", "{}")))).isTrue();
      int before = issuer.jwksRequests();
      RSAKey rogue = issuer.unpublishedKey("rogue");
      for (int i = 0; i < 30; i++) {
        String token = TestIssuer.sign(rogue, new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rogue-" + i).build(),
            HostileInputCheckTest.claims(issuer, AUD).build());
        CheckResponse r = authz.check(Checks.post("/mcp").bearer(token).toolsCall(1, "search", "{}"));
        assertThat(metadata(r, "reason")).isEqualTo("unknown_key");
      }
      assertThat(issuer.jwksRequests() - before).isZero();
    }
  }

  @Test
  void idpOutageIsServiceUnavailableNotReauthentication() {
    try (TestIssuer issuer = TestIssuer.start()) {
      issuer.failJwks(500);
      try (AuthzHarness authz = AuthzHarness.start(issuer)) {
        CheckResponse r = authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD)).toolsCall(1, "search", "{}"));
        assertThat(allowed(r)).isFalse();
        assertThat(httpStatus(r)).isEqualTo(503);
        assertThat(deniedHeader(r, "retry-after")).isEqualTo("5");
        assertThat(deniedHeader(r, "www-authenticate")).isNull();
        assertThat(metadata(r, "reason")).isEqualTo("idp_unavailable");

        issuer.failJwks(200);
        waitUntil(() -> allowed(authz.check(Checks.post("/mcp").bearer(issuer.mint(AUD)).toolsCall(1, "search", "{}"))));
      }
    }
  }

  @Test
  void concurrentChecksOfOneOpaqueTokenShareOneIntrospection() throws Exception {
    try (TestIssuer issuer = TestIssuer.start(); AuthzHarness authz = AuthzHarness.start(issuer)) {
      String token = issuer.opaque(Map.of("sub", "carol", "scope", "mcp:tools", "aud", List.of(AUD),
          "exp", Instant.now().plusSeconds(600).getEpochSecond()));
      issuer.holdIntrospection();
      List<CompletableFuture<CheckResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        calls.add(send(authz, Checks.post("/mcp").bearer(token).toolsCall(i, "search", "{}")));
      }
      waitUntil(() -> issuer.introspectionRequests() >= 1);
      issuer.releaseIntrospection();
      for (CompletableFuture<CheckResponse> c : calls) {
        assertThat(allowed(c.get(10, TimeUnit.SECONDS))).isTrue();
      }
      assertThat(issuer.introspectionRequests()).isEqualTo(1);
    }
  }

  @Test
  void revokedOpaqueTokenIsNotCachedLongerThanNegativeTtl() {
    try (TestIssuer issuer = TestIssuer.start(); AuthzHarness authz = AuthzHarness.start(issuer)) {
      CheckResponse r = authz.check(Checks.post("/mcp").bearer("unknown-opaque-token").toolsCall(1, "search", "{}"));
      assertThat(metadata(r, "reason")).isEqualTo("inactive");
      assertThat(httpStatus(r)).isEqualTo(401);
      int before = issuer.introspectionRequests();
      authz.check(Checks.post("/mcp").bearer("unknown-opaque-token").toolsCall(1, "search", "{}"));
      assertThat(issuer.introspectionRequests()).as("negative result cached").isEqualTo(before);
    }
  }

  static CompletableFuture<CheckResponse> send(AuthzHarness authz, Checks request) {
    return CheckCalls.send(authz.asyncStub(), request.build(), 20);
  }

  static void waitUntil(java.util.function.BooleanSupplier condition) {
    Conditions.waitUntil(condition);
  }

}
