package dev.mcpauthz.upstream;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * A response body read as UTF-8 text up to a size limit: a token response or metadata document is
 * a few kilobytes, so a larger body is refused (and the connection dropped) instead of buffered.
 */
final class BoundedBody implements HttpResponse.BodySubscriber<String> {
  /** Token responses and metadata documents are far smaller; Entra's largest are a few KiB. */
  static final int MAX_BYTES = 256 * 1024;

  /** The body exceeded the limit. Not worth retrying: the endpoint is not a token endpoint. */
  static final class TooLarge extends IOException {
    TooLarge(int max) {
      super("response body larger than " + max + " bytes");
    }
  }

  private final int max;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
  private final CompletableFuture<String> body = new CompletableFuture<>();
  private Flow.Subscription subscription;

  BoundedBody(int max) {
    this.max = max;
  }

  static HttpResponse.BodyHandler<String> handler(int max) {
    return info -> new BoundedBody(max);
  }

  @Override
  public CompletionStage<String> getBody() {
    return body;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    s.request(Long.MAX_VALUE);
  }

  @Override
  public void onNext(List<ByteBuffer> items) {
    if (body.isDone()) {
      return;
    }
    for (ByteBuffer b : items) {
      if (buffer.size() + b.remaining() > max) {
        subscription.cancel();
        body.completeExceptionally(new TooLarge(max));
        return;
      }
      byte[] chunk = new byte[b.remaining()];
      b.get(chunk);
      buffer.writeBytes(chunk);
    }
  }

  @Override
  public void onError(Throwable t) {
    body.completeExceptionally(t);
  }

  @Override
  public void onComplete() {
    body.complete(buffer.toString(StandardCharsets.UTF_8));
  }
}
