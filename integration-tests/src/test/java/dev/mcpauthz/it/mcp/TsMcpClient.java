package dev.mcpauthz.it.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs a real TypeScript MCP SDK client (the scripts in {@code src/test/node}, installed by the
 * build's {@code npm ci}) as a child process and reads what it prints: one JSON object per line,
 * an outcome per tool call and events in between (see {@code call-v1.mjs}, {@code call-v2.mjs}).
 *
 * <pre>{@code
 * try (var c = TsMcpClient.start(TsMcpClient.Sdk.V1, mcpUrl, token, "echo", Map.of("text", "hi"),
 *     TsMcpClient.options().calls(2))) {
 *   TsMcpClient.Outcome first = c.nextOutcome();      // e.g. url_elicitation_required
 *   // ... the user consents in the browser ...
 *   c.send("retry");                                 // the script makes call 2 in the same session
 *   TsMcpClient.Outcome second = c.nextOutcome();
 * }                                                   // the process is always destroyed
 * }</pre>
 */
public final class TsMcpClient implements AutoCloseable {
  /** The two SDK majors and their scripts. */
  public enum Sdk {
    /** {@code @modelcontextprotocol/sdk} 1.x: 2025-11-25, -32042 as UrlElicitationRequiredError. */
    V1("call-v1.mjs"),
    /** {@code @modelcontextprotocol/client} 2.x: 2026-07-28 input_required, or 2025-11-25. */
    V2("call-v2.mjs");

    final String script;

    Sdk(String script) {
      this.script = script;
    }
  }

  /** Longest wait for one line (an SDK request times out before this: --timeout-ms 20 s). */
  public static final Duration LINE_TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNode EOF = JSON.createObjectNode().put("event", "eof");

  private final Process process;
  private final BlockingQueue<JsonNode> queue = new LinkedBlockingQueue<>();
  private final List<JsonNode> lines = new CopyOnWriteArrayList<>();
  private final StringBuffer stderr = new StringBuffer();
  private final OutputStream stdin;
  private final String description;

  /** Script options beyond URL, token, tool and arguments. */
  public static final class Options {
    int calls = 1;
    final List<String> extra = new ArrayList<>();

    /** How many times the tool is called in the same session (the next after each {@link #send}). */
    public Options calls(int n) {
      calls = n;
      return this;
    }

    /** V2: legacy (initialize, 2025-11-25), auto, modern (pinned 2026-07-28) or prior-modern. */
    public Options era(String era) {
      return arg("--era", era);
    }

    /** V2: report (print input_required) or fulfil (the SDK's driver calls our handler). */
    public Options inputRequired(String mode) {
      return arg("--input-required", mode);
    }

    /** "url" (default: the client declares URL-mode elicitation) or "none" (no elicitation capability). */
    public Options elicitation(String mode) {
      return arg("--elicitation", mode);
    }

    public Options maxRounds(int n) {
      return arg("--max-rounds", Integer.toString(n));
    }

    public Options arg(String name, String value) {
      extra.add(name);
      extra.add(value);
      return this;
    }
  }

  public static Options options() {
    return new Options();
  }

  /** One outcome line: {@code ok}, {@code url_elicitation_required}, {@code input_required} or {@code error}. */
  public record Outcome(int call, String outcome, JsonNode json) {
    public boolean ok() {
      return "ok".equals(outcome);
    }

    /** The first text content of an {@code ok} result. */
    public String text() {
      for (JsonNode c : json.path("content")) {
        if ("text".equals(c.path("type").asText())) {
          return c.path("text").asText();
        }
      }
      return null;
    }

    public boolean isError() {
      return json.path("isError").asBoolean(false);
    }

    /** JSON-RPC or HTTP error code, when the outcome has one. */
    public Integer code() {
      return json.hasNonNull("code") ? json.get("code").asInt() : null;
    }

    public String message() {
      return json.path("message").asText(null);
    }

    /** {@code url_elicitation_required}: what the SDK's UrlElicitationRequiredError carried. */
    public List<Elicitation> elicitations() {
      List<Elicitation> out = new ArrayList<>();
      for (JsonNode e : json.path("elicitations")) {
        out.add(new Elicitation(text(e, "mode"), text(e, "elicitationId"), text(e, "url"), text(e, "message")));
      }
      return out;
    }

    /** {@code input_required}: the input requests by key, in order. */
    public Map<String, InputRequest> inputRequests() {
      Map<String, InputRequest> out = new LinkedHashMap<>();
      json.path("inputRequests").properties().forEach(e -> {
        JsonNode params = e.getValue().path("params");
        out.put(e.getKey(), new InputRequest(e.getKey(), text(e.getValue(), "method"), text(params, "mode"),
            text(params, "url"), text(params, "message"), e.getValue()));
      });
      return out;
    }

    private static String text(JsonNode n, String field) {
      return n.hasNonNull(field) ? n.get(field).asText() : null;
    }
  }

  /** One entry of a -32042 error's {@code data.elicitations}, as the SDK surfaced it. */
  public record Elicitation(String mode, String elicitationId, String url, String message) {}

  /** One entry of an InputRequiredResult's {@code inputRequests}. */
  public record InputRequest(String key, String method, String mode, String url, String message, JsonNode json) {}

  private TsMcpClient(Sdk sdk, URI url, String token, String tool, Map<String, ?> args, Options options)
      throws IOException {
    Path dir = scriptsDir();
    List<String> cmd = new ArrayList<>(List.of("node", sdk.script, "--url", url.toString(), "--tool", tool,
        "--args", JSON.writeValueAsString(args), "--calls", Integer.toString(options.calls)));
    cmd.addAll(options.extra);
    description = sdk + " " + String.join(" ", cmd.subList(1, cmd.size()));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
    pb.environment().remove("MCP_BEARER_TOKEN");
    if (token != null) {
      pb.environment().put("MCP_BEARER_TOKEN", token);
    }
    process = pb.start();
    stdin = process.getOutputStream();
    Thread.ofVirtual().name("ts-mcp-stdout").start(() -> readStdout(process));
    Thread.ofVirtual().name("ts-mcp-stderr").start(() -> {
      try (BufferedReader r = process.errorReader(StandardCharsets.UTF_8)) {
        r.lines().forEach(l -> stderr.append(l).append('\n'));
      } catch (IOException | UncheckedIOException ignored) {
        // process ended
      }
    });
  }

  /**
   * Starts the script: it connects (initialize, or 2026-07-28 discovery) and makes its first call
   * at once; read the lines with {@link #nextOutcome()} and {@link #nextEvent(String)}.
   */
  public static TsMcpClient start(Sdk sdk, URI mcpUrl, String bearerToken, String tool, Map<String, ?> arguments,
      Options options) {
    try {
      return new TsMcpClient(sdk, mcpUrl, bearerToken, tool, arguments, options);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run node (Node.js 20+ must be on PATH)", e);
    }
  }

  /** One session, one call: its outcome (the process has exited or is destroyed when this returns). */
  public static Outcome callOnce(Sdk sdk, URI mcpUrl, String bearerToken, String tool, Map<String, ?> arguments,
      Options options) {
    try (TsMcpClient c = start(sdk, mcpUrl, bearerToken, tool, arguments, options.calls(1))) {
      Outcome o = c.nextOutcome();
      c.awaitExit();
      return o;
    }
  }

  /** {@code src/test/node} (system property {@code ts.clients.dir}, set by the build), installed. */
  public static Path scriptsDir() {
    Path dir = Path.of(System.getProperty("ts.clients.dir", "src/test/node")).toAbsolutePath();
    for (String pkg : List.of("@modelcontextprotocol/sdk", "@modelcontextprotocol/client")) {
      if (!Files.isDirectory(dir.resolve("node_modules").resolve(pkg))) {
        throw new IllegalStateException(dir.resolve("node_modules").resolve(pkg) + " is missing: the build runs"
            + " npm ci there (integration-tests/pom.xml, execution npm-ci-ts-clients); run ./dev test");
      }
    }
    return dir;
  }

  private void readStdout(Process p) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        JsonNode node;
        try {
          node = JSON.readTree(line);
        } catch (IOException notJson) {
          node = JSON.createObjectNode().put("event", "unparsed").put("line", line);
        }
        lines.add(node);
        queue.add(node);
      }
    } catch (IOException ignored) {
      // destroyed
    } finally {
      queue.add(EOF);
    }
  }

  /** The next line, whatever it is; fails when none comes in time or the script has ended. */
  public JsonNode nextLine() {
    JsonNode n;
    try {
      n = queue.poll(LINE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for " + description);
    }
    if (n == null) {
      throw new AssertionError("no line from " + description + " within " + LINE_TIMEOUT.toSeconds() + " s"
          + diagnostics());
    }
    if (n == EOF) {
      queue.add(EOF);
      throw new AssertionError("the script ended before the expected line" + diagnostics());
    }
    return n;
  }

  /** The next outcome line; events before it are kept in {@link #lines()}. */
  public Outcome nextOutcome() {
    while (true) {
      JsonNode n = nextLine();
      if (n.has("outcome")) {
        return new Outcome(n.path("call").asInt(), n.get("outcome").asText(), n);
      }
    }
  }

  /** Skips lines up to the next event named {@code name} and returns it; an outcome on the way fails. */
  public JsonNode nextEvent(String name) {
    while (true) {
      JsonNode n = nextLine();
      if (name.equals(n.path("event").asText())) {
        return n;
      }
      if (n.has("outcome")) {
        throw new AssertionError("expected event " + name + " but got outcome " + n + diagnostics());
      }
    }
  }

  /** Writes one line to the script's stdin ("retry" between calls, "accept"/"decline"/"cancel" in fulfil mode). */
  public void send(String line) {
    try {
      stdin.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("the script no longer reads stdin" + diagnostics(), e);
    }
  }

  /** Waits (bounded) for the script to exit after its last call; returns the exit status. */
  public int awaitExit() {
    try {
      stdin.close();
      if (!process.waitFor(LINE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("the script did not exit within " + LINE_TIMEOUT.toSeconds() + " s" + diagnostics());
      }
      return process.exitValue();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted");
    }
  }

  /** Every line read so far (events and outcomes). */
  public List<JsonNode> lines() {
    return List.copyOf(lines);
  }

  public String stderr() {
    return stderr.toString();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  private String diagnostics() {
    return "\n  command: " + description + "\n  stdout: " + lines + "\n  stderr: " + stderr;
  }

  /** Ends a Node process and anything it started, waiting (bounded) until it is gone. */
  static void stop(Process process) {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Always ends the script (and anything it started). */
  @Override
  public void close() {
    stop(process);
  }
}
