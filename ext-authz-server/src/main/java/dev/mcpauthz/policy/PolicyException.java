package dev.mcpauthz.policy;

/**
 * An invalid policy, reported as {@code file:line: key: reason} so a security owner can fix it
 * without reading code. On reload the last good policy stays in force.
 */
public final class PolicyException extends RuntimeException {
  private final String file;
  private final int line;
  private final String key;
  private final String reason;

  public PolicyException(String file, int line, String key, String reason) {
    super(file + (line > 0 ? ":" + line : "") + ": " + (key == null || key.isEmpty() ? "" : key + ": ") + reason);
    this.file = file;
    this.line = line;
    this.key = key == null ? "" : key;
    this.reason = reason;
  }

  /** The policy file (name inside the policy directory), or the directory itself. */
  public String file() {
    return file;
  }

  /** 1-based line, 0 when the problem is not tied to a line. */
  public int line() {
    return line;
  }

  /** Key path inside the file, e.g. {@code rules[2].when}; empty when none. */
  public String key() {
    return key;
  }

  public String reason() {
    return reason;
  }
}
