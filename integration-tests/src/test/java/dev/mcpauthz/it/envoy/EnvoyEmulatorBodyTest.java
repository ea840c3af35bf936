package dev.mcpauthz.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code with_request_body}: buffering, the partial-body header, 413, {@code pack_as_bytes}. */
class EnvoyEmulatorBodyTest extends EmulatorTestBase {

  private RawHttp.Result post(String extraHeaders, byte[] body) throws Exception {
    return RawHttp.exchange(envoy.baseUri(), "POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
        + extraHeaders + "Content-Length: " + body.length + "\r\nConnection: close", body);
  }

  @Test
  void bodyWithinTheLimitIsSentWithPartialFalse() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(64, false));
    String json = "{\"jsonrpc\":\"2.0\",\"method\":\"tools/list\"}";

    assertThat(post("", json.getBytes(StandardCharsets.UTF_8)).status()).isEqualTo(200);

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getBody()).isEqualTo(json);
    assertThat(http.getRawBody().isEmpty()).isTrue();
    assertThat(http.getSize()).isEqualTo(json.length());
    assertThat(http.getHeadersMap()).containsEntry("x-envoy-auth-partial-body", "false")
        .containsEntry("content-length", Integer.toString(json.length()));
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.bodyText()).isEqualTo(json);
    assertThat(up.header("content-length")).isEqualTo(Integer.toString(json.length()));
  }

  @Test
  void bodyOverTheLimitWithoutPartialIs413AndNeverChecked() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(16, false));

    RawHttp.Result res = post("", "x".repeat(17).getBytes(StandardCharsets.UTF_8));

    assertThat(res.status()).isEqualTo(413);
    assertThat(res.bodyText()).isEqualTo("Payload Too Large");
    assertThat(res.header("content-type")).isEqualTo("text/plain");
    assertThat(authz.receivedCount()).isZero();
    assertThat(upstream.receivedCount()).isZero();
    assertThat(envoy.checks()).isEmpty();
  }

  @Test
  void bodyExactlyAtTheLimitIsAccepted() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(16, false));

    assertThat(post("", "y".repeat(16).getBytes(StandardCharsets.UTF_8)).status()).isEqualTo(200);

    assertThat(authz.takeRequest().getAttributes().getRequest().getHttp().getHeadersMap())
        .containsEntry("x-envoy-auth-partial-body", "false");
  }

  @Test
  void partialMessageSendsTheFirstBytesAndForwardsEverything() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(10, true));
    String body = "0123456789abcdefghijklmnopqrstuvwxyz";

    assertThat(post("", body.getBytes(StandardCharsets.UTF_8)).status()).isEqualTo(200);

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getBody()).isEqualTo("0123456789");
    assertThat(http.getHeadersMap()).containsEntry("x-envoy-auth-partial-body", "true");
    assertThat(http.getSize()).isGreaterThanOrEqualTo(10);
    assertThat(upstream.take().bodyText()).isEqualTo(body);
  }

  @Test
  void packAsBytesSendsRawBodyAndKeepsInvalidUtf8() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(64, false).packAsBytes(true));
    byte[] body = {'o', 'k', (byte) 0xFF, 'x'};

    post("", body);

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getRawBody().toByteArray()).containsExactly(body);
    assertThat(http.getBody()).isEmpty();
    assertThat(upstream.take().body()).containsExactly(body);
  }

  @Test
  void stringBodyReplacesInvalidUtf8WithBang() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(64, false));

    post("", new byte[] {'o', 'k', (byte) 0xFF, 'x'});

    assertThat(authz.takeRequest().getAttributes().getRequest().getHttp().getBody()).isEqualTo("ok!x");
  }

  @Test
  void requestWithoutBodyGetsNoBodyAndNoPartialHeader() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(64, false));

    RawHttp.exchange(envoy.baseUri(), "GET /mcp HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\nConnection: close");

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getBody()).isEmpty();
    assertThat(http.getHeadersMap()).doesNotContainKey("x-envoy-auth-partial-body");
  }

  @Test
  void withoutWithRequestBodyNothingIsBufferedAndChunkedBodiesStreamThrough() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());

    RawHttp.Result res = RawHttp.exchange(envoy.baseUri(), "POST /mcp HTTP/1.1\r\nHost: h\r\n"
        + "Transfer-Encoding: chunked\r\nConnection: close",
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

    assertThat(res.status()).isEqualTo(200);
    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getBody()).isEmpty();
    assertThat(http.getSize()).isZero();
    assertThat(http.getHeadersMap()).doesNotContainKeys("transfer-encoding", "x-envoy-auth-partial-body");
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.bodyText()).isEqualTo("hello world");
    assertThat(up.header("transfer-encoding")).isEqualTo("chunked");
  }

  @Test
  void chunkedBodyIsBufferedWhenConfigured() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().withRequestBody(64, false));

    RawHttp.exchange(envoy.baseUri(), "POST /mcp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close",
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getBody()).isEqualTo("hello world");
    assertThat(http.getHeadersMap()).containsEntry("x-envoy-auth-partial-body", "false");
    assertThat(upstream.take().bodyText()).isEqualTo("hello world");
  }
}
