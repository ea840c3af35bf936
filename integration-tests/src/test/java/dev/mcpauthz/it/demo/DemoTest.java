package dev.mcpauthz.it.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.it.gateway.Gateway;
import org.junit.jupiter.api.Test;

/** The documented demo works: what `./dev demo` prints is what happens. */
class DemoTest {
  @Test
  void demoFlowAnswersAsItsInstructionsSay() throws Exception {
    try (Demo demo = new Demo(Gateway.freePort(), Gateway.freePort())) {
      assertThat(demo.selfCheck()).isNull();
      assertThat(demo.instructions()).contains(demo.resource).contains(demo.token);
    }
  }
}
