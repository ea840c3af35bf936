package dev.mcpauthz.it.keycloak;

import java.util.Objects;

/**
 * A realm user with a permanent password. Keycloak's default user profile wants an e-mail address
 * and a first and last name before a password grant succeeds ("Account is not fully set up"), so
 * {@link #of(String, String)} fills them in.
 */
public record UserSpec(String username, String password, String email, String firstName, String lastName) {

  public UserSpec {
    Objects.requireNonNull(username, "username");
    Objects.requireNonNull(password, "password");
  }

  public static UserSpec of(String username, String password) {
    return new UserSpec(username, password, username + "@example.test", username, "Test");
  }

  @Override
  public String toString() {
    return "UserSpec[username=" + username + ", email=" + email + "]";
  }
}
