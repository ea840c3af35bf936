package dev.mcpauthz.vault;

/** A sealed credential that cannot be opened with the key ring. The message never holds secrets. */
public final class UnreadableCredentialException extends RuntimeException {
  public UnreadableCredentialException(String message) {
    super(message, null, false, false);
  }
}
