package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.RESOURCE;
import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static dev.mcpauthz.upstream.ProviderTestKit.refresh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.testing.FaultyTokenEndpoint.Recorded;
import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the token endpoint receives for each grant, and how the success response becomes a TokenGrant. */
class ProviderRequestTest {
  @Test
  void refreshSendsGrantTokenResourceAndScopes() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.tokens("at-new", "rt-new", 3600L, "repo read:org"));
      RefreshRequest request = new RefreshRequest("upstream", "rt-old", RESOURCE, List.of("repo", "read:org"), "dec-7");
      RefreshOutcome outcome = await(kit.client().refresh(request));

      Recorded r = kit.endpoint.lastRequest();
      assertThat(r.method()).isEqualTo("POST");
      assertThat(r.param("grant_type")).isEqualTo("refresh_token");
      assertThat(r.param("refresh_token")).isEqualTo("rt-old");
      assertThat(r.form().get("resource")).containsExactly(RESOURCE.toString()); // RFC 8707 §2
      assertThat(r.param("scope")).isEqualTo("repo read:org");
      assertThat(outcome).isEqualTo(new RefreshOutcome.Refreshed(
          new TokenGrant("at-new", "rt-new", kit.clock.instant().plusSeconds(3600), List.of("repo", "read:org")), 1));
    }
  }

  @Test
  void noScopeParameterWhenNoneRequestedAndNoResourceWhenNullOrDisabled() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.tokens("a", null, 60L, null), Reply.tokens("b", null, 60L, null));
      await(kit.client().refresh(new RefreshRequest("upstream", "rt", null, List.of(), "d")));
      assertThat(kit.endpoint.lastRequest().form()).doesNotContainKeys("scope", "resource");

      await(kit.client(s -> s.sendResource = false).refresh(refresh("rt")));
      assertThat(kit.endpoint.lastRequest().form()).doesNotContainKeys("resource");
    }
  }

  @Test
  void noRefreshTokenMeansConsentWithoutCallingTheProvider() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      assertThat(await(kit.client().refresh(new RefreshRequest("upstream", null, RESOURCE, List.of(), "d"))))
          .isEqualTo(new RefreshOutcome.Revoked("invalid_grant", "no_refresh_token"));
      assertThat(kit.endpoint.calls()).isZero();
    }
  }

  @Test
  void missingExpiresInScopeAndRefreshTokenStayNull() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.json(200, "{\"access_token\":\"at\",\"token_type\":\"Bearer\"}"));
      RefreshOutcome outcome = await(kit.client().refresh(refresh("rt")));
      assertThat(outcome).isEqualTo(new RefreshOutcome.Refreshed(new TokenGrant("at", null, null, null), 1));
    }
  }

  @Test
  void unusableSuccessResponsesAreInvalidResponseNotRetriedNotRevoked() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(
          Reply.json(200, "{\"token_type\":\"Bearer\",\"expires_in\":60}"),
          Reply.json(200, "<html>proxy login</html>"),
          Reply.status(302).header("Location", "https://elsewhere/"));
      for (int i = 0; i < 3; i++) {
        RefreshOutcome outcome = await(kit.client().refresh(refresh("rt")));
        assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> {
          assertThat(f.reason()).isEqualTo("invalid_response");
          assertThat(f.retryAfter()).isPositive();
          assertThat(f.attempts()).isEqualTo(1);
        });
      }
      assertThat(kit.endpoint.calls()).isEqualTo(3);
    }
  }

  @Test
  void oversizedResponsesAreRefusedUnread() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      String huge = "{\"access_token\":\"" + "x".repeat(BoundedBody.MAX_BYTES) + "\",\"token_type\":\"Bearer\"}";
      kit.endpoint.enqueue(Reply.json(200, huge));
      assertThat(await(kit.client().refresh(refresh("rt")))).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> {
        assertThat(f.reason()).isEqualTo("invalid_response");
        assertThat(f.attempts()).isEqualTo(1);
      });
      assertThat(kit.endpoint.calls()).isEqualTo(1);
    }
  }

  @Test
  void codeExchangeSendsCodeVerifierRedirectUriAndResource() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.tokens("at", "rt", 600L, "openid"));
      URI redirect = URI.create("https://authz.example.com/oauth/callback");
      ExchangeOutcome outcome = await(kit.client().exchangeCode(
          new CodeExchange("code-123", "verifier-0123456789-0123456789-0123456789-xyz", redirect, RESOURCE, "dec-9")));

      Recorded r = kit.endpoint.lastRequest();
      assertThat(r.param("grant_type")).isEqualTo("authorization_code");
      assertThat(r.param("code")).isEqualTo("code-123");
      assertThat(r.param("code_verifier")).isEqualTo("verifier-0123456789-0123456789-0123456789-xyz");
      assertThat(r.param("redirect_uri")).isEqualTo(redirect.toString());
      assertThat(r.form().get("resource")).containsExactly(RESOURCE.toString());
      assertThat(outcome).isEqualTo(new ExchangeOutcome.Exchanged(
          new TokenGrant("at", "rt", kit.clock.instant().plusSeconds(600), List.of("openid")), 1));
    }
  }

  @Test
  void codeExchangeRejectedWithInvalidGrant() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.error(400, "invalid_grant", "Code not valid"));
      ExchangeOutcome outcome = await(kit.client().exchangeCode(
          new CodeExchange("used", "v".repeat(43), URI.create("https://a/cb"), null, "d")));
      assertThat(outcome).isEqualTo(new ExchangeOutcome.Rejected("invalid_grant", null));
    }
  }

  @Test
  void authorizationEndpointIsKnownWhenConfigured() {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      assertThat(kit.client(s -> s.authorizationEndpoint = URI.create("https://idp/authorize")).authorizationEndpoint())
          .contains(URI.create("https://idp/authorize"));
      assertThat(kit.client().authorizationEndpoint()).isEmpty();
    }
  }
}
