package dev.mcpauthz.vault;

import static dev.mcpauthz.vault.VaultFixtures.*;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.TokenGrant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.logstash.logback.encoder.LogstashEncoder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Issue 3 item 8: refresh audit events name user, server, provider and decision id, never a token. */
class VaultAuditTest {
  private final MutableClock clock = new MutableClock(T0);
  private final KeycloakLikeRefresher idp = new KeycloakLikeRefresher(clock, Duration.ofMinutes(20));
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final ListAppender<ILoggingEvent> captured = new ListAppender<>();
  private VaultTestCluster cluster;

  @BeforeEach
  void start() {
    captured.start();
    root.addAppender(captured);
    cluster = VaultTestCluster.start(1, VaultTestCluster.vaultConfig(Duration.ofSeconds(10), Duration.ofSeconds(20)),
        VaultTestCluster.ring(), idp, clock);
  }

  @AfterEach
  void stop() {
    root.detachAppender(captured);
    cluster.close();
  }

  @Test
  void refreshEventsCarryIdentifiersAndNoToken() {
    VaultService vault = cluster.vault(0);
    CredentialKey alice = key("alice");
    TokenGrant first = idp.consent(List.of("repo:read"), Duration.ofMinutes(5));
    await(vault.store(alice, UPSTREAM, List.of("repo:read"), first, "d-consent"));
    List<String> secrets = new ArrayList<>(List.of(first.accessToken(), first.refreshToken()));

    clock.advance(Duration.ofMinutes(6));
    TokenGrant second = new TokenGrant("AT-after-retries", "RT-after-retries", clock.instant().plusSeconds(300), null);
    secrets.addAll(List.of(second.accessToken(), second.refreshToken()));
    idp.answerNext(req -> new RefreshOutcome.Refreshed(second, 3));
    assertThat(await(vault.credentialFor(alice, UPSTREAM, List.of(), "d-succeeded")))
        .isInstanceOf(VaultLookup.Granted.class);

    clock.advance(Duration.ofMinutes(6));
    idp.answerNext(req -> new RefreshOutcome.Failed("timeout", Duration.ofSeconds(5), 4));
    assertThat(await(vault.credentialFor(alice, UPSTREAM, List.of(), "d-failed")))
        .isEqualTo(new VaultLookup.Unavailable(5, "timeout"));

    clock.advance(Duration.ofSeconds(6));
    idp.answerNext(req -> new RefreshOutcome.Revoked("invalid_grant", "AADSTS70008"));
    assertThat(await(vault.credentialFor(alice, UPSTREAM, List.of(), "d-revoked")))
        .isInstanceOf(VaultLookup.ConsentNeeded.class);

    LogstashEncoder encoder = new LogstashEncoder();
    encoder.setContext(root.getLoggerContext());
    encoder.start();
    List<String> audit = captured.list.stream().filter(e -> e.getLoggerName().equals("mcp_authz.audit"))
        .map(e -> new String(encoder.encode(e))).toList();
    assertThat(audit).anySatisfy(l -> assertThat(l).contains("\"event\":\"refresh.succeeded\"")
        .contains("\"attempts\":3").contains("\"decision_id\":\"d-succeeded\"").contains("\"user\":\"alice\"")
        .contains("\"server\":\"github\"").contains("\"provider\":\"keycloak\"").contains("\"issuer\":\"" + ISSUER + "\""));
    assertThat(audit).anySatisfy(l -> assertThat(l).contains("\"event\":\"refresh.retried\"")
        .contains("\"retries\":2").contains("\"decision_id\":\"d-succeeded\""));
    assertThat(audit).anySatisfy(l -> assertThat(l).contains("\"event\":\"refresh.failed\"")
        .contains("\"reason\":\"timeout\"").contains("\"decision_id\":\"d-failed\""));
    assertThat(audit).anySatisfy(l -> assertThat(l).contains("\"event\":\"refresh.revoked\"")
        .contains("\"error\":\"invalid_grant\"").contains("\"provider_code\":\"AADSTS70008\"")
        .contains("\"decision_id\":\"d-revoked\""));
    List<String> everything = captured.list.stream().map(e -> new String(encoder.encode(e))).toList();
    for (String line : everything) {
      for (String secret : secrets) {
        assertThat(line).doesNotContain(secret);
      }
    }
    assertThat(cluster.attempts("success")).isEqualTo(1);
    assertThat(cluster.attempts("retry")).isEqualTo(2 + 3);
    assertThat(cluster.attempts("failed")).isEqualTo(1);
    assertThat(cluster.attempts("revoked")).isEqualTo(1);
  }
}
