package dev.mcpauthz.testing;

import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Asynchronous Checks as futures, for tests that keep many calls in flight. */
public final class CheckCalls {
  private CheckCalls() {}

  public static CompletableFuture<CheckResponse> send(AuthorizationGrpc.AuthorizationStub stub, CheckRequest request,
      long deadlineSeconds) {
    CompletableFuture<CheckResponse> f = new CompletableFuture<>();
    stub.withDeadlineAfter(deadlineSeconds, TimeUnit.SECONDS).check(request, new StreamObserver<>() {
      @Override
      public void onNext(CheckResponse value) {
        f.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        f.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    return f;
  }
}
