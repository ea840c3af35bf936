package dev.mcpauthz.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.grpc.Context;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A real in-process Authorization gRPC server on 127.0.0.1 whose Check implementation records every
 * CheckRequest and answers from a script: a response function, a gRPC error, or never.
 */
final class ScriptedAuthzServer implements AutoCloseable {

  /**
   * Check deadline for tests that are not about timeouts: a cold JVM (class loading on both ends of the
   * first call) can exceed Envoy's 200 ms default, which would turn functional tests into flaky 403s.
   */
  static final java.time.Duration FUNCTIONAL_TIMEOUT = java.time.Duration.ofSeconds(5);

  private final BlockingQueue<CheckRequest> requests = new LinkedBlockingQueue<>();
  private final CountDownLatch cancelled = new CountDownLatch(1);
  private volatile Function<CheckRequest, CheckResponse> responder = r -> ok();
  private volatile Status failure;
  private volatile boolean hang;
  private final Server server;

  private ScriptedAuthzServer() throws IOException {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
            requests.add(request);
            if (hang) {
              Context.current().addListener(ctx -> cancelled.countDown(), Runnable::run);
              return; // never answers
            }
            if (failure != null) {
              observer.onError(failure.asRuntimeException());
              return;
            }
            observer.onNext(responder.apply(request));
            observer.onCompleted();
          }
        })
        .build()
        .start();
  }

  static ScriptedAuthzServer start() throws IOException {
    return new ScriptedAuthzServer();
  }

  String target() {
    return "127.0.0.1:" + server.getPort();
  }

  ScriptedAuthzServer respond(CheckResponse response) {
    return respond(r -> response);
  }

  ScriptedAuthzServer respond(Function<CheckRequest, CheckResponse> f) {
    responder = f;
    failure = null;
    hang = false;
    return this;
  }

  ScriptedAuthzServer fail(Status status) {
    failure = status;
    hang = false;
    return this;
  }

  ScriptedAuthzServer hang() {
    hang = true;
    return this;
  }

  /** The next CheckRequest the server received (waits up to 2 s). */
  CheckRequest takeRequest() throws InterruptedException {
    CheckRequest r = requests.poll(2, TimeUnit.SECONDS);
    assertThat(r).as("a CheckRequest reached the authorization server").isNotNull();
    return r;
  }

  int receivedCount() {
    return requests.size();
  }

  /** True once a hanging Check call has been cancelled by the client (deadline or reset). */
  boolean awaitCancellation() throws InterruptedException {
    return cancelled.await(2, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ------------------------------------------------------------------ response builders

  static CheckResponse ok() {
    return CheckResponse.newBuilder()
        .setStatus(com.google.rpc.Status.newBuilder().setCode(0))
        .setOkResponse(OkHttpResponse.getDefaultInstance())
        .build();
  }

  static CheckResponse ok(OkHttpResponse.Builder ok) {
    return CheckResponse.newBuilder()
        .setStatus(com.google.rpc.Status.newBuilder().setCode(0))
        .setOkResponse(ok)
        .build();
  }

  static HeaderValueOption.Builder header(String key, String value) {
    return HeaderValueOption.newBuilder().setHeader(HeaderValue.newBuilder().setKey(key).setValue(value));
  }

  static HeaderValueOption header(String key, String value, HeaderValueOption.HeaderAppendAction action) {
    return header(key, value).setAppendAction(action).build();
  }

  @SuppressWarnings("deprecation") // the deprecated append BoolValue is part of what is being emulated
  static HeaderValueOption header(String key, String value, boolean append) {
    return header(key, value).setAppend(com.google.protobuf.BoolValue.of(append)).build();
  }

  static List<HeaderValueOption> headers(HeaderValueOption... options) {
    return List.of(options);
  }
}
