package dev.mcpauthz.it.envoy;

import static dev.mcpauthz.it.envoy.ScriptedAuthzServer.header;
import static io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.ADD_IF_ABSENT;
import static io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
import static org.assertj.core.api.Assertions.assertThat;

import dev.mcpauthz.it.envoy.ExtAuthzFilterConfig.OkHeadersMode;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.envoyproxy.envoy.type.v3.StatusCode;
import io.grpc.Status;
import java.net.ServerSocket;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Denied CheckResponses, failed / timed-out calls, {@code status_on_error}, {@code failure_mode_allow}. */
class EnvoyEmulatorDeniedAndErrorTest extends EmulatorTestBase {

  private static final String REQUEST = "POST /mcp HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
      + "Content-Length: 2\r\nConnection: close";

  private RawHttp.Result send() throws Exception {
    return RawHttp.exchange(envoy.baseUri(), REQUEST, "{}".getBytes());
  }

  private static CheckResponse denied(DeniedHttpResponse.Builder d) {
    return CheckResponse.newBuilder()
        .setStatus(com.google.rpc.Status.newBuilder().setCode(Status.Code.UNAUTHENTICATED.value()))
        .setDeniedResponse(d)
        .build();
  }

  @Test
  void deniedResponseStatusHeadersAndBodyArePassedVerbatim() throws Exception {
    envoyExactly(config());
    String body = "{\"error\":\"invalid_token\"}";
    authz.respond(denied(DeniedHttpResponse.newBuilder()
        .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Unauthorized))
        .addHeaders(header("WWW-Authenticate", "Bearer resource_metadata=\"https://mcp/.well-known/oauth-protected-resource\"").build())
        .addHeaders(header("content-type", "application/json").build())
        .addHeaders(header("set-cookie", "a=1").build())
        .addHeaders(header("set-cookie", "b=2").build())
        .addHeaders(header("x-dropped", "append-true", true))
        .setBody(body)));

    RawHttp.Result res = send();

    assertThat(res.status()).isEqualTo(401);
    assertThat(res.bodyText()).isEqualTo(body);
    assertThat(res.header("www-authenticate"))
        .isEqualTo("Bearer resource_metadata=\"https://mcp/.well-known/oauth-protected-resource\"");
    assertThat(res.values("content-type")).containsExactly("application/json");
    assertThat(res.header("content-length")).isEqualTo(Integer.toString(body.length()));
    assertThat(res.values("set-cookie")).containsExactly("a=1", "b=2");
    assertThat(res.values("x-dropped")).isEmpty(); // Envoy <= 1.36 only uses headers_to_set for local replies
    assertThat(res.header("server")).isEqualTo("envoy");
    assertThat(upstream.receivedCount()).isZero();
    assertThat(envoy.lastCheck().orElseThrow().decision()).isEqualTo(CheckRecord.Decision.DENIED);
  }

  @Test
  void deniedWithoutDeniedResponseIsAnEmpty403() throws Exception {
    envoyExactly(config());
    authz.respond(CheckResponse.newBuilder()
        .setStatus(com.google.rpc.Status.newBuilder().setCode(Status.Code.PERMISSION_DENIED.value())).build());

    RawHttp.Result res = send();

    assertThat(res.status()).isEqualTo(403);
    assertThat(res.body()).isEmpty();
    assertThat(res.header("content-type")).isNull();
    assertThat(upstream.receivedCount()).isZero();
  }

  @Test
  void deniedWithBodyButNoStatusOrContentTypeIs403TextPlain() throws Exception {
    envoyExactly(config());
    authz.respond(denied(DeniedHttpResponse.newBuilder().setBody("go away")
        .addHeaders(header("content-length", "999").build())));

    RawHttp.Result res = send();

    assertThat(res.status()).isEqualTo(403);
    assertThat(res.bodyText()).isEqualTo("go away");
    assertThat(res.header("content-type")).isEqualTo("text/plain");
    assertThat(res.values("content-length")).containsExactly("7");
  }

  @Test
  void deniedHeadersHonourAppendActionInAppendActionMode() throws Exception {
    envoyExactly(config().okHeadersMode(OkHeadersMode.APPEND_ACTION));
    authz.respond(denied(DeniedHttpResponse.newBuilder()
        .setStatus(HttpStatus.newBuilder().setCode(StatusCode.Unauthorized))
        .addHeaders(header("x-a", "1", APPEND_IF_EXISTS_OR_ADD))
        .addHeaders(header("x-a", "2", APPEND_IF_EXISTS_OR_ADD))
        .addHeaders(header("x-a", "3", ADD_IF_ABSENT))
        .addHeaders(header("x-b", "appended", true))));

    RawHttp.Result res = send();

    assertThat(res.status()).isEqualTo(401);
    assertThat(res.values("x-a")).containsExactly("1", "2");
    assertThat(res.values("x-b")).containsExactly("appended");
  }

  @Test
  void checkTimeoutIsDeniedWithStatusOnErrorWithinTheDeadline() throws Exception {
    envoyExactly(config().timeout(Duration.ofMillis(200)));
    authz.hang();

    long t0 = System.nanoTime();
    RawHttp.Result res = send();
    Duration took = Duration.ofNanos(System.nanoTime() - t0);

    assertThat(res.status()).isEqualTo(403);
    assertThat(res.body()).isEmpty();
    assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(190)).isLessThan(Duration.ofMillis(1500));
    assertThat(authz.awaitCancellation()).as("the Check call was cancelled").isTrue();
    assertThat(upstream.receivedCount()).isZero();
    CheckRecord record = envoy.lastCheck().orElseThrow();
    assertThat(record.decision()).isEqualTo(CheckRecord.Decision.ERROR_DENIED);
    assertThat(record.callError().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  @Test
  void grpcErrorUsesStatusOnError() throws Exception {
    envoyExactly(config().statusOnError(503));
    authz.fail(Status.UNAVAILABLE.withDescription("down"));

    RawHttp.Result res = send();

    assertThat(res.status()).isEqualTo(503);
    assertThat(res.body()).isEmpty();
    assertThat(envoy.lastCheck().orElseThrow().callError().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void statusOnErrorOutsideTheHttpRangeFallsBackTo403() throws Exception {
    envoyExactly(config().statusOnError(999));
    authz.fail(Status.INTERNAL);

    assertThat(send().status()).isEqualTo(403);
  }

  @Test
  void unreachableAuthorizationServiceIsDenied() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    envoyExactly(ExtAuthzFilterConfig.builder().grpcTarget("127.0.0.1:" + closedPort));

    assertThat(send().status()).isEqualTo(403);
    assertThat(upstream.receivedCount()).isZero();
  }

  @Test
  void failureModeAllowForwardsWithoutTheHeaderByDefault() throws Exception {
    envoyExactly(config().failureModeAllow(true).timeout(Duration.ofMillis(200)));
    authz.hang();

    RawHttp.Result res = send();

    assertThat(res.status()).isEqualTo(200);
    RecordingUpstream.Received up = upstream.take();
    assertThat(up.bodyText()).isEqualTo("{}");
    assertThat(up.values("x-envoy-auth-failure-mode-allowed")).isEmpty();
    assertThat(envoy.lastCheck().orElseThrow().decision()).isEqualTo(CheckRecord.Decision.ERROR_ALLOWED);
  }

  @Test
  void failureModeAllowHeaderAddMarksTheRequest() throws Exception {
    envoyExactly(config()
        .failureModeAllow(true).failureModeAllowHeaderAdd(true));
    authz.fail(Status.UNAVAILABLE);

    assertThat(send().status()).isEqualTo(200);
    assertThat(upstream.take().values("x-envoy-auth-failure-mode-allowed")).containsExactly("true");
  }

  @Test
  void failureModeAllowDoesNotApplyToDenials() throws Exception {
    envoyExactly(config().failureModeAllow(true));
    authz.respond(denied(DeniedHttpResponse.newBuilder()));

    assertThat(send().status()).isEqualTo(403);
    assertThat(upstream.receivedCount()).isZero();
  }
}
