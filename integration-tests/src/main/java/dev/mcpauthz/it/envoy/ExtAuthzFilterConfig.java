package dev.mcpauthz.it.envoy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The part of an Envoy {@code envoy.filters.http.ext_authz} (v3, {@code grpc_service},
 * {@code transport_api_version: V3}) configuration that {@link EnvoyExtAuthzEmulator} reproduces.
 * Field names follow the Envoy proto; defaults are Envoy's defaults unless noted. See
 * {@code docs/envoy-emulator.md} for what each field does and where it comes from in Envoy.
 *
 * @param grpcTarget             {@code host:port} of the Authorization gRPC service (plaintext)
 * @param timeout                {@code grpc_service.timeout}; Envoy's default is 200 ms. Zero = no deadline
 * @param failureModeAllow       {@code failure_mode_allow} (default false: errors are denied)
 * @param failureModeAllowHeaderAdd {@code failure_mode_allow_header_add}: add
 *                               {@code x-envoy-auth-failure-mode-allowed: true} upstream when an error was allowed
 * @param statusOnError          {@code status_on_error.code}; default 403. Out-of-range values fall back to 403 as in Envoy
 * @param withRequestBody        whether {@code with_request_body} is configured
 * @param maxRequestBytes        {@code with_request_body.max_request_bytes} (Envoy requires it &gt; 0; no default there)
 * @param allowPartialMessage    {@code with_request_body.allow_partial_message}
 * @param packAsBytes            {@code with_request_body.pack_as_bytes}: send {@code raw_body} instead of {@code body}
 * @param encodeRawHeaders       {@code encode_raw_headers}: send {@code header_map} instead of the {@code headers} map
 * @param contextExtensions      per-route {@code check_settings.context_extensions}
 * @param allowedUpstreamHeadersPrefixes accepted for API compatibility only. Envoy's
 *                               {@code allowed_upstream_headers} belongs to {@code http_service} and has no
 *                               effect with {@code grpc_service}, so the emulator ignores it (and logs a warning)
 * @param allowedHeaders         {@code allowed_headers}: if non-empty, only matching request headers go to the
 *                               authorization service
 * @param disallowedHeaders      {@code disallowed_headers}: matching request headers are never sent
 * @param okHeadersMode          how {@code OkHttpResponse.headers} / {@code DeniedHttpResponse.headers} are applied;
 *                               this differs between Envoy releases, see {@link OkHeadersMode}
 * @param enableDynamicMetadataIngestion {@code enable_dynamic_metadata_ingestion} (default true)
 * @param grpcAuthority          the {@code :authority} of the Check call; Envoy uses the {@code envoy_grpc}
 *                               cluster name. {@code null} = derive it from {@code grpcTarget}
 * @param grpcInitialMetadata    {@code grpc_service.initial_metadata}
 * @param historySize            how many check exchanges {@link EnvoyExtAuthzEmulator#checks()} keeps
 * @param streamIdleTimeout      the connection manager's {@code stream_idle_timeout} (Envoy's default 5 min);
 *                               zero disables it, as {@code envoy-examples/envoy.yaml} does for SSE
 */
public record ExtAuthzFilterConfig(
    String grpcTarget,
    Duration timeout,
    boolean failureModeAllow,
    boolean failureModeAllowHeaderAdd,
    int statusOnError,
    boolean withRequestBody,
    int maxRequestBytes,
    boolean allowPartialMessage,
    boolean packAsBytes,
    boolean encodeRawHeaders,
    Map<String, String> contextExtensions,
    List<String> allowedUpstreamHeadersPrefixes,
    List<StringMatcher> allowedHeaders,
    List<StringMatcher> disallowedHeaders,
    OkHeadersMode okHeadersMode,
    boolean enableDynamicMetadataIngestion,
    String grpcAuthority,
    Map<String, String> grpcInitialMetadata,
    int historySize,
    Duration streamIdleTimeout) {

  /** Envoy's default {@code grpc_service.timeout} for ext_authz. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(200);

  /** Envoy's default {@code stream_idle_timeout} of the HTTP connection manager. */
  public static final Duration DEFAULT_STREAM_IDLE_TIMEOUT = Duration.ofMinutes(5);

  /**
   * How the ext_authz filter turns {@code HeaderValueOption}s of {@code OkHttpResponse.headers} (request
   * headers sent upstream) and {@code DeniedHttpResponse.headers} (local reply headers) into header
   * operations. {@code OkHttpResponse.response_headers_to_add} honours {@code append_action} in both modes.
   */
  public enum OkHeadersMode {
    /**
     * Envoy up to 1.36.x (and 1.37 after the revert of envoyproxy/envoy#42878): only the deprecated
     * {@code append} BoolValue is looked at, {@code append_action} is ignored. {@code append} unset or
     * false = overwrite-or-add; {@code append: true} = append {@code ",value"} to an existing header and do
     * nothing if it is absent. Denied-response headers with {@code append: true} are dropped.
     */
    LEGACY_APPEND_FIELD,
    /**
     * Envoy 1.37.0 (envoyproxy/envoy#42878): {@code append_action} is honoured, entries are applied in
     * order. Note the proto default {@code APPEND_IF_EXISTS_OR_ADD} then adds a second header when
     * {@code append_action} is left unset (envoyproxy/envoy#43310). The deprecated {@code append} still wins
     * when set: true = comma-append (or add), false = overwrite-or-add.
     */
    APPEND_ACTION
  }

  public ExtAuthzFilterConfig {
    Objects.requireNonNull(grpcTarget, "grpcTarget");
    timeout = timeout == null ? DEFAULT_TIMEOUT : timeout;
    if (timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must not be negative");
    }
    if (withRequestBody && maxRequestBytes <= 0) {
      throw new IllegalArgumentException("with_request_body.max_request_bytes must be > 0");
    }
    contextExtensions = Map.copyOf(contextExtensions == null ? Map.of() : contextExtensions);
    allowedUpstreamHeadersPrefixes = List.copyOf(allowedUpstreamHeadersPrefixes == null ? List.of() : allowedUpstreamHeadersPrefixes);
    allowedHeaders = List.copyOf(allowedHeaders == null ? List.of() : allowedHeaders);
    disallowedHeaders = List.copyOf(disallowedHeaders == null ? List.of() : disallowedHeaders);
    okHeadersMode = okHeadersMode == null ? OkHeadersMode.LEGACY_APPEND_FIELD : okHeadersMode;
    grpcInitialMetadata = Map.copyOf(grpcInitialMetadata == null ? Map.of() : grpcInitialMetadata);
    if (historySize <= 0) {
      throw new IllegalArgumentException("historySize must be > 0");
    }
    streamIdleTimeout = streamIdleTimeout == null ? DEFAULT_STREAM_IDLE_TIMEOUT : streamIdleTimeout;
    if (streamIdleTimeout.isNegative()) {
      throw new IllegalArgumentException("streamIdleTimeout must not be negative");
    }
  }

  /** Envoy's {@code toErrorCode}: a status outside 100..511 means 403. */
  public int effectiveStatusOnError() {
    return statusOnError >= 100 && statusOnError <= 511 ? statusOnError : 403;
  }

  public static Builder builder() { return new Builder(); }

  public static Builder builder(String grpcTarget) { return new Builder().grpcTarget(grpcTarget); }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.grpcTarget = grpcTarget;
    b.timeout = timeout;
    b.failureModeAllow = failureModeAllow;
    b.failureModeAllowHeaderAdd = failureModeAllowHeaderAdd;
    b.statusOnError = statusOnError;
    b.withRequestBody = withRequestBody;
    b.maxRequestBytes = maxRequestBytes;
    b.allowPartialMessage = allowPartialMessage;
    b.packAsBytes = packAsBytes;
    b.encodeRawHeaders = encodeRawHeaders;
    b.contextExtensions = new LinkedHashMap<>(contextExtensions);
    b.allowedUpstreamHeadersPrefixes = new ArrayList<>(allowedUpstreamHeadersPrefixes);
    b.allowedHeaders = new ArrayList<>(allowedHeaders);
    b.disallowedHeaders = new ArrayList<>(disallowedHeaders);
    b.okHeadersMode = okHeadersMode;
    b.enableDynamicMetadataIngestion = enableDynamicMetadataIngestion;
    b.grpcAuthority = grpcAuthority;
    b.grpcInitialMetadata = new LinkedHashMap<>(grpcInitialMetadata);
    b.historySize = historySize;
    b.streamIdleTimeout = streamIdleTimeout;
    return b;
  }

  public static final class Builder {
    private String grpcTarget;
    private Duration timeout = DEFAULT_TIMEOUT;
    private boolean failureModeAllow;
    private boolean failureModeAllowHeaderAdd;
    private int statusOnError = 403;
    private boolean withRequestBody;
    private int maxRequestBytes = 8192;
    private boolean allowPartialMessage;
    private boolean packAsBytes;
    private boolean encodeRawHeaders;
    private Map<String, String> contextExtensions = new LinkedHashMap<>();
    private List<String> allowedUpstreamHeadersPrefixes = new ArrayList<>();
    private List<StringMatcher> allowedHeaders = new ArrayList<>();
    private List<StringMatcher> disallowedHeaders = new ArrayList<>();
    private OkHeadersMode okHeadersMode = OkHeadersMode.LEGACY_APPEND_FIELD;
    private boolean enableDynamicMetadataIngestion = true;
    private String grpcAuthority = "ext_authz";
    private Map<String, String> grpcInitialMetadata = new LinkedHashMap<>();
    private int historySize = 64;
    private Duration streamIdleTimeout = DEFAULT_STREAM_IDLE_TIMEOUT;

    private Builder() {}

    public Builder grpcTarget(String v) { grpcTarget = v; return this; }

    public Builder timeout(Duration v) { timeout = v; return this; }

    public Builder failureModeAllow(boolean v) { failureModeAllow = v; return this; }

    public Builder failureModeAllowHeaderAdd(boolean v) { failureModeAllowHeaderAdd = v; return this; }

    public Builder statusOnError(int v) { statusOnError = v; return this; }

    public Builder withRequestBody(boolean v) { withRequestBody = v; return this; }

    /** Shorthand for {@code with_request_body {max_request_bytes, allow_partial_message}}. */
    public Builder withRequestBody(int maxBytes, boolean allowPartial) {
      withRequestBody = true;
      maxRequestBytes = maxBytes;
      allowPartialMessage = allowPartial;
      return this;
    }

    public Builder maxRequestBytes(int v) { maxRequestBytes = v; return this; }

    public Builder allowPartialMessage(boolean v) { allowPartialMessage = v; return this; }

    public Builder packAsBytes(boolean v) { packAsBytes = v; return this; }

    public Builder encodeRawHeaders(boolean v) { encodeRawHeaders = v; return this; }

    public Builder contextExtensions(Map<String, String> v) { contextExtensions = new LinkedHashMap<>(v); return this; }

    public Builder contextExtension(String key, String value) { contextExtensions.put(key, value); return this; }

    public Builder allowedUpstreamHeadersPrefixes(List<String> v) { allowedUpstreamHeadersPrefixes = new ArrayList<>(v); return this; }

    public Builder allowedHeaders(List<StringMatcher> v) { allowedHeaders = new ArrayList<>(v); return this; }

    public Builder allowedHeader(StringMatcher v) { allowedHeaders.add(v); return this; }

    public Builder disallowedHeaders(List<StringMatcher> v) { disallowedHeaders = new ArrayList<>(v); return this; }

    public Builder disallowedHeader(StringMatcher v) { disallowedHeaders.add(v); return this; }

    public Builder okHeadersMode(OkHeadersMode v) { okHeadersMode = v; return this; }

    public Builder enableDynamicMetadataIngestion(boolean v) { enableDynamicMetadataIngestion = v; return this; }

    public Builder grpcAuthority(String v) { grpcAuthority = v; return this; }

    public Builder grpcInitialMetadata(String key, String value) { grpcInitialMetadata.put(key, value); return this; }

    public Builder historySize(int v) { historySize = v; return this; }

    public Builder streamIdleTimeout(Duration v) { streamIdleTimeout = v; return this; }

    public ExtAuthzFilterConfig build() {
      return new ExtAuthzFilterConfig(grpcTarget, timeout, failureModeAllow, failureModeAllowHeaderAdd,
          statusOnError, withRequestBody, maxRequestBytes, allowPartialMessage, packAsBytes,
          encodeRawHeaders, contextExtensions, allowedUpstreamHeadersPrefixes, allowedHeaders,
          disallowedHeaders, okHeadersMode, enableDynamicMetadataIngestion, grpcAuthority,
          grpcInitialMetadata, historySize, streamIdleTimeout);
    }
  }
}
