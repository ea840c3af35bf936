package dev.mcpauthz.testing;

import dev.mcpauthz.McpAuthzServer;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigLoader;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A running mcp-authz (real gRPC and HTTP listeners on 127.0.0.1, ephemeral ports) wired to a
 * {@link TestIssuer}, plus a gRPC client that talks to it like Envoy does.
 */
public final class AuthzHarness implements AutoCloseable {
  public static final String RESOURCE = "https://mcp.example.com/mcp";

  private final McpAuthzServer server;
  private final ManagedChannel channel;
  private final AuthorizationGrpc.AuthorizationBlockingStub stub;

  private AuthzHarness(AuthzConfig config) throws IOException {
    server = McpAuthzServer.start(config);
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    stub = AuthorizationGrpc.newBlockingStub(channel);
  }

  /** Default wiring: one JWT issuer with introspection, one server at {@link #RESOURCE}. */
  public static String defaultYaml(TestIssuer issuer) {
    return """
        grpc: {port: 0, drain_timeout: 5s}
        http: {port: 0}
        logging: {decisions: denied}
        issuers:
          - id: test
            issuer: %s
            jwks_uri: %s
            jwks_min_refetch_interval: 1s
            introspection:
              endpoint: %s
              client_id: %s
              client_secret: %s
        servers:
          - id: github
            resource: %s
            match: {authority: mcp.example.com, path_prefix: /mcp}
            scopes_supported: [mcp:tools, repo:read]
            required_scopes: [mcp:tools]
          - id: other
            resource: https://other.example.com/mcp
            match: {authority: other.example.com}
        """.formatted(issuer.issuer(), issuer.jwksUri(), issuer.introspectionUri(),
        TestIssuer.INTROSPECTION_CLIENT, TestIssuer.INTROSPECTION_SECRET, RESOURCE);
  }

  public static AuthzHarness start(String yaml) {
    try {
      return new AuthzHarness(ConfigLoader.parse(yaml, "test.yaml", Map.of(), null));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static AuthzHarness start(TestIssuer issuer) {
    return start(defaultYaml(issuer));
  }

  public CheckResponse check(CheckRequest request) {
    return stub.withDeadlineAfter(10, TimeUnit.SECONDS).check(request);
  }

  public CheckResponse check(Checks request) {
    return check(request.build());
  }

  public AuthorizationGrpc.AuthorizationStub asyncStub() {
    return AuthorizationGrpc.newStub(channel);
  }

  public ManagedChannel channel() {
    return channel;
  }

  public McpAuthzServer server() {
    return server;
  }

  public String httpBase() {
    return "http://127.0.0.1:" + server.httpPort();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.close();
  }
}
