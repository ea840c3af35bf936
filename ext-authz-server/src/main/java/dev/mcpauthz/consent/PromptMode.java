package dev.mcpauthz.consent;

/** How a consent prompt reaches the client (metric label {@code mode}); chosen per request. */
public enum PromptMode {
  /** MCP 2026-07-28 InputRequiredResult with an {@code elicitation/create} URL-mode input request. */
  INPUT_REQUIRED,
  /** MCP 2025-11-25 URLElicitationRequiredError (-32042). */
  URL_ELICITATION_ERROR,
  /** A CallToolResult with {@code isError: true} whose text carries the link. */
  TOOL_RESULT,
  /** The gateway's JSON-RPC error (403) whose message carries the link. */
  ERROR_LINK,
  /**
   * A 2026-07-28 retry whose {@code inputResponses} declined or cancelled our URL elicitation: a
   * final answer (tool error, or the gateway's error) instead of another InputRequiredResult, so the
   * client's retry loop ends; the next call asks again.
   */
  DECLINED;

  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
