package dev.mcpauthz.vault;

import java.util.Objects;

/**
 * The plaintext tokens of one credential, only ever held briefly in memory to inject or refresh;
 * never stored, logged or printed.
 *
 * @param refreshToken null when the provider issued none
 */
public record Secrets(String accessToken, String refreshToken) {
  public Secrets {
    Objects.requireNonNull(accessToken, "accessToken");
  }

  @Override
  public String toString() {
    return "Secrets[<redacted>]";
  }
}
