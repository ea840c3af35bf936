package dev.mcpauthz.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The whole service configuration, bound from one YAML file plus {@code MCP_AUTHZ_*} environment
 * overrides by {@link ConfigLoader}. Absent values take the defaults documented in README.md.
 */
public record AuthzConfig(
    Grpc grpc,
    Http http,
    Limits limits,
    Routing routing,
    @JsonProperty("identity_headers") IdentityHeaders identityHeaders,
    Logging logging,
    Cluster cluster,
    Vault vault,
    List<Issuer> issuers,
    List<Provider> providers,
    List<Server> servers,
    Policy policy,
    Consent consent) {

  public AuthzConfig {
    grpc = Objects.requireNonNullElseGet(grpc, () -> new Grpc(null, null, null, null));
    http = Objects.requireNonNullElseGet(http, () -> new Http(null, null, null));
    limits = Objects.requireNonNullElseGet(limits, () -> new Limits(null, null, null));
    routing = Objects.requireNonNullElseGet(routing, () -> new Routing(null, null));
    identityHeaders =
        Objects.requireNonNullElseGet(
            identityHeaders, () -> new IdentityHeaders(null, null, null, null, null));
    logging = Objects.requireNonNullElseGet(logging, () -> new Logging(null));
    cluster = Objects.requireNonNullElseGet(cluster, () -> new Cluster(null, null, null, null, null, null));
    vault = Objects.requireNonNullElseGet(vault, () -> new Vault(null, null, null, null, null, null, null, null));
    issuers = issuers == null ? List.of() : List.copyOf(issuers);
    providers = providers == null ? List.of() : List.copyOf(providers);
    servers = servers == null ? List.of() : List.copyOf(servers);
    consent = Objects.requireNonNullElseGet(consent, () -> new Consent(null, null));
  }

  /** The configuration without a consent section (the shape before issue 4). */
  public AuthzConfig(Grpc grpc, Http http, Limits limits, Routing routing, IdentityHeaders identityHeaders,
      Logging logging, Cluster cluster, Vault vault, List<Issuer> issuers, List<Provider> providers,
      List<Server> servers, Policy policy) {
    this(grpc, http, limits, routing, identityHeaders, logging, cluster, vault, issuers, providers, servers, policy,
        null);
  }

  /**
   * Consent prompts and pages (docs/consent.md).
   *
   * @param publicBaseUrl where users' browsers reach this service's consent pages (the gateway's
   *     HTTPS entry); null derives {@code http://127.0.0.1:<http port>}, which only a local client
   *     can open
   * @param elicitationTtl how long a consent link stays valid (and is reused for the same user,
   *     server, reason and scopes)
   * @param signIn one OIDC client per inbound issuer: the browser user signs in with it so the
   *     consent pages can check they are the user the prompt was minted for
   * @param clients the allowlist of client applications a user can be sent back to (deep links)
   * @param flowTtl lifetime of an authorization round trip's {@code state} (single use)
   * @param browserSessionTtl lifetime of the consent pages' sign-in cookie
   * @param resumeTtl lifetime of resume state, and how long a retried call counts as a resume
   */
  public record Consent(
      @JsonProperty("public_base_url") URI publicBaseUrl,
      @JsonProperty("elicitation_ttl") Duration elicitationTtl,
      @JsonProperty("sign_in") List<SignIn> signIn,
      List<ClientApp> clients,
      @JsonProperty("flow_ttl") Duration flowTtl,
      @JsonProperty("browser_session_ttl") Duration browserSessionTtl,
      @JsonProperty("resume_ttl") Duration resumeTtl) {
    public Consent {
      elicitationTtl = Objects.requireNonNullElse(elicitationTtl, Duration.ofMinutes(10));
      signIn = signIn == null ? List.of() : List.copyOf(signIn);
      clients = clients == null ? List.of() : List.copyOf(clients);
      flowTtl = Objects.requireNonNullElse(flowTtl, Duration.ofMinutes(10));
      browserSessionTtl = Objects.requireNonNullElse(browserSessionTtl, Duration.ofHours(8));
      resumeTtl = Objects.requireNonNullElse(resumeTtl, Duration.ofMinutes(15));
    }

    public Consent(URI publicBaseUrl, Duration elicitationTtl) {
      this(publicBaseUrl, elicitationTtl, null, null, null, null, null);
    }
  }

  /**
   * The OIDC client the consent pages sign browser users in with, at inbound issuer {@code issuer}
   * (an {@code issuers[].id}); its redirect URI is {@code <consent.public_base_url>/auth/callback}.
   */
  public record SignIn(
      String issuer,
      @JsonProperty("client_id") String clientId,
      @JsonProperty("client_secret") String clientSecret,
      @JsonProperty("client_secret_file") Path clientSecretFile) {
    @Override
    public String toString() {
      return "SignIn[issuer=" + issuer + ", clientId=" + clientId + "]";
    }
  }

  /**
   * A client application users return to after consent.
   *
   * @param deepLink URI template with one {@code {state}} placeholder, e.g.
   *     {@code vscode://publisher.extension/mcp-auth-complete?state={state}}
   * @param oauthClientIds the inbound OAuth {@code client_id}s (token {@code azp}/{@code client_id})
   *     this application uses, so a prompt knows where to send the user back
   */
  public record ClientApp(
      String id,
      @JsonProperty("display_name") String displayName,
      @JsonProperty("deep_link") String deepLink,
      @JsonProperty("oauth_client_ids") List<String> oauthClientIds) {
    public ClientApp {
      oauthClientIds = oauthClientIds == null ? List.of() : List.copyOf(oauthClientIds);
    }
  }

  /** The configuration without per-tool policy (the shape before issue 5). */
  public AuthzConfig(Grpc grpc, Http http, Limits limits, Routing routing, IdentityHeaders identityHeaders,
      Logging logging, Cluster cluster, Vault vault, List<Issuer> issuers, List<Provider> providers,
      List<Server> servers) {
    this(grpc, http, limits, routing, identityHeaders, logging, cluster, vault, issuers, providers, servers, null);
  }

  /**
   * Per-tool policy (docs/policy.md): YAML files in {@code dir}, one or more per MCP server. Opt-in
   * per server: a server no file names is decided exactly as without this section.
   *
   * @param dir the policy directory (relative paths resolve against the config file's directory)
   * @param watch reload when files change (WatchService, debounced)
   * @param debounce quiet time after the last change before reloading
   * @param maxArgsBytes tool arguments larger than this are never handed to a condition (a
   *     condition reading {@code args} then fails closed)
   */
  public record Policy(
      Path dir,
      Boolean watch,
      Duration debounce,
      @JsonProperty("max_args_bytes") Integer maxArgsBytes) {
    public Policy {
      watch = Objects.requireNonNullElse(watch, true);
      debounce = Objects.requireNonNullElse(debounce, Duration.ofMillis(250));
      maxArgsBytes = Objects.requireNonNullElse(maxArgsBytes, 64 * 1024);
    }
  }

  /** The Envoy-facing gRPC listener. */
  public record Grpc(
      String bind,
      Integer port,
      @JsonProperty("drain_timeout") Duration drainTimeout,
      @JsonProperty("executor_threads") Integer executorThreads) {
    public Grpc {
      bind = Objects.requireNonNullElse(bind, "127.0.0.1");
      port = Objects.requireNonNullElse(port, 9191);
      drainTimeout = Objects.requireNonNullElse(drainTimeout, Duration.ofSeconds(20));
      executorThreads =
          Objects.requireNonNullElse(executorThreads, Runtime.getRuntime().availableProcessors());
    }
  }

  /** The HTTP listener: RFC 9728 metadata, /metrics, health (and later the consent pages). */
  public record Http(
      String bind, Integer port, @JsonProperty("public_base_url") URI publicBaseUrl) {
    public Http {
      bind = Objects.requireNonNullElse(bind, "127.0.0.1");
      port = Objects.requireNonNullElse(port, 8080);
    }
  }

  /** Hard limits on hostile input. */
  public record Limits(
      @JsonProperty("max_token_bytes") Integer maxTokenBytes,
      @JsonProperty("max_body_bytes") Integer maxBodyBytes,
      @JsonProperty("max_json_depth") Integer maxJsonDepth) {
    public Limits {
      maxTokenBytes = Objects.requireNonNullElse(maxTokenBytes, 16 * 1024);
      maxBodyBytes = Objects.requireNonNullElse(maxBodyBytes, 1024 * 1024);
      maxJsonDepth = Objects.requireNonNullElse(maxJsonDepth, 64);
    }
  }

  /** How a Check is mapped to a configured MCP server when no explicit match applies. */
  public record Routing(
      @JsonProperty("context_extension_key") String contextExtensionKey,
      UnmatchedAction unmatched) {
    public Routing {
      contextExtensionKey = Objects.requireNonNullElse(contextExtensionKey, "mcp_server");
      unmatched = Objects.requireNonNullElse(unmatched, UnmatchedAction.DENY);
    }
  }

  public enum UnmatchedAction {
    @JsonProperty("deny")
    DENY,
    @JsonProperty("allow")
    ALLOW
  }

  /** Headers that carry the verified identity upstream; client-sent copies are always replaced. */
  public record IdentityHeaders(
      String subject,
      String issuer,
      @JsonProperty("client_id") String clientId,
      String scope,
      @JsonProperty("decision_id") String decisionId) {
    public IdentityHeaders {
      subject = Objects.requireNonNullElse(subject, "x-mcp-authz-subject");
      issuer = Objects.requireNonNullElse(issuer, "x-mcp-authz-issuer");
      clientId = Objects.requireNonNullElse(clientId, "x-mcp-authz-client-id");
      scope = Objects.requireNonNullElse(scope, "x-mcp-authz-scope");
      decisionId = Objects.requireNonNullElse(decisionId, "x-mcp-authz-decision-id");
    }
  }

  /** Which decisions go to the structured decision log. */
  public record Logging(DecisionLogLevel decisions) {
    public Logging {
      decisions = Objects.requireNonNullElse(decisions, DecisionLogLevel.ALL);
    }
  }

  public enum DecisionLogLevel {
    @JsonProperty("all")
    ALL,
    @JsonProperty("denied")
    DENIED,
    @JsonProperty("none")
    NONE
  }

  /** A trusted inbound token issuer (the MCP authorization server). */
  public record Issuer(
      String id,
      String issuer,
      @JsonProperty("jwks_uri") URI jwksUri,
      @JsonProperty("jwks_file") Path jwksFile,
      Boolean discovery,
      List<String> audiences,
      List<String> algorithms,
      @JsonProperty("clock_skew") Duration clockSkew,
      @JsonProperty("jwks_refresh_interval") Duration jwksRefreshInterval,
      @JsonProperty("jwks_min_refetch_interval") Duration jwksMinRefetchInterval,
      @JsonProperty("http_timeout") Duration httpTimeout,
      Introspection introspection) {
    public Issuer {
      discovery = Objects.requireNonNullElse(discovery, false);
      audiences = audiences == null ? List.of() : List.copyOf(audiences);
      algorithms = algorithms == null ? List.of("RS256", "PS256", "ES256") : List.copyOf(algorithms);
      clockSkew = Objects.requireNonNullElse(clockSkew, Duration.ofSeconds(30));
      jwksRefreshInterval = Objects.requireNonNullElse(jwksRefreshInterval, Duration.ofMinutes(5));
      jwksMinRefetchInterval =
          Objects.requireNonNullElse(jwksMinRefetchInterval, Duration.ofSeconds(10));
      httpTimeout = Objects.requireNonNullElse(httpTimeout, Duration.ofSeconds(5));
    }
  }

  /** RFC 7662 token introspection for opaque tokens. */
  public record Introspection(
      URI endpoint,
      @JsonProperty("client_id") String clientId,
      @JsonProperty("client_secret") String clientSecret,
      @JsonProperty("client_secret_file") Path clientSecretFile,
      @JsonProperty("cache_max_ttl") Duration cacheMaxTtl,
      @JsonProperty("negative_cache_ttl") Duration negativeCacheTtl) {
    public Introspection {
      cacheMaxTtl = Objects.requireNonNullElse(cacheMaxTtl, Duration.ofSeconds(60));
      negativeCacheTtl = Objects.requireNonNullElse(negativeCacheTtl, Duration.ofSeconds(5));
    }
  }

  /** A protected MCP server behind the gateway. */
  public record Server(
      String id,
      URI resource,
      Match match,
      List<String> issuers,
      @JsonProperty("scopes_supported") List<String> scopesSupported,
      @JsonProperty("required_scopes") List<String> requiredScopes,
      @JsonProperty("resource_metadata_url") URI resourceMetadataUrl,
      @JsonProperty("resource_name") String resourceName,
      @JsonProperty("require_complete_body") Boolean requireCompleteBody,
      Upstream upstream) {
    public Server {
      issuers = issuers == null ? List.of() : List.copyOf(issuers);
      scopesSupported = scopesSupported == null ? List.of() : List.copyOf(scopesSupported);
      requiredScopes = requiredScopes == null ? List.of() : List.copyOf(requiredScopes);
      requireCompleteBody = Objects.requireNonNullElse(requireCompleteBody, true);
    }
  }

  /** Authority + path-prefix routing, used when the Envoy route sets no context extension. */
  public record Match(String authority, @JsonProperty("path_prefix") String pathPrefix) {}

  /**
   * The Hazelcast member this process runs (embedded, one per process). With no members listed
   * and no config file, it is a single member on 127.0.0.1 that forms no cluster.
   *
   * @param configFile a full Hazelcast YAML/XML member config; when set, the other fields are
   *     ignored (see hazelcast-config/README.md)
   */
  public record Cluster(
      @JsonProperty("cluster_name") String clusterName,
      String bind,
      Integer port,
      List<String> members,
      @JsonProperty("config_file") Path configFile,
      @JsonProperty("kubernetes_service") String kubernetesService) {
    public Cluster {
      clusterName = Objects.requireNonNullElse(clusterName, "mcp-authz");
      bind = Objects.requireNonNullElse(bind, "127.0.0.1");
      port = Objects.requireNonNullElse(port, 5701);
      members = members == null ? List.of() : List.copyOf(members);
    }
  }

  /**
   * The upstream token vault.
   *
   * @param keys AES-256-GCM key ring; the first key encrypts, every key decrypts (rotation)
   * @param refreshAheadMin refresh when less than max(refreshAheadMin, refreshAheadFraction ×
   *     lifetime) remains
   * @param lease refresh lease duration; renewed every lease/3 while a refresh runs
   * @param waitTimeout how long a Check waits for a refresh in flight before answering 503
   */
  public record Vault(
      List<VaultKey> keys,
      @JsonProperty("refresh_ahead_min") Duration refreshAheadMin,
      @JsonProperty("refresh_ahead_fraction") Double refreshAheadFraction,
      Duration lease,
      @JsonProperty("wait_timeout") Duration waitTimeout,
      @JsonProperty("backup_count") Integer backupCount,
      @JsonProperty("session_ttl") Duration sessionTtl,
      @JsonProperty("check_cache_entries") Integer checkCacheEntries) {
    /** Credentials whose opened access token a member remembers, masked, for the Check path. */
    public static final int DEFAULT_CHECK_CACHE_ENTRIES = 10_000;

    public Vault {
      keys = keys == null ? List.of() : List.copyOf(keys);
      refreshAheadMin = Objects.requireNonNullElse(refreshAheadMin, Duration.ofSeconds(60));
      refreshAheadFraction = Objects.requireNonNullElse(refreshAheadFraction, 0.10);
      lease = Objects.requireNonNullElse(lease, Duration.ofSeconds(10));
      waitTimeout = Objects.requireNonNullElse(waitTimeout, Duration.ofSeconds(30));
      backupCount = Objects.requireNonNullElse(backupCount, 1);
      sessionTtl = Objects.requireNonNullElse(sessionTtl, Duration.ofHours(24));
      checkCacheEntries = Objects.requireNonNullElse(checkCacheEntries, DEFAULT_CHECK_CACHE_ENTRIES);
    }
  }

  /** One vault key: 32 bytes, Base64, given inline ({@code secret}, env-overridable) or in a file. */
  public record VaultKey(
      String id, String secret, @JsonProperty("secret_file") Path secretFile) {}

  public enum ClientAuth {
    @JsonProperty("client_secret_basic")
    CLIENT_SECRET_BASIC,
    @JsonProperty("client_secret_post")
    CLIENT_SECRET_POST,
    @JsonProperty("private_key_jwt")
    PRIVATE_KEY_JWT,
    @JsonProperty("none")
    NONE
  }

  /** How a provider reports token-endpoint errors; see docs/providers.md. */
  public enum ProviderProfile {
    @JsonProperty("rfc6749")
    RFC6749,
    @JsonProperty("keycloak")
    KEYCLOAK,
    @JsonProperty("github")
    GITHUB,
    @JsonProperty("entra")
    ENTRA,
    @JsonProperty("google")
    GOOGLE
  }

  /** An upstream OAuth provider whose tokens the vault holds and refreshes. */
  public record Provider(
      String id,
      @JsonProperty("display_name") String displayName,
      ProviderProfile profile,
      String issuer,
      Boolean discovery,
      @JsonProperty("authorization_endpoint") URI authorizationEndpoint,
      @JsonProperty("token_endpoint") URI tokenEndpoint,
      @JsonProperty("revocation_endpoint") URI revocationEndpoint,
      @JsonProperty("client_id") String clientId,
      @JsonProperty("client_secret") String clientSecret,
      @JsonProperty("client_secret_file") Path clientSecretFile,
      @JsonProperty("private_key_file") Path privateKeyFile,
      @JsonProperty("client_auth") ClientAuth clientAuth,
      @JsonProperty("send_resource") Boolean sendResource,
      Duration timeout,
      Retry retry,
      @JsonProperty("circuit_breaker") CircuitBreaker circuitBreaker) {
    public Provider {
      profile = Objects.requireNonNullElse(profile, ProviderProfile.RFC6749);
      discovery = Objects.requireNonNullElse(discovery, tokenEndpoint == null);
      clientAuth = Objects.requireNonNullElse(clientAuth, ClientAuth.CLIENT_SECRET_BASIC);
      sendResource = Objects.requireNonNullElse(sendResource, true);
      timeout = Objects.requireNonNullElse(timeout, Duration.ofSeconds(5));
      retry = Objects.requireNonNullElseGet(retry, () -> new Retry(null, null, null, null));
      circuitBreaker = Objects.requireNonNullElseGet(circuitBreaker, () -> new CircuitBreaker(null, null));
    }
  }

  /** Bounded retry with exponential backoff and full jitter for transient token-endpoint failures. */
  public record Retry(
      @JsonProperty("max_attempts") Integer maxAttempts,
      @JsonProperty("initial_backoff") Duration initialBackoff,
      @JsonProperty("max_backoff") Duration maxBackoff,
      @JsonProperty("max_total") Duration maxTotal) {
    public Retry {
      maxAttempts = Objects.requireNonNullElse(maxAttempts, 4);
      initialBackoff = Objects.requireNonNullElse(initialBackoff, Duration.ofMillis(200));
      maxBackoff = Objects.requireNonNullElse(maxBackoff, Duration.ofSeconds(5));
      maxTotal = Objects.requireNonNullElse(maxTotal, Duration.ofSeconds(20));
    }
  }

  /** Opens after {@code failureThreshold} consecutive transient failures; half-opens after {@code openFor}. */
  public record CircuitBreaker(
      @JsonProperty("failure_threshold") Integer failureThreshold,
      @JsonProperty("open_for") Duration openFor) {
    public CircuitBreaker {
      failureThreshold = Objects.requireNonNullElse(failureThreshold, 5);
      openFor = Objects.requireNonNullElse(openFor, Duration.ofSeconds(30));
    }
  }

  /**
   * The upstream credential a server needs: on allow, the client's token is replaced by the
   * user's token from this provider, issued for {@code resource} (RFC 8707).
   */
  public record Upstream(String provider, URI resource, List<String> scopes) {
    public Upstream {
      scopes = scopes == null ? List.of() : List.copyOf(scopes);
    }
  }
}
