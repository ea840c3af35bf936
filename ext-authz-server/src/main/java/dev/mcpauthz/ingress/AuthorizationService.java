package dev.mcpauthz.ingress;

import com.google.protobuf.Struct;
import com.google.rpc.Code;
import com.google.rpc.Status;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.AuthorizationEngine;
import dev.mcpauthz.decision.Decision;
import dev.mcpauthz.proto.v1.DecisionRecord;
import dev.mcpauthz.telemetry.CheckMetrics;
import dev.mcpauthz.telemetry.DecisionLog;
import dev.mcpauthz.telemetry.PolicyAudit;
import dev.mcpauthz.telemetry.PolicyMetrics;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.envoyproxy.envoy.service.auth.v3.DeniedHttpResponse;
import io.envoyproxy.envoy.type.v3.HttpStatus;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code envoy.service.auth.v3.Authorization/Check}. Never blocks the calling thread: the engine
 * answers synchronously from memory or completes later from the I/O executor. Any internal error
 * is answered with a deny (fail closed), never with a gRPC error that Envoy's
 * {@code failure_mode_allow} could turn into an allow.
 */
public final class AuthorizationService extends AuthorizationGrpc.AuthorizationImplBase {
  private static final Logger log = LoggerFactory.getLogger(AuthorizationService.class);

  private final AuthorizationEngine engine;
  private final CheckResponses responses;
  private final CheckMetrics metrics;
  private final DecisionLog decisionLog;
  private final String decisionIdHeader;
  private final PolicyMetrics policyMetrics;
  private final PolicyAudit policyAudit;
  /** Consent prompts, or null when no server has an upstream (nothing can elicit then). */
  private final ConsentPrompts prompts;

  public AuthorizationService(AuthorizationEngine engine, AuthzConfig config, CheckMetrics metrics, DecisionLog decisionLog) {
    this(engine, config, metrics, decisionLog, null);
  }

  /** @param policyMetrics per-tool policy meters, or null when no policy is configured */
  public AuthorizationService(AuthorizationEngine engine, AuthzConfig config, CheckMetrics metrics, DecisionLog decisionLog,
      PolicyMetrics policyMetrics) {
    this(engine, config, metrics, decisionLog, policyMetrics, null);
  }

  /** @param prompts consent prompts, or null when no server has an upstream */
  public AuthorizationService(AuthorizationEngine engine, AuthzConfig config, CheckMetrics metrics, DecisionLog decisionLog,
      PolicyMetrics policyMetrics, ConsentPrompts prompts) {
    this.prompts = prompts;
    this.policyMetrics = policyMetrics;
    this.policyAudit = new PolicyAudit();
    this.engine = engine;
    this.responses = new CheckResponses(config.identityHeaders());
    this.metrics = metrics;
    this.decisionLog = decisionLog;
    this.decisionIdHeader = config.identityHeaders().decisionId();
  }

  @Override
  public void check(CheckRequest request, StreamObserver<CheckResponse> observer) {
    long start = System.nanoTime();
    String decisionId = DecisionIds.next();
    try {
      EnvoyCheckContext ctx = new EnvoyCheckContext(request);
      engine.decide(ctx, decisionId)
          .thenCompose(decision -> withPrompt(decision, ctx, decisionId))
          .whenComplete((answer, error) -> respond(answer == null ? null : answer.decision(),
              answer == null ? null : answer.prompt(), error, decisionId, start, observer));
    } catch (RuntimeException e) {
      respond(null, null, e, decisionId, start, observer);
    }
  }

  private record Answer(Decision decision, ConsentPrompts.Prompt prompt) {}

  /**
   * An ELICIT completes after its elicitation is stored (off the gRPC thread). If the store cannot be
   * reached the prompt degrades to the plain consent denial: still no call upstream (fail closed).
   */
  private CompletableFuture<Answer> withPrompt(Decision d, EnvoyCheckContext ctx, String decisionId) {
    if (prompts == null) {
      return CompletableFuture.completedFuture(new Answer(d, null));
    }
    if (d.outcome() != Decision.Outcome.ELICIT) {
      CompletableFuture<Void> remembered;
      try {
        remembered = prompts.observe(d, ctx);
      } catch (RuntimeException e) {
        remembered = CompletableFuture.failedFuture(e);
      }
      if (remembered.isDone() && !remembered.isCompletedExceptionally()) {
        return CompletableFuture.completedFuture(new Answer(d, null)); // the common case: no hop
      }
      // Losing the memory only downgrades later prompts to a link in the message: never fail the call.
      return remembered.handle((v, error) -> {
        if (error != null) {
          log.warn("client capabilities not stored decision_id={} error={}", decisionId, error.toString());
        }
        return new Answer(d, null);
      });
    }
    CompletableFuture<ConsentPrompts.Prompt> prompt;
    try {
      prompt = prompts.prepare(d, ctx, decisionId);
    } catch (RuntimeException e) {
      prompt = CompletableFuture.failedFuture(e);
    }
    return prompt.handle((p, error) -> {
      if (error != null) {
        log.warn("consent prompt not stored decision_id={} error={}", decisionId, error.toString());
      }
      return new Answer(d, p);
    });
  }

  private void respond(Decision decision, ConsentPrompts.Prompt prompt, Throwable error, String decisionId, long start,
      StreamObserver<CheckResponse> observer) {
    CheckResponse response;
    DecisionRecord record;
    if (error == null) {
      record = DecisionRecords.of(decision, decisionId);
      if (prompt != null) {
        record = record.toBuilder().setElicitationId(prompt.elicitation().id()).build();
      }
      Struct metadata = DecisionRecords.toStruct(record);
      try {
        response = responses.render(decision, prompt, decisionId, metadata);
      } catch (RuntimeException e) {
        error = e;
        response = null;
      }
    } else {
      record = null;
      response = null;
    }
    if (error != null) {
      log.error("check failed decision_id={} error={}", decisionId, error.toString(), error);
      record = DecisionRecord.newBuilder().setDecisionId(decisionId).setOutcome("deny").setReason("internal_error")
          .setHttpStatus(500).build();
      response = internalError(decisionId, DecisionRecords.toStruct(record));
    }
    long nanos = System.nanoTime() - start;
    metrics.record(record.getOutcome(), record.getReason(), record.getServer(), nanos);
    decisionLog.write(record, nanos);
    if (decision != null && decision.policy() != null && error == null) {
      if (policyMetrics != null) {
        policyMetrics.record(decision.policy());
      }
      if (record.getReason().equals("policy_denied")) {
        policyAudit.denied(record);
      }
    }
    try {
      observer.onNext(response);
      observer.onCompleted();
    } catch (RuntimeException e) {
      // The call was cancelled by Envoy (timeout): nothing left to answer.
      log.debug("check response not delivered decision_id={} error={}", decisionId, e.toString());
    }
  }

  private CheckResponse internalError(String decisionId, Struct metadata) {
    String body = "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,\"message\":\"Internal error in the authorization gateway\",\"data\":{\"decision_id\":\"" + decisionId + "\"}}}";
    return CheckResponse.newBuilder()
        .setStatus(Status.newBuilder().setCode(Code.PERMISSION_DENIED_VALUE))
        .setDeniedResponse(DeniedHttpResponse.newBuilder()
            .setStatus(HttpStatus.newBuilder().setCodeValue(500))
            .addHeaders(CheckResponses.overwrite("content-type", "application/json"))
            .addHeaders(CheckResponses.overwrite(decisionIdHeader, decisionId))
            .setBody(body))
        .setDynamicMetadata(metadata)
        .build();
  }
}
