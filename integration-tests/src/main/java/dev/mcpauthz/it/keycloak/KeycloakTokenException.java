package dev.mcpauthz.it.keycloak;

/** The token endpoint answered with an OAuth error response (RFC 6749 section 5.2). */
public final class KeycloakTokenException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String error;
  private final int httpStatus;

  public KeycloakTokenException(String error, String description, int httpStatus) {
    super(error + (description == null ? "" : ": " + description) + " (HTTP " + httpStatus + ")");
    this.error = error;
    this.httpStatus = httpStatus;
  }

  /** The OAuth error code, e.g. {@code invalid_grant}, {@code invalid_target}. */
  public String error() {
    return error;
  }

  public int httpStatus() {
    return httpStatus;
  }
}
