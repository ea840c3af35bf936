package dev.mcpauthz.it.mcp;

import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.HttpServletStreamableServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A real MCP server from the official MCP Java SDK (Streamable HTTP at {@code /mcp}) on 127.0.0.1,
 * with two tools that report what reached the upstream: {@code whoami} returns the identity headers
 * mcp-authz added and whether any Authorization header got through; {@code echo} echoes text.
 */
public final class DemoMcpServer implements AutoCloseable {
  /** What the upstream saw on each request, for assertions. */
  public record Seen(String authorization, String subject, String decisionId) {}

  private final Server jetty;
  private final McpSyncServer mcp;
  private final List<Seen> seen = new CopyOnWriteArrayList<>();

  private DemoMcpServer(int port) throws Exception {
    var transport = HttpServletStreamableServerTransportProvider.builder()
        .jsonMapper(McpJsonDefaults.getMapper())
        .mcpEndpoint("/mcp")
        .contextExtractor(req -> {
          Map<String, Object> ctx = new HashMap<>();
          ctx.put("authorization", nz(req.getHeader("authorization")));
          ctx.put("subject", nz(req.getHeader("x-mcp-authz-subject")));
          ctx.put("decision_id", nz(req.getHeader("x-mcp-authz-decision-id")));
          seen.add(new Seen(req.getHeader("authorization"), req.getHeader("x-mcp-authz-subject"),
              req.getHeader("x-mcp-authz-decision-id")));
          return McpTransportContext.create(ctx);
        })
        .build();
    var whoami = McpServerFeatures.SyncToolSpecification.builder()
        .tool(McpSchema.Tool.builder().name("whoami").description("Who the gateway says I am")
            .inputSchema(Map.of("type", "object")).build())
        .callHandler((exchange, request) -> {
          McpTransportContext ctx = exchange.transportContext();
          String text = "subject=" + ctx.get("subject") + " authorization_forwarded=" + !"".equals(ctx.get("authorization"));
          return McpSchema.CallToolResult.builder().addTextContent(text).isError(false).build();
        })
        .build();
    var echo = McpServerFeatures.SyncToolSpecification.builder()
        .tool(McpSchema.Tool.builder().name("echo").description("Echo text")
            .inputSchema(Map.of("type", "object", "properties", Map.of("text", Map.of("type", "string")))).build())
        .callHandler((exchange, request) -> McpSchema.CallToolResult.builder()
            .addTextContent(String.valueOf(request.arguments().get("text"))).isError(false).build())
        .build();
    this.mcp = McpServer.sync(transport)
        .serverInfo("mcp-authz-demo", "1.0.0")
        .capabilities(McpSchema.ServerCapabilities.builder().tools(true).build())
        .tools(whoami, echo)
        .build();

    jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    jetty.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler();
    context.addServlet(new ServletHolder(transport), "/*");
    jetty.setHandler(context);
    jetty.start();
  }

  public static DemoMcpServer start(int port) {
    try {
      return new DemoMcpServer(port);
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the demo MCP server", e);
    }
  }

  public URI baseUri() {
    return URI.create("http://127.0.0.1:" + ((ServerConnector) jetty.getConnectors()[0]).getLocalPort());
  }

  public List<Seen> seen() {
    return List.copyOf(seen);
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }

  @Override
  public void close() {
    try {
      mcp.closeGracefully();
    } catch (RuntimeException ignored) {
      // closing anyway
    }
    try {
      jetty.stop();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
