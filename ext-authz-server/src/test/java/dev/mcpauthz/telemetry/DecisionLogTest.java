package dev.mcpauthz.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.Responses;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.util.List;
import java.util.Map;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** One JSON decision line per Check, carrying the decision id and never a credential. */
class DecisionLogTest {
  @Test
  void everyDecisionIsLoggedAsJsonWithItsIdAndWithoutTokens() {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.start();
    root.addAppender(captured);
    LogstashEncoder encoder = new LogstashEncoder();
    encoder.setContext(root.getLoggerContext());
    encoder.start();
    try (TestIssuer issuer = TestIssuer.start();
        AuthzHarness authz = AuthzHarness.start(AuthzHarness.defaultYaml(issuer).replace("decisions: denied", "decisions: all"))) {
      String jwt = issuer.mint(AuthzHarness.RESOURCE);
      String expired = issuer.mint(AuthzHarness.RESOURCE, c -> c.expirationTime(new java.util.Date(0)));
      String opaque = issuer.opaque(Map.of("sub", "x", "aud", List.of("https://elsewhere")));
      CheckResponse allowed = authz.check(Checks.post("/mcp").bearer(jwt).toolsCall(1, "search", "{}"));
      CheckResponse denied = authz.check(Checks.post("/mcp").bearer(expired).toolsCall(2, "search", "{}"));
      authz.check(Checks.post("/mcp").bearer(opaque).toolsCall(3, "search", "{}"));
      authz.check(Checks.post("/mcp?access_token=" + jwt).toolsCall(4, "search", "{}"));

      List<String> lines = captured.list.stream().map(e -> new String(encoder.encode(e))).toList();
      assertThat(lines).anySatisfy(l -> assertThat(l)
          .contains("\"decision_id\":\"" + Responses.metadata(allowed, "decision_id") + "\"")
          .contains("\"outcome\":\"allow\"").contains("\"subject\":\"alice\"").contains("\"mcp_name\":\"search\""));
      assertThat(lines).anySatisfy(l -> assertThat(l)
          .contains("\"decision_id\":\"" + Responses.metadata(denied, "decision_id") + "\"")
          .contains("\"reason\":\"expired\""));
      for (String line : lines) {
        assertThat(line).doesNotContain(jwt).doesNotContain(expired).doesNotContain(opaque)
            .doesNotContain(jwt.substring(0, jwt.indexOf('.')))
            .doesNotContain(TestIssuer.INTROSPECTION_SECRET);
      }
    } finally {
      root.detachAppender(captured);
    }
  }
}
