package dev.mcpauthz.it.gateway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real Envoy process running {@code envoy-examples/envoy.yaml} with its loopback ports replaced
 * by the ones the test picked; stopped (and waited for) on close.
 */
final class RealEnvoy implements Gateway {
  private final Process process;
  private final URI base;

  private RealEnvoy(Process process, URI base) {
    this.process = process;
    this.base = base;
  }

  static RealEnvoy start(Path envoyBin, Ports ports, String serverId) {
    try {
      Path example = locateExample();
      int admin = Gateway.freePort();
      String yaml = Files.readString(example)
          .replace("port_value: 10000", "port_value: " + ports.listen())
          .replace("port_value: 9191", "port_value: " + ports.authzGrpc())
          .replace("port_value: 8080", "port_value: " + ports.authzHttp())
          .replace("port_value: 3000", "port_value: " + ports.upstream().getPort())
          .replace("port_value: 9901", "port_value: " + admin)
          .replace("mcp_server: demo", "mcp_server: " + serverId);
      Path dir = Files.createDirectories(Path.of("target", "envoy"));
      Path config = dir.resolve("envoy-" + ports.listen() + ".yaml");
      Files.writeString(config, yaml);
      Process p = new ProcessBuilder(envoyBin.toString(), "-c", config.toString(), "--base-id",
          Integer.toString(ports.listen()), "--log-level", "warn")
          .redirectErrorStream(true)
          .redirectOutput(dir.resolve("envoy-" + ports.listen() + ".log").toFile())
          .start();
      RealEnvoy envoy = new RealEnvoy(p, URI.create("http://127.0.0.1:" + ports.listen()));
      envoy.awaitReady(admin);
      return envoy;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path locateExample() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolve("envoy-examples/envoy.yaml");
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("envoy-examples/envoy.yaml not found above " + Path.of("").toAbsolutePath());
  }

  private void awaitReady(int adminPort) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("envoy exited with " + process.exitValue() + "; see target/envoy/*.log");
      }
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/ready")).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // admin listener not up yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
      try {
        Thread.sleep(100); // polling the admin endpoint; readiness is the condition, not the pause
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
    close();
    throw new IllegalStateException("envoy not ready within 30s");
  }

  @Override
  public URI baseUri() {
    return base;
  }

  @Override
  public String kind() {
    return "envoy";
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
