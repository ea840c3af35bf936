package dev.mcpauthz.bench;

import com.google.rpc.Code;
import com.google.rpc.Status;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A gRPC server on 127.0.0.1 (ephemeral port) for the load generator's reference targets. With
 * {@code threads > 0} it has the transport set-up of {@code McpAuthzServer}: grpc-netty-shaded,
 * default event loops, calls on a fixed pool of that many threads, same max inbound message size.
 * With {@code threads == 0} calls run directly on the Netty event loop ({@code directExecutor()}),
 * which {@code McpAuthzServer} does not do: that variant only shows what the hand-off costs.
 */
final class LoopbackServer implements AutoCloseable {
  private static final CheckResponse OK = CheckResponse.newBuilder()
      .setStatus(Status.newBuilder().setCode(Code.OK_VALUE))
      .setOkResponse(OkHttpResponse.getDefaultInstance())
      .build();

  private final ExecutorService executor;
  private final Server server;

  private LoopbackServer(BindableService service, int threads, int maxInboundMessageSize) throws IOException {
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(service)
        .maxInboundMessageSize(maxInboundMessageSize);
    if (threads > 0) {
      AtomicInteger n = new AtomicInteger();
      executor = Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, "bench-check-" + n.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
      b.executor(executor);
    } else {
      executor = null;
      b.directExecutor();
    }
    server = b.build();
    try {
      server.start();
    } catch (IOException e) {
      if (executor != null) {
        executor.shutdownNow();
      }
      throw e;
    }
  }

  static LoopbackServer start(BindableService service, int threads, int maxInboundMessageSize) throws IOException {
    return new LoopbackServer(service, threads, maxInboundMessageSize);
  }

  /** The baseline ext_authz server: answers every Check with a constant OK, reads nothing. */
  static BindableService noop() {
    return new AuthorizationGrpc.AuthorizationImplBase() {
      @Override
      public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
        observer.onNext(OK);
        observer.onCompleted();
      }
    };
  }

  int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    } finally {
      if (executor != null) {
        executor.shutdownNow();
      }
    }
  }
}
