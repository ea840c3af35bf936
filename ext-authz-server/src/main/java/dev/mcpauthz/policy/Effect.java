package dev.mcpauthz.policy;

/** What a matching rule (or a server's default) does with the call. */
public enum Effect {
  ALLOW,
  DENY;

  public String label() {
    return this == ALLOW ? "allow" : "deny";
  }
}
