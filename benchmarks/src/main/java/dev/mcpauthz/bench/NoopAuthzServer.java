package dev.mcpauthz.bench;

import com.google.rpc.Code;
import com.google.rpc.Status;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
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
 * The baseline: an ext_authz server that does nothing but answer a constant OK. Same transport
 * set-up as {@code McpAuthzServer} (grpc-netty-shaded on 127.0.0.1, default event loops, calls
 * on a fixed pool of one thread per core, same max inbound message size), so the difference
 * between the two is the cost of mcp-authz's Check path.
 */
final class NoopAuthzServer implements AutoCloseable {
  private static final CheckResponse OK = CheckResponse.newBuilder()
      .setStatus(Status.newBuilder().setCode(Code.OK_VALUE))
      .setOkResponse(OkHttpResponse.getDefaultInstance())
      .build();

  private final ExecutorService executor;
  private final Server server;

  private NoopAuthzServer(int threads, int maxInboundMessageSize) throws IOException {
    AtomicInteger n = new AtomicInteger();
    executor = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "noop-check-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .executor(executor)
        .addService(new AuthorizationGrpc.AuthorizationImplBase() {
          @Override
          public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
            observer.onNext(OK);
            observer.onCompleted();
          }
        })
        .maxInboundMessageSize(maxInboundMessageSize)
        .build();
    try {
      server.start();
    } catch (IOException e) {
      executor.shutdownNow();
      throw e;
    }
  }

  static NoopAuthzServer start(int threads, int maxInboundMessageSize) throws IOException {
    return new NoopAuthzServer(threads, maxInboundMessageSize);
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
      executor.shutdownNow();
    }
  }
}
