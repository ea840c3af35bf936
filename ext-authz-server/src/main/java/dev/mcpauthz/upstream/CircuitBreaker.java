package dev.mcpauthz.upstream;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * Per-provider circuit breaker. Failures are counted per token-endpoint <em>operation</em> (one
 * refresh or code exchange after its bounded retries), not per HTTP attempt: a provider that
 * recovers within the retry budget never opens the breaker, and a threshold of N means N callers
 * in a row got a transient failure.
 *
 * <ul>
 *   <li>CLOSED: every call passes; {@code failureThreshold} consecutive failures open it.
 *   <li>OPEN: calls are refused without touching the IdP until {@code openFor} has passed.
 *   <li>HALF_OPEN: exactly one probe passes; the others are refused. The probe's success closes
 *       the breaker, its failure opens it again for another {@code openFor}.
 * </ul>
 *
 * A revocation or a successful grant counts as success: the IdP answered.
 */
final class CircuitBreaker {
  enum State {
    CLOSED(0), OPEN(1), HALF_OPEN(2);

    final int gauge;

    State(int gauge) {
      this.gauge = gauge;
    }
  }

  /** Whether a call may proceed; when refused, how long until the breaker may let a probe through. */
  record Permit(boolean allowed, Duration retryAfter) {}

  /** Refusals during a half-open probe: the probe is bounded by the retry budget, so retry soon. */
  static final Duration HALF_OPEN_RETRY_AFTER = Duration.ofSeconds(1);

  private final int failureThreshold;
  private final Duration openFor;
  private final Clock clock;
  private State state = State.CLOSED;
  private int consecutiveFailures;
  private Instant openedAt;

  CircuitBreaker(int failureThreshold, Duration openFor, Clock clock) {
    this.failureThreshold = failureThreshold;
    this.openFor = openFor;
    this.clock = clock;
  }

  synchronized Permit tryAcquire() {
    switch (state) {
      case CLOSED -> {
        return new Permit(true, Duration.ZERO);
      }
      case OPEN -> {
        Duration remaining = Duration.between(clock.instant(), openedAt.plus(openFor));
        if (remaining.isPositive()) {
          return new Permit(false, remaining);
        }
        state = State.HALF_OPEN;
        return new Permit(true, Duration.ZERO);
      }
      default -> {
        return new Permit(false, HALF_OPEN_RETRY_AFTER);
      }
    }
  }

  synchronized void onSuccess() {
    state = State.CLOSED;
    consecutiveFailures = 0;
    openedAt = null;
  }

  synchronized void onFailure() {
    if (state == State.HALF_OPEN) {
      open();
      return;
    }
    if (state == State.CLOSED && ++consecutiveFailures >= failureThreshold) {
      open();
    }
  }

  private void open() {
    state = State.OPEN;
    openedAt = clock.instant();
    consecutiveFailures = 0;
  }

  /** The state as last transitioned (an expired OPEN shows OPEN until a call probes it). */
  synchronized State state() {
    return state;
  }
}
