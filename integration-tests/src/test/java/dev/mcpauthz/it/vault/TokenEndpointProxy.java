package dev.mcpauthz.it.vault;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP proxy in front of a real token endpoint (Keycloak's) that counts what reaches
 * the provider and can hold a request on a gate. A held request that is dropped never reaches the
 * provider: that is what a replica killed before its refresh left the building looks like, and it
 * keeps the refresh token unspent so the takeover's refresh is not a reuse.
 */
final class TokenEndpointProxy implements AutoCloseable {
  private final HttpServer server;
  private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final URI target;
  private final AtomicInteger received = new AtomicInteger();
  private final AtomicInteger forwarded = new AtomicInteger();
  private final Deque<Hold> holds = new ArrayDeque<>();

  private TokenEndpointProxy(URI target) throws IOException {
    this.target = target;
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
    server.setExecutor(handlers);
    server.createContext("/", this::handle);
    server.start();
  }

  static TokenEndpointProxy start(URI tokenEndpoint) throws IOException {
    return new TokenEndpointProxy(tokenEndpoint);
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/token");
  }

  /** Requests that reached the proxy. */
  int received() {
    return received.get();
  }

  /** Requests that the proxy passed on to the provider. */
  int forwarded() {
    return forwarded.get();
  }

  /** The next request to arrive waits on the returned hold instead of being forwarded. */
  synchronized Hold holdNext() {
    Hold h = new Hold();
    holds.addLast(h);
    return h;
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      received.incrementAndGet();
      byte[] body = ex.getRequestBody().readAllBytes();
      Hold hold;
      synchronized (this) {
        hold = holds.pollFirst();
      }
      if (hold != null) {
        hold.arrived.countDown();
        if (!hold.released.await(60, TimeUnit.SECONDS) || hold.dropped) {
          // A 4xx, not a 5xx: the caller must not retry it into the provider.
          byte[] err = "{\"error\":\"invalid_request\",\"error_description\":\"dropped by test proxy\"}".getBytes();
          ex.getResponseHeaders().set("Content-Type", "application/json");
          ex.sendResponseHeaders(400, err.length);
          ex.getResponseBody().write(err);
          return;
        }
      }
      HttpRequest.Builder out = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(10))
          .POST(HttpRequest.BodyPublishers.ofByteArray(body));
      for (String name : List.of("Content-Type", "Authorization", "Accept")) {
        String v = ex.getRequestHeaders().getFirst(name);
        if (v != null) {
          out.header(name, v);
        }
      }
      forwarded.incrementAndGet();
      HttpResponse<byte[]> resp = client.send(out.build(), HttpResponse.BodyHandlers.ofByteArray());
      resp.headers().firstValue("Content-Type").ifPresent(v -> ex.getResponseHeaders().set("Content-Type", v));
      ex.sendResponseHeaders(resp.statusCode(), resp.body().length == 0 ? -1 : resp.body().length);
      ex.getResponseBody().write(resp.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      holds.forEach(Hold::drop);
    }
    server.stop(0);
    handlers.shutdownNow();
    client.close();
  }

  /** A request parked in the proxy. */
  static final class Hold {
    private final CountDownLatch arrived = new CountDownLatch(1);
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile boolean dropped;

    boolean awaitArrival(Duration timeout) throws InterruptedException {
      return arrived.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Forward the held request to the provider. */
    void release() {
      released.countDown();
    }

    /** Answer 400 without forwarding (not retryable): the provider never sees the request. */
    void drop() {
      dropped = true;
      released.countDown();
    }
  }
}
