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
    this(config, servers, registry, ready, null, null, false);
  }

  /**
   * @param consent the consent pages' logic, or null when no server has an upstream
   * @param consentExecutor runs each consent request (virtual threads)
   * @param secureCookies the consent pages are served over https (consent.public_base_url)
   */
  public HttpListener(AuthzConfig.Http config, Collection<McpServerRoute> servers, PrometheusMeterRegistry registry,
      BooleanSupplier ready, dev.mcpauthz.consent.ConsentFlow consent, java.util.concurrent.Executor consentExecutor,
      boolean secureCookies) {
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
    server.setHandler(new HttpEndpoints(servers, registry, ready,
        consent == null ? null : new ConsentEndpoints(consent, consentExecutor, secureCookies)));
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
