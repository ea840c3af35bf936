package dev.mcpauthz.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.ingress.EnvoyCheckContext;
import dev.mcpauthz.mcp.McpRequest;
import dev.mcpauthz.mcp.McpRequestParser;
import dev.mcpauthz.testing.Checks;
import org.junit.jupiter.api.Test;

/** The parser keeps tools/call arguments only when a policy needs them, and only up to a size limit. */
class PolicyArgumentsParserTest {
  final McpRequestParser parser = new McpRequestParser(64, 1024 * 1024, 100);

  McpRequest parse(String args, boolean keep) {
    return parser.parse(new EnvoyCheckContext(Checks.post("/mcp").toolsCall(1, "push", args).build()), keep);
  }

  @Test
  void argumentsAreSkippedUnlessAsked() {
    assertThat(parse("{\"branch\":\"main\"}", false).singleArguments()).isNull();
    McpRequest kept = parse("{\"branch\":\"main\",\"n\":[1,2]}", true);
    assertThat(kept.singleArguments().get("branch").asText()).isEqualTo("main");
    assertThat(kept.messages().get(0).argumentsTooLarge()).isFalse();
    assertThat(kept.problem()).isNull();
    assertThat(kept.name()).isEqualTo("push");
  }

  @Test
  void argumentsOverTheLimitAreFlaggedNotKept() {
    McpRequest big = parse("{\"text\":\"" + "x".repeat(200) + "\"}", true);
    assertThat(big.singleArguments()).isNull();
    assertThat(big.messages().get(0).argumentsTooLarge()).isTrue();
    assertThat(big.problem()).isNull();
  }

  @Test
  void duplicateKeysInArgumentsAreStillRefused() {
    assertThat(parse("{\"branch\":\"x\",\"branch\":\"main\"}", true).problem().reason()).isEqualTo("invalid_jsonrpc");
    assertThat(parse("{\"branch\":\"x\",\"branch\":\"main\"}", false).problem().reason()).isEqualTo("invalid_jsonrpc");
  }
}
