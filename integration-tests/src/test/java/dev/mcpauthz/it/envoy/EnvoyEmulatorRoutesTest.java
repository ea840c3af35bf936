package dev.mcpauthz.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The route table (as in envoy-examples/envoy.yaml), stream_idle_timeout, and the standalone CLI. */
class EnvoyEmulatorRoutesTest {

  private ScriptedAuthzServer authz;
  private RecordingUpstream mcp;
  private RecordingUpstream metadata;
  private EnvoyExtAuthzEmulator envoy;

  @BeforeEach
  void start() throws Exception {
    authz = ScriptedAuthzServer.start();
    mcp = RecordingUpstream.start();
    metadata = RecordingUpstream.start();
  }

  @AfterEach
  void stop() {
    if (envoy != null) {
      envoy.close();
    }
    metadata.close();
    mcp.close();
    authz.close();
  }

  private void envoyWithRoutes() {
    envoy = EnvoyExtAuthzEmulator.start(
        ExtAuthzFilterConfig.builder(authz.target()).timeout(ScriptedAuthzServer.FUNCTIONAL_TIMEOUT).build(),
        List.of(
            EmulatedRoute.prefix("/.well-known/oauth-protected-resource", metadata.uri()).withExtAuthzDisabled(),
            EmulatedRoute.prefix("/mcp", mcp.uri()).withContextExtensions(Map.of("mcp_server", "demo"))),
        new InetSocketAddress("127.0.0.1", 0));
  }

  @Test
  void disabledRouteSkipsTheCheckAndGoesToItsOwnCluster() throws Exception {
    envoyWithRoutes();

    RawHttp.Result res = RawHttp.exchange(envoy.baseUri(),
        "GET /.well-known/oauth-protected-resource/mcp HTTP/1.1\r\nHost: h\r\nConnection: close");

    assertThat(res.status()).isEqualTo(200);
    assertThat(metadata.take().pathQuery()).isEqualTo("/.well-known/oauth-protected-resource/mcp");
    assertThat(authz.receivedCount()).isZero();
    assertThat(mcp.receivedCount()).isZero();
    assertThat(envoy.checks()).isEmpty();
  }

  @Test
  void protectedRouteCarriesItsContextExtensions() throws Exception {
    envoyWithRoutes();

    RawHttp.exchange(envoy.baseUri(), "GET /mcp?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close");

    assertThat(authz.takeRequest().getAttributes().getContextExtensionsMap()).isEqualTo(Map.of("mcp_server", "demo"));
    assertThat(mcp.take().pathQuery()).isEqualTo("/mcp?x=1");
    assertThat(metadata.receivedCount()).isZero();
  }

  @Test
  void noMatchingRouteIsAnEmpty404WithoutACheck() throws Exception {
    envoyWithRoutes();

    RawHttp.Result res = RawHttp.exchange(envoy.baseUri(), "GET /other HTTP/1.1\r\nHost: h\r\nConnection: close");

    assertThat(res.status()).isEqualTo(404);
    assertThat(res.body()).isEmpty();
    assertThat(res.header("server")).isEqualTo("envoy");
    assertThat(authz.receivedCount()).isZero();
  }

  @Test
  void streamIdleTimeoutResetsAQuietStream() throws Exception {
    CountDownLatch never = new CountDownLatch(1);
    mcp.respond((r, x) -> {
      x.status(200).header("content-type", "text/event-stream").write("data: hello\n\n");
      never.await(5, TimeUnit.SECONDS);
      x.end();
    });
    envoy = EnvoyExtAuthzEmulator.start(ExtAuthzFilterConfig.builder(authz.target())
        .timeout(ScriptedAuthzServer.FUNCTIONAL_TIMEOUT).streamIdleTimeout(Duration.ofMillis(300)).build(), mcp.uri());

    try (Socket socket = new Socket("127.0.0.1", envoy.port())) {
      OutputStream out = socket.getOutputStream();
      out.write("GET /mcp HTTP/1.1\r\nHost: h\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      CompletableFuture<Boolean> sawEventThenEnd = CompletableFuture.supplyAsync(() -> {
        boolean sawEvent = false;
        try {
          String line;
          while ((line = reader.readLine()) != null) {
            sawEvent |= line.equals("data: hello");
          }
        } catch (Exception e) {
          // reset
        }
        return sawEvent;
      });
      assertThat(sawEventThenEnd.get(3, TimeUnit.SECONDS)).isTrue();
    } finally {
      never.countDown();
    }
  }

  @Test
  void cliRejectsIncompleteArgumentsAndPrintsUsage() throws Exception {
    assertThatThrownBy(() -> EnvoyExtAuthzEmulator.main(new String[] {"--ext-authz", "127.0.0.1:1"}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--upstream");
    assertThatThrownBy(() -> EnvoyExtAuthzEmulator.main(new String[] {"--upstream", "http://127.0.0.1:1"}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--ext-authz");
    assertThatThrownBy(() -> EnvoyExtAuthzEmulator.main(new String[] {"--context-extension", "novalue"}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key=value");

    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      EnvoyExtAuthzEmulator.main(new String[] {"--help"});
    } finally {
      System.setOut(original);
    }
    assertThat(captured.toString(StandardCharsets.UTF_8)).contains("--ext-authz", "--route", "--with-body");
  }
}
