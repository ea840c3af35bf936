package dev.mcpauthz.upstream;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.telemetry.ProviderMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One {@link ProviderClient} per configured provider, sharing one HTTP client (HTTP/1.1, no
 * redirects: a token endpoint that redirects is misconfigured), one retry scheduler and the
 * meters. {@link #refresher()} dispatches a refresh by {@link RefreshRequest#providerId()}.
 */
public final class ProviderRegistry implements AutoCloseable {
  private final Map<String, ProviderClient> clients;
  private final Runnable onClose;

  private ProviderRegistry(Map<String, ProviderClient> clients, Runnable onClose) {
    this.clients = clients;
    this.onClose = onClose;
  }

  /**
   * Creates the clients; reads every client secret and private key file now.
   *
   * @throws IllegalArgumentException when a secret or key file cannot be read or parsed
   */
  public static ProviderRegistry start(AuthzConfig config, MeterRegistry meters, Clock clock) {
    ExecutorService io = Executors.newVirtualThreadPerTaskExecutor();
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "mcp-authz-provider-retry");
      t.setDaemon(true);
      return t;
    });
    Duration connectTimeout = config.providers().stream().map(AuthzConfig.Provider::timeout)
        .max(Duration::compareTo).orElse(Duration.ofSeconds(5));
    HttpClient http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(connectTimeout)
        .executor(io)
        .build();
    ScheduledDelayer delayer = Delayer.on(scheduler, io);
    ProviderContext ctx = new ProviderContext(http, delayer, clock,
        () -> ThreadLocalRandom.current().nextDouble(), new ProviderMetrics(meters));
    Runnable shutdown = () -> {
      delayer.close(); // callers waiting for a retry get Failed("shutdown")
      http.shutdownNow(); // calls in flight fail at once
      io.shutdown();
    };
    try {
      return start(config.providers(), ctx, shutdown);
    } catch (RuntimeException e) {
      shutdown.run();
      throw e;
    }
  }

  /** Clients on a context the caller owns (tests); {@code onClose} releases it. */
  public static ProviderRegistry start(List<AuthzConfig.Provider> providers, ProviderContext ctx, Runnable onClose) {
    Map<String, ProviderClient> clients = new LinkedHashMap<>();
    for (AuthzConfig.Provider p : providers) {
      clients.put(p.id(), new ProviderClient(p, ctx));
    }
    return new ProviderRegistry(Map.copyOf(clients), onClose);
  }

  /** The client of a configured provider, or null. */
  public ProviderClient client(String id) {
    return clients.get(id);
  }

  public Map<String, ProviderClient> clients() {
    return clients;
  }

  /** Dispatches by provider id; an unknown id is an operator error, never a consent prompt. */
  public TokenRefresher refresher() {
    return request -> {
      ProviderClient client = request.providerId() == null ? null : clients.get(request.providerId());
      if (client == null) {
        return CompletableFuture.completedFuture(
            new RefreshOutcome.Failed(ErrorProfile.CLIENT_MISCONFIGURED, ErrorProfile.MISCONFIGURED_RETRY_AFTER, 0));
      }
      return client.refresh(request);
    };
  }

  @Override
  public void close() {
    onClose.run();
  }
}
