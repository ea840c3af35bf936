package dev.mcpauthz.ingress;

import com.google.protobuf.Struct;
import com.google.rpc.Code;
import com.google.rpc.Status;
import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.Decision;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.service.auth.v3.OkHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;

/** Renders a {@link Decision} as Envoy's {@code CheckResponse}. */
final class CheckResponses {
  private static final Status OK = Status.newBuilder().setCode(Code.OK_VALUE).build();
  private static final Status UNAUTHENTICATED = Status.newBuilder().setCode(Code.UNAUTHENTICATED_VALUE).build();
  private static final Status PERMISSION_DENIED = Status.newBuilder().setCode(Code.PERMISSION_DENIED_VALUE).build();
  private static final Status UNAVAILABLE = Status.newBuilder().setCode(Code.UNAVAILABLE_VALUE).build();

  private final AuthzConfig.IdentityHeaders names;

  CheckResponses(AuthzConfig.IdentityHeaders names) {
    this.names = names;
  }

  CheckResponse render(Decision d, String decisionId, Struct metadata) {
    return render(d, null, decisionId, metadata);
  }

  /** @param prompt the consent prompt of an ELICIT, or null (then it is rendered like a deny) */
  CheckResponse render(Decision d, ConsentPrompts.Prompt prompt, String decisionId, Struct metadata) {
    return switch (d.outcome()) {
      case ALLOW -> allow(d.principal(), d.upstreamAuthorization(), decisionId, metadata);
      case PASS_THROUGH -> CheckResponse.newBuilder().setStatus(OK).setOkResponse(OkHttpResponse.getDefaultInstance())
          .setDynamicMetadata(metadata).build();
      case ELICIT -> prompt == null ? deny(d, decisionId, metadata) : elicit(d, prompt, decisionId, metadata);
      case DENY -> deny(d, decisionId, metadata);
    };
  }

  /**
   * A consent prompt is Envoy's "denied" response with the status the MCP client must see: 200 for
   * an InputRequiredResult, a -32042 error or a tool result (Envoy's ext_authz filter sends
   * {@code denied_response} as a local reply with its status and body, whatever the status), 403 for
   * the gateway's error. The gRPC status stays PERMISSION_DENIED: the call never reaches upstream.
   */
  private CheckResponse elicit(Decision d, ConsentPrompts.Prompt prompt, String decisionId, Struct metadata) {
    ElicitationResponses.Rendered r = ElicitationResponses.render(prompt.mode(), d, prompt.elicitation(), prompt.url(),
        prompt.message(), decisionId);
    DeniedHttpResponse.Builder denied = DeniedHttpResponse.newBuilder()
        .setStatus(HttpStatus.newBuilder().setCodeValue(r.httpStatus()))
        .addHeaders(overwrite("content-type", "application/json"))
        .addHeaders(overwrite("cache-control", "no-store"))
        .addHeaders(overwrite(names.decisionId(), decisionId))
        .setBody(r.body());
    return CheckResponse.newBuilder().setStatus(PERMISSION_DENIED).setDeniedResponse(denied)
        .setDynamicMetadata(metadata).build();
  }

  private CheckResponse allow(Principal p, String upstreamAuthorization, String decisionId, Struct metadata) {
    OkHttpResponse.Builder ok = OkHttpResponse.newBuilder();
    if (upstreamAuthorization == null) {
      // MCP authorization: the client's token is for the gateway only, never passed through.
      ok.addHeadersToRemove("authorization");
    } else {
      // Refresh-and-inject: the client's token is overwritten by the user's token for this
      // server's upstream (not removed: Envoy applies removals after sets).
      ok.addHeaders(overwrite("authorization", upstreamAuthorization));
    }
    identity(ok, names.subject(), p.subject());
    identity(ok, names.issuer(), p.issuer());
    identity(ok, names.clientId(), p.clientId());
    identity(ok, names.scope(), p.scopes().isEmpty() ? null : p.scopeString());
    ok.addHeaders(overwrite(names.decisionId(), decisionId));
    return CheckResponse.newBuilder().setStatus(OK).setOkResponse(ok).setDynamicMetadata(metadata).build();
  }

  /** Sets an identity header, or removes a client-sent copy when there is no verified value. */
  private static void identity(OkHttpResponse.Builder ok, String name, String value) {
    if (value == null || value.isEmpty()) {
      ok.addHeadersToRemove(name);
    } else {
      ok.addHeaders(overwrite(name, value));
    }
  }

  private CheckResponse deny(Decision d, String decisionId, Struct metadata) {
    DeniedHttpResponse.Builder denied = DeniedHttpResponse.newBuilder()
        .setStatus(HttpStatus.newBuilder().setCodeValue(d.httpStatus()))
        .addHeaders(overwrite("content-type", "application/json"))
        .addHeaders(overwrite("cache-control", "no-store"))
        .addHeaders(overwrite(names.decisionId(), decisionId))
        .setBody(DeniedBodies.render(d.request(), d.rpcCode(), d.message(), decisionId).toStringUtf8());
    if (d.challenge() != null) {
      denied.addHeaders(overwrite("www-authenticate", d.challenge()));
    }
    if (d.retryAfterSeconds() > 0) {
      denied.addHeaders(overwrite("retry-after", Integer.toString(d.retryAfterSeconds())));
    }
    Status status = switch (d.httpStatus()) {
      case 401 -> UNAUTHENTICATED;
      case 503 -> UNAVAILABLE;
      default -> PERMISSION_DENIED;
    };
    return CheckResponse.newBuilder().setStatus(status).setDeniedResponse(denied).setDynamicMetadata(metadata).build();
  }

  static HeaderValueOption overwrite(String key, String value) {
    return HeaderValueOption.newBuilder()
        .setHeader(HeaderValue.newBuilder().setKey(key).setValue(value))
        .setAppendAction(HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD)
        .build();
  }
}
