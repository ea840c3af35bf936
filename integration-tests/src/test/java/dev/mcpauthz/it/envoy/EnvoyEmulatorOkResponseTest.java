package dev.mcpauthz.it.envoy;

import static dev.mcpauthz.it.envoy.ScriptedAuthzServer.header;
import static io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.ADD_IF_ABSENT;
import static io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD;
import static io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS;
import static io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.mcpauthz.it.envoy.ExtAuthzFilterConfig.OkHeadersMode;
import io.envoyproxy.envoy.config.core.v3.QueryParameter;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import org.junit.jupiter.api.Test;

/** OK CheckResponses: request header mutations, removals, query parameters, response headers, metadata. */
class EnvoyEmulatorOkResponseTest extends EmulatorTestBase {

  private static final String EXISTING = "GET /mcp HTTP/1.1\r\nHost: h\r\nUser-Agent: client/1\r\n"
      + "X-Existing: old\r\nX-Untouched: u\r\nAuthorization: Bearer opaque\r\nConnection: close";

  @Test
  void legacyModeHonoursOnlyTheDeprecatedAppendField() throws Exception {
    envoy(ExtAuthzFilterConfig.builder()); // LEGACY_APPEND_FIELD is the default
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
        .addHeaders(header("x-existing", "unset-append").build())            // unset -> overwrite
        .addHeaders(header("x-new", "added", false))                          // false -> set
        .addHeaders(header("x-untouched", "more", true))                      // true + present -> "u,more"
        .addHeaders(header("x-absent", "never", true))                        // true + absent -> nothing
        .addHeaders(header("user-agent", "ignored-action", ADD_IF_ABSENT))    // append_action ignored -> set
        .addHeaders(header("Authorization", "Bearer upstream-token").build()))); // key lower-cased, overwrites

    assertThat(RawHttp.exchange(envoy.baseUri(), EXISTING).status()).isEqualTo(200);

    RecordingUpstream.Received up = upstream.take();
    assertThat(up.values("x-existing")).containsExactly("unset-append");
    assertThat(up.values("x-new")).containsExactly("added");
    assertThat(up.values("x-untouched")).containsExactly("u,more");
    assertThat(up.values("x-absent")).isEmpty();
    assertThat(up.values("user-agent")).containsExactly("ignored-action");
    assertThat(up.values("authorization")).containsExactly("Bearer upstream-token");
  }

  @Test
  void appendActionModeAppliesEveryAction() throws Exception {
    envoy(ExtAuthzFilterConfig.builder().okHeadersMode(OkHeadersMode.APPEND_ACTION));
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
        .addHeaders(header("x-existing", "second", APPEND_IF_EXISTS_OR_ADD))   // separate entry
        .addHeaders(header("user-agent", "proxy/2", APPEND_IF_EXISTS_OR_ADD))  // inline: comma-joined
        .addHeaders(header("x-append-new", "a", APPEND_IF_EXISTS_OR_ADD))      // absent: added
        .addHeaders(header("x-untouched", "no", ADD_IF_ABSENT))                // present: unchanged
        .addHeaders(header("x-add-if-absent", "yes", ADD_IF_ABSENT))           // absent: added
        .addHeaders(header("authorization", "Bearer t", OVERWRITE_IF_EXISTS_OR_ADD))
        .addHeaders(header("x-overwrite-new", "o", OVERWRITE_IF_EXISTS_OR_ADD))
        .addHeaders(header("x-missing", "not-added", OVERWRITE_IF_EXISTS))     // absent: nothing
        .addHeaders(header("x-forwarded-proto", "https", OVERWRITE_IF_EXISTS)) // present: replaced
        .addHeaders(header("x-deprecated", "d", true))));                      // append=true, absent: added

    assertThat(RawHttp.exchange(envoy.baseUri(), EXISTING).status()).isEqualTo(200);

    RecordingUpstream.Received up = upstream.take();
    assertThat(up.values("x-existing")).containsExactly("old", "second");
    assertThat(up.values("user-agent")).containsExactly("client/1,proxy/2");
    assertThat(up.values("x-append-new")).containsExactly("a");
    assertThat(up.values("x-untouched")).containsExactly("u");
    assertThat(up.values("x-add-if-absent")).containsExactly("yes");
    assertThat(up.values("authorization")).containsExactly("Bearer t");
    assertThat(up.values("x-overwrite-new")).containsExactly("o");
    assertThat(up.values("x-missing")).isEmpty();
    assertThat(up.values("x-forwarded-proto")).containsExactly("https");
    assertThat(up.values("x-deprecated")).containsExactly("d");
  }

  @Test
  void appendActionModeDuplicatesAHeaderWhenTheActionIsLeftUnset() throws Exception {
    // envoyproxy/envoy#43310: the proto default APPEND_IF_EXISTS_OR_ADD adds a second value.
    envoy(ExtAuthzFilterConfig.builder().okHeadersMode(OkHeadersMode.APPEND_ACTION));
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
        .addHeaders(header("x-existing", "new").build())));

    RawHttp.exchange(envoy.baseUri(), EXISTING);

    assertThat(upstream.take().values("x-existing")).containsExactly("old", "new");
  }

  @Test
  void headersToRemoveNeverTouchesPseudoHeadersOrHost() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
        .addHeadersToRemove("Authorization")
        .addHeadersToRemove("x-untouched")
        .addHeadersToRemove("host")
        .addHeadersToRemove(":authority")
        .addHeadersToRemove(":path")
        .addHeadersToRemove(":method")));

    assertThat(RawHttp.exchange(envoy.baseUri(), EXISTING).status()).isEqualTo(200);

    RecordingUpstream.Received up = upstream.take();
    assertThat(up.values("authorization")).isEmpty();
    assertThat(up.values("x-untouched")).isEmpty();
    assertThat(up.header("host")).isEqualTo("h");
    assertThat(up.pathQuery()).isEqualTo("/mcp");
    assertThat(up.method()).isEqualTo("GET");
  }

  @Test
  void headersAreSetBeforeRemovalsAndHostCanBeRewritten() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
        .addHeaders(header("x-temp", "t").build())
        .addHeaders(header("host", "rewritten.example").build())
        .addHeadersToRemove("x-temp")));

    RawHttp.exchange(envoy.baseUri(), EXISTING);

    RecordingUpstream.Received up = upstream.take();
    assertThat(up.values("x-temp")).isEmpty();
    assertThat(up.values("host")).containsExactly("rewritten.example");
  }

  @Test
  void queryParametersAreSetAndRemovedAndTheQueryIsReSerialisedSorted() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
        .addQueryParametersToSet(QueryParameter.newBuilder().setKey("a").setValue("9"))
        .addQueryParametersToSet(QueryParameter.newBuilder().setKey("new").setValue("n"))
        .addQueryParametersToRemove("c")));

    RawHttp.exchange(envoy.baseUri(), "GET /mcp?c=3&b=2&a=1&b=x HTTP/1.1\r\nHost: h\r\nConnection: close");

    assertThat(upstream.take().pathQuery()).isEqualTo("/mcp?a=9&b=2&b=x&new=n");
    // the CheckRequest saw the original path
    assertThat(authz.takeRequest().getAttributes().getRequest().getHttp().getPath()).isEqualTo("/mcp?c=3&b=2&a=1&b=x");
  }

  @Test
  void removingTheLastQueryParameterDropsTheQuestionMark() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder().addQueryParametersToRemove("token")));

    RawHttp.exchange(envoy.baseUri(), "GET /mcp?token=secret HTTP/1.1\r\nHost: h\r\nConnection: close");

    assertThat(upstream.take().pathQuery()).isEqualTo("/mcp");
  }

  @Test
  void responseHeadersToAddAreAppliedToTheUpstreamResponse() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    upstream.respond((r, x) -> x.status(201).header("content-type", "application/json")
        .header("x-up", "1").header("x-keep", "k").header("x-replace", "r").header("mcp-session-id", "s1")
        .end("{}"));
    authz.respond(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
        .addResponseHeadersToAdd(header("x-up", "2", APPEND_IF_EXISTS_OR_ADD))
        .addResponseHeadersToAdd(header("x-keep", "ignored", ADD_IF_ABSENT))
        .addResponseHeadersToAdd(header("x-added", "a", ADD_IF_ABSENT))
        .addResponseHeadersToAdd(header("x-replace", "R", OVERWRITE_IF_EXISTS))
        .addResponseHeadersToAdd(header("x-not-there", "n", OVERWRITE_IF_EXISTS))
        .addResponseHeadersToAdd(header("x-set", "s", OVERWRITE_IF_EXISTS_OR_ADD))
        .addResponseHeadersToAdd(header("set-cookie", "a=1", true))
        .addResponseHeadersToAdd(header("set-cookie", "b=2", true))
        .addResponseHeadersToAdd(header("x-up", "3", false))));  // append=false: set (applied after adds)

    RawHttp.Result res = RawHttp.exchange(envoy.baseUri(), EXISTING);

    assertThat(res.status()).isEqualTo(201);
    assertThat(res.bodyText()).isEqualTo("{}");
    assertThat(res.values("x-up")).containsExactly("3");
    assertThat(res.values("x-keep")).containsExactly("k");
    assertThat(res.values("x-added")).containsExactly("a");
    assertThat(res.values("x-replace")).containsExactly("R");
    assertThat(res.values("x-not-there")).isEmpty();
    assertThat(res.values("x-set")).containsExactly("s");
    assertThat(res.values("set-cookie")).containsExactly("a=1", "b=2");
    assertThat(res.header("mcp-session-id")).isEqualTo("s1");
    assertThat(res.header("content-type")).isEqualTo("application/json");
  }

  @Test
  void upstreamResponseGetsEnvoysResponseHeaders() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    upstream.respond((r, x) -> x.status(401).header("www-authenticate", "Bearer resource_metadata=\"x\"")
        .header("server", "jetty-upstream").header("keep-alive", "timeout=5").end("nope"));

    RawHttp.Result res = RawHttp.exchange(envoy.baseUri(), EXISTING);

    assertThat(res.status()).isEqualTo(401);
    assertThat(res.bodyText()).isEqualTo("nope");
    assertThat(res.header("www-authenticate")).isEqualTo("Bearer resource_metadata=\"x\"");
    assertThat(res.values("server")).containsExactly("envoy");
    assertThat(res.header("date")).matches("[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} GMT");
    assertThat(res.header("x-envoy-upstream-service-time")).matches("\\d+");
    assertThat(res.values("keep-alive")).isEmpty();
  }

  @Test
  void dynamicMetadataIsStoredWithTheCallDuration() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    Struct md = Struct.newBuilder().putFields("sub", Value.newBuilder().setStringValue("alice").build()).build();
    authz.respond(CheckResponse.newBuilder().mergeFrom(ScriptedAuthzServer.ok()).setDynamicMetadata(md).build());

    RawHttp.exchange(envoy.baseUri(), EXISTING);
    authz.respond(ScriptedAuthzServer.ok());
    RawHttp.exchange(envoy.baseUri(), EXISTING);

    assertThat(envoy.dynamicMetadata()).hasSize(2);
    Struct first = envoy.dynamicMetadata().get(0);
    assertThat(first.getFieldsOrThrow("sub").getStringValue()).isEqualTo("alice");
    assertThat(first.getFieldsOrThrow("ext_authz_duration").getNumberValue()).isGreaterThanOrEqualTo(0);
    assertThat(envoy.dynamicMetadata().get(1).getFieldsCount()).isZero();
    assertThat(envoy.checks().get(0).decision()).isEqualTo(CheckRecord.Decision.ALLOWED);
  }

  @Test
  @SuppressWarnings("deprecation") // OkHttpResponse.dynamic_metadata is deprecated, and emulated
  void deprecatedOkResponseDynamicMetadataOverridesAndIngestionCanBeDisabled() throws Exception {
    envoy(ExtAuthzFilterConfig.builder());
    authz.respond(CheckResponse.newBuilder().mergeFrom(ScriptedAuthzServer.ok(OkHttpResponse.newBuilder()
            .setDynamicMetadata(Struct.newBuilder().putFields("from", Value.newBuilder().setStringValue("ok_response").build()))))
        .setDynamicMetadata(Struct.newBuilder().putFields("from", Value.newBuilder().setStringValue("outer").build()))
        .build());

    RawHttp.exchange(envoy.baseUri(), EXISTING);
    assertThat(envoy.lastCheck().orElseThrow().dynamicMetadata().getFieldsOrThrow("from").getStringValue())
        .isEqualTo("ok_response");

    envoy.close();
    envoy(ExtAuthzFilterConfig.builder().enableDynamicMetadataIngestion(false));
    RawHttp.exchange(envoy.baseUri(), EXISTING);
    assertThat(envoy.lastCheck().orElseThrow().dynamicMetadata().getFieldsCount()).isZero();
  }
}
