package dev.mcpauthz.testing;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds CheckRequests the way Envoy's ext_authz filter does (lower-case headers, pseudo-headers). */
public final class Checks {
  private final Map<String, String> headers = new LinkedHashMap<>();
  private final Map<String, String> extensions = new LinkedHashMap<>();
  private String method = "POST";
  private String path = "/mcp";
  private String host = "mcp.example.com";
  private String body;
  private ByteString rawBody;

  private Checks() {
    headers.put("content-type", "application/json");
    headers.put("accept", "application/json, text/event-stream");
  }

  public static Checks post(String path) {
    Checks c = new Checks();
    c.path = path;
    return c;
  }

  public Checks method(String m) {
    this.method = m;
    return this;
  }

  public Checks host(String h) {
    this.host = h;
    return this;
  }

  public Checks header(String name, String value) {
    headers.put(name.toLowerCase(java.util.Locale.ROOT), value);
    return this;
  }

  public Checks withoutHeader(String name) {
    headers.remove(name);
    return this;
  }

  public Checks bearer(String token) {
    return header("authorization", "Bearer " + token);
  }

  public Checks body(String json) {
    this.body = json;
    return this;
  }

  public Checks rawBody(byte[] bytes) {
    this.rawBody = ByteString.copyFrom(bytes);
    return this;
  }

  public Checks contextExtension(String k, String v) {
    extensions.put(k, v);
    return this;
  }

  /** A 2026-07-28 tools/call with matching Mcp-Method / Mcp-Name headers. */
  public Checks toolsCall(Object id, String tool, String argumentsJson) {
    header("mcp-protocol-version", "2026-07-28");
    header("mcp-method", "tools/call");
    header("mcp-name", tool);
    String idJson = id instanceof String s ? "\"" + s + "\"" : String.valueOf(id);
    return body("{\"jsonrpc\":\"2.0\",\"id\":" + idJson + ",\"method\":\"tools/call\",\"params\":{\"name\":\""
        + tool + "\",\"arguments\":" + argumentsJson + "}}");
  }

  public CheckRequest build() {
    Map<String, String> all = new LinkedHashMap<>();
    all.put(":authority", host);
    all.put(":path", path);
    all.put(":method", method);
    all.put(":scheme", "https");
    all.putAll(headers);
    AttributeContext.HttpRequest.Builder http = AttributeContext.HttpRequest.newBuilder()
        .setId("req-1").setMethod(method).setPath(path).setHost(host).setScheme("https").setProtocol("HTTP/1.1")
        .putAllHeaders(all);
    if (body != null) {
      http.setBody(body).setSize(body.length());
    }
    if (rawBody != null) {
      http.setRawBody(rawBody).setSize(rawBody.size());
    }
    return CheckRequest.newBuilder()
        .setAttributes(AttributeContext.newBuilder()
            .setRequest(AttributeContext.Request.newBuilder().setHttp(http))
            .putAllContextExtensions(extensions))
        .build();
  }
}
