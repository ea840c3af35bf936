package dev.mcpauthz.it.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A 2026-07-28 MCP server from the official TypeScript SDK 2.x ({@code src/test/node/serve-v2.mjs})
 * on 127.0.0.1 as a child process: the upstream a 2.x client in the modern era needs (the MCP Java
 * SDK demo server speaks 2025-11-25 at most). It also serves 2025-era clients statelessly. Tools
 * {@code echo} and {@code whoami} (subject, the Authorization header it received, era). Records
 * every request it receives ({@link #requests()}). The process ends on {@link #close()}, and on
 * its own when the test JVM dies (it exits at the end of its stdin).
 */
public final class TsMcpServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final Process process;
  private final List<JsonNode> requests = new CopyOnWriteArrayList<>();
  private final StringBuffer stderr = new StringBuffer();
  private final CompletableFuture<Integer> port = new CompletableFuture<>();

  private TsMcpServer() throws IOException {
    process = new ProcessBuilder("node", "serve-v2.mjs", "0").directory(TsMcpClient.scriptsDir().toFile()).start();
    Thread.ofVirtual().name("ts-mcp-server-stdout").start(this::readStdout);
    Thread.ofVirtual().name("ts-mcp-server-stderr").start(() -> {
      try (BufferedReader r = process.errorReader(StandardCharsets.UTF_8)) {
        r.lines().forEach(l -> stderr.append(l).append('\n'));
      } catch (IOException | UncheckedIOException ignored) {
        // ended
      }
    });
  }

  /** Starts the server and waits (bounded) until it listens. */
  public static TsMcpServer start() {
    TsMcpServer s;
    try {
      s = new TsMcpServer();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run node (Node.js 20+ must be on PATH)", e);
    }
    try {
      s.port.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return s;
    } catch (InterruptedException | ExecutionException | TimeoutException e) {
      s.close();
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new IllegalStateException("the TypeScript MCP server did not start: " + s.stderr, e);
    }
  }

  private void readStdout() {
    try (BufferedReader r = process.inputReader(StandardCharsets.UTF_8)) {
      String line;
      while ((line = r.readLine()) != null) {
        JsonNode n = JSON.readTree(line);
        switch (n.path("event").asText()) {
          case "listening" -> port.complete(n.get("port").asInt());
          case "request" -> requests.add(n);
          default -> { }
        }
      }
    } catch (IOException ignored) {
      // ended
    } finally {
      port.completeExceptionally(new IllegalStateException("exited: " + stderr));
    }
  }

  /** http://127.0.0.1:port (the server answers MCP on every path). */
  public URI baseUri() {
    return URI.create("http://127.0.0.1:" + port.join());
  }

  /** Every request received so far: {@code {method, headers: {selected lower-case names}, body}}. */
  public List<JsonNode> requests() {
    return List.copyOf(requests);
  }

  @Override
  public void close() {
    TsMcpClient.stop(process);
  }
}
