package dev.mcpauthz.upstream;

import com.nimbusds.oauth2.sdk.GeneralException;
import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.oauth2.sdk.as.AuthorizationServerMetadata;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import dev.mcpauthz.config.AuthzConfig;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A provider's endpoints: the configured ones, completed by discovery when {@code discovery} is on.
 * RFC 8414 metadata first ({@code /.well-known/oauth-authorization-server} inserted before the
 * issuer's path, §3.1), then OpenID Connect discovery ({@code /.well-known/openid-configuration}
 * appended, OIDC Discovery §4). The document's {@code issuer} must equal the configured issuer
 * exactly (RFC 8414 §3.3); a mismatch is refused without trying the other document.
 *
 * <p>Resolved lazily, once at a time (concurrent callers share the fetch), cached on success; a
 * failure is not cached, so the next call tries again.
 */
final class ProviderDiscovery {
  /** Discovery failed; the message names the step, never a secret. */
  static final class DiscoveryException extends RuntimeException {
    DiscoveryException(String message) {
      super(message, null, false, false);
    }
  }

  private final AuthzConfig.Provider config;
  private final HttpClient http;
  private final AtomicReference<CompletableFuture<ProviderEndpoints>> resolved = new AtomicReference<>();

  ProviderDiscovery(AuthzConfig.Provider config, HttpClient http) {
    this.config = config;
    this.http = http;
    if (!config.discovery()) {
      resolved.set(CompletableFuture.completedFuture(
          new ProviderEndpoints(config.tokenEndpoint(), config.authorizationEndpoint(), config.revocationEndpoint())));
    }
  }

  CompletableFuture<ProviderEndpoints> endpoints() {
    while (true) {
      CompletableFuture<ProviderEndpoints> current = resolved.get();
      if (current != null) {
        return current;
      }
      CompletableFuture<ProviderEndpoints> mine = new CompletableFuture<>();
      if (resolved.compareAndSet(null, mine)) {
        fetch().whenComplete((endpoints, failure) -> {
          if (failure != null) {
            resolved.compareAndSet(mine, null); // not cached: the next call tries again
            mine.completeExceptionally(failure);
          } else {
            mine.complete(endpoints);
          }
        });
        return mine;
      }
    }
  }

  /** The endpoints if already known, without triggering discovery. */
  ProviderEndpoints known() {
    CompletableFuture<ProviderEndpoints> current = resolved.get();
    return current != null && current.isDone() && !current.isCompletedExceptionally() ? current.join() : null;
  }

  private CompletableFuture<ProviderEndpoints> fetch() {
    URI rfc8414;
    URI oidc;
    try {
      rfc8414 = rfc8414Url(URI.create(config.issuer()));
      oidc = OIDCProviderMetadata.resolveURL(new Issuer(config.issuer())).toURI();
    } catch (GeneralException | URISyntaxException | IllegalArgumentException e) {
      return CompletableFuture.failedFuture(new DiscoveryException("issuer is not a valid URL"));
    }
    return document(rfc8414).exceptionallyCompose(first -> {
      if (unwrap(first) instanceof IssuerMismatch mismatch) {
        return CompletableFuture.failedFuture(mismatch);
      }
      return document(oidc);
    });
  }

  /**
   * RFC 8414 §3.1: the well-known suffix goes between the host and the issuer's path
   * ({@code https://h/realms/x} → {@code https://h/.well-known/oauth-authorization-server/realms/x}).
   * Nimbus' {@code AuthorizationServerMetadata.resolveURL} appends it instead, so it is built here.
   */
  static URI rfc8414Url(URI issuer) throws URISyntaxException {
    String path = issuer.getRawPath() == null ? "" : issuer.getRawPath();
    if (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return new URI(issuer.getScheme() + "://" + issuer.getRawAuthority() + "/.well-known/oauth-authorization-server" + path);
  }

  private CompletableFuture<ProviderEndpoints> document(URI uri) {
    HttpRequest request = HttpRequest.newBuilder(uri).GET().timeout(config.timeout())
        .header("Accept", "application/json").build();
    return http.sendAsync(request, BoundedBody.handler(BoundedBody.MAX_BYTES)).thenApply(response -> {
      if (response.statusCode() != 200) {
        throw new DiscoveryException(uri + " answered " + response.statusCode());
      }
      AuthorizationServerMetadata metadata;
      try {
        // OIDC provider metadata is a superset of RFC 8414's, so one parser serves both documents.
        metadata = AuthorizationServerMetadata.parse(response.body());
      } catch (ParseException e) {
        throw new DiscoveryException(uri + " is not authorization server metadata");
      }
      if (metadata.getIssuer() == null || !metadata.getIssuer().getValue().equals(config.issuer())) {
        throw new IssuerMismatch(uri);
      }
      URI token = first(config.tokenEndpoint(), metadata.getTokenEndpointURI());
      if (token == null) {
        throw new DiscoveryException(uri + " names no token_endpoint");
      }
      return new ProviderEndpoints(token,
          first(config.authorizationEndpoint(), metadata.getAuthorizationEndpointURI()),
          first(config.revocationEndpoint(), metadata.getRevocationEndpointURI()),
          metadata.supportsAuthorizationResponseIssuerParam());
    });
  }

  /** RFC 8414 §3.3: the issuer in the document must be identical to the one configured. */
  static final class IssuerMismatch extends RuntimeException {
    IssuerMismatch(URI uri) {
      super(uri + ": issuer does not match the configured issuer", null, false, false);
    }
  }

  private static URI first(URI configured, URI discovered) {
    return configured != null ? configured : discovered;
  }

  static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
