package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.mcpauthz.config.AuthzConfig.ClientAuth;
import dev.mcpauthz.config.AuthzConfig.ProviderProfile;
import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** No token, secret or code in any toString or log line, whatever the outcome. */
class ProviderRedactionTest {
  private static final String SECRET = "Sup3r-Secret-Client-Value";
  private static final String REFRESH = "rt-Very-Secret-Refresh-0001";
  private static final String ACCESS = "at-Very-Secret-Access-0002";
  private static final String NEW_REFRESH = "rt-Very-Secret-Refresh-0003";
  private static final String CODE = "code-Very-Secret-0004";
  private static final String VERIFIER = "verifier-Very-Secret-0005-abcdefghijklmnopqrstuvwxyz";

  @Test
  void valuesRedactTheirSecrets() {
    assertThat(new RefreshRequest("p", REFRESH, URI.create("https://r"), List.of("a"), "d").toString()).doesNotContain(REFRESH);
    assertThat(new TokenGrant(ACCESS, NEW_REFRESH, null, null).toString()).doesNotContain(ACCESS).doesNotContain(NEW_REFRESH);
    assertThat(new CodeExchange(CODE, VERIFIER, URI.create("https://a/cb"), null, "d").toString())
        .doesNotContain(CODE).doesNotContain(VERIFIER);
    try (ProviderTestKit kit = new ProviderTestKit()) {
      assertThat(kit.client(s -> s.clientSecret = SECRET).toString()).doesNotContain(SECRET).contains("upstream");
    }
  }

  @Test
  void logsNeverCarryTokensSecretsOrCodes() throws Exception {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Logger client = (Logger) LoggerFactory.getLogger(ProviderClient.class);
    Level before = client.getLevel();
    client.setLevel(Level.DEBUG);
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.start();
    root.addAppender(captured);
    try (ProviderTestKit kit = new ProviderTestKit()) {
      ProviderClient basic = kit.client(s -> {
        s.clientSecret = SECRET;
        s.profile = ProviderProfile.ENTRA;
      });
      ProviderClient post = kit.client(s -> {
        s.clientSecret = SECRET;
        s.clientAuth = ClientAuth.CLIENT_SECRET_POST;
      });
      kit.endpoint.enqueue(
          Reply.status(503), Reply.json(200, "{\"access_token\":\"" + ACCESS + "\",\"token_type\":\"Bearer\",\"refresh_token\":\""
              + NEW_REFRESH + "\"}"),
          Reply.error(400, "invalid_grant", "AADSTS70008: refresh token " + REFRESH + " expired"),
          Reply.error(401, "invalid_client", "AADSTS7000215: Invalid client secret " + SECRET),
          Reply.error(400, "invalid_grant", "code " + CODE + " was already used"),
          Reply.json(200, "{\"access_token\":\"" + ACCESS + "\"}"));
      RefreshRequest request = new RefreshRequest("upstream", REFRESH, ProviderTestKit.RESOURCE, List.of(), "dec-1");
      assertThat(await(basic.refresh(request))).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(await(basic.refresh(request))).isInstanceOf(RefreshOutcome.Revoked.class);
      assertThat(await(basic.refresh(request))).isInstanceOf(RefreshOutcome.Failed.class);
      assertThat(await(post.exchangeCode(new CodeExchange(CODE, VERIFIER, URI.create("https://a/cb"), null, "d"))))
          .isInstanceOf(ExchangeOutcome.Rejected.class);
      assertThat(await(post.refresh(request))).isInstanceOf(RefreshOutcome.Failed.class);

      List<String> lines = new ArrayList<>();
      for (ILoggingEvent e : captured.list) {
        lines.add(e.getFormattedMessage() + " " + e.getMDCPropertyMap() + " " + e.getKeyValuePairs()
            + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getMessage()));
      }
      assertThat(lines).anySatisfy(l -> assertThat(l).contains("refused client").contains("AADSTS7000215"));
      assertThat(lines).anySatisfy(l -> assertThat(l).contains("retry"));
      for (String line : lines) {
        assertThat(line).doesNotContain(SECRET).doesNotContain(REFRESH).doesNotContain(ACCESS)
            .doesNotContain(NEW_REFRESH).doesNotContain(CODE).doesNotContain(VERIFIER);
      }
    } finally {
      root.detachAppender(captured);
      client.setLevel(before);
    }
  }
}
