package dev.mcpauthz.http;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.McpServerRoute;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Collection;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/** Embedded Jetty 12 (see docs/adr/0002-http-listener-jetty.md) serving {@link HttpEndpoints}. */
public final class HttpListener implements AutoCloseable {
  private final Server server;
  private final ServerConnector connector;

  public HttpListener(AuthzConfig.Http config, Collection<McpServerRoute> servers, PrometheusMeterRegistry registry,
      BooleanSupplier ready) {
    QueuedThreadPool pool = new QueuedThreadPool(32, 4);
    pool.setName("mcp-authz-http");
    pool.setDaemon(true);
    this.server = new Server(pool);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(true);
    this.connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(config.bind());
    connector.setPort(config.port());
    server.addConnector(connector);
    server.setHandler(new HttpEndpoints(servers, registry, ready));
    server.setStopTimeout(5_000);
  }

  public void start() throws Exception {
    server.start();
  }

  public int port() {
    return connector.getLocalPort();
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      throw new IllegalStateException("http listener did not stop cleanly", e);
    }
  }
}
