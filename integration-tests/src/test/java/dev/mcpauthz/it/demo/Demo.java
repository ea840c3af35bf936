package dev.mcpauthz.it.demo;

import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.it.gateway.Gateway;
import dev.mcpauthz.it.mcp.DemoMcpServer;
import dev.mcpauthz.testing.TestIssuer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ./dev demo}: the whole flow on loopback without installing Envoy. Starts a demo issuer,
 * mcp-authz, an MCP server (MCP Java SDK) and the Envoy ext_authz emulator (or Envoy itself when
 * ENVOY_BIN is set), prints a token and what to try, and runs until interrupted.
 * {@code --self-check} makes the two example calls itself and exits non-zero if either is wrong.
 */
public final class Demo implements AutoCloseable {
  final TestIssuer issuer;
  final DemoMcpServer upstream;
  final McpAuthzServer authz;
  final Gateway gateway;
  final String resource;
  final String token;

  Demo(int listenPort, int authzHttpPort) throws Exception {
    issuer = TestIssuer.start();
    upstream = DemoMcpServer.start(0);
    resource = "http://127.0.0.1:" + listenPort + "/mcp";
    String yaml = """
        grpc: {port: 0, drain_timeout: 2s}
        http: {port: %d}
        issuers:
          - id: demo-issuer
            issuer: %s
            jwks_uri: %s
        servers:
          - id: demo
            resource: %s
            resource_name: mcp-authz demo
            resource_metadata_url: http://127.0.0.1:%d/.well-known/oauth-protected-resource/mcp
            scopes_supported: [mcp:tools]
            required_scopes: [mcp:tools]
        """.formatted(authzHttpPort, issuer.issuer(), issuer.jwksUri(), resource, authzHttpPort);
    authz = McpAuthzServer.start(ConfigLoader.parse(yaml, "demo.yaml", Map.of(), null));
    gateway = Gateway.start(new Gateway.Ports(listenPort, authz.grpcPort(), authzHttpPort, upstream.baseUri()), "demo");
    token = issuer.mint(resource);
  }

  static final String INITIALIZE = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
      + "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"curl\",\"version\":\"1\"}}}";

  HttpResponse<String> initialize(String bearer) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(resource))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .POST(HttpRequest.BodyPublishers.ofString(INITIALIZE));
    if (bearer != null) {
      b.header("authorization", "Bearer " + bearer);
    }
    return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  String instructions() {
    return """

        mcp-authz demo is running (%s in front of an MCP server, all on 127.0.0.1)

          MCP endpoint (through the gateway): %s
          Protected resource metadata:        http://127.0.0.1:%d/.well-known/oauth-protected-resource/mcp
          mcp-authz metrics:                  http://127.0.0.1:%d/metrics

        1) Without a token: 401 and the discovery challenge
           curl -si -X POST %s -H 'content-type: application/json' \\
             -H 'accept: application/json, text/event-stream' -d '%s'

        2) With a demo token (valid 5 minutes, aud = the resource above):
           TOKEN=%s
           curl -si -X POST %s -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
             -H 'accept: application/json, text/event-stream' -d '%s'

        3) Any MCP client (e.g. MCP Inspector): Streamable HTTP, URL above, header
           "Authorization: Bearer $TOKEN"; try the tools whoami and echo.

        Ctrl-C stops everything.
        """.formatted(gateway.kind(), resource, authz.httpPort(), authz.httpPort(), resource, INITIALIZE,
        token, resource, INITIALIZE);
  }

  /** The two calls from the instructions; returns a description of what is wrong, or null. */
  String selfCheck() throws Exception {
    HttpResponse<String> anonymous = initialize(null);
    String challenge = anonymous.headers().firstValue("www-authenticate").orElse("");
    if (anonymous.statusCode() != 401 || !challenge.contains("resource_metadata=")) {
      return "anonymous call: expected 401 with resource_metadata, got " + anonymous.statusCode() + " " + challenge;
    }
    HttpResponse<String> ok = initialize(token);
    if (ok.statusCode() != 200 || !ok.body().contains("mcp-authz-demo")) {
      return "authenticated call: expected 200 from the MCP server, got " + ok.statusCode() + " " + ok.body();
    }
    return null;
  }

  @Override
  public void close() {
    gateway.close();
    authz.close();
    upstream.close();
    issuer.close();
  }

  public static void main(String[] args) throws Exception {
    int listen = 10000;
    int http = 18080;
    boolean selfCheck = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> listen = Integer.parseInt(args[++i]);
        case "--authz-http-port" -> http = Integer.parseInt(args[++i]);
        case "--self-check" -> selfCheck = true;
        default -> {
          System.err.println("usage: ./dev demo [--port 10000] [--authz-http-port 18080] [--self-check]");
          System.exit(2);
        }
      }
    }
    Demo demo = new Demo(listen, http);
    if (selfCheck) {
      String problem;
      try {
        problem = demo.selfCheck();
      } finally {
        demo.close();
      }
      System.out.println(problem == null ? "demo self-check passed" : "demo self-check FAILED: " + problem);
      System.exit(problem == null ? 0 : 1);
    }
    System.out.println(demo.instructions());
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      demo.close();
      stop.countDown();
    }));
    stop.await();
  }
}
