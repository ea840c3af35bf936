package dev.mcpauthz.authn;

import com.github.benmanes.caffeine.cache.Ticker;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import dev.mcpauthz.config.AuthzConfig;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;

/** One configured inbound issuer with its key cache, JWT verifier and optional introspector. */
public final class IssuerRuntime implements AutoCloseable {
  private static final int MAX_JWKS_BYTES = 512 * 1024;

  private final AuthzConfig.Issuer config;
  private final AtomicReference<IssuerMetadata.Endpoints> discovered = new AtomicReference<>();
  private final List<String> extraAudiences;
  private final JwksCache jwks;
  private final JwtVerifier jwt;
  private final Introspector introspector;

  public IssuerRuntime(
      AuthzConfig.Issuer config, Executor io, ScheduledExecutorService scheduler, Clock clock, Ticker ticker) {
    this.config = config;
    this.extraAudiences = config.audiences().stream().map(ResourceUri::normalize).toList();
    Callable<JWKSet> loader = keyLoader();
    if (loader != null) {
      this.jwks = new JwksCache(config.id(), loader, config.jwksRefreshInterval(), config.jwksMinRefetchInterval(),
          io, scheduler, System::nanoTime);
      this.jwt = new JwtVerifier(config.id(), config.issuer(), config.algorithms(), config.clockSkew(), jwks);
    } else {
      this.jwks = null;
      this.jwt = null;
    }
    this.introspector = config.introspection() == null ? null
        : new Introspector(config.id(), config.issuer(), this::introspectionEndpoint, config.introspection(),
            config.httpTimeout(), io, clock, ticker);
  }

  /** Starts the first key fetch in the background; verification works as soon as it lands. */
  public void start() {
    if (jwks != null) {
      jwks.start();
    }
  }

  private Callable<JWKSet> keyLoader() {
    if (config.jwksFile() != null) {
      return () -> JWKSet.load(config.jwksFile().toFile()).toPublicJWKSet();
    }
    if (config.jwksUri() == null && !config.discovery()) {
      return null;
    }
    int timeout = (int) config.httpTimeout().toMillis();
    var retriever = new DefaultResourceRetriever(timeout, timeout, MAX_JWKS_BYTES);
    return () -> {
      URI uri = config.jwksUri();
      if (uri == null) {
        IssuerMetadata.Endpoints ep = discovered.get();
        if (ep == null) {
          ep = IssuerMetadata.discover(config.issuer(), config.httpTimeout());
          discovered.set(ep);
        }
        uri = ep.jwksUri();
      }
      return JWKSet.parse(retriever.retrieveResource(uri.toURL()).getContent()).toPublicJWKSet();
    };
  }

  private URI introspectionEndpoint() {
    if (config.introspection().endpoint() != null) {
      return config.introspection().endpoint();
    }
    IssuerMetadata.Endpoints ep = discovered.get();
    return ep == null ? null : ep.introspectionEndpoint();
  }

  public String id() {
    return config.id();
  }

  public String issuer() {
    return config.issuer();
  }

  public AuthzConfig.Issuer config() {
    return config;
  }

  /** Audiences accepted besides the server's resource URI (normalised). */
  public List<String> extraAudiences() {
    return extraAudiences;
  }

  /** Null when this issuer is introspection-only. */
  public JwtVerifier jwt() {
    return jwt;
  }

  /** Null when this issuer has no introspection endpoint. */
  public Introspector introspector() {
    return introspector;
  }

  @Override
  public void close() {
    if (jwks != null) {
      jwks.close();
    }
  }
}
