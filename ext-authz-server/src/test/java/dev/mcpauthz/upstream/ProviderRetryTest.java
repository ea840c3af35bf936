package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static dev.mcpauthz.upstream.ProviderTestKit.refresh;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import dev.mcpauthz.testing.Gate;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Bounded retry: what is retried, how long it waits (delays recorded by the kit's delayer, jitter
 * fixed at 0.5 of the cap), and where it stops.
 */
class ProviderRetryTest {
  private static final Reply OK = Reply.tokens("at", "rt2", 300L, null);

  @Test
  void serverErrorsAreRetriedWithExponentialBackoffAndFullJitter() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.status(503), Reply.status(500), Reply.status(502), OK);
      RefreshOutcome outcome = await(kit.client().refresh(refresh("rt")));

      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class, r -> assertThat(r.attempts()).isEqualTo(4));
      // caps 200ms, 400ms, 800ms; jitter 0.5
      assertThat(kit.delayer.delays()).containsExactly(Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(400));
      assertThat(kit.endpoint.requests()).extracting(r -> r.param("refresh_token")).containsOnly("rt");
      assertThat(kit.counter("retry", "http_5xx")).isEqualTo(3);
      assertThat(kit.counter("success", "ok")).isEqualTo(1);
    }
  }

  @Test
  void backoffIsCappedByMaxBackoff() {
    Backoff b = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(1), () -> 0.999);
    assertThat(b.cap(1)).isEqualTo(Duration.ofMillis(200));
    assertThat(b.cap(3)).isEqualTo(Duration.ofMillis(800));
    assertThat(b.cap(4)).isEqualTo(Duration.ofSeconds(1));
    assertThat(b.cap(60)).isEqualTo(Duration.ofSeconds(1));
    assertThat(b.delay(2)).isLessThan(Duration.ofMillis(400)).isGreaterThan(Duration.ofMillis(399));
    assertThat(new Backoff(Duration.ofMillis(200), Duration.ofSeconds(1), () -> 0.0).delay(3)).isZero();
  }

  @Test
  void fullJitterStaysWithinZeroAndTheCap() {
    Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(2), () -> java.util.concurrent.ThreadLocalRandom.current().nextDouble());
    for (int n = 1; n <= 8; n++) {
      for (int i = 0; i < 500; i++) {
        assertThat(b.delay(n)).isGreaterThanOrEqualTo(Duration.ZERO).isLessThan(b.cap(n));
      }
    }
  }

  @Test
  void attemptsAreCapped() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.otherwise(Reply.status(503));
      RefreshOutcome outcome = await(kit.client(s -> s.maxAttempts = 3).refresh(refresh("rt")));

      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> {
        assertThat(f.reason()).isEqualTo("http_5xx");
        assertThat(f.attempts()).isEqualTo(3);
        assertThat(f.retryAfter()).isPositive();
      });
      assertThat(kit.endpoint.calls()).isEqualTo(3);
      assertThat(kit.delayer.delays()).hasSize(2);
    }
  }

  @Test
  void retryAfterSecondsIsHonouredFor429And503() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.retryAfter(429, "3"), Reply.retryAfter(503, "7"), OK);
      RefreshOutcome outcome = await(kit.client().refresh(refresh("rt")));

      assertThat(outcome).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(kit.delayer.delays()).containsExactly(Duration.ofSeconds(3), Duration.ofSeconds(7));
      // the endpoint stamps arrivals with the same mutable clock: the waits really happened in between
      assertThat(Duration.between(kit.endpoint.request(0).receivedAt(), kit.endpoint.request(2).receivedAt()))
          .isEqualTo(Duration.ofSeconds(10));
    }
  }

  @Test
  void retryAfterHttpDateIsHonoured() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(kit.clock.instant().plusSeconds(4).atOffset(ZoneOffset.UTC));
      kit.endpoint.enqueue(Reply.retryAfter(503, date), OK);
      assertThat(await(kit.client().refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(kit.delayer.delays()).containsExactly(Duration.ofSeconds(4));
    }
  }

  @Test
  void retryAfterBeyondTheTotalBudgetIsHandedToTheCaller() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.retryAfter(429, "120"), OK);
      RefreshOutcome outcome = await(kit.client().refresh(refresh("rt")));

      assertThat(outcome).isEqualTo(new RefreshOutcome.Failed("http_429", Duration.ofSeconds(120), 1));
      assertThat(kit.endpoint.calls()).isEqualTo(1);
      assertThat(kit.delayer.delays()).isEmpty();
    }
  }

  @Test
  void totalTimeIsCapped() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.otherwise(Reply.status(500));
      // caps 1s, 2s, 4s with jitter 0.5 → waits 0.5s, 1s, 2s; a 3s budget allows the first two only.
      ProviderClient client = kit.client(s -> {
        s.maxAttempts = 10;
        s.initialBackoff = Duration.ofSeconds(1);
        s.maxBackoff = Duration.ofSeconds(10);
        s.maxTotal = Duration.ofSeconds(3);
      });
      RefreshOutcome outcome = await(client.refresh(refresh("rt")));

      assertThat(outcome).isEqualTo(new RefreshOutcome.Failed("http_5xx", Duration.ofSeconds(2), 3));
      assertThat(kit.delayer.delays()).containsExactly(Duration.ofMillis(500), Duration.ofSeconds(1));
      assertThat(kit.endpoint.calls()).isEqualTo(3);
    }
  }

  @Test
  void aTimeoutIsTransientAndRetried() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      Gate slow = new Gate();
      kit.endpoint.enqueue(OK.heldBy(slow), OK);
      RefreshOutcome outcome = await(kit.client(s -> s.timeout = Duration.ofMillis(300)).refresh(refresh("rt")));

      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class, r -> assertThat(r.attempts()).isEqualTo(2));
      assertThat(kit.counter("retry", "timeout")).isEqualTo(1);
      slow.open();
    }
  }

  @Test
  void aTricklingBodyTimesOutToo() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      Gate trickle = new Gate();
      kit.endpoint.enqueue(OK.bodyHeldBy(trickle), OK);
      RefreshOutcome outcome = await(kit.client(s -> s.timeout = Duration.ofMillis(300)).refresh(refresh("rt")));

      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class, r -> assertThat(r.attempts()).isEqualTo(2));
      assertThat(kit.counter("retry", "timeout")).isEqualTo(1);
      assertThat(trickle.isOpen()).isFalse(); // the first body never finished
      trickle.open();
    }
  }

  @Test
  void timeoutsUntilTheLastAttemptFailAsTimeout() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      Gate slow = new Gate();
      kit.endpoint.otherwise(OK.heldBy(slow));
      RefreshOutcome outcome = await(kit.client(s -> {
        s.timeout = Duration.ofMillis(200);
        s.maxAttempts = 2;
      }).refresh(refresh("rt")));

      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> {
        assertThat(f.reason()).isEqualTo("timeout");
        assertThat(f.attempts()).isEqualTo(2);
      });
      assertThat(slow.awaitArrivals(2, Duration.ofSeconds(5))).isTrue();
      slow.open();
    }
  }

  @Test
  void aDroppedConnectionIsTransient() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.closeConnection(), OK);
      RefreshOutcome outcome = await(kit.client().refresh(refresh("rt")));

      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Refreshed.class, r -> assertThat(r.attempts()).isEqualTo(2));
      assertThat(kit.counter("retry", "io")).isEqualTo(1);
    }
  }

  @Test
  void aRefusedConnectionIsTransientAndFailsAsConnect() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    try (ProviderTestKit kit = new ProviderTestKit()) {
      RefreshOutcome outcome = await(kit.client(s -> {
        s.tokenEndpoint = URI.create("http://127.0.0.1:" + closedPort + "/token");
        s.maxAttempts = 2;
      }).refresh(refresh("rt")));
      assertThat(outcome).isInstanceOfSatisfying(RefreshOutcome.Failed.class, f -> {
        assertThat(f.reason()).isEqualTo("connect");
        assertThat(f.attempts()).isEqualTo(2);
      });
    }
  }

  @Test
  void transientOAuthErrorsAreRetried() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.error(400, "temporarily_unavailable", "try later"), OK);
      assertThat(await(kit.client().refresh(refresh("rt")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      assertThat(kit.endpoint.calls()).isEqualTo(2);
    }
  }

  @Test
  void codeExchangeIsRetriedOn5xxButNeverAfterA4xx() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      CodeExchange exchange = new CodeExchange("c", "v".repeat(43), URI.create("https://a/cb"), null, "d");
      kit.endpoint.enqueue(Reply.status(503), OK);
      assertThat(await(kit.client().exchangeCode(exchange))).isInstanceOf(ExchangeOutcome.Exchanged.class);
      assertThat(kit.endpoint.calls()).isEqualTo(2);

      // unscripted extra calls would get the endpoint's default 500, never a success
      kit.endpoint.enqueue(Reply.retryAfter(429, "1"));
      assertThat(await(kit.client().exchangeCode(exchange)))
          .isEqualTo(new ExchangeOutcome.Failed("http_429", Duration.ofSeconds(1), 1));
      kit.endpoint.enqueue(Reply.error(400, "temporarily_unavailable", "later"));
      assertThat(await(kit.client().exchangeCode(exchange))).isInstanceOfSatisfying(ExchangeOutcome.Failed.class,
          f -> assertThat(f.reason()).isEqualTo("temporarily_unavailable"));
      assertThat(kit.endpoint.calls()).isEqualTo(4);
    }
  }

  @Test
  void productionDelayerSchedulesInsteadOfBlocking() throws Exception {
    var scheduler = new java.util.concurrent.ScheduledThreadPoolExecutor(1);
    try {
      Delayer delayer = Delayer.on(scheduler, Runnable::run);
      CompletableFuture<Void> later = delayer.after(Duration.ofMinutes(10));
      assertThat(later).isNotDone(); // returned at once, nothing waits on the caller's thread
      assertThat(scheduler.getQueue()).singleElement().satisfies(task -> assertThat(
          ((java.util.concurrent.Delayed) task).getDelay(java.util.concurrent.TimeUnit.SECONDS)).isGreaterThan(590));
      delayer.after(Duration.ZERO).get(5, java.util.concurrent.TimeUnit.SECONDS);
      assertThat(later).isNotDone();
    } finally {
      scheduler.shutdownNow();
    }
  }
}
