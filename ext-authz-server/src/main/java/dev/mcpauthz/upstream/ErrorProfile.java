package dev.mcpauthz.upstream;

import com.nimbusds.oauth2.sdk.ErrorObject;
import dev.mcpauthz.config.AuthzConfig.ProviderProfile;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps a provider's token-endpoint error (RFC 6749 §5.2, or the provider's own contract) to an
 * {@link Attempt}. The rules, per profile, are tabled in docs/providers.md:
 *
 * <ul>
 *   <li>{@code invalid_grant} and its equivalents: rejected (the user must consent again);
 *   <li>{@code invalid_scope} on a refresh: rejected, because only a new consent can grant the
 *       scopes asked for (RFC 6749 §6 forbids asking for more than originally granted);
 *   <li>{@code interaction_required}, {@code login_required}, {@code consent_required} (OIDC Core
 *       §3.1.2.6): rejected with that error;
 *   <li>{@code invalid_client}, {@code unauthorized_client}, {@code unsupported_grant_type}: the
 *       client is misconfigured, which the user cannot fix: never a consent prompt;
 *   <li>{@code temporarily_unavailable}, {@code server_error}: transient, retried.
 * </ul>
 */
final class ErrorProfile {
  static final String CLIENT_MISCONFIGURED = "client_misconfigured";
  /** How long callers are told to wait when the operator has to fix the configuration. */
  static final Duration MISCONFIGURED_RETRY_AFTER = Duration.ofMinutes(5);

  private static final Map<String, String> KEYCLOAK_DESCRIPTIONS = Map.of(
      "token is not active", "token_not_active",
      "session not active", "session_not_active",
      "stale token", "stale_token",
      "invalid refresh token", "invalid_refresh_token",
      "maximum allowed refresh token reuse exceeded", "refresh_token_reused",
      "offline user session not found", "offline_session_not_found",
      "code not valid", "code_not_valid");

  /** Entra codes for a dead grant: expired, inactive, revoked (password change), code reused. */
  private static final Set<Integer> ENTRA_REVOKED =
      Set.of(70008, 700082, 700084, 50173, 54005, 70000, 50132, 50133, 70043, 50089);
  /** Entra codes that need the user present: MFA, conditional access, consent. */
  private static final Set<Integer> ENTRA_INTERACTION = Set.of(50076, 50079, 50158, 50072, 50074, 65001);
  /** Entra codes that say "try again": loop detection throttling, transient directory errors. */
  private static final Set<Integer> ENTRA_TRANSIENT = Set.of(50196, 90033, 90006);
  /** Entra codes for a broken client registration: bad/expired secret, unknown app, bad assertion. */
  private static final Set<Integer> ENTRA_CLIENT = Set.of(7000215, 7000222, 700016, 7000218, 700027, 500011, 700023);
  private static final Pattern AADSTS = Pattern.compile("AADSTS(\\d+)");

  private ErrorProfile() {}

  /**
   * @param error the parsed error object, never null
   * @param json the raw JSON body when there was one (Entra's {@code error_codes}), else empty
   */
  static Attempt normalise(ProviderProfile profile, ErrorObject error, Map<String, Object> json) {
    String code = error.getCode() == null ? "" : error.getCode();
    String description = error.getDescription() == null ? "" : error.getDescription();
    return switch (profile) {
      case RFC6749, GOOGLE -> standard(code, null);
      case KEYCLOAK -> standard(code, code.equals("invalid_grant") ? keycloakCode(description) : null);
      case GITHUB -> github(code);
      case ENTRA -> entra(code, description, json);
    };
  }

  static Attempt standard(String code, String providerCode) {
    return switch (code) {
      case "invalid_grant", "invalid_scope", "interaction_required", "login_required", "consent_required" ->
          new Attempt.Rejected(code, providerCode);
      case "invalid_client", "unauthorized_client", "unsupported_grant_type" ->
          new Attempt.Broken(CLIENT_MISCONFIGURED, MISCONFIGURED_RETRY_AFTER);
      case "temporarily_unavailable", "server_error" -> new Attempt.Transient(code, null, 0);
      case "invalid_request" -> new Attempt.Broken("invalid_request", MISCONFIGURED_RETRY_AFTER);
      default -> new Attempt.Broken("provider_error", MISCONFIGURED_RETRY_AFTER);
    };
  }

  private static String keycloakCode(String description) {
    return KEYCLOAK_DESCRIPTIONS.get(description.strip().toLowerCase(Locale.ROOT));
  }

  /** GitHub answers HTTP 200 with its own codes (docs: "Troubleshooting OAuth app access token request errors"). */
  private static Attempt github(String code) {
    return switch (code) {
      case "bad_refresh_token", "bad_verification_code" -> new Attempt.Rejected("invalid_grant", code);
      case "incorrect_client_credentials", "redirect_uri_mismatch" ->
          new Attempt.Broken(CLIENT_MISCONFIGURED, MISCONFIGURED_RETRY_AFTER);
      case "unverified_user_email" -> new Attempt.Rejected("interaction_required", code);
      default -> standard(code, null);
    };
  }

  /** Entra sends {@code error_codes: [70008]} and repeats the code as "AADSTS70008: …" in the description. */
  private static Attempt entra(String code, String description, Map<String, Object> json) {
    Integer aadsts = entraCode(description, json);
    if (aadsts == null) {
      return standard(code, null);
    }
    String providerCode = "AADSTS" + aadsts;
    if (ENTRA_TRANSIENT.contains(aadsts)) {
      return new Attempt.Transient("temporarily_unavailable", null, 0);
    }
    if (ENTRA_INTERACTION.contains(aadsts)) {
      return new Attempt.Rejected("interaction_required", providerCode);
    }
    if (ENTRA_REVOKED.contains(aadsts)) {
      return new Attempt.Rejected("invalid_grant", providerCode);
    }
    if (ENTRA_CLIENT.contains(aadsts)) {
      return new Attempt.Broken(CLIENT_MISCONFIGURED, MISCONFIGURED_RETRY_AFTER);
    }
    return standard(code, providerCode);
  }

  static Integer entraCode(String description, Map<String, Object> json) {
    if (json.get("error_codes") instanceof List<?> codes && !codes.isEmpty() && codes.get(0) instanceof Number n) {
      return n.intValue();
    }
    Matcher m = AADSTS.matcher(description);
    if (m.find()) {
      try {
        return Integer.parseInt(m.group(1));
      } catch (NumberFormatException e) {
        return null;
      }
    }
    return null;
  }

  /** The provider's own code worth logging for an operator (never the free-text description). */
  static String operatorCode(ProviderProfile profile, ErrorObject error, Map<String, Object> json) {
    if (profile == ProviderProfile.ENTRA) {
      Integer c = entraCode(error.getDescription() == null ? "" : error.getDescription(), json);
      return c == null ? null : "AADSTS" + c;
    }
    return null;
  }
}
