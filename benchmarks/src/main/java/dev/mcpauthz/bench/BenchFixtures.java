package dev.mcpauthz.bench;

import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.testing.AuthzHarness;
import dev.mcpauthz.testing.Checks;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.testing.TestIssuer;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;

/**
 * What the benchmarks share: a real mcp-authz wired to a real in-process issuer (the same wiring
 * as the tests' {@link AuthzHarness}), a long-lived signed JWT for it, and Envoy-shaped
 * {@code tools/call} CheckRequests whose JSON-RPC body is padded to an exact size.
 */
final class BenchFixtures implements AutoCloseable {
  static final int DEFAULT_BODY_BYTES = 4096;
  static final String TOOL = "search";
  /** The upstream access token {@link #startWithVault()} stores: a Keycloak-sized, JWT-shaped 1,200-character token. */
  static final String UPSTREAM_TOKEN = jwtShaped(1200, 1);

  /**
   * A JWT-shaped token of exactly {@code length} characters: {@code header.payload.signature}, each
   * base64url without padding, the payload and the 256-byte (RS256) signature random from {@code
   * seed}. Random bytes, so what a compact encoding saves is the base64 overhead and nothing else.
   */
  static String jwtShaped(int length, long seed) {
    java.util.Random random = new java.util.Random(seed);
    java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
    byte[] sig = new byte[256];
    random.nextBytes(sig);
    String signature = b64.encodeToString(sig);
    // n bytes encode to ceil(4n/3) chars, never 4k+1: lengthen the key id until the payload fits.
    for (String kid = "bench-key-1"; kid.length() < 20; kid += "x") {
      String header = b64.encodeToString(("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" + kid + "\"}")
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      int payloadChars = length - header.length() - signature.length() - 2;
      if (payloadChars < 4) {
        throw new IllegalArgumentException("a JWT-shaped token needs more than " + length + " chars");
      }
      if (payloadChars % 4 != 1) {
        byte[] payload = new byte[payloadChars * 3 / 4];
        random.nextBytes(payload);
        return header + "." + b64.encodeToString(payload) + "." + signature;
      }
    }
    throw new IllegalStateException("no JWT shape of " + length + " chars");
  }

  final TestIssuer issuer;
  final AuthzConfig config;
  final McpAuthzServer server;
  final String token;

  private BenchFixtures(TestIssuer issuer, AuthzConfig config, McpAuthzServer server, String token) {
    this.issuer = issuer;
    this.config = config;
    this.server = server;
    this.token = token;
  }

  /** Starts a TestIssuer and a real McpAuthzServer (gRPC and HTTP on ephemeral 127.0.0.1 ports). */
  static BenchFixtures start() {
    TestIssuer issuer = TestIssuer.start();
    try {
      AuthzConfig config = ConfigLoader.parse(AuthzHarness.defaultYaml(issuer), "bench.yaml", Map.of(), null);
      McpAuthzServer server = McpAuthzServer.start(config);
      // Valid for an hour: the verified-token cache keeps it (at most 5 min, then one local re-verify).
      String token = issuer.mint(AuthzHarness.RESOURCE,
          c -> c.expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1)))));
      return new BenchFixtures(issuer, config, server, token);
    } catch (IOException e) {
      issuer.close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      issuer.close();
      throw e;
    }
  }

  /**
   * The same server with an upstream ({@code github} → provider {@code gh}): a single embedded
   * Hazelcast member on a free loopback port, and alice's credential stored fresh for an hour, so
   * every Check is a vault hit that injects {@link #UPSTREAM_TOKEN}.
   */
  static BenchFixtures startWithVault() {
    TestIssuer issuer = TestIssuer.start();
    McpAuthzServer server = null;
    try {
      String yaml = AuthzHarness.defaultYaml(issuer).replace("    required_scopes: [mcp:tools]\n",
          "    required_scopes: [mcp:tools]\n    upstream: {provider: gh, resource: https://api.example.test/mcp,"
              + " scopes: [repo]}\n") + """
          providers:
            - {id: gh, token_endpoint: https://gh.example.test/token, client_id: c, client_secret: s}
          cluster: {cluster_name: bench-%s, port: %d}
          vault:
            keys: [{id: k1, secret: %s}]
          """.formatted(Long.toHexString(System.nanoTime()), FreePorts.pick(),
          java.util.Base64.getEncoder().encodeToString(new byte[32]));
      AuthzConfig config = ConfigLoader.parse(yaml, "bench-vault.yaml", Map.of(), null);
      server = McpAuthzServer.start(config);
      if (server.vault() == null) {
        throw new IllegalStateException("the vault fixture's config has no upstream");
      }
      String token = issuer.mint(AuthzHarness.RESOURCE,
          c -> c.expirationTime(Date.from(Instant.now().plus(Duration.ofHours(1)))));
      var upstream = config.servers().getFirst().upstream();
      server.vault().store(new dev.mcpauthz.vault.CredentialKey(issuer.issuer(), "alice", "github"), upstream,
          java.util.List.of("repo"), new dev.mcpauthz.upstream.TokenGrant(UPSTREAM_TOKEN, jwtShaped(800, 2),
              Instant.now().plus(Duration.ofHours(1)), java.util.List.of("repo")), "bench")
          .get(30, java.util.concurrent.TimeUnit.SECONDS);
      return new BenchFixtures(issuer, config, server, token);
    } catch (Exception e) {
      if (server != null) {
        server.close();
      }
      issuer.close();
      throw new IllegalStateException("cannot start the vault fixture", e);
    }
  }

  /** An allowed tools/call: valid bearer token, JSON-RPC body of exactly {@code bodyBytes} bytes. */
  CheckRequest allowRequest(int bodyBytes, BodyField field) {
    return toolsCall(bodyBytes, token, field);
  }

  /** The same tools/call without an Authorization header: denied 401 missing_token. */
  CheckRequest missingTokenRequest(int bodyBytes, BodyField field) {
    return toolsCall(bodyBytes, null, field);
  }

  /**
   * Where Envoy puts the body: {@code body} (UTF-8 string, the default) or {@code raw_body}
   * (bytes, with {@code with_request_body.pack_as_bytes: true}).
   */
  enum BodyField {
    BODY, RAW_BODY;

    static BodyField of(String s) {
      return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "body" -> BODY;
        case "raw_body", "raw-body" -> RAW_BODY;
        default -> throw new IllegalArgumentException("body field must be body or raw_body, got " + s);
      };
    }
  }

  /**
   * A 2026-07-28 {@code tools/call} as Envoy's ext_authz filter sends it (with_request_body), the
   * tool arguments padded so that {@code attributes.request.http.body} is exactly {@code bodyBytes}
   * bytes (ASCII, so bytes == chars).
   */
  static CheckRequest toolsCall(int bodyBytes, String bearer, BodyField field) {
    String fixed = "{\"query\":\"repo:mcp-authz is:open label:performance\",\"limit\":50,\"padding\":\"";
    int base = bodyLength(build(fixed + "\"}", bearer, field));
    int pad = bodyBytes - base;
    if (pad < 0) {
      throw new IllegalArgumentException("body size must be at least " + base + " bytes, got " + bodyBytes);
    }
    CheckRequest request = build(fixed + "x".repeat(pad) + "\"}", bearer, field);
    if (bodyLength(request) != bodyBytes) {
      throw new IllegalStateException("padded body is " + bodyLength(request) + " bytes, wanted " + bodyBytes);
    }
    return request;
  }

  private static CheckRequest build(String argumentsJson, String bearer, BodyField field) {
    Checks c = Checks.post("/mcp").header("x-request-id", "6f1c9a52-3e0b-4d7e-9a51-1b2c3d4e5f60")
        .header("user-agent", "mcp-client/1.0").toolsCall(42, TOOL, argumentsJson);
    if (bearer != null) {
      c.bearer(bearer);
    }
    if (field == BodyField.RAW_BODY) {
      String json = c.build().getAttributes().getRequest().getHttp().getBody();
      c.body(null).rawBody(json.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    return c.build();
  }

  /** Body bytes in the request, whichever field carries them. */
  static int bodyLength(CheckRequest r) {
    var http = r.getAttributes().getRequest().getHttp();
    return http.getRawBody().isEmpty() ? http.getBody().length() : http.getRawBody().size();
  }

  @Override
  public void close() {
    try {
      server.close();
    } finally {
      issuer.close();
    }
  }
}
