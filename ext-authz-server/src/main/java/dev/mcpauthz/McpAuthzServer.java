package dev.mcpauthz;

import com.github.benmanes.caffeine.cache.Ticker;
import com.hazelcast.core.HazelcastInstance;
import dev.mcpauthz.authn.IssuerRuntime;
import dev.mcpauthz.authn.TokenVerifier;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.AuthorizationEngine;
import dev.mcpauthz.decision.ServerRouter;
import dev.mcpauthz.http.HttpListener;
import dev.mcpauthz.ingress.AuthorizationService;
import dev.mcpauthz.mcp.McpRequestParser;
import dev.mcpauthz.policy.PolicyEnvironment;
import dev.mcpauthz.policy.PolicyException;
import dev.mcpauthz.policy.PolicyStore;
import dev.mcpauthz.upstream.ProviderRegistry;
import dev.mcpauthz.vault.VaultService;
import dev.mcpauthz.telemetry.CheckMetrics;
import dev.mcpauthz.telemetry.DecisionLog;
import dev.mcpauthz.telemetry.PolicyMetrics;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running service: gRPC ext_authz + health on one port, the HTTP listener on another.
 *
 * <p>Threads: gRPC calls run on a small fixed pool (one per core by default) and never block;
 * network I/O to identity providers (JWKS, discovery, introspection) runs on virtual threads.
 */
public final class McpAuthzServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(McpAuthzServer.class);
  /** grpc.health.v1 service name Envoy health checks can ask for; "" covers the whole server. */
  public static final String HEALTH_SERVICE = "envoy.service.auth.v3.Authorization";

  private final AuthzConfig config;
  private final ExecutorService io;
  private final ScheduledExecutorService scheduler;
  private final ExecutorService checkExecutor;
  private final List<IssuerRuntime> issuers;
  private final PrometheusMeterRegistry registry;
  private final AuthorizationEngine engine;
  private final PolicyStore policies;
  private final UpstreamVault upstream;
  /** Consent prompts, pages and resume; null when no server has an upstream. */
  private final ConsentService consent;
  private final HealthStatusManager health = new HealthStatusManager();
  private final Server grpc;
  private final HttpListener http;
  private volatile boolean ready;

  private McpAuthzServer(AuthzConfig config, Clock clock, PrometheusMeterRegistry registry, UpstreamVault upstream) {
    this.config = config;
    this.upstream = upstream;
    this.io = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("mcp-authz-io-", 0).factory());
    this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("mcp-authz-scheduler"));
    this.checkExecutor = Executors.newFixedThreadPool(config.grpc().executorThreads(), daemon("mcp-authz-check"));
    this.registry = registry;
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);

    List<IssuerRuntime> runtimes = new ArrayList<>();
    for (AuthzConfig.Issuer i : config.issuers()) {
      runtimes.add(new IssuerRuntime(i, io, scheduler, clock, Ticker.systemTicker()));
    }
    this.issuers = List.copyOf(runtimes);
    this.consent = upstream == null ? null : new ConsentService(config, upstream, registry, clock, io, this::httpPort);
    ServerRouter router = new ServerRouter(config, issuers);
    PolicyMetrics policyMetrics = null;
    if (config.policy() != null) {
      try {
        this.policies = PolicyStore.open(config.policy().dir(), PolicyEnvironment.of(config));
      } catch (PolicyException e) {
        throw new dev.mcpauthz.config.ConfigException(e.file() + (e.line() > 0 ? ":" + e.line() : ""), e.key(), e.reason());
      }
      policyMetrics = new PolicyMetrics(registry);
      policyMetrics.reload(new PolicyStore.Reload(true, true, policies.current().version(), null));
      policies.addListener(policyMetrics::reload);
    } else {
      this.policies = null;
    }
    this.engine = new AuthorizationEngine(config, router, new TokenVerifier(issuers, clock, Ticker.systemTicker()),
        upstream == null ? null : upstream.credentials(), policies);
    var service = new AuthorizationService(engine, config, new CheckMetrics(registry),
        new DecisionLog(config.logging().decisions()), policyMetrics, consent == null ? null : consent.prompts());
    this.grpc = NettyServerBuilder.forAddress(new InetSocketAddress(config.grpc().bind(), config.grpc().port()))
        .executor(checkExecutor)
        .addService(service)
        .addService(health.getHealthService())
        .maxInboundMessageSize(config.limits().maxBodyBytes() + 256 * 1024)
        .build();
    this.http = new HttpListener(config.http(), router.all(), registry, () -> ready,
        consent == null ? null : consent.flow(), io, consent != null && consent.https());
  }

  public static McpAuthzServer start(AuthzConfig config) throws IOException {
    return start(config, Clock.systemUTC());
  }

  public static McpAuthzServer start(AuthzConfig config, Clock clock) throws IOException {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    UpstreamVault upstream = null;
    McpAuthzServer s;
    try {
      // Hazelcast, provider clients and the vault start only when a server has an upstream.
      upstream = UpstreamVault.needed(config) ? UpstreamVault.start(config, registry, clock) : null;
      s = new McpAuthzServer(config, clock, registry, upstream);
    } catch (IOException | RuntimeException e) {
      if (upstream != null) {
        upstream.close();
      }
      registry.close();
      throw e;
    }
    try {
      s.issuers.forEach(IssuerRuntime::start);
      if (s.policies != null && config.policy().watch()) {
        s.policies.watch(config.policy().debounce());
      }
      s.grpc.start();
      s.http.start();
    } catch (Exception e) {
      s.close();
      throw e instanceof IOException io ? io : new IOException("cannot start mcp-authz: " + e.getMessage(), e);
    }
    s.health.setStatus("", ServingStatus.SERVING);
    s.health.setStatus(HEALTH_SERVICE, ServingStatus.SERVING);
    s.ready = true;
    log.info("mcp-authz started grpc={}:{} http={}:{} servers={} issuers={}",
        config.grpc().bind(), s.grpcPort(), config.http().bind(), s.httpPort(),
        config.servers().size(), config.issuers().size());
    return s;
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  public int httpPort() {
    return http.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  public AuthorizationEngine engine() {
    return engine;
  }

  /** The token vault, or null when no server has an {@code upstream}. */
  public VaultService vault() {
    return upstream == null ? null : upstream.vault();
  }

  /** The upstream provider clients, or null when no server has an {@code upstream}. */
  public ProviderRegistry providers() {
    return upstream == null ? null : upstream.providers();
  }

  /** This replica's Hazelcast member, or null when no server has an {@code upstream}. */
  public HazelcastInstance hazelcast() {
    return upstream == null ? null : upstream.member().hazelcast();
  }

  /** The per-tool policy in force, or null when no {@code policy} section is configured. */
  public PolicyStore policies() {
    return policies;
  }

  /**
   * Graceful stop: report NOT_SERVING so Envoy's health checks move traffic away, stop accepting
   * calls, let in-flight Checks finish within {@code grpc.drain_timeout}, then cancel the rest.
   */
  @Override
  public void close() {
    ready = false;
    health.enterTerminalState();
    grpc.shutdown();
    try {
      if (!grpc.awaitTermination(config.grpc().drainTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("drain timeout reached; cancelling remaining checks");
        grpc.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      grpc.shutdownNow();
      Thread.currentThread().interrupt();
    }
    try {
      http.close();
    } catch (RuntimeException e) {
      log.warn("http listener stop failed: {}", e.toString());
    }
    if (policies != null) {
      policies.close();
    }
    issuers.forEach(IssuerRuntime::close);
    if (consent != null) {
      consent.close();
    }
    if (upstream != null) {
      upstream.close();
    }
    checkExecutor.shutdown();
    scheduler.shutdownNow();
    io.shutdownNow();
    registry.close();
    log.info("mcp-authz stopped");
  }

  private static ThreadFactory daemon(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
