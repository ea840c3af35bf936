package dev.mcpauthz.ingress;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.google.protobuf.ByteString;
import dev.mcpauthz.decision.CheckContext;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.io.IOException;
import java.util.Map;

/**
 * {@link CheckContext} over Envoy's {@code CheckRequest} (envoy.service.auth.v3). Envoy lower-cases
 * header names and joins repeated headers with ","; with {@code encode_raw_headers} it fills
 * {@code header_map} (raw bytes) instead of {@code headers}; both forms are read. The body is
 * {@code body} (UTF-8) or {@code raw_body} when the filter sets {@code pack_as_bytes}.
 */
public final class EnvoyCheckContext implements CheckContext {
  static final String PARTIAL_BODY_HEADER = "x-envoy-auth-partial-body";

  private final AttributeContext.HttpRequest http;
  private final Map<String, String> headers;
  private final Map<String, String> extensions;

  public EnvoyCheckContext(CheckRequest request) {
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
    String v = headers.get(lowerCaseName);
    if (v == null && headers.isEmpty() && http.hasHeaderMap()) {
      for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
        if (h.getKey().equals(lowerCaseName)) {
          return h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8();
        }
      }
    }
    return v;
  }

  @Override
  public int bodySize() {
    ByteString raw = http.getRawBody();
    return raw.isEmpty() ? http.getBody().length() : raw.size();
  }

  @Override
  public boolean partialBody() {
    return "true".equals(header(PARTIAL_BODY_HEADER));
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
  public Map<String, String> headers() {
    if (!headers.isEmpty() || !http.hasHeaderMap()) {
      return headers;
    }
    Map<String, String> raw = new java.util.LinkedHashMap<>();
    for (HeaderValue h : http.getHeaderMap().getHeadersList()) {
      raw.merge(h.getKey(), h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toStringUtf8(), (a, b) -> a + "," + b);
    }
    return raw;
  }

  @Override
  public String contextExtension(String key) {
    return extensions.get(key);
  }
}
