package dev.mcpauthz.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mcpauthz.decision.McpServerRoute;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The HTTP listener's routes: RFC 9728 metadata (root and path-inserted forms), Prometheus
 * {@code /metrics}, {@code /healthz} (process alive), {@code /readyz} (serving Checks) and, when a
 * server has an upstream, the consent pages under {@code /auth/}.
 */
final class HttpEndpoints extends Handler.Abstract.NonBlocking {
  private final ProtectedResourceMetadata metadata;
  private final PrometheusMeterRegistry registry;
  private final BooleanSupplier ready;
  private final ConsentEndpoints consent;

  /** @param consent the consent pages, or null when no server has an upstream */
  HttpEndpoints(java.util.Collection<McpServerRoute> servers, PrometheusMeterRegistry registry, BooleanSupplier ready,
      ConsentEndpoints consent) {
    this.metadata = new ProtectedResourceMetadata(servers, new ObjectMapper());
    this.registry = registry;
    this.ready = ready;
    this.consent = consent;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    boolean read = HttpMethod.GET.is(method) || HttpMethod.HEAD.is(method);
    if (path.equals(McpServerRoute.WELL_KNOWN) || path.startsWith(McpServerRoute.WELL_KNOWN + "/")) {
      // Browser-based MCP clients fetch metadata cross-origin (RFC 9728 §3 allows any origin).
      response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_ORIGIN, "*");
      if (HttpMethod.OPTIONS.is(method)) {
        response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS");
        response.getHeaders().put(HttpHeader.ACCESS_CONTROL_ALLOW_HEADERS, "mcp-protocol-version");
        response.setStatus(HttpStatus.NO_CONTENT_204);
        callback.succeeded();
        return true;
      }
      if (!read) {
        return methodNotAllowed(response, callback);
      }
      String json = metadata.find(path.substring(McpServerRoute.WELL_KNOWN.length()), Request.getServerName(request));
      if (json == null) {
        return send(response, callback, HttpStatus.NOT_FOUND_404, "application/json",
            "{\"error\":\"not_found\",\"error_description\":\"no protected resource is configured at this path\"}");
      }
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "public, max-age=300");
      return send(response, callback, HttpStatus.OK_200, "application/json", json);
    }
    if (!read) {
      return methodNotAllowed(response, callback);
    }
    if (consent != null && path.startsWith(ConsentEndpoints.PREFIX)) {
      return consent.handle(path, request, response, callback);
    }
    return switch (path) {
      case "/metrics" -> send(response, callback, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
      case "/healthz" -> send(response, callback, 200, "text/plain; charset=utf-8", "ok\n");
      case "/readyz" -> ready.getAsBoolean()
          ? send(response, callback, 200, "text/plain; charset=utf-8", "ready\n")
          : send(response, callback, 503, "text/plain; charset=utf-8", "not ready\n");
      default -> send(response, callback, 404, "text/plain; charset=utf-8", "not found\n");
    };
  }

  private static boolean methodNotAllowed(Response response, Callback callback) {
    response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
    return send(response, callback, HttpStatus.METHOD_NOT_ALLOWED_405, "text/plain; charset=utf-8", "method not allowed\n");
  }

  private static boolean send(Response response, Callback callback, int status, String type, String body) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    Content.Sink.write(response, true, body, callback);
    return true;
  }
}
