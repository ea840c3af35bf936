package dev.mcpauthz.mcp;

/**
 * What a client declared about URL-mode elicitation ({@code capabilities.elicitation.url}).
 * MCP 2025-11-25 client/elicitation "Capabilities": {@code elicitation: {}} means form mode only, so
 * only an explicit {@code url} member counts as {@link #URL}.
 */
public enum ElicitationSupport {
  /** The message carries no client capabilities (learn them elsewhere, e.g. from initialize). */
  UNDECLARED,
  /** Capabilities were declared without {@code elicitation.url}. */
  NONE,
  /** {@code elicitation.url} is present. */
  URL
}
