package dev.mcpauthz.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * A scriptable OAuth token endpoint: a real HTTP/1.1 server on 127.0.0.1 (ephemeral port) for tests
 * of anything that calls a token endpoint (provider client, vault).
 *
 * <ul>
 *   <li>{@link #enqueue} scripts the next responses of {@code POST /token}, one per call, in order;
 *       when the script is empty, {@link #otherwise} answers, with a fixed reply or one computed
 *       from the request (default: 500, so an unexpected extra call shows up as a failure). A {@link Reply} is a status, body and headers, or a closed
 *       connection; any reply can be {@linkplain Reply#heldBy held} by a {@link Gate} the test opens.
 *   <li>Every token request is recorded (headers, raw body, form parameters, arrival time) and
 *       counted; {@link #calls()} is the number of token requests that arrived.
 *   <li>Discovery: {@link #publishRfc8414} serves RFC 8414 metadata at the path-inserted URL of
 *       {@link #issuer()} ({@code /.well-known/oauth-authorization-server/realms/test}),
 *       {@link #publishOidc} OIDC metadata at {@code /realms/test/.well-known/openid-configuration};
 *       unpublished documents answer 404. Metadata requests are counted separately and can be
 *       {@linkplain #holdMetadata held}.
 * </ul>
 *
 * Closing the server opens every gate still holding a request.
 */
public final class FaultyTokenEndpoint implements AutoCloseable {
  public static final String TOKEN_PATH = "/token";
  public static final String ISSUER_PATH = "/realms/test";
  public static final String RFC8414_PATH = "/.well-known/oauth-authorization-server" + ISSUER_PATH;
  public static final String OIDC_PATH = ISSUER_PATH + "/.well-known/openid-configuration";

  /** One recorded request. Header names are lower case. */
  public record Recorded(Instant receivedAt, String method, String path, Map<String, List<String>> headers, String body) {
    public String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** The {@code application/x-www-form-urlencoded} body, decoded; repeated names keep every value. */
    public Map<String, List<String>> form() {
      Map<String, List<String>> params = new LinkedHashMap<>();
      if (body == null || body.isEmpty()) {
        return params;
      }
      for (String pair : body.split("&")) {
        int eq = pair.indexOf('=');
        String k = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
        String v = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
        params.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
      }
      return params;
    }

    /** The first value of a form parameter, or null. */
    public String param(String name) {
      List<String> v = form().get(name);
      return v == null ? null : v.get(0);
    }
  }

  /** A scripted answer. Immutable; the builder-style methods return copies. */
  public record Reply(int status, String body, Map<String, String> headers, Gate gate, boolean dropConnection,
      boolean stallBody) {
    public static Reply json(int status, String json) {
      return new Reply(status, json, Map.of("Content-Type", "application/json;charset=UTF-8"), null, false, false);
    }

    public static Reply form(int status, String formBody) {
      return new Reply(status, formBody, Map.of("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), null, false, false);
    }

    /** An RFC 6749 §5.1 success; null refresh token, expiresIn or scope are left out. */
    public static Reply tokens(String accessToken, String refreshToken, Long expiresIn, String scope) {
      StringBuilder b = new StringBuilder("{\"access_token\":\"").append(accessToken).append("\",\"token_type\":\"Bearer\"");
      if (refreshToken != null) {
        b.append(",\"refresh_token\":\"").append(refreshToken).append('"');
      }
      if (expiresIn != null) {
        b.append(",\"expires_in\":").append(expiresIn);
      }
      if (scope != null) {
        b.append(",\"scope\":\"").append(scope).append('"');
      }
      return json(200, b.append('}').toString());
    }

    /** An RFC 6749 §5.2 error. */
    public static Reply error(int status, String error, String description) {
      return json(status, "{\"error\":\"" + error + "\",\"error_description\":\"" + description + "\"}");
    }

    public static Reply status(int status) {
      return new Reply(status, "", Map.of(), null, false, false);
    }

    /** 429 or 503 with {@code Retry-After} (delay-seconds or an HTTP-date). */
    public static Reply retryAfter(int status, String retryAfter) {
      return status(status).header("Retry-After", retryAfter);
    }

    /** Reads the request, then closes the connection without any response. */
    public static Reply closeConnection() {
      return new Reply(0, null, Map.of(), null, true, false);
    }

    public Reply header(String name, String value) {
      Map<String, String> h = new LinkedHashMap<>(headers);
      h.put(name, value);
      return new Reply(status, body, Collections.unmodifiableMap(h), gate, dropConnection, stallBody);
    }

    /** Answers only once the gate is opened (the request is recorded before it waits). */
    public Reply heldBy(Gate g) {
      return new Reply(status, body, headers, g, dropConnection, false);
    }

    /** Sends the headers and half the body at once, the rest only once the gate is opened (a trickle). */
    public Reply bodyHeldBy(Gate g) {
      return new Reply(status, body, headers, g, dropConnection, true);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Clock clock;
  private final Queue<Reply> script = new ConcurrentLinkedQueue<>();
  private volatile Function<Recorded, Reply> otherwise = r -> Reply.error(500, "server_error", "unscripted call");
  private final List<Recorded> requests = new CopyOnWriteArrayList<>();
  private final List<String> metadataRequests = new CopyOnWriteArrayList<>();
  private final Map<String, String> metadata = new ConcurrentHashMap<>();
  private final Set<Gate> gates = ConcurrentHashMap.newKeySet();
  private volatile Gate metadataGate;

  private FaultyTokenEndpoint(Clock clock) throws IOException {
    this.clock = clock;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  public static FaultyTokenEndpoint start() {
    return start(Clock.systemUTC());
  }

  /** {@code clock} stamps {@link Recorded#receivedAt()}. */
  public static FaultyTokenEndpoint start(Clock clock) {
    try {
      return new FaultyTokenEndpoint(clock);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public URI tokenEndpoint() {
    return URI.create(baseUrl() + TOKEN_PATH);
  }

  public URI authorizationEndpoint() {
    return URI.create(baseUrl() + "/authorize");
  }

  public URI revocationEndpoint() {
    return URI.create(baseUrl() + "/revoke");
  }

  /** An issuer with a path, so discovery must use RFC 8414 path insertion. */
  public String issuer() {
    return baseUrl() + ISSUER_PATH;
  }

  public FaultyTokenEndpoint enqueue(Reply... replies) {
    script.addAll(List.of(replies));
    return this;
  }

  public FaultyTokenEndpoint otherwise(Reply reply) {
    this.otherwise = r -> reply;
    return this;
  }

  /**
   * Computes the answer from the request when the script is empty, e.g. a rotating refresh-token
   * server that refuses reused tokens. Called concurrently: keep it thread-safe.
   */
  public FaultyTokenEndpoint otherwise(Function<Recorded, Reply> responder) {
    this.otherwise = responder;
    return this;
  }

  /** Serves RFC 8414 metadata naming {@code issuerClaim} as its issuer (pass {@link #issuer()} to match). */
  public FaultyTokenEndpoint publishRfc8414(String issuerClaim) {
    metadata.put(RFC8414_PATH, metadataJson(issuerClaim));
    return this;
  }

  /** Serves OIDC discovery metadata naming {@code issuerClaim} as its issuer. */
  public FaultyTokenEndpoint publishOidc(String issuerClaim) {
    metadata.put(OIDC_PATH, metadataJson(issuerClaim));
    return this;
  }

  /** Holds every metadata request at {@code gate} until the test opens it (null: answer at once). */
  public FaultyTokenEndpoint holdMetadata(Gate gate) {
    this.metadataGate = gate;
    if (gate != null) {
      gates.add(gate);
    }
    return this;
  }

  public FaultyTokenEndpoint unpublishMetadata() {
    metadata.clear();
    return this;
  }

  private String metadataJson(String issuerClaim) {
    return "{\"issuer\":\"" + issuerClaim + "\",\"token_endpoint\":\"" + tokenEndpoint()
        + "\",\"authorization_endpoint\":\"" + authorizationEndpoint()
        + "\",\"revocation_endpoint\":\"" + revocationEndpoint()
        + "\",\"response_types_supported\":[\"code\"],\"grant_types_supported\":[\"authorization_code\",\"refresh_token\"]"
        + ",\"code_challenge_methods_supported\":[\"S256\"]}";
  }

  /** Token requests received so far, in arrival order. */
  public List<Recorded> requests() {
    return List.copyOf(requests);
  }

  public Recorded request(int index) {
    return requests.get(index);
  }

  public Recorded lastRequest() {
    return requests.get(requests.size() - 1);
  }

  public int calls() {
    return requests.size();
  }

  /** Paths of the metadata requests received so far (published or not). */
  public List<String> metadataRequests() {
    return List.copyOf(metadataRequests);
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      if (path.contains("/.well-known/")) {
        metadataRequests.add(path);
        Gate gate = metadataGate;
        if (gate != null) {
          gate.pass();
        }
        String doc = metadata.get(path);
        write(ex, doc == null ? Reply.status(404) : Reply.json(200, doc));
        return;
      }
      if (!path.equals(TOKEN_PATH) || !ex.getRequestMethod().equals("POST")) {
        write(ex, Reply.status(404));
        return;
      }
      Map<String, List<String>> headers = new LinkedHashMap<>();
      ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
      Recorded recorded = new Recorded(clock.instant(), ex.getRequestMethod(), path, Map.copyOf(headers), body);
      requests.add(recorded);
      Reply reply = script.poll();
      if (reply == null) {
        reply = otherwise.apply(recorded);
      }
      if (reply.gate() != null) {
        gates.add(reply.gate());
        if (reply.stallBody()) {
          writeStalled(ex, reply);
          return;
        }
        reply.gate().pass();
      }
      if (reply.dropConnection()) {
        return; // closing the exchange before sending headers drops the connection
      }
      write(ex, reply);
    }
  }

  private static void write(HttpExchange ex, Reply reply) throws IOException {
    reply.headers().forEach((k, v) -> ex.getResponseHeaders().add(k, v));
    byte[] bytes = reply.body() == null ? new byte[0] : reply.body().getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(reply.status(), bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      ex.getResponseBody().write(bytes);
    }
  }

  private static void writeStalled(HttpExchange ex, Reply reply) throws IOException {
    reply.headers().forEach((k, v) -> ex.getResponseHeaders().add(k, v));
    byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
    ex.sendResponseHeaders(reply.status(), bytes.length);
    ex.getResponseBody().write(bytes, 0, bytes.length / 2);
    ex.getResponseBody().flush();
    reply.gate().pass();
    ex.getResponseBody().write(bytes, bytes.length / 2, bytes.length - bytes.length / 2);
  }

  @Override
  public void close() {
    gates.forEach(Gate::open);
    server.stop(0);
    executor.shutdownNow();
  }
}
