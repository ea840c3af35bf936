package dev.mcpauthz.it.envoy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Struct;
import com.google.protobuf.Timestamp;
import com.google.protobuf.Value;
import dev.mcpauthz.it.envoy.CheckRecord.Decision;
import dev.mcpauthz.it.envoy.ExtAuthzFilterConfig.OkHeadersMode;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.QueryParameter;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.grpc.ConnectivityState;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.eclipse.jetty.client.ContentSourceRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP/1.1 reverse proxy that behaves like an Envoy listener with
 * {@code envoy.filters.http.ext_authz} (v3, {@code grpc_service}) followed by the router, in front of
 * one upstream. It calls the real Authorization gRPC service exactly as Envoy does, so integration
 * tests can run without an Envoy binary. What is (and is not) reproduced, with the Envoy source each
 * behaviour comes from, is listed in {@code docs/envoy-emulator.md}.
 */
public final class EnvoyExtAuthzEmulator implements AutoCloseable {

  /** The dynamic metadata namespace the ext_authz filter writes to. */
  public static final String DYNAMIC_METADATA_NAMESPACE = "envoy.filters.http.ext_authz";

  static final String PARTIAL_BODY_HEADER = "x-envoy-auth-partial-body";
  static final String FAILURE_MODE_ALLOWED_HEADER = "x-envoy-auth-failure-mode-allowed";
  static final String UPSTREAM_CONNECT_ERROR_BODY =
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

  /** Headers {@code ConnectionManagerUtility::cleanInternalHeaders} strips from non-internal requests. */
  private static final List<String> INTERNAL_HEADERS = List.of(
      "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names", "x-envoy-retry-on",
      "x-envoy-retry-grpc-on", "x-envoy-max-retries", "x-envoy-upstream-alt-stat-name",
      "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms",
      "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-expected-rq-timeout-ms",
      "x-envoy-force-trace", "x-envoy-ip-tags", "x-envoy-original-url",
      "x-envoy-hedge-on-per-try-timeout");

  /** Hop-by-hop headers removed from upstream responses ({@code mutateResponseHeaders}). */
  private static final List<String> RESPONSE_HOP_BY_HOP = List.of(
      "connection", "upgrade", "transfer-encoding", "keep-alive", "proxy-connection");

  private static final Logger LOG = LoggerFactory.getLogger(EnvoyExtAuthzEmulator.class);

  private final ExtAuthzFilterConfig cfg;
  private final List<EmulatedRoute> routes;
  private final long idleTimeoutMs;
  private final String baseHost;
  private final Server server;
  private final HttpClient client;
  private final ManagedChannel channel;
  private final Deque<CheckRecord> history = new ArrayDeque<>();
  private final AtomicLong streams = new AtomicLong();

  private EnvoyExtAuthzEmulator(ExtAuthzFilterConfig cfg, List<EmulatedRoute> routes, InetSocketAddress listen)
      throws Exception {
    if (routes.isEmpty()) {
      throw new IllegalArgumentException("at least one route is needed");
    }
    this.cfg = cfg;
    this.routes = List.copyOf(routes);
    // stream_idle_timeout: 0s disables it; a day is "never" for a test proxy.
    this.idleTimeoutMs = cfg.streamIdleTimeout().isZero()
        ? Duration.ofDays(1).toMillis() : cfg.streamIdleTimeout().toMillis();
    if (!cfg.allowedUpstreamHeadersPrefixes().isEmpty()) {
      LOG.warn("allowedUpstreamHeadersPrefixes {} ignored: Envoy applies allowed_upstream_headers only to "
          + "http_service, never to grpc_service", cfg.allowedUpstreamHeadersPrefixes());
    }

    ManagedChannelBuilder<?> cb = Grpc.newChannelBuilder(cfg.grpcTarget(), InsecureChannelCredentials.create());
    if (cfg.grpcAuthority() != null) {
      cb.overrideAuthority(cfg.grpcAuthority());
    }
    String host = listen.getHostString();
    String reachable = listen.getAddress() != null && listen.getAddress().isAnyLocalAddress() ? "127.0.0.1" : host;
    this.baseHost = reachable.contains(":") ? "[" + reachable + "]" : reachable;

    this.channel = cb.build();
    this.client = new HttpClient();
    QueuedThreadPool pool = new QueuedThreadPool();
    pool.setName("envoy-emulator");
    pool.setDaemon(true);
    this.server = new Server(pool);
    try {
      warmUp(channel);
      configureAndStart(listen);
    } catch (Exception | Error e) {
      close();
      throw e;
    }
  }

  private void configureAndStart(InetSocketAddress listen) throws Exception {
    client.setName("envoy-emulator-upstream");
    client.setUserAgentField(null);
    client.setFollowRedirects(false);
    client.setHttpCookieStore(new HttpCookieStore.Empty());
    client.setDefaultRequestContentType(null);
    client.setIdleTimeout(idleTimeoutMs);
    client.setConnectTimeout(5_000);
    client.start();
    // After start(): no transparent decompression, no 401/100/redirect handling; Envoy passes all through.
    client.getContentDecoderFactories().clear();
    client.getProtocolHandlers().clear();

    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    http.setSendXPoweredBy(false);
    http.setUriCompliance(UriCompliance.UNSAFE); // Envoy forwards %2F, .. etc. unchanged by default
    http.setIdleTimeout(idleTimeoutMs);
    ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(listen.getHostString());
    connector.setPort(listen.getPort());
    connector.setIdleTimeout(idleTimeoutMs);
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        Thread.ofVirtual().name("envoy-emulator-stream-", streams.incrementAndGet()).start(() -> {
          try {
            new Stream(request, response, callback).run();
          } catch (Throwable t) {
            LOG.debug("stream failed", t);
            callback.failed(t);
          }
        });
        return true;
      }
    });
    server.start();
  }

  /**
   * Envoy holds a connected HTTP/2 connection to the ext_authz cluster; a cold gRPC-java channel spends
   * hundreds of milliseconds (name resolution, class loading, connect) inside the first call, which would
   * eat the 200 ms Check deadline. Connect eagerly and wait (bounded) for the channel to settle.
   */
  private static void warmUp(ManagedChannel channel) throws InterruptedException {
    // Load the client call path (descriptors, marshallers, ClientCall) now rather than inside the
    // first deadline; nothing is sent for this.
    var method = AuthorizationGrpc.getCheckMethod();
    try (InputStream in = method.streamRequest(CheckRequest.newBuilder()
        .setAttributes(AttributeContext.newBuilder().setRequest(AttributeContext.Request.newBuilder()
            .setHttp(AttributeContext.HttpRequest.newBuilder().putHeaders(":path", "/")))).build())) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    method.parseResponse(new java.io.ByteArrayInputStream(CheckResponse.newBuilder()
        .setOkResponse(OkHttpResponse.newBuilder().addHeaders(HeaderValueOption.newBuilder()
            .setHeader(HeaderValue.newBuilder().setKey("k").setValue("v")))).build().toByteArray()));
    channel.newCall(method, io.grpc.CallOptions.DEFAULT).cancel("warm-up", null);
    UUID.randomUUID();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
    ConnectivityState state = channel.getState(true);
    while (state != ConnectivityState.READY && state != ConnectivityState.TRANSIENT_FAILURE
        && System.nanoTime() < deadline) {
      CountDownLatch changed = new CountDownLatch(1);
      channel.notifyWhenStateChanged(state, changed::countDown);
      changed.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      state = channel.getState(false);
    }
  }

  /**
   * Starts the emulator on 127.0.0.1 and an ephemeral port with a single catch-all route ({@code prefix: "/"})
   * to {@code upstream} whose {@code check_settings.context_extensions} are {@link ExtAuthzFilterConfig#contextExtensions()}.
   */
  public static EnvoyExtAuthzEmulator start(ExtAuthzFilterConfig cfg, URI upstream) {
    return start(cfg, upstream, new InetSocketAddress("127.0.0.1", 0));
  }

  /** Like {@link #start(ExtAuthzFilterConfig, URI)} on the given listen address. */
  public static EnvoyExtAuthzEmulator start(ExtAuthzFilterConfig cfg, URI upstream, InetSocketAddress listen) {
    return start(cfg, List.of(new EmulatedRoute("/", upstream, false, cfg.contextExtensions())), listen);
  }

  /**
   * Starts the emulator with a route table (first matching prefix wins). Each route carries its own
   * context extensions; {@link ExtAuthzFilterConfig#contextExtensions()} is not used.
   */
  public static EnvoyExtAuthzEmulator start(ExtAuthzFilterConfig cfg, List<EmulatedRoute> routes,
      InetSocketAddress listen) {
    try {
      return new EnvoyExtAuthzEmulator(cfg, routes, listen);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("cannot start the Envoy ext_authz emulator", e);
    }
  }

  /** {@code http://<listen address>:<port>} ({@code 127.0.0.1} when listening on the wildcard address). */
  public URI baseUri() {
    return URI.create("http://" + baseHost + ":" + port());
  }

  public int port() {
    return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
  }

  public ExtAuthzFilterConfig config() {
    return cfg;
  }

  /** The upstream of the first route (the only one when started with a single upstream). */
  public URI upstream() {
    return routes.get(0).upstream();
  }

  public List<EmulatedRoute> routes() {
    return routes;
  }

  /** The last {@link ExtAuthzFilterConfig#historySize()} ext_authz exchanges, oldest first. */
  public List<CheckRecord> checks() {
    synchronized (history) {
      return List.copyOf(history);
    }
  }

  public Optional<CheckRecord> lastCheck() {
    synchronized (history) {
      return Optional.ofNullable(history.peekLast());
    }
  }

  /**
   * The dynamic metadata the filter stored for the recent requests, oldest first: what an access log
   * would print for {@code %DYNAMIC_METADATA(envoy.filters.http.ext_authz)%}. An empty Struct means
   * nothing was stored for that request.
   */
  public List<Struct> dynamicMetadata() {
    return checks().stream().map(CheckRecord::dynamicMetadata).toList();
  }

  public void clearChecks() {
    synchronized (history) {
      history.clear();
    }
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      LOG.debug("server stop", e);
    }
    try {
      client.stop();
    } catch (Exception e) {
      LOG.debug("client stop", e);
    }
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void record(CheckRecord r) {
    synchronized (history) {
      history.addLast(r);
      while (history.size() > cfg.historySize()) {
        history.removeFirst();
      }
    }
  }

  /**
   * One downstream request, processed on its own virtual thread with blocking I/O. Deprecated proto
   * fields ({@code HeaderValueOption.append}, {@code OkHttpResponse.dynamic_metadata}) are read on
   * purpose: Envoy still honours them.
   */
  @SuppressWarnings("deprecation")
  private final class Stream {
    private final Request req;
    private final Response resp;
    private final Callback callback;
    private final Instant startTime = Instant.now();
    private final long streamId = ThreadLocalRandom.current().nextLong(); // Envoy: random uint64 stream id

    // What ext_authz leaves for encodeHeaders (response_headers_to_add), per Envoy's four lists.
    private final List<String[]> responseHeadersToAdd = new ArrayList<>();
    private final List<String[]> responseHeadersToSet = new ArrayList<>();
    private final List<String[]> responseHeadersToAddIfAbsent = new ArrayList<>();
    private final List<String[]> responseHeadersToOverwriteIfExists = new ArrayList<>();

    Stream(Request req, Response resp, Callback callback) {
      this.req = req;
      this.resp = resp;
      this.callback = callback;
    }

    void run() throws Exception {
      EnvoyHeaderMap headers = downstreamRequestHeaders();
      String pathQuery = headers.getFirst(":path");
      EmulatedRoute route = routes.stream().filter(r -> r.matches(pathQuery)).findFirst().orElse(null);
      if (route == null) {
        sendLocalReply(404, "", null); // router: route_not_found (ext_authz skips requests without a route)
        return;
      }
      boolean chunked = req.getHeaders().getValuesList("transfer-encoding").stream()
          .anyMatch(v -> v.toLowerCase(Locale.ROOT).contains("chunked"));
      long contentLength = req.getHeaders().getLongField("content-length");
      // HTTP/1 codec: no body (or content-length: 0) means decodeHeaders(end_stream=true).
      boolean hasBody = chunked || contentLength > 0;

      if (route.extAuthzDisabled()) {
        forward(route, headers, hasBody, null, false); // ExtAuthzPerRoute disabled: no check at all
        return;
      }

      // ext_authz decodeHeaders/decodeData: buffer the body if configured.
      ByteArrayOutputStream buffered = null;
      boolean bodyComplete = !hasBody;
      if (cfg.withRequestBody() && hasBody) {
        buffered = new ByteArrayOutputStream();
        while (true) {
          Content.Chunk chunk = readBlocking(req);
          if (Content.Chunk.isFailure(chunk)) {
            callback.failed(chunk.getFailure());
            return;
          }
          ByteBuffer bb = chunk.getByteBuffer();
          byte[] data = new byte[bb.remaining()];
          bb.get(data);
          boolean last = chunk.isLast();
          chunk.release();
          buffered.write(data);
          if (!cfg.allowPartialMessage() && buffered.size() > cfg.maxRequestBytes()) {
            // Decoder buffer limit = max_request_bytes; overflow -> 413, no Check call.
            sendLocalReply(413, "Payload Too Large", null);
            return;
          }
          if (last) {
            bodyComplete = true;
            break;
          }
          if (cfg.allowPartialMessage() && buffered.size() >= cfg.maxRequestBytes()) {
            break; // isBufferFull(): dispatch the check with what we have
          }
        }
      }
      byte[] body = buffered == null ? null : buffered.toByteArray();

      CheckRequest checkRequest = buildCheckRequest(headers, body, route.contextExtensions());
      long t0 = System.nanoTime();
      CheckResponse checkResponse = null;
      Status callError = null;
      try {
        checkResponse = check(checkRequest);
      } catch (ExecutionException e) {
        callError = Status.fromThrowable(e.getCause());
      }
      Duration latency = Duration.ofNanos(System.nanoTime() - t0);

      Struct dynamicMetadata = Struct.getDefaultInstance();
      if (checkResponse != null) {
        // OkHttpResponse.dynamic_metadata (deprecated) overrides CheckResponse.dynamic_metadata.
        Struct md = checkResponse.hasOkResponse() && checkResponse.getOkResponse().hasDynamicMetadata()
            ? checkResponse.getOkResponse().getDynamicMetadata()
            : checkResponse.getDynamicMetadata();
        if (md.getFieldsCount() > 0 && cfg.enableDynamicMetadataIngestion()) {
          Struct.Builder b = md.toBuilder();
          if (checkResponse.getStatus().getCode() == 0) {
            b.putFields("ext_authz_duration", Value.newBuilder().setNumberValue(latency.toMillis()).build());
          }
          dynamicMetadata = b.build();
        }
      }

      if (checkResponse == null) {
        if (cfg.failureModeAllow()) {
          record(new CheckRecord(checkRequest, null, callError, Decision.ERROR_ALLOWED, dynamicMetadata, latency));
          if (cfg.failureModeAllowHeaderAdd()) {
            headers.add(FAILURE_MODE_ALLOWED_HEADER, "true");
          }
        } else {
          record(new CheckRecord(checkRequest, null, callError, Decision.ERROR_DENIED, dynamicMetadata, latency));
          sendLocalReply(cfg.effectiveStatusOnError(), "", null);
          return;
        }
      } else if (checkResponse.getStatus().getCode() != 0) {
        record(new CheckRecord(checkRequest, checkResponse, null, Decision.DENIED, dynamicMetadata, latency));
        sendDenied(checkResponse);
        return;
      } else {
        record(new CheckRecord(checkRequest, checkResponse, null, Decision.ALLOWED, dynamicMetadata, latency));
        if (checkResponse.hasOkResponse()) {
          applyOkResponse(checkResponse.getOkResponse(), headers);
        }
      }

      forward(route, headers, hasBody, body, bodyComplete);
    }

    // ---------------------------------------------------------------- downstream request headers

    /**
     * The request header map as the ext_authz filter sees it: HTTP/1 codec ({@code host} becomes
     * {@code :authority}, lower-cased keys) plus {@code ConnectionManagerUtility::mutateRequestHeaders}
     * with {@code use_remote_address: false} (Envoy's default).
     */
    private EnvoyHeaderMap downstreamRequestHeaders() {
      EnvoyHeaderMap h = new EnvoyHeaderMap(EnvoyHeaderMap.Type.REQUEST);
      for (HttpField f : req.getHeaders()) {
        if (f.getName().equalsIgnoreCase("host") && h.has(":authority")) {
          continue;
        }
        h.add(f.getName(), f.getValue() == null ? "" : f.getValue());
      }
      h.set(":path", req.getHttpURI().getPathQuery());
      h.set(":method", req.getMethod());

      // 100-continue is answered by the connection manager and Expect removed (proxy_100_continue=false).
      String expect = h.getFirst("expect");
      if (expect != null && expect.equalsIgnoreCase("100-continue")) {
        h.remove("expect");
      }
      // Non-upgrade request: connection and upgrade go, as do the proxy hop-by-hop headers.
      h.remove("connection");
      h.remove("upgrade");
      h.remove("x-envoy-internal");
      h.remove("keep-alive");
      h.remove("proxy-connection");
      h.remove("transfer-encoding");
      // TE: kept only as "trailers".
      String te = h.getFirst("te");
      if (te != null) {
        boolean trailers = false;
        for (String token : te.split(",")) {
          if (token.trim().equalsIgnoreCase("trailers")) {
            trailers = true;
          }
        }
        h.remove("te");
        if (trailers) {
          h.set("te", "trailers");
        }
      }
      // Referer: removed if repeated or not an absolute URL.
      List<String> referer = h.get("referer");
      if (!referer.isEmpty() && (referer.size() > 1 || !isAbsoluteUrl(referer.get(0)))) {
        h.remove("referer");
      }
      if (!h.has("x-forwarded-proto")) {
        h.set("x-forwarded-proto", "http");
      }
      if (!h.has(":scheme")) {
        String xfp = h.getFirst("x-forwarded-proto");
        h.set(":scheme", xfp.equalsIgnoreCase("http") || xfp.equalsIgnoreCase("https") ? xfp : "http");
      }
      INTERNAL_HEADERS.forEach(h::remove); // not an internal request, not an edge request
      if (!h.has("x-request-id")) {
        h.set("x-request-id", UUID.randomUUID().toString()); // generate_request_id defaults to true
      }
      h.remove("x-forwarded-client-cert"); // forward_client_cert_details: SANITIZE
      return h;
    }

    private static boolean isAbsoluteUrl(String v) {
      try {
        URI u = new URI(v);
        return u.getScheme() != null && u.getRawAuthority() != null;
      } catch (Exception e) {
        return false;
      }
    }

    // ---------------------------------------------------------------- CheckRequest

    private CheckRequest buildCheckRequest(EnvoyHeaderMap headers, byte[] body, Map<String, String> contextExtensions) {
      AttributeContext.HttpRequest.Builder http = AttributeContext.HttpRequest.newBuilder()
          .setId(Long.toUnsignedString(streamId))
          .setMethod(sanitized(headers.getFirst(":method")))
          .setPath(sanitized(headers.getFirst(":path")))
          .setHost(sanitized(headers.getFirst(":authority")))
          .setScheme(sanitized(headers.getFirst(":scheme")))
          .setSize(body == null ? 0 : body.length) // stream_info.bytesReceived(): body bytes so far
          .setProtocol(req.getConnectionMetaData().getHttpVersion().asString());

      Map<String, String> map = new LinkedHashMap<>();
      io.envoyproxy.envoy.config.core.v3.HeaderMap.Builder raw =
          io.envoyproxy.envoy.config.core.v3.HeaderMap.newBuilder();
      for (Map.Entry<String, String> e : headers.entries()) {
        String key = e.getKey();
        if (key.equals(PARTIAL_BODY_HEADER)) {
          continue; // a client-supplied partial-body header is never passed on
        }
        if (!cfg.disallowedHeaders().isEmpty() && cfg.disallowedHeaders().stream().anyMatch(m -> m.matches(key))) {
          continue;
        }
        if (!cfg.allowedHeaders().isEmpty() && cfg.allowedHeaders().stream().noneMatch(m -> m.matches(key))) {
          continue;
        }
        if (cfg.encodeRawHeaders()) {
          raw.addHeaders(HeaderValue.newBuilder().setKey(key)
              .setRawValue(ByteString.copyFrom(EnvoyStrings.headerValueBytes(e.getValue()))));
        } else {
          String v = EnvoyStrings.sanitizeUtf8HeaderValue(e.getValue());
          map.merge(key, v, (a, b) -> a + "," + b);
        }
      }

      if (cfg.maxRequestBytes() > 0 && body != null) {
        int length = Math.min(body.length, cfg.maxRequestBytes());
        byte[] data = java.util.Arrays.copyOf(body, length);
        if (cfg.packAsBytes()) {
          http.setRawBody(ByteString.copyFrom(data));
        } else {
          http.setBody(EnvoyStrings.sanitizeUtf8(data));
        }
        String partial = length != body.length ? "true" : "false";
        if (cfg.encodeRawHeaders()) {
          raw.addHeaders(HeaderValue.newBuilder().setKey(PARTIAL_BODY_HEADER)
              .setRawValue(ByteString.copyFromUtf8(partial)));
        } else {
          map.put(PARTIAL_BODY_HEADER, partial);
        }
      }
      if (cfg.encodeRawHeaders()) {
        http.setHeaderMap(raw);
      } else {
        http.putAllHeaders(map);
      }

      java.net.SocketAddress remote = req.getConnectionMetaData().getRemoteSocketAddress();
      java.net.SocketAddress local = req.getConnectionMetaData().getLocalSocketAddress();
      AttributeContext.Peer.Builder source = AttributeContext.Peer.newBuilder().setAddress(toAddress(remote));
      String service = headers.getFirst("x-envoy-downstream-service-cluster");
      if (service != null && !service.isEmpty()) {
        source.setService(sanitized(service));
      }
      long nanos = startTime.getEpochSecond() * 1_000_000_000L + startTime.getNano();
      return CheckRequest.newBuilder()
          .setAttributes(AttributeContext.newBuilder()
              .setSource(source)
              .setDestination(AttributeContext.Peer.newBuilder().setAddress(toAddress(local)))
              .setRequest(AttributeContext.Request.newBuilder()
                  .setTime(Timestamp.newBuilder()
                      .setSeconds(Math.floorDiv(nanos, 1_000_000_000L))
                      .setNanos((int) Math.floorMod(nanos, 1_000_000_000L)))
                  .setHttp(http))
              .putAllContextExtensions(contextExtensions)
              .setMetadataContext(Metadata.getDefaultInstance())
              .setRouteMetadataContext(Metadata.getDefaultInstance()))
          .build();
    }

    private static String sanitized(String headerValue) {
      return headerValue == null ? "" : EnvoyStrings.sanitizeUtf8HeaderValue(headerValue);
    }

    private static Address toAddress(java.net.SocketAddress a) {
      if (a instanceof InetSocketAddress isa) {
        return Address.newBuilder().setSocketAddress(SocketAddress.newBuilder()
            .setAddress(isa.getAddress().getHostAddress())
            .setPortValue(isa.getPort())).build();
      }
      return Address.getDefaultInstance();
    }

    private CheckResponse check(CheckRequest request) throws ExecutionException, InterruptedException {
      AuthorizationGrpc.AuthorizationStub stub = AuthorizationGrpc.newStub(channel);
      if (!cfg.timeout().isZero()) {
        stub = stub.withDeadlineAfter(cfg.timeout().toNanos(), TimeUnit.NANOSECONDS);
      }
      if (!cfg.grpcInitialMetadata().isEmpty()) {
        io.grpc.Metadata md = new io.grpc.Metadata();
        cfg.grpcInitialMetadata().forEach((k, v) ->
            md.put(io.grpc.Metadata.Key.of(k, io.grpc.Metadata.ASCII_STRING_MARSHALLER), v));
        stub = stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
      }
      CompletableFuture<CheckResponse> result = new CompletableFuture<>();
      stub.check(request, new StreamObserver<>() {
        @Override
        public void onNext(CheckResponse value) {
          result.complete(value);
        }

        @Override
        public void onError(Throwable t) {
          result.completeExceptionally(t);
        }

        @Override
        public void onCompleted() {
          result.completeExceptionally(Status.INTERNAL.withDescription("no response").asRuntimeException());
        }
      });
      return result.get();
    }

    // ---------------------------------------------------------------- OK response

    private void applyOkResponse(OkHttpResponse ok, EnvoyHeaderMap headers) {
      if (cfg.okHeadersMode() == OkHeadersMode.LEGACY_APPEND_FIELD) {
        // copyHeaderFieldIntoResponse: append=true -> headers_to_append, otherwise headers_to_set.
        List<HeaderValueOption> toAppend = new ArrayList<>();
        for (HeaderValueOption o : ok.getHeadersList()) {
          if (o.getAppend().getValue()) {
            toAppend.add(o);
          } else {
            headers.set(o.getHeader().getKey(), wire(o));
          }
        }
        for (HeaderValueOption o : toAppend) {
          if (headers.has(o.getHeader().getKey())) { // appended only onto an existing header
            headers.append(o.getHeader().getKey(), wire(o));
          }
        }
      } else {
        for (HeaderValueOption o : ok.getHeadersList()) {
          String key = o.getHeader().getKey();
          String value = wire(o);
          if (o.hasAppend()) {
            if (o.getAppend().getValue()) {
              headers.append(key, value);
            } else {
              headers.set(key, value);
            }
            continue;
          }
          switch (o.getAppendAction()) {
            case APPEND_IF_EXISTS_OR_ADD -> headers.add(key, value);
            case ADD_IF_ABSENT -> {
              if (!headers.has(key)) {
                headers.add(key, value);
              }
            }
            case OVERWRITE_IF_EXISTS -> {
              if (headers.has(key)) {
                headers.set(key, value);
              }
            }
            default -> headers.set(key, value); // OVERWRITE_IF_EXISTS_OR_ADD, unknown values
          }
        }
      }

      for (String key : ok.getHeadersToRemoveList()) {
        if (EnvoyHeaderMap.isRemovableHeader(key)) { // never :-prefixed headers nor host
          headers.remove(key);
        }
      }

      // response_headers_to_add: append_action honoured (append BoolValue wins when set).
      for (HeaderValueOption o : ok.getResponseHeadersToAddList()) {
        String[] kv = {o.getHeader().getKey(), wire(o)};
        if (o.hasAppend()) {
          (o.getAppend().getValue() ? responseHeadersToAdd : responseHeadersToSet).add(kv);
        } else {
          switch (o.getAppendAction()) {
            case APPEND_IF_EXISTS_OR_ADD -> responseHeadersToAdd.add(kv);
            case ADD_IF_ABSENT -> responseHeadersToAddIfAbsent.add(kv);
            case OVERWRITE_IF_EXISTS -> responseHeadersToOverwriteIfExists.add(kv);
            default -> responseHeadersToSet.add(kv);
          }
        }
      }

      if (ok.getQueryParametersToSetCount() > 0 || ok.getQueryParametersToRemoveCount() > 0) {
        String path = headers.getFirst(":path");
        TreeMap<String, List<String>> params = parseQueryString(path);
        for (QueryParameter p : ok.getQueryParametersToSetList()) {
          params.put(EnvoyStrings.wireHeaderValue(p.getKey()),
              new ArrayList<>(List.of(EnvoyStrings.wireHeaderValue(p.getValue()))));
        }
        for (String key : ok.getQueryParametersToRemoveList()) {
          params.remove(EnvoyStrings.wireHeaderValue(key));
        }
        int q = path.indexOf('?');
        StringBuilder newPath = new StringBuilder(q < 0 ? path : path.substring(0, q));
        char delim = '?';
        for (Map.Entry<String, List<String>> e : params.entrySet()) {
          for (String v : e.getValue()) {
            newPath.append(delim).append(e.getKey()).append('=').append(v);
            delim = '&';
          }
        }
        headers.set(":path", newPath.toString());
      }
    }

    /** Envoy copies {@code header().value()} (never {@code raw_value}) into its mutation lists. */
    private static String wire(HeaderValueOption o) {
      return EnvoyStrings.wireHeaderValue(o.getHeader().getValue());
    }

    /** {@code QueryParamsMulti::parseQueryString}: not decoded, sorted by key (absl::btree_map). */
    private static TreeMap<String, List<String>> parseQueryString(String path) {
      TreeMap<String, List<String>> params = new TreeMap<>();
      int start = path.indexOf('?');
      if (start < 0) {
        return params;
      }
      start++;
      while (start < path.length()) {
        int end = path.indexOf('&', start);
        if (end < 0) {
          end = path.length();
        }
        String param = path.substring(start, end);
        int eq = param.indexOf('=');
        String name = eq < 0 ? param : param.substring(0, eq);
        String value = eq < 0 ? "" : param.substring(eq + 1);
        params.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        start = end + 1;
      }
      return params;
    }

    // ---------------------------------------------------------------- local replies

    private void sendDenied(CheckResponse response) throws IOException {
      int status = 403;
      String body = "";
      List<HeaderValueOption> options = List.of();
      if (response.hasDeniedResponse()) {
        DeniedHttpResponse denied = response.getDeniedResponse();
        if (denied.getStatus().getCodeValue() > 0) {
          status = denied.getStatus().getCodeValue();
        }
        body = denied.getBody();
        options = denied.getHeadersList();
      }
      List<HeaderValueOption> headerOptions = options;
      sendLocalReply(status, body, h -> {
        if (cfg.okHeadersMode() == OkHeadersMode.LEGACY_APPEND_FIELD) {
          // Only headers_to_set reach the local reply: remove every key first, then add them all
          // (so e.g. several set-cookie survive). append=true entries are dropped.
          List<HeaderValueOption> toSet = headerOptions.stream().filter(o -> !o.getAppend().getValue()).toList();
          toSet.forEach(o -> h.remove(o.getHeader().getKey()));
          toSet.forEach(o -> h.add(o.getHeader().getKey(), wire(o)));
        } else {
          for (HeaderValueOption o : headerOptions) {
            String key = o.getHeader().getKey();
            String value = wire(o);
            if (o.hasAppend()) {
              if (o.getAppend().getValue()) {
                h.add(key, value);
              } else {
                h.set(key, value);
              }
              continue;
            }
            switch (o.getAppendAction()) {
              case APPEND_IF_EXISTS_OR_ADD -> h.add(key, value);
              case ADD_IF_ABSENT -> {
                if (!h.has(key)) {
                  h.add(key, value);
                }
              }
              case OVERWRITE_IF_EXISTS -> {
                if (h.has(key)) {
                  h.set(key, value);
                }
              }
              default -> h.set(key, value);
            }
          }
        }
      });
    }

    /** {@code sendLocalReply} + {@code Utility::prepareLocalReply} + the connection manager's finishing touches. */
    private void sendLocalReply(int status, String body, Consumer<EnvoyHeaderMap> modifyHeaders) throws IOException {
      EnvoyHeaderMap h = new EnvoyHeaderMap(EnvoyHeaderMap.Type.RESPONSE);
      if (modifyHeaders != null) {
        modifyHeaders.accept(h);
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      if (bytes.length > 0) {
        h.set("content-length", Integer.toString(bytes.length));
        if (!h.has("content-type")) {
          h.set("content-type", "text/plain");
        }
      } else {
        h.remove("content-length");
        h.remove("content-type");
      }
      finishResponseHeaders(h);
      resp.setStatus(status);
      writeHeaders(h);
      boolean head = req.getMethod().equals("HEAD");
      resp.write(true, head ? BufferUtil.EMPTY_BUFFER : ByteBuffer.wrap(bytes), callback);
    }

    /** The connection manager's encodeHeaders: hop-by-hop removal, {@code date}, {@code server: envoy}. */
    private void finishResponseHeaders(EnvoyHeaderMap h) {
      RESPONSE_HOP_BY_HOP.forEach(h::remove);
      h.set("date", EnvoyStrings.httpDate(ZonedDateTime.now(ZoneOffset.UTC)));
      h.set("server", "envoy"); // server_header_transformation: OVERWRITE
    }

    private void writeHeaders(EnvoyHeaderMap h) {
      HttpFields.Mutable out = resp.getHeaders();
      for (Map.Entry<String, String> e : h.entries()) {
        if (!e.getKey().startsWith(":")) {
          out.add(e.getKey(), e.getValue());
        }
      }
    }

    // ---------------------------------------------------------------- router

    private void forward(EmulatedRoute route, EnvoyHeaderMap headers, boolean hasBody, byte[] prefix,
        boolean bodyComplete) throws Exception {
      URI upstream = route.upstream();
      String path = headers.getFirst(":path");
      org.eclipse.jetty.client.Request up = client.newRequest(upstream.getHost(), upstreamPort(upstream))
          .scheme(upstream.getScheme())
          .method(headers.getFirst(":method"))
          .path(path)
          .idleTimeout(idleTimeoutMs, TimeUnit.MILLISECONDS);
      long length = -1;
      String cl = headers.getFirst("content-length");
      if (cl != null) {
        try {
          length = Long.parseLong(cl.trim());
        } catch (NumberFormatException e) {
          length = -1;
        }
      }
      boolean sendContentLengthHeader = !hasBody && cl != null;
      up.headers(out -> {
        out.clear();
        for (Map.Entry<String, String> e : headers.entries()) {
          String k = e.getKey();
          if (k.equals(":authority")) {
            out.add("host", e.getValue());
          } else if (!k.startsWith(":") && !k.equals("transfer-encoding")
              && (!k.equals("content-length") || sendContentLengthHeader)) {
            out.add(k, e.getValue());
          }
        }
      });
      if (hasBody) {
        up.body(new ContentSourceRequestContent(new PrefixedSource(prefix, bodyComplete ? null : req, length)));
      }

      InputStreamResponseListener listener = new InputStreamResponseListener();
      long sent = System.nanoTime();
      up.send(listener);
      org.eclipse.jetty.client.Response upstreamResponse;
      try {
        upstreamResponse = listener.get(idleTimeoutMs, TimeUnit.MILLISECONDS);
      } catch (Exception e) {
        LOG.debug("upstream request failed before headers", e);
        up.abort(e);
        sendLocalReply(503, UPSTREAM_CONNECT_ERROR_BODY, null);
        return;
      }
      long serviceTimeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);

      EnvoyHeaderMap h = new EnvoyHeaderMap(EnvoyHeaderMap.Type.RESPONSE);
      for (HttpField f : upstreamResponse.getHeaders()) {
        h.add(f.getName(), f.getValue() == null ? "" : f.getValue());
      }
      h.set("x-envoy-upstream-service-time", Long.toString(serviceTimeMs)); // router
      // ext_authz encodeHeaders: add, set, add-if-absent, overwrite-if-exists, in that order.
      responseHeadersToAdd.forEach(kv -> h.add(kv[0], kv[1]));
      responseHeadersToSet.forEach(kv -> h.set(kv[0], kv[1]));
      responseHeadersToAddIfAbsent.forEach(kv -> {
        if (!h.has(kv[0])) {
          h.add(kv[0], kv[1]);
        }
      });
      responseHeadersToOverwriteIfExists.forEach(kv -> {
        if (h.has(kv[0])) {
          h.set(kv[0], kv[1]);
        }
      });
      finishResponseHeaders(h);
      resp.setStatus(upstreamResponse.getStatus());
      writeHeaders(h);

      byte[] buf = new byte[16 * 1024];
      try (InputStream in = listener.getInputStream()) {
        while (true) {
          int n;
          try {
            n = in.read(buf);
          } catch (IOException e) {
            // Upstream reset mid-stream: Envoy resets the downstream stream too.
            callback.failed(e);
            return;
          }
          if (n < 0) {
            break;
          }
          if (n == 0) {
            continue;
          }
          try (Blocker.Callback written = Blocker.callback()) {
            resp.write(false, ByteBuffer.wrap(buf, 0, n), written); // flushed per read: SSE streams through
            written.block();
          } catch (IOException e) {
            up.abort(e); // downstream went away: reset upstream
            callback.failed(e);
            return;
          }
        }
      }
      resp.write(true, BufferUtil.EMPTY_BUFFER, callback);
    }

    private static int upstreamPort(URI upstream) {
      if (upstream.getPort() > 0) {
        return upstream.getPort();
      }
      return "https".equalsIgnoreCase(upstream.getScheme()) ? 443 : 80;
    }
  }

  private static Content.Chunk readBlocking(Content.Source source) throws InterruptedException {
    while (true) {
      Content.Chunk chunk = source.read();
      if (chunk != null) {
        return chunk;
      }
      CountDownLatch ready = new CountDownLatch(1);
      source.demand(ready::countDown);
      ready.await();
    }
  }

  /** The buffered body prefix followed by whatever the downstream request still has to deliver. */
  private static final class PrefixedSource implements Content.Source {
    private ByteBuffer prefix;
    private final Content.Source rest;
    private final long length;

    PrefixedSource(byte[] prefix, Content.Source rest, long length) {
      this.prefix = prefix == null || prefix.length == 0 ? null : ByteBuffer.wrap(prefix);
      this.rest = rest;
      this.length = length;
    }

    @Override
    public long getLength() {
      return length;
    }

    @Override
    public Content.Chunk read() {
      if (prefix != null) {
        ByteBuffer p = prefix;
        prefix = null;
        return Content.Chunk.from(p, rest == null);
      }
      return rest == null ? Content.Chunk.EOF : rest.read();
    }

    @Override
    public void demand(Runnable demandCallback) {
      if (prefix != null || rest == null) {
        demandCallback.run();
      } else {
        rest.demand(demandCallback);
      }
    }

    @Override
    public void fail(Throwable failure) {
      if (rest != null) {
        rest.fail(failure);
      }
    }
  }

  // ------------------------------------------------------------------ standalone

  /**
   * Standalone use: {@code --upstream http://127.0.0.1:8080 --ext-authz 127.0.0.1:9191 [--listen-port 10000]
   * [--listen-address 127.0.0.1] [--route PREFIX=URL]... [--public-route PREFIX=URL]...
   * [--context-extension k=v]... [--with-body] [--max-body N] [--allow-partial] [--pack-as-bytes]
   * [--timeout-ms N] [--failure-mode-allow] [--failure-mode-allow-header-add] [--status-on-error N]
   * [--encode-raw-headers] [--append-action] [--stream-idle-timeout-ms N]}. Routes are matched in the
   * order given; {@code --upstream} adds a final catch-all route; {@code --public-route} has ext_authz
   * disabled; context extensions apply to every other route.
   */
  public static void main(String[] args) throws Exception {
    ExtAuthzFilterConfig.Builder b = ExtAuthzFilterConfig.builder();
    URI upstreamUri = null;
    List<String[]> routeArgs = new ArrayList<>();
    int port = 10000;
    String address = "127.0.0.1";
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--listen-port" -> port = Integer.parseInt(args[++i]);
        case "--listen-address" -> address = args[++i];
        case "--upstream" -> upstreamUri = URI.create(args[++i]);
        case "--route", "--public-route" -> {
          String kv = args[++i];
          int eq = kv.indexOf('=');
          if (eq <= 0) {
            throw usage(a + " expects PREFIX=URL, got " + kv);
          }
          routeArgs.add(new String[] {a, kv.substring(0, eq), kv.substring(eq + 1)});
        }
        case "--stream-idle-timeout-ms" -> b.streamIdleTimeout(Duration.ofMillis(Long.parseLong(args[++i])));
        case "--ext-authz" -> b.grpcTarget(args[++i]);
        case "--context-extension" -> {
          String kv = args[++i];
          int eq = kv.indexOf('=');
          if (eq <= 0) {
            throw usage("--context-extension expects key=value, got " + kv);
          }
          b.contextExtension(kv.substring(0, eq), kv.substring(eq + 1));
        }
        case "--with-body" -> b.withRequestBody(true);
        case "--max-body" -> b.withRequestBody(true).maxRequestBytes(Integer.parseInt(args[++i]));
        case "--allow-partial" -> b.allowPartialMessage(true);
        case "--pack-as-bytes" -> b.packAsBytes(true);
        case "--timeout-ms" -> b.timeout(Duration.ofMillis(Long.parseLong(args[++i])));
        case "--failure-mode-allow" -> b.failureModeAllow(true);
        case "--failure-mode-allow-header-add" -> b.failureModeAllowHeaderAdd(true);
        case "--status-on-error" -> b.statusOnError(Integer.parseInt(args[++i]));
        case "--encode-raw-headers" -> b.encodeRawHeaders(true);
        case "--append-action" -> b.okHeadersMode(OkHeadersMode.APPEND_ACTION);
        case "-h", "--help" -> {
          printUsage(System.out);
          return;
        }
        default -> throw usage("unknown argument " + a);
      }
    }
    if (upstreamUri == null && routeArgs.isEmpty()) {
      throw usage("--upstream or --route is required");
    }
    ExtAuthzFilterConfig cfg;
    try {
      cfg = b.build();
    } catch (NullPointerException e) {
      throw usage("--ext-authz is required");
    }
    List<EmulatedRoute> routeTable = new ArrayList<>();
    for (String[] r : routeArgs) {
      EmulatedRoute route = new EmulatedRoute(r[1], URI.create(r[2]), false, cfg.contextExtensions());
      routeTable.add(r[0].equals("--public-route") ? route.withExtAuthzDisabled() : route);
    }
    if (upstreamUri != null) {
      routeTable.add(new EmulatedRoute("/", upstreamUri, false, cfg.contextExtensions()));
    }
    EnvoyExtAuthzEmulator emulator = start(cfg, routeTable, new InetSocketAddress(address, port));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      emulator.close();
      stopped.countDown();
    }, "envoy-emulator-shutdown"));
    System.out.println("Envoy ext_authz emulator listening on http://" + address + ":" + emulator.port()
        + " routes " + routeTable.stream().map(r -> r.prefix() + (r.extAuthzDisabled() ? " (public)" : "")
            + " -> " + r.upstream()).toList() + ", ext_authz gRPC " + cfg.grpcTarget());
    stopped.await();
  }

  private static IllegalArgumentException usage(String message) {
    printUsage(System.err);
    return new IllegalArgumentException(message);
  }

  private static void printUsage(PrintStream out) {
    out.println("usage: EnvoyExtAuthzEmulator --ext-authz HOST:PORT (--upstream URL | --route PREFIX=URL)"
        + " [--public-route PREFIX=URL]... [--listen-port N] [--listen-address ADDR] [--context-extension K=V]..."
        + " [--with-body] [--max-body N] [--allow-partial] [--pack-as-bytes] [--timeout-ms N]"
        + " [--failure-mode-allow] [--failure-mode-allow-header-add] [--status-on-error N]"
        + " [--encode-raw-headers] [--append-action] [--stream-idle-timeout-ms N]");
  }
}
