package dev.mcpauthz.bench;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.mcpauthz.decision.AuthorizationEngine;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.ingress.AuthorizationService;
import dev.mcpauthz.ingress.EnvoyCheckContext;
import dev.mcpauthz.telemetry.CheckMetrics;
import dev.mcpauthz.telemetry.DecisionLog;
import dev.mcpauthz.testing.Responses;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.stub.StreamObserver;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * In-process cost of one Check decision, no network: the real {@link AuthorizationService#check}
 * (what the gRPC server calls after deserialising the CheckRequest) answering into a collecting
 * StreamObserver, and the bare {@link AuthorizationEngine#decide}.
 *
 * <p>The engine is the one of a real {@code McpAuthzServer} wired to an in-process issuer; setup
 * sends one Check so the JWKS is fetched and the token's verification is cached. Every measured
 * call is therefore the steady state: cached-JWT lookup, routing, streaming parse of the 4 KiB
 * JSON-RPC body, response rendering, decision record / dynamic metadata, metrics. A measured call
 * that did not complete synchronously (cache miss) fails the run.
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar CheckHandlerBenchmark -bm avgt,sample -tu us -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class CheckHandlerBenchmark {

  /** Size of the JSON-RPC body in {@code attributes.request.http.body}, in bytes. */
  @Param("4096")
  public int bodyBytes;

  /** Where the body travels: {@code body} (string, Envoy's default) or {@code raw_body} (pack_as_bytes). */
  @Param("body")
  public String bodyField;

  private BenchFixtures fixtures;
  private PrometheusMeterRegistry registry;
  private AuthorizationService service;
  private AuthorizationEngine engine;
  private CheckRequest allow;
  private CheckRequest missingToken;
  private byte[] allowWire;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    fixtures = BenchFixtures.start();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    engine = fixtures.server.engine();
    service = new AuthorizationService(engine, fixtures.config, new CheckMetrics(registry),
        new DecisionLog(fixtures.config.logging().decisions()));
    BenchFixtures.BodyField field = BenchFixtures.BodyField.of(bodyField);
    allow = fixtures.allowRequest(bodyBytes, field);
    missingToken = fixtures.missingTokenRequest(bodyBytes, field);
    allowWire = allow.toByteArray();

    // First call: JWKS fetch from the issuer over loopback, then the verified token is cached.
    FutureObserver first = new FutureObserver();
    service.check(allow, first);
    CheckResponse r = first.get(30, TimeUnit.SECONDS);
    if (!Responses.allowed(r)) {
      throw new IllegalStateException("warm-up Check was not allowed: " + r);
    }
    // From now on the allow path must answer synchronously.
    Collector c = new Collector();
    service.check(allow, c);
    if (!Responses.allowed(c.take())) {
      throw new IllegalStateException("cached Check was not allowed");
    }
    service.check(missingToken, c);
    CheckResponse denied = c.take();
    if (Responses.allowed(denied) || Responses.httpStatus(denied) != 401) {
      throw new IllegalStateException("missing-token Check was not a 401 deny: " + denied);
    }
    Decision d = engine.decide(new EnvoyCheckContext(allow)).getNow(null);
    if (d == null || !d.allowed()) {
      throw new IllegalStateException("engine did not allow synchronously: " + d);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    registry.close();
    fixtures.close();
  }

  /** Per-thread observer: the handler calls onNext/onCompleted on the calling thread. */
  @State(Scope.Thread)
  public static class Collector implements StreamObserver<CheckResponse> {
    CheckResponse last;

    @Override
    public void onNext(CheckResponse value) {
      last = value;
    }

    @Override
    public void onError(Throwable t) {
      throw new IllegalStateException("Check failed", t);
    }

    @Override
    public void onCompleted() {}

    CheckResponse take() {
      CheckResponse r = last;
      if (r == null) {
        throw new IllegalStateException("Check did not complete synchronously (token cache miss?)");
      }
      last = null;
      return r;
    }
  }

  /** Allowed tools/call, 4 KiB body, bearer JWT already verified and cached. */
  @Benchmark
  public CheckResponse checkAllowCachedJwt(Collector out) {
    service.check(allow, out);
    return out.take();
  }

  /**
   * The allowed Check as the gRPC server sees it: the CheckRequest parsed from its wire bytes (so
   * headers and body are decoded lazily from protobuf, as in production), the handler, and the
   * CheckResponse serialised. gRPC transport and thread hand-offs are not included.
   */
  @Benchmark
  public int checkAllowFromWire(Collector out) throws InvalidProtocolBufferException {
    service.check(CheckRequest.parseFrom(allowWire), out);
    return out.take().toByteArray().length;
  }

  /** Same request without Authorization: 401 with WWW-Authenticate and a JSON-RPC error body. */
  @Benchmark
  public CheckResponse checkDenyMissingToken(Collector out) {
    service.check(missingToken, out);
    return out.take();
  }

  /** The decision alone (no metrics, no decision record, no CheckResponse rendering). */
  @Benchmark
  public Decision engineDecideAllow() {
    return engine.decide(new EnvoyCheckContext(allow)).getNow(null);
  }

  static final class FutureObserver extends CompletableFuture<CheckResponse>
      implements StreamObserver<CheckResponse> {
    @Override
    public void onNext(CheckResponse value) {
      complete(value);
    }

    @Override
    public void onError(Throwable t) {
      completeExceptionally(t);
    }

    @Override
    public void onCompleted() {}
  }
}
