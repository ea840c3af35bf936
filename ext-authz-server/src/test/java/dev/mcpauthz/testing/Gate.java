package dev.mcpauthz.testing;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Holds threads (e.g. a server handling a request) until the test opens it, and lets the test wait
 * until something has arrived at it, so "slow" is deterministic without sleeping.
 */
public final class Gate {
  private final CountDownLatch open = new CountDownLatch(1);
  private final Semaphore arrivals = new Semaphore(0);

  /** Called by the held party: records the arrival, then waits until {@link #open()} (at most a minute). */
  public void pass() {
    arrivals.release();
    try {
      open.await(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits until {@code n} parties have arrived; false on timeout. */
  public boolean awaitArrivals(int n, Duration timeout) throws InterruptedException {
    if (!arrivals.tryAcquire(n, timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      return false;
    }
    arrivals.release(n); // arrivals stay counted
    return true;
  }

  public void open() {
    open.countDown();
  }

  public boolean isOpen() {
    return open.getCount() == 0;
  }
}
