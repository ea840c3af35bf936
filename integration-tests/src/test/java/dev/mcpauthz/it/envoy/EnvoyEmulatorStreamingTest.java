package dev.mcpauthz.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** MCP Streamable HTTP through the emulator: SSE streamed, POST/GET/DELETE, disconnects, dead upstream. */
class EnvoyEmulatorStreamingTest {

  private static HttpClient http;

  private ScriptedAuthzServer authz;
  private RecordingUpstream upstream;
  private EnvoyExtAuthzEmulator envoy;
  private final CountDownLatch releaseUpstream = new CountDownLatch(1);

  @BeforeAll
  static void client() {
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterAll
  static void closeClient() {
    http.close();
  }

  @BeforeEach
  void start() throws Exception {
    authz = ScriptedAuthzServer.start();
    upstream = RecordingUpstream.start();
    envoy = EnvoyExtAuthzEmulator.start(ExtAuthzFilterConfig.builder(authz.target()).timeout(ScriptedAuthzServer.FUNCTIONAL_TIMEOUT).build(), upstream.uri());
  }

  @AfterEach
  void stop() throws Exception {
    releaseUpstream.countDown(); // never leave a responder blocked
    envoy.close();
    upstream.close();
    authz.close();
  }

  /** Writes one event, holds the stream open until the test releases it, then a second event. */
  private RecordingUpstream.Responder sseUntilReleased() {
    return (r, x) -> {
      x.status(200).header("content-type", "text/event-stream").header("cache-control", "no-cache")
          .header("mcp-session-id", "session-1");
      x.write("event: message\ndata: {\"n\":1}\n\n");
      if (!releaseUpstream.await(5, TimeUnit.SECONDS)) {
        x.abort(new IllegalStateException("test never released the stream"));
        return;
      }
      x.write("event: message\ndata: {\"n\":2}\n\n");
      x.end();
    };
  }

  private static CompletableFuture<String> nextDataLine(BufferedReader reader) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        String line;
        while ((line = reader.readLine()) != null) {
          if (line.startsWith("data:")) {
            return line;
          }
        }
        return null;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @Test
  void sseGetStreamIsFlushedEventByEvent() throws Exception {
    upstream.respond(sseUntilReleased());

    HttpResponse<InputStream> res = http.send(HttpRequest.newBuilder(envoy.baseUri().resolve("/mcp"))
        .header("accept", "text/event-stream").header("mcp-session-id", "session-1").GET()
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofInputStream());

    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.headers().firstValue("content-type")).hasValue("text/event-stream");
    assertThat(res.headers().firstValue("content-length")).isEmpty();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
      // The upstream has not finished (it waits for releaseUpstream): the first event must already be here.
      assertThat(nextDataLine(reader).get(2, TimeUnit.SECONDS)).isEqualTo("data: {\"n\":1}");
      releaseUpstream.countDown();
      assertThat(nextDataLine(reader).get(2, TimeUnit.SECONDS)).isEqualTo("data: {\"n\":2}");
      assertThat(reader.readLine()).isEmpty(); // blank line ending the event
      assertThat(reader.readLine()).isNull(); // end of stream
    }
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.method()).isEqualTo("GET");
    assertThat(up.header("accept")).isEqualTo("text/event-stream");
  }

  @Test
  void postAnsweredWithSseIsStreamedAndTheBodyForwarded() throws Exception {
    upstream.respond(sseUntilReleased());
    String rpc = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}";

    HttpResponse<InputStream> res = http.send(HttpRequest.newBuilder(envoy.baseUri().resolve("/mcp"))
        .header("accept", "application/json, text/event-stream").header("content-type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(rpc)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofInputStream());

    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.headers().firstValue("mcp-session-id")).hasValue("session-1");
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
      assertThat(nextDataLine(reader).get(2, TimeUnit.SECONDS)).isEqualTo("data: {\"n\":1}");
      releaseUpstream.countDown();
      assertThat(nextDataLine(reader).get(2, TimeUnit.SECONDS)).isEqualTo("data: {\"n\":2}");
    }
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.method()).isEqualTo("POST");
    assertThat(up.bodyText()).isEqualTo(rpc);
  }

  @Test
  void deleteIsForwarded() throws Exception {
    upstream.respond((r, x) -> x.status(204).end());

    HttpResponse<String> res = http.send(HttpRequest.newBuilder(envoy.baseUri().resolve("/mcp"))
        .header("mcp-session-id", "session-1").DELETE().timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(204);
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.method()).isEqualTo("DELETE");
    assertThat(up.header("mcp-session-id")).isEqualTo("session-1");
    assertThat(authz.takeRequest().getAttributes().getRequest().getHttp().getMethod()).isEqualTo("DELETE");
  }

  @Test
  void clientClosingTheStreamResetsTheUpstream() throws Exception {
    CompletableFuture<Throwable> upstreamWriteFailure = new CompletableFuture<>();
    CountDownLatch clientGone = new CountDownLatch(1);
    upstream.respond((r, x) -> {
      x.status(200).header("content-type", "text/event-stream");
      x.write("data: first\n\n");
      clientGone.await(5, TimeUnit.SECONDS);
      try {
        for (int i = 0; i < 1_000_000; i++) { // until a write fails
          x.write("data: ping " + i + "\n\n");
        }
        upstreamWriteFailure.complete(null);
        x.end();
      } catch (Exception e) {
        upstreamWriteFailure.complete(e);
      }
    });

    URI base = envoy.baseUri();
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      OutputStream out = socket.getOutputStream();
      out.write("GET /mcp HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      assertThat(nextDataLine(reader).get(2, TimeUnit.SECONDS)).isEqualTo("data: first");
    }
    clientGone.countDown();

    assertThat(upstreamWriteFailure.get(3, TimeUnit.SECONDS))
        .as("the upstream stream was reset after the client went away").isNotNull();
  }

  @Test
  void deadUpstreamIs503WithEnvoysBody() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    envoy.close();
    envoy = EnvoyExtAuthzEmulator.start(ExtAuthzFilterConfig.builder(authz.target()).timeout(ScriptedAuthzServer.FUNCTIONAL_TIMEOUT).build(),
        URI.create("http://127.0.0.1:" + closedPort));

    HttpResponse<String> res = http.send(HttpRequest.newBuilder(envoy.baseUri().resolve("/mcp")).GET()
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());

    assertThat(res.statusCode()).isEqualTo(503);
    assertThat(res.body()).startsWith("upstream connect error or disconnect/reset before headers");
    assertThat(res.headers().firstValue("content-type")).hasValue("text/plain");
  }
}
