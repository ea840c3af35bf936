package dev.mcpauthz.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.Timestamps;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The CheckRequest the emulated ext_authz filter sends, field by field. */
class EnvoyEmulatorCheckRequestTest extends EmulatorTestBase {

  @Test
  void attributesHeadersAndPseudoHeadersAreThoseEnvoySends() throws Exception {
    envoy(ExtAuthzFilterConfig.builder()
        .contextExtension("route", "mcp")
        .contextExtension("tenant", "acme"));
    String host = "127.0.0.1:" + envoy.port();
    Instant before = Instant.now();

    RawHttp.Result res = RawHttp.exchange(envoy.baseUri(),
        "GET /mcp/tools?b=2&a=%20x HTTP/1.1\r\n"
            + "Host: " + host + "\r\n"
            + "X-Custom-Thing: Value\r\n"
            + "X-Multi: one\r\n"
            + "X-Multi: two\r\n"
            + "Authorization: Bearer abc\r\n"
            + "Keep-Alive: timeout=5\r\n"
            + "Proxy-Connection: keep-alive\r\n"
            + "TE: gzip\r\n"
            + "Connection: close");
    Instant after = Instant.now();

    assertThat(res.status()).isEqualTo(200);
    CheckRequest check = authz.takeRequest();
    AttributeContext attrs = check.getAttributes();
    assertThat(attrs.getSource().getAddress().getSocketAddress().getAddress()).isEqualTo("127.0.0.1");
    assertThat(attrs.getSource().getAddress().getSocketAddress().getPortValue()).isEqualTo(res.clientPort());
    assertThat(attrs.getDestination().getAddress().getSocketAddress().getAddress()).isEqualTo("127.0.0.1");
    assertThat(attrs.getDestination().getAddress().getSocketAddress().getPortValue()).isEqualTo(envoy.port());
    assertThat(Timestamps.toMillis(attrs.getRequest().getTime()))
        .isBetween(before.toEpochMilli(), after.toEpochMilli());
    assertThat(attrs.getContextExtensionsMap()).containsExactlyInAnyOrderEntriesOf(Map.of("route", "mcp", "tenant", "acme"));
    assertThat(attrs.hasMetadataContext()).isTrue();
    assertThat(attrs.getMetadataContext().getFilterMetadataCount()).isZero();

    AttributeContext.HttpRequest http = attrs.getRequest().getHttp();
    assertThat(http.getMethod()).isEqualTo("GET");
    assertThat(http.getPath()).isEqualTo("/mcp/tools?b=2&a=%20x");
    assertThat(http.getHost()).isEqualTo(host);
    assertThat(http.getScheme()).isEqualTo("http");
    assertThat(http.getProtocol()).isEqualTo("HTTP/1.1");
    assertThat(http.getSize()).isZero();
    assertThat(http.getQuery()).isEmpty();
    assertThat(http.getBody()).isEmpty();
    assertThat(http.hasHeaderMap()).isFalse();
    // id is Envoy's stream id (a random uint64), not x-request-id
    assertThat(http.getId()).matches("[0-9]+");
    assertThat(Long.parseUnsignedLong(http.getId())).isNotNull();

    Map<String, String> h = http.getHeadersMap();
    assertThat(h).containsEntry(":authority", host)
        .containsEntry(":path", "/mcp/tools?b=2&a=%20x")
        .containsEntry(":method", "GET")
        .containsEntry(":scheme", "http")
        .containsEntry("x-custom-thing", "Value")
        .containsEntry("x-multi", "one,two")
        .containsEntry("authorization", "Bearer abc")
        .containsEntry("x-forwarded-proto", "http")
        .doesNotContainKeys("host", "connection", "keep-alive", "proxy-connection", "te",
            "transfer-encoding", "x-envoy-auth-partial-body");
    assertThat(h.keySet()).allSatisfy(k -> assertThat(k).isLowerCase());
    assertThat(h.get("x-request-id")).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    assertThat(http.getId()).isNotEqualTo(h.get("x-request-id"));

    // the upstream sees the same generated x-request-id and x-forwarded-proto, and the original Host
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.header("x-request-id")).isEqualTo(h.get("x-request-id"));
    assertThat(up.header("x-forwarded-proto")).isEqualTo("http");
    assertThat(up.header("host")).isEqualTo(host);
    assertThat(up.pathQuery()).isEqualTo("/mcp/tools?b=2&a=%20x");
    assertThat(up.values("x-multi")).containsExactly("one", "two");
    assertThat(up.values("keep-alive")).isEmpty();
    assertThat(up.values("proxy-connection")).isEmpty();
    assertThat(up.values("te")).isEmpty();
  }

  @Test
  void incomingRequestIdIsKeptAndForwardedProtoDrivesScheme() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    RawHttp.exchange(envoy.baseUri(), "POST /mcp HTTP/1.1\r\nHost: mcp.example\r\n"
        + "X-Request-Id: req-123\r\nX-Forwarded-Proto: https\r\nTE: trailers, deflate\r\n"
        + "Content-Length: 0\r\nConnection: close");

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getHeadersMap()).containsEntry("x-request-id", "req-123")
        .containsEntry("x-forwarded-proto", "https")
        .containsEntry(":scheme", "https")
        .containsEntry("te", "trailers")
        .containsEntry("content-length", "0");
    assertThat(http.getScheme()).isEqualTo("https");
    assertThat(http.getHost()).isEqualTo("mcp.example");
    assertThat(upstream.take().header("x-request-id")).isEqualTo("req-123");
  }

  @Test
  void internalAndClientCertHeadersAreStrippedBeforeTheCheck() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    RawHttp.exchange(envoy.baseUri(), "GET / HTTP/1.1\r\nHost: x\r\n"
        + "X-Envoy-Internal: true\r\nX-Envoy-Retry-On: 5xx\r\nX-Envoy-Expected-Rq-Timeout-Ms: 5\r\n"
        + "X-Forwarded-Client-Cert: By=spiffe://x\r\nX-Envoy-Downstream-Service-Cluster: frontend\r\n"
        + "Referer: not a url\r\nConnection: close");

    CheckRequest check = authz.takeRequest();
    assertThat(check.getAttributes().getRequest().getHttp().getHeadersMap())
        .doesNotContainKeys("x-envoy-internal", "x-envoy-retry-on", "x-envoy-expected-rq-timeout-ms",
            "x-forwarded-client-cert", "referer")
        .containsEntry("x-envoy-downstream-service-cluster", "frontend");
    assertThat(check.getAttributes().getSource().getService()).isEqualTo("frontend");
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.values("x-envoy-retry-on")).isEmpty();
    assertThat(up.values("x-forwarded-client-cert")).isEmpty();
  }

  @Test
  void clientSuppliedPartialBodyHeaderIsHiddenFromTheServiceButForwarded() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    RawHttp.exchange(envoy.baseUri(), "GET / HTTP/1.1\r\nHost: x\r\nX-Envoy-Auth-Partial-Body: true\r\nConnection: close");

    assertThat(authz.takeRequest().getAttributes().getRequest().getHttp().getHeadersMap())
        .doesNotContainKey("x-envoy-auth-partial-body");
    assertThat(upstream.take().header("x-envoy-auth-partial-body")).isEqualTo("true");
  }

  @Test
  void encodeRawHeadersSendsAnOrderedHeaderMapWithRawOctets() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().encodeRawHeaders(true));
    byte[] head = ("GET /p HTTP/1.1\r\nHost: h\r\nX-Multi: 1\r\nX-Multi: 2\r\nX-Bytes: caf\u00e9")
        .getBytes(StandardCharsets.ISO_8859_1); // one 0xE9 octet: not valid UTF-8 on its own
    RawHttp.exchange(envoy.baseUri(), new String(head, StandardCharsets.ISO_8859_1) + "\r\nConnection: close");

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getHeadersMap()).isEmpty();
    List<HeaderValue> entries = http.getHeaderMap().getHeadersList();
    assertThat(entries.stream().map(HeaderValue::getKey).toList())
        .startsWith(":authority", ":path", ":method", ":scheme")
        .containsSubsequence("x-multi", "x-multi")
        .doesNotContain("host", "connection");
    assertThat(entries.stream().filter(e -> e.getKey().equals("x-multi")).map(e -> e.getRawValue().toStringUtf8()))
        .containsExactly("1", "2");
    assertThat(entries.stream().filter(e -> e.getKey().equals("x-bytes")).findFirst().orElseThrow().getRawValue().toByteArray())
        .containsExactly('c', 'a', 'f', 0xE9);
    assertThat(entries).allSatisfy(e -> assertThat(e.getValue()).isEmpty());
  }

  @Test
  void headerMapValuesAreUtf8SanitizedWithBang() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    RawHttp.exchange(envoy.baseUri(), "GET / HTTP/1.1\r\nHost: h\r\nX-Bytes: caf\u00e9\r\nX-Utf8: "
        + new String("é".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1) + "\r\nConnection: close");

    assertThat(authz.takeRequest().getAttributes().getRequest().getHttp().getHeadersMap())
        .containsEntry("x-bytes", "caf!")
        .containsEntry("x-utf8", "é");
  }

  @Test
  void allowedAndDisallowedHeadersFilterWhatTheServiceSees() throws Exception {
    envoy(ExtAuthzFilterConfig.builder()
        .allowedHeader(StringMatcher.prefix("x-keep"))
        .allowedHeader(StringMatcher.exact(":path"))
        .allowedHeader(StringMatcher.exact("cookie"))
        .disallowedHeader(StringMatcher.exact("cookie")));
    RawHttp.exchange(envoy.baseUri(), "GET /a HTTP/1.1\r\nHost: h\r\nX-Keep-Me: 1\r\nX-Drop: 2\r\nCookie: s=1\r\nConnection: close");

    AttributeContext.HttpRequest http = authz.takeRequest().getAttributes().getRequest().getHttp();
    assertThat(http.getHeadersMap()).containsOnlyKeys("x-keep-me", ":path");
    assertThat(http.getPath()).isEqualTo("/a");
    assertThat(http.getHost()).isEqualTo("h");
    assertThat(upstream.take().header("cookie")).isEqualTo("s=1");
  }
}
