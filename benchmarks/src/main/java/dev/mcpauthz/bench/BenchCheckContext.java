package dev.mcpauthz.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.google.protobuf.ByteString;
import dev.mcpauthz.decision.CheckContext;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.io.IOException;
import java.util.Map;

/**
 * The benchmark's view of a CheckRequest for calling {@code AuthorizationEngine.decide} directly.
 * Mirrors {@code dev.mcpauthz.ingress.EnvoyCheckContext} (package-private there) for the
 * {@code headers} map / UTF-8 {@code body} form that the benchmarks send; it is not a second
 * implementation of the Envoy contract.
 */
final class BenchCheckContext implements CheckContext {
  private final AttributeContext.HttpRequest http;
  private final Map<String, String> headers;
  private final Map<String, String> extensions;

  BenchCheckContext(CheckRequest request) {
    this.http = request.getAttributes().getRequest().getHttp();
    this.headers = http.getHeadersMap();
    this.extensions = request.getAttributes().getContextExtensionsMap();
  }

  @Override
  public String method() {
    return http.getMethod();
  }

  @Override
  public String header(String lowerCaseName) {
    return headers.get(lowerCaseName);
  }

  @Override
  public int bodySize() {
    ByteString raw = http.getRawBody();
    return raw.isEmpty() ? http.getBody().length() : raw.size();
  }

  @Override
  public boolean partialBody() {
    return "true".equals(header("x-envoy-auth-partial-body"));
  }

  @Override
  public JsonParser openBody(JsonFactory factory) throws IOException {
    ByteString raw = http.getRawBody();
    return raw.isEmpty() ? factory.createParser(http.getBody()) : factory.createParser(raw.newInput());
  }

  @Override
  public String authority() {
    String host = http.getHost();
    return host.isEmpty() ? header(":authority") : host;
  }

  @Override
  public String path() {
    String path = http.getPath();
    return path.isEmpty() ? header(":path") : path;
  }

  @Override
  public String contextExtension(String key) {
    return extensions.get(key);
  }
}
