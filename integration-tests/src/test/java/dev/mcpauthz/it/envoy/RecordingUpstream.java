package dev.mcpauthz.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;

/**
 * A real Jetty upstream on 127.0.0.1 that records what it receives (method, raw path, every header
 * line, body) and answers through a pluggable {@link Responder}, which runs on its own virtual thread
 * and may block (e.g. to hold an SSE stream open until the test releases it).
 */
final class RecordingUpstream implements AutoCloseable {

  record Received(String method, String pathQuery, List<Map.Entry<String, String>> headers, byte[] body) {

    /** All values of a header (case-insensitive name), one per header line. */
    List<String> values(String name) {
      return headers.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
    }

    String header(String name) {
      List<String> v = values(name);
      return v.isEmpty() ? null : v.get(0);
    }

    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  @FunctionalInterface
  interface Responder {
    void respond(Received request, Exchange exchange) throws Exception;
  }

  /** Blocking helpers around a Jetty core response. */
  static final class Exchange {
    final Response response;
    private final Callback callback;

    Exchange(Response response, Callback callback) {
      this.response = response;
      this.callback = callback;
    }

    Exchange status(int status) {
      response.setStatus(status);
      return this;
    }

    Exchange header(String name, String value) {
      response.getHeaders().add(name, value);
      return this;
    }

    /** Writes and flushes a chunk (blocking). */
    Exchange write(String text) throws Exception {
      try (Blocker.Callback cb = Blocker.callback()) {
        response.write(false, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), cb);
        cb.block();
      }
      return this;
    }

    void end(String text) {
      response.write(true, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), callback);
    }

    void end() {
      end("");
    }

    void abort(Throwable t) {
      callback.failed(t);
    }
  }

  static Responder text(int status, String body) {
    return (r, x) -> x.status(status).header("content-type", "text/plain").end(body);
  }

  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
  private final Server server;
  private final ServerConnector connector;
  private volatile Responder responder = text(200, "upstream ok");

  private RecordingUpstream() throws Exception {
    server = new Server();
    HttpConfiguration http = new HttpConfiguration();
    http.setUriCompliance(UriCompliance.UNSAFE);
    connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        Thread.ofVirtual().start(() -> {
          try {
            List<Map.Entry<String, String>> headers = new ArrayList<>();
            for (HttpField f : request.getHeaders()) {
              headers.add(Map.entry(f.getName().toLowerCase(Locale.ROOT), f.getValue()));
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            Content.Source.asInputStream(request).transferTo(body);
            Received r = new Received(request.getMethod(), request.getHttpURI().getPathQuery(),
                List.copyOf(headers), body.toByteArray());
            received.add(r);
            responder.respond(r, new Exchange(response, callback));
          } catch (Throwable t) {
            callback.failed(t);
          }
        });
        return true;
      }
    });
    server.start();
  }

  static RecordingUpstream start() throws Exception {
    return new RecordingUpstream();
  }

  URI uri() {
    return URI.create("http://127.0.0.1:" + connector.getLocalPort());
  }

  RecordingUpstream respond(Responder r) {
    responder = r;
    return this;
  }

  /** The next request the upstream received (waits up to 2 s). */
  Received take() throws InterruptedException {
    Received r = received.poll(2, TimeUnit.SECONDS);
    assertThat(r).as("a request reached the upstream").isNotNull();
    return r;
  }

  int receivedCount() {
    return received.size();
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
