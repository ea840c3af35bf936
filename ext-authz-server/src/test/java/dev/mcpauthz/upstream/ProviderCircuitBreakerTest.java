package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static dev.mcpauthz.upstream.ProviderTestKit.refresh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import dev.mcpauthz.testing.Gate;
import dev.mcpauthz.testing.MutableClock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The per-provider breaker counts operations, not attempts; it opens, half-opens for one probe, closes. */
class ProviderCircuitBreakerTest {
  @Test
  void opensAfterThresholdConsecutiveFailuresAndResetsOnSuccess() {
    MutableClock clock = MutableClock.start();
    CircuitBreaker b = new CircuitBreaker(3, Duration.ofSeconds(30), clock);
    b.onFailure();
    b.onFailure();
    b.onSuccess(); // a success in between resets the count
    b.onFailure();
    b.onFailure();
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.CLOSED);
    b.onFailure();
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.OPEN);

    clock.advance(Duration.ofSeconds(10));
    assertThat(b.tryAcquire()).isEqualTo(new CircuitBreaker.Permit(false, Duration.ofSeconds(20)));
    clock.advance(Duration.ofSeconds(20));
    assertThat(b.tryAcquire().allowed()).isTrue(); // the probe
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    assertThat(b.tryAcquire().allowed()).isFalse(); // exactly one probe
    b.onFailure();
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(b.tryAcquire()).isEqualTo(new CircuitBreaker.Permit(false, Duration.ofSeconds(30)));
    clock.advance(Duration.ofSeconds(30));
    assertThat(b.tryAcquire().allowed()).isTrue();
    b.onSuccess();
    assertThat(b.state()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(b.tryAcquire().allowed()).isTrue();
  }

  @Test
  void openBreakerAnswersWithoutCallingTheIdpAndOneProbeClosesIt() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      ProviderClient client = kit.client(s -> {
        s.failureThreshold = 2;
        s.maxAttempts = 3;
        s.openFor = Duration.ofSeconds(30);
      });
      kit.endpoint.otherwise(Reply.status(503));
      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Failed.class);
      assertThat(gauge(kit)).isZero(); // 3 failed attempts are one failure
      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Failed.class);
      assertThat(gauge(kit)).isEqualTo(1);
      int calls = kit.endpoint.calls();
      assertThat(calls).isEqualTo(6);

      RefreshOutcome refused = await(client.refresh(refresh("rt")));
      assertThat(refused).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> {
        assertThat(f.reason()).isEqualTo("circuit_open");
        assertThat(f.attempts()).isZero();
        assertThat(f.retryAfter()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(30));
      });
      assertThat(kit.endpoint.calls()).isEqualTo(calls);
      assertThat(kit.counter("failed", "circuit_open")).isEqualTo(1);

      // After open_for, exactly one probe goes through; a concurrent caller is refused while it runs.
      kit.clock.advance(Duration.ofSeconds(31));
      Gate held = new Gate();
      kit.endpoint.enqueue(Reply.tokens("at", null, 60L, null).heldBy(held));
      CompletableFuture<RefreshOutcome> probe = client.refresh(refresh("rt"));
      assertThat(held.awaitArrivals(1, Duration.ofSeconds(10))).isTrue();
      assertThat(gauge(kit)).isEqualTo(2);
      assertThat(await(client.refresh(refresh("rt")))).isInstanceOfSatisfying(RefreshOutcome.Failed.class,
          f -> assertThat(f.reason()).isEqualTo("circuit_open"));
      held.open();
      assertThat(await(probe)).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(gauge(kit)).isZero();

      kit.endpoint.enqueue(Reply.tokens("at", null, 60L, null));
      assertThat(await(client.refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(kit.endpoint.calls()).isEqualTo(calls + 2);
    }
  }

  @Test
  void revocationsCountAsTheIdpAnswering() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      ProviderClient client = kit.client(s -> {
        s.failureThreshold = 2;
        s.maxAttempts = 1;
      });
      kit.endpoint.enqueue(Reply.status(500), Reply.error(400, "invalid_grant", "gone"), Reply.status(500));
      for (int i = 0; i < 3; i++) {
        await(client.refresh(refresh("rt")));
      }
      assertThat(gauge(kit)).isZero();
    }
  }

  private static double gauge(ProviderTestKit kit) {
    return kit.meters.get("mcp.authz.provider.circuit.state").tag("provider", "upstream").gauge().value();
  }
}
