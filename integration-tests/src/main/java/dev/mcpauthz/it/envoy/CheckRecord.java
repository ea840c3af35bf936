package dev.mcpauthz.it.envoy;

import com.google.protobuf.Struct;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.Status;
import java.time.Duration;

/**
 * One ext_authz exchange as the emulated filter saw it.
 *
 * @param request          the CheckRequest that was sent
 * @param response         the CheckResponse, or {@code null} when the call failed or timed out
 * @param callError        the gRPC status of a failed call (timeout = {@code DEADLINE_EXCEEDED}), else {@code null}
 * @param decision         what the filter did with the downstream request
 * @param dynamicMetadata  what the filter stored as dynamic metadata under
 *                         {@value EnvoyExtAuthzEmulator#DYNAMIC_METADATA_NAMESPACE} (what an access log's
 *                         {@code %DYNAMIC_METADATA(envoy.filters.http.ext_authz)%} would print); the default
 *                         instance when nothing was stored
 * @param latency          time from sending the Check call to its completion
 */
public record CheckRecord(
    CheckRequest request,
    CheckResponse response,
    Status callError,
    Decision decision,
    Struct dynamicMetadata,
    Duration latency) {

  public enum Decision {
    /** gRPC status OK: the request went upstream (with the OK response's mutations). */
    ALLOWED,
    /** Non-OK status in the CheckResponse: a local reply built from {@code denied_response}. */
    DENIED,
    /** Call failed / timed out, {@code failure_mode_allow=false}: local reply with {@code status_on_error}. */
    ERROR_DENIED,
    /** Call failed / timed out, {@code failure_mode_allow=true}: the request went upstream unchanged. */
    ERROR_ALLOWED
  }
}
