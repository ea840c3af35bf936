package dev.mcpauthz.it.gateway;

import dev.mcpauthz.it.envoy.EnvoyExtAuthzEmulator;
import dev.mcpauthz.it.envoy.ExtAuthzFilterConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;

/**
 * The proxy in front of the MCP server: a real Envoy running {@code envoy-examples/envoy.yaml}
 * when {@code ENVOY_BIN} is set, else the in-repo ext_authz emulator configured the same way
 * (gRPC ext_authz, body packed as bytes, partial bodies allowed, fail closed with 503, context
 * extension {@code mcp_server: <serverId>}).
 */
public interface Gateway extends AutoCloseable {
  /** http://127.0.0.1:port of the gateway listener. */
  URI baseUri();

  /** "envoy" or "emulator", for test names and messages. */
  String kind();

  @Override
  void close();

  record Ports(int listen, int authzGrpc, int authzHttp, URI upstream) {}

  static Gateway start(Ports ports, String serverId) {
    String envoyBin = System.getenv("ENVOY_BIN");
    if (envoyBin != null && !envoyBin.isBlank()) {
      return RealEnvoy.start(Path.of(envoyBin), ports, serverId);
    }
    ExtAuthzFilterConfig cfg = ExtAuthzFilterConfig.builder("127.0.0.1:" + ports.authzGrpc())
        .timeout(java.time.Duration.ofMillis(500))
        .withRequestBody(1024 * 1024, true)
        .packAsBytes(true)
        .statusOnError(503)
        .contextExtension("mcp_server", serverId)
        .build();
    EnvoyExtAuthzEmulator emulator = EnvoyExtAuthzEmulator.start(cfg, ports.upstream(),
        new InetSocketAddress("127.0.0.1", ports.listen()));
    return new Gateway() {
      @Override
      public URI baseUri() {
        return emulator.baseUri();
      }

      @Override
      public String kind() {
        return "emulator";
      }

      @Override
      public void close() {
        emulator.close();
      }
    };
  }

  /** A currently free loopback port (for URIs that must be known before a listener starts). */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
