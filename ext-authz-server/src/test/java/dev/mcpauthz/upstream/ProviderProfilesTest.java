package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static dev.mcpauthz.upstream.ProviderTestKit.refresh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.config.AuthzConfig.ProviderProfile;
import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Recorded token-endpoint responses per provider profile (shapes as the providers document them;
 * values are our own) and the outcome each must normalise to (docs/providers.md).
 */
class ProviderProfilesTest {
  private static final Duration MISCONFIGURED = ErrorProfile.MISCONFIGURED_RETRY_AFTER;

  static Stream<Arguments> recorded() {
    return Stream.of(
        // RFC 6749 §5.2
        Arguments.of(ProviderProfile.RFC6749, Reply.error(400, "invalid_grant", "refresh token expired"),
            new RefreshOutcome.Revoked("invalid_grant", null)),
        Arguments.of(ProviderProfile.RFC6749, Reply.error(400, "invalid_scope", "scope exceeds the original grant"),
            new RefreshOutcome.Revoked("invalid_scope", null)),
        Arguments.of(ProviderProfile.RFC6749, Reply.error(401, "invalid_client", "client authentication failed")
                .header("WWW-Authenticate", "Basic realm=\"token\""),
            new RefreshOutcome.Failed("client_misconfigured", MISCONFIGURED, 1)),
        Arguments.of(ProviderProfile.RFC6749, Reply.error(400, "unauthorized_client", "refresh_token grant not allowed"),
            new RefreshOutcome.Failed("client_misconfigured", MISCONFIGURED, 1)),
        Arguments.of(ProviderProfile.RFC6749, Reply.status(401),
            new RefreshOutcome.Failed("client_misconfigured", MISCONFIGURED, 1)),
        // Keycloak: every dead-session variant is invalid_grant, told apart by the description
        Arguments.of(ProviderProfile.KEYCLOAK, Reply.error(400, "invalid_grant", "Token is not active"),
            new RefreshOutcome.Revoked("invalid_grant", "token_not_active")),
        Arguments.of(ProviderProfile.KEYCLOAK, Reply.error(400, "invalid_grant", "Session not active"),
            new RefreshOutcome.Revoked("invalid_grant", "session_not_active")),
        Arguments.of(ProviderProfile.KEYCLOAK, Reply.error(400, "invalid_grant", "Stale token"),
            new RefreshOutcome.Revoked("invalid_grant", "stale_token")),
        Arguments.of(ProviderProfile.KEYCLOAK, Reply.error(400, "invalid_grant", "Maximum allowed refresh token reuse exceeded"),
            new RefreshOutcome.Revoked("invalid_grant", "refresh_token_reused")),
        Arguments.of(ProviderProfile.KEYCLOAK, Reply.error(400, "invalid_grant", "Something new in Keycloak 27"),
            new RefreshOutcome.Revoked("invalid_grant", null)),
        Arguments.of(ProviderProfile.KEYCLOAK, Reply.error(401, "unauthorized_client", "Invalid client or Invalid client credentials"),
            new RefreshOutcome.Failed("client_misconfigured", MISCONFIGURED, 1)),
        // GitHub: HTTP 200 with an error body, JSON (Accept: application/json) or form-encoded
        Arguments.of(ProviderProfile.GITHUB, Reply.json(200, """
            {"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired.",\
            "error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-refresh-token"}"""),
            new RefreshOutcome.Revoked("invalid_grant", "bad_refresh_token")),
        Arguments.of(ProviderProfile.GITHUB, Reply.form(200,
                "error=bad_refresh_token&error_description=The+refresh+token+passed+is+incorrect+or+expired."),
            new RefreshOutcome.Revoked("invalid_grant", "bad_refresh_token")),
        Arguments.of(ProviderProfile.GITHUB, Reply.json(200, """
            {"error":"incorrect_client_credentials","error_description":"The client_id and/or client_secret passed are incorrect."}"""),
            new RefreshOutcome.Failed("client_misconfigured", MISCONFIGURED, 1)),
        // Entra ID: AADSTS codes in error_codes and in the description
        Arguments.of(ProviderProfile.ENTRA, entra(400, "invalid_grant", 70008,
                "The provided authorization code or refresh token has expired due to inactivity."),
            new RefreshOutcome.Revoked("invalid_grant", "AADSTS70008")),
        Arguments.of(ProviderProfile.ENTRA, entra(400, "invalid_grant", 700082,
                "The refresh token has expired due to inactivity. The token was issued on 2026-08-01T10:00:00Z and was inactive for 90.00:00:00."),
            new RefreshOutcome.Revoked("invalid_grant", "AADSTS700082")),
        Arguments.of(ProviderProfile.ENTRA, entra(400, "invalid_grant", 50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed."),
            new RefreshOutcome.Revoked("invalid_grant", "AADSTS50173")),
        Arguments.of(ProviderProfile.ENTRA, entra(400, "invalid_grant", 54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."),
            new RefreshOutcome.Revoked("invalid_grant", "AADSTS54005")),
        Arguments.of(ProviderProfile.ENTRA, entra(400, "invalid_grant", 50076,
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication."),
            new RefreshOutcome.Revoked("interaction_required", "AADSTS50076")),
        Arguments.of(ProviderProfile.ENTRA, entra(400, "interaction_required", 50079,
                "Due to a configuration change made by your administrator, you must enroll in multi-factor authentication."),
            new RefreshOutcome.Revoked("interaction_required", "AADSTS50079")),
        Arguments.of(ProviderProfile.ENTRA, entra(401, "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value."),
            new RefreshOutcome.Failed("client_misconfigured", MISCONFIGURED, 1)),
        // description only (no error_codes member)
        Arguments.of(ProviderProfile.ENTRA, Reply.error(400, "invalid_grant",
                "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity."),
            new RefreshOutcome.Revoked("invalid_grant", "AADSTS70008")),
        // Google: non-rotating refresh tokens; one invalid_grant for expired and revoked
        Arguments.of(ProviderProfile.GOOGLE, Reply.json(400, """
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"""),
            new RefreshOutcome.Revoked("invalid_grant", null)),
        Arguments.of(ProviderProfile.GOOGLE, Reply.json(401, """
            {"error": "invalid_client", "error_description": "The OAuth client was not found."}"""),
            new RefreshOutcome.Failed("client_misconfigured", MISCONFIGURED, 1)));
  }

  @ParameterizedTest(name = "{0}: {2}")
  @MethodSource("recorded")
  void recordedErrorResponsesNormalise(ProviderProfile profile, Reply reply, RefreshOutcome expected) throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(reply);
      assertThat(await(kit.client(s -> s.profile = profile).refresh(refresh("rt")))).isEqualTo(expected);
      assertThat(kit.endpoint.calls()).isEqualTo(1); // none of these is retried
    }
  }

  @Test
  void entraTemporaryCodesAreRetried() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(
          entra(400, "invalid_grant", 50196, "The server terminated an operation because it encountered a client request loop."),
          Reply.json(503, "{\"error\":\"temporarily_unavailable\",\"error_description\":\"AADSTS90033: A transient error has occurred.\"}"),
          Reply.tokens("eyJ0eXAi.entra.at", "0.AAAA-rotated", 4199L, "https://graph.microsoft.com/User.Read"));
      RefreshOutcome outcome = await(kit.client(s -> s.profile = ProviderProfile.ENTRA).refresh(refresh("rt")));
      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class, r -> {
        assertThat(r.attempts()).isEqualTo(3);
        assertThat(r.grant().refreshToken()).isEqualTo("0.AAAA-rotated");
        assertThat(r.grant().scopes()).containsExactly("https://graph.microsoft.com/User.Read");
      });
    }
  }

  @Test
  void entraV1StringExpiresInIsUnderstood() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.json(200, """
          {"token_type":"Bearer","scope":"User.Read","expires_in":"3599","ext_expires_in":"3599",\
          "access_token":"eyJ0eXAi.v1","refresh_token":"0.v1-refresh"}"""));
      RefreshOutcome outcome = await(kit.client(s -> s.profile = ProviderProfile.ENTRA).refresh(refresh("rt")));
      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class,
          r -> assertThat(r.grant().expiresAt()).isEqualTo(kit.clock.instant().plusSeconds(3599)));
    }
  }

  @Test
  void githubRotatesItsRefreshTokenAndAnswersInJson() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.json(200, """
          {"access_token":"ghu_16C7e42F292c6912E7710c838347Ae178B4a","expires_in":28800,\
          "refresh_token":"ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498",\
          "refresh_token_expires_in":15811200,"scope":"","token_type":"bearer"}"""));
      RefreshOutcome outcome = await(kit.client(s -> s.profile = ProviderProfile.GITHUB).refresh(refresh("ghr_old")));
      assertThat(outcome).isEqualTo(new RefreshOutcome.Refreshed(new TokenGrant("ghu_16C7e42F292c6912E7710c838347Ae178B4a",
          "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498",
          kit.clock.instant().plusSeconds(28800), List.of()), 1));
      assertThat(kit.endpoint.lastRequest().header("Accept")).isEqualTo("application/json");
    }
  }

  @Test
  void githubRefusedCodeExchangeIsRejectedNotRetried() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.json(200, """
          {"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.",\
          "error_uri":"https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}"""));
      ExchangeOutcome outcome = await(kit.client(s -> s.profile = ProviderProfile.GITHUB).exchangeCode(
          new CodeExchange("gh-code", "v".repeat(43), java.net.URI.create("https://authz.example.com/cb"), null, "d")));
      assertThat(outcome).isEqualTo(new ExchangeOutcome.Rejected("invalid_grant", "bad_verification_code"));
      assertThat(kit.endpoint.calls()).isEqualTo(1);
    }
  }

  @Test
  void googleDoesNotRotateSoTheVaultKeepsTheOldRefreshToken() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.json(200, """
          {"access_token": "ya29.a0AfB_byC-example", "expires_in": 3599,
           "scope": "https://www.googleapis.com/auth/drive.readonly openid",
           "token_type": "Bearer", "id_token": "eyJhbGciOiJSUzI1NiJ9.e30.sig"}"""));
      RefreshOutcome outcome = await(kit.client(s -> s.profile = ProviderProfile.GOOGLE).refresh(refresh("1//0g-google")));
      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class, r -> {
        assertThat(r.grant().refreshToken()).isNull();
        assertThat(r.grant().scopes()).containsExactly("https://www.googleapis.com/auth/drive.readonly", "openid");
      });
    }
  }

  @Test
  void serverErrorCodesAreTransientInEveryProfile() {
    for (ProviderProfile p : ProviderProfile.values()) {
      assertThat(ErrorProfile.normalise(p, new com.nimbusds.oauth2.sdk.ErrorObject("server_error"), java.util.Map.of()))
          .isInstanceOf(Attempt.Transient.class);
      assertThat(ErrorProfile.normalise(p, new com.nimbusds.oauth2.sdk.ErrorObject("temporarily_unavailable"), java.util.Map.of()))
          .isInstanceOf(Attempt.Transient.class);
      assertThat(ErrorProfile.normalise(p, new com.nimbusds.oauth2.sdk.ErrorObject("invalid_grant"), java.util.Map.of()))
          .isInstanceOf(Attempt.Rejected.class);
    }
  }

  private static Reply entra(int status, String error, int code, String message) {
    return Reply.json(status, """
        {"error":"%s","error_description":"AADSTS%d: %s Trace ID: 0a1b2c3d-0000-4000-8000-000000000001 \
        Correlation ID: 5e6f7a8b-0000-4000-8000-000000000002 Timestamp: 2026-12-01 10:00:00Z",\
        "error_codes":[%d],"timestamp":"2026-12-01 10:00:00Z","trace_id":"0a1b2c3d-0000-4000-8000-000000000001",\
        "correlation_id":"5e6f7a8b-0000-4000-8000-000000000002","error_uri":"https://login.microsoftonline.com/error?code=%d"}"""
        .formatted(error, code, message, code, code));
  }
}
