package dev.mcpauthz.bench;

import dev.mcpauthz.ingress.AuthorizationService;
import dev.mcpauthz.telemetry.CheckMetrics;
import dev.mcpauthz.telemetry.DecisionLog;
import dev.mcpauthz.testing.Responses;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What refresh-and-inject adds to a Check: the same cached-JWT {@code tools/call} allow, answered
 * by a server without an upstream ({@code cachedJwtAllow}) and by a server whose upstream
 * credential is in the vault ({@code vaultHitInject}: near-cache read, AES-GCM open, header
 * injection). Both servers run in the same JVM and the same JMH run, so the difference is the
 * vault's cost. A measured call that does not complete synchronously fails the run.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar VaultHitBenchmark -bm sample -tu us -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class VaultHitBenchmark {
  private BenchFixtures plain;
  private BenchFixtures vault;
  private PrometheusMeterRegistry registry;
  private AuthorizationService plainService;
  private AuthorizationService vaultService;
  private CheckRequest plainAllow;
  private CheckRequest vaultAllow;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    plain = BenchFixtures.start();
    vault = BenchFixtures.startWithVault();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    plainService = service(plain);
    vaultService = service(vault);
    plainAllow = plain.allowRequest(BenchFixtures.DEFAULT_BODY_BYTES, BenchFixtures.BodyField.BODY);
    vaultAllow = vault.allowRequest(BenchFixtures.DEFAULT_BODY_BYTES, BenchFixtures.BodyField.BODY);
    CheckHandlerBenchmark.FutureObserver first = new CheckHandlerBenchmark.FutureObserver();
    plainService.check(plainAllow, first);
    require(first.get(30, TimeUnit.SECONDS), false);
    CheckHandlerBenchmark.FutureObserver second = new CheckHandlerBenchmark.FutureObserver();
    vaultService.check(vaultAllow, second);
    require(second.get(30, TimeUnit.SECONDS), true);
    // The near cache is filled by a callback of the first (remote) read, which may run just after
    // that read's future completed: wait until a vault Check answers on the calling thread.
    for (int attempt = 0; ; attempt++) {
      CheckHandlerBenchmark.Collector probe = new CheckHandlerBenchmark.Collector();
      vaultService.check(vaultAllow, probe);
      if (probe.last != null) {
        break;
      }
      if (attempt == 100) {
        throw new IllegalStateException("the vault credential never reached the near cache");
      }
      Thread.sleep(20); // a set-up wait for Hazelcast's callback, not a measurement
    }
    // Steady state: both answer on the calling thread.
    CheckHandlerBenchmark.Collector c = new CheckHandlerBenchmark.Collector();
    plainService.check(plainAllow, c);
    require(c.take(), false);
    vaultService.check(vaultAllow, c);
    require(c.take(), true);
  }

  private AuthorizationService service(BenchFixtures f) {
    return new AuthorizationService(f.server.engine(), f.config, new CheckMetrics(registry),
        new DecisionLog(f.config.logging().decisions()));
  }

  private void require(CheckResponse r, boolean injected) {
    if (!Responses.allowed(r)) {
      throw new IllegalStateException("not allowed: " + r.getStatus());
    }
    String auth = Responses.okHeader(r, "authorization");
    if (injected != (auth != null && auth.equals("Bearer " + BenchFixtures.UPSTREAM_TOKEN))) {
      throw new IllegalStateException("upstream token " + (injected ? "not " : "") + "injected");
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    registry.close();
    plain.close();
    vault.close();
  }

  @Benchmark
  public CheckResponse cachedJwtAllow(CheckHandlerBenchmark.Collector c) {
    plainService.check(plainAllow, c);
    return c.take();
  }

  @Benchmark
  public CheckResponse vaultHitInject(CheckHandlerBenchmark.Collector c) {
    vaultService.check(vaultAllow, c);
    return c.take();
  }
}
