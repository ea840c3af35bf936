package dev.mcpauthz.config;

/**
 * A configuration problem, reported as {@code file: key: reason} so an operator can fix it without
 * reading code. Thrown at start; the service never runs on a half-valid configuration.
 */
public final class ConfigException extends RuntimeException {
  private final String source;
  private final String key;
  private final String reason;

  public ConfigException(String source, String key, String reason) {
    super(source + ": " + (key.isEmpty() ? "" : key + ": ") + reason);
    this.source = source;
    this.key = key;
    this.reason = reason;
  }

  public String source() {
    return source;
  }

  public String key() {
    return key;
  }

  public String reason() {
    return reason;
  }
}
