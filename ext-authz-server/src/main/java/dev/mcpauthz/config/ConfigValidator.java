package dev.mcpauthz.config;

import dev.mcpauthz.config.AuthzConfig.Introspection;
import dev.mcpauthz.config.AuthzConfig.Issuer;
import dev.mcpauthz.config.AuthzConfig.Server;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/** Semantic checks that binding cannot express; the first problem found is reported with its key. */
final class ConfigValidator {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Pattern HEADER_NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");
  /** Asymmetric JWS algorithms only: 'none' and HMAC are never acceptable with published keys. */
  static final Set<String> ALLOWED_ALGORITHMS =
      Set.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519");

  private ConfigValidator() {}

  static AuthzConfig validate(AuthzConfig c, String src, Path baseDir) {
    port(c.grpc().port(), src, "grpc.port");
    port(c.http().port(), src, "http.port");
    if (c.grpc().executorThreads() < 1) {
      fail(src, "grpc.executor_threads", "must be at least 1");
    }
    if (c.grpc().drainTimeout().isNegative()) {
      fail(src, "grpc.drain_timeout", "must not be negative");
    }
    if (c.http().publicBaseUrl() != null) {
      absoluteHttpUri(c.http().publicBaseUrl(), src, "http.public_base_url");
    }
    positive(c.limits().maxTokenBytes(), src, "limits.max_token_bytes");
    positive(c.limits().maxBodyBytes(), src, "limits.max_body_bytes");
    if (c.limits().maxJsonDepth() < 2 || c.limits().maxJsonDepth() > 1000) {
      fail(src, "limits.max_json_depth", "must be between 2 and 1000");
    }
    var h = c.identityHeaders();
    header(h.subject(), src, "identity_headers.subject");
    header(h.issuer(), src, "identity_headers.issuer");
    header(h.clientId(), src, "identity_headers.client_id");
    header(h.scope(), src, "identity_headers.scope");
    header(h.decisionId(), src, "identity_headers.decision_id");

    if (c.issuers().isEmpty()) {
      fail(src, "issuers", "at least one inbound issuer is required");
    }
    List<Issuer> issuers = new ArrayList<>();
    Set<String> issuerIds = new HashSet<>();
    for (int i = 0; i < c.issuers().size(); i++) {
      Issuer iss = issuer(c.issuers().get(i), src, "issuers[" + i + "]", baseDir);
      if (!issuerIds.add(iss.id())) {
        fail(src, "issuers[" + i + "].id", "duplicate issuer id '" + iss.id() + "'");
      }
      issuers.add(iss);
    }

    if (c.servers().isEmpty()) {
      fail(src, "servers", "at least one MCP server is required");
    }
    Set<String> serverIds = new HashSet<>();
    Set<String> matches = new HashSet<>();
    for (int i = 0; i < c.servers().size(); i++) {
      String key = "servers[" + i + "]";
      Server s = c.servers().get(i);
      id(s.id(), src, key + ".id");
      if (!serverIds.add(s.id())) {
        fail(src, key + ".id", "duplicate server id '" + s.id() + "'");
      }
      resource(s.resource(), src, key + ".resource");
      if (s.resourceMetadataUrl() != null) {
        absoluteHttpUri(s.resourceMetadataUrl(), src, key + ".resource_metadata_url");
      }
      for (int j = 0; j < s.issuers().size(); j++) {
        if (!issuerIds.contains(s.issuers().get(j))) {
          fail(src, key + ".issuers[" + j + "]", "unknown issuer id '" + s.issuers().get(j) + "' (known: " + issuerIds + ")");
        }
      }
      for (int j = 0; j < s.requiredScopes().size(); j++) {
        scope(s.requiredScopes().get(j), src, key + ".required_scopes[" + j + "]");
      }
      for (int j = 0; j < s.scopesSupported().size(); j++) {
        scope(s.scopesSupported().get(j), src, key + ".scopes_supported[" + j + "]");
      }
      if (s.match() != null) {
        var m = s.match();
        if (m.authority() == null && m.pathPrefix() == null) {
          fail(src, key + ".match", "set authority, path_prefix or both");
        }
        if (m.pathPrefix() != null && !m.pathPrefix().startsWith("/")) {
          fail(src, key + ".match.path_prefix", "must start with '/'");
        }
        String sig = String.valueOf(m.authority()).toLowerCase(Locale.ROOT) + "|" + m.pathPrefix();
        if (!matches.add(sig)) {
          fail(src, key + ".match", "another server already has this authority and path_prefix");
        }
      }
    }
    Set<String> providerIds = new HashSet<>();
    List<AuthzConfig.Provider> providers = new ArrayList<>();
    for (int i = 0; i < c.providers().size(); i++) {
      String key = "providers[" + i + "]";
      AuthzConfig.Provider p = c.providers().get(i);
      id(p.id(), src, key + ".id");
      if (!providerIds.add(p.id())) {
        fail(src, key + ".id", "duplicate provider id '" + p.id() + "'");
      }
      UpstreamConfigRules.provider(p, src, key, baseDir);
      providers.add(UpstreamConfigRules.resolveFiles(p, baseDir));
    }
    boolean anyUpstream = false;
    for (int i = 0; i < c.servers().size(); i++) {
      AuthzConfig.Upstream up = c.servers().get(i).upstream();
      if (up == null) {
        continue;
      }
      anyUpstream = true;
      String key = "servers[" + i + "].upstream";
      if (up.provider() == null || !providerIds.contains(up.provider())) {
        fail(src, key + ".provider", "unknown provider id '" + up.provider() + "' (known: " + providerIds + ")");
      }
      if (up.resource() != null) {
        absoluteHttpUri(up.resource(), src, key + ".resource");
      }
      for (int j = 0; j < up.scopes().size(); j++) {
        scope(up.scopes().get(j), src, key + ".scopes[" + j + "]");
      }
    }
    AuthzConfig.Cluster cluster = UpstreamConfigRules.cluster(c.cluster(), src, baseDir);
    AuthzConfig.Vault vault = UpstreamConfigRules.vault(c.vault(), anyUpstream, src, baseDir);
    AuthzConfig.Policy policy = policy(c.policy(), src, baseDir);
    AuthzConfig.Consent consent = ConsentConfigRules.consent(c.consent(), issuerIds, src, baseDir);
    return new AuthzConfig(
        c.grpc(), c.http(), c.limits(), c.routing(), c.identityHeaders(), c.logging(), cluster, vault,
        issuers, providers, c.servers(), policy, consent);
  }

  /** The policy files themselves are checked when the service starts (and by --check-config). */
  private static AuthzConfig.Policy policy(AuthzConfig.Policy p, String src, Path baseDir) {
    if (p == null) {
      return null;
    }
    if (p.dir() == null) {
      fail(src, "policy.dir", "required: the directory holding the policy files (docs/policy.md)");
    }
    Path dir = baseDir == null ? p.dir() : baseDir.resolve(p.dir());
    if (!Files.isDirectory(dir)) {
      fail(src, "policy.dir", "not a directory: " + dir);
    }
    if (p.debounce().isNegative() || p.debounce().toSeconds() > 60) {
      fail(src, "policy.debounce", "must be between 0s and 60s");
    }
    if (p.maxArgsBytes() < 0) {
      fail(src, "policy.max_args_bytes", "must not be negative");
    }
    return new AuthzConfig.Policy(dir, p.watch(), p.debounce(), p.maxArgsBytes());
  }

  static void failAt(String src, String key, String reason) {
    fail(src, key, reason);
  }

  private static Issuer issuer(Issuer iss, String src, String key, Path baseDir) {
    id(iss.id(), src, key + ".id");
    if (iss.issuer() == null || iss.issuer().isBlank()) {
      fail(src, key + ".issuer", "required: the exact 'iss' value of tokens from this issuer");
    }
    for (int j = 0; j < iss.algorithms().size(); j++) {
      String alg = iss.algorithms().get(j);
      if (!ALLOWED_ALGORITHMS.contains(alg)) {
        String why = alg.equalsIgnoreCase("none") || alg.toUpperCase(Locale.ROOT).startsWith("HS")
            ? "'" + alg + "' is refused: unsigned and HMAC tokens cannot be verified with published keys"
            : "unsupported algorithm '" + alg + "'";
        fail(src, key + ".algorithms[" + j + "]", why + " (allowed: " + new java.util.TreeSet<>(ALLOWED_ALGORITHMS) + ")");
      }
    }
    int keySources = (iss.jwksUri() != null ? 1 : 0) + (iss.jwksFile() != null ? 1 : 0) + (iss.discovery() ? 1 : 0);
    if (keySources > 1) {
      fail(src, key, "set only one of jwks_uri, jwks_file, discovery");
    }
    if (keySources == 0 && iss.introspection() == null) {
      fail(src, key, "set jwks_uri, jwks_file, discovery: true, or introspection");
    }
    if (iss.discovery()) {
      absoluteHttpUri(URI.create(iss.issuer()), src, key + ".issuer");
    }
    if (iss.jwksUri() != null) {
      absoluteHttpUri(iss.jwksUri(), src, key + ".jwks_uri");
    }
    Path jwksFile = iss.jwksFile();
    if (jwksFile != null) {
      jwksFile = baseDir == null ? jwksFile : baseDir.resolve(jwksFile);
      if (!Files.isReadable(jwksFile)) {
        fail(src, key + ".jwks_file", "cannot read " + jwksFile);
      }
    }
    if (iss.clockSkew().isNegative() || iss.clockSkew().toSeconds() > 300) {
      fail(src, key + ".clock_skew", "must be between 0s and 5m");
    }
    Introspection in = iss.introspection();
    if (in != null) {
      String ik = key + ".introspection";
      if (in.endpoint() == null) {
        fail(src, ik + ".endpoint", "required");
      }
      absoluteHttpUri(in.endpoint(), src, ik + ".endpoint");
      if (in.clientId() == null || in.clientId().isBlank()) {
        fail(src, ik + ".client_id", "required: RFC 7662 requires the resource server to authenticate");
      }
      String secret = in.clientSecret();
      if (in.clientSecretFile() != null) {
        if (secret != null) {
          fail(src, ik, "set client_secret or client_secret_file, not both");
        }
        Path f = baseDir == null ? in.clientSecretFile() : baseDir.resolve(in.clientSecretFile());
        try {
          secret = Files.readString(f).strip();
        } catch (IOException e) {
          fail(src, ik + ".client_secret_file", "cannot read " + f);
        }
      }
      if (secret == null || secret.isEmpty()) {
        fail(src, ik + ".client_secret", "required (or client_secret_file, or env MCP_AUTHZ_ISSUERS__N__INTROSPECTION__CLIENT_SECRET)");
      }
      in = new Introspection(in.endpoint(), in.clientId(), secret, null, in.cacheMaxTtl(), in.negativeCacheTtl());
    }
    return new Issuer(
        iss.id(), iss.issuer(), iss.jwksUri(), jwksFile, iss.discovery(), iss.audiences(), iss.algorithms(),
        iss.clockSkew(), iss.jwksRefreshInterval(), iss.jwksMinRefetchInterval(), iss.httpTimeout(), in);
  }

  /** RFC 8707 §2: an absolute URI without fragment; MCP: the canonical URI of the server. */
  private static void resource(URI uri, String src, String key) {
    if (uri == null) {
      fail(src, key, "required: the server's canonical resource URI (RFC 8707), e.g. https://mcp.example.com/mcp");
    }
    absoluteHttpUri(uri, src, key);
    if (uri.getRawFragment() != null) {
      fail(src, key, "must not contain a fragment (RFC 8707 section 2)");
    }
    if (uri.getRawQuery() != null) {
      fail(src, key, "must not contain a query: it is the canonical MCP server URI");
    }
  }

  static void absoluteHttpUri(URI uri, String src, String key) {
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!uri.isAbsolute() || uri.getHost() == null) {
      fail(src, key, "must be an absolute http(s) URI, got '" + uri + "'");
    }
    boolean loopback = switch (uri.getHost().toLowerCase(Locale.ROOT)) {
      case "localhost", "127.0.0.1", "[::1]" -> true;
      default -> false;
    };
    if (!scheme.equals("https") && !(scheme.equals("http") && loopback)) {
      fail(src, key, "must use https (http is accepted only for localhost/127.0.0.1), got '" + uri + "'");
    }
  }

  static void id(String id, String src, String key) {
    if (id == null || !ID.matcher(id).matches()) {
      fail(src, key, "required: letters, digits, '.', '_' or '-' (max 64), got '" + id + "'");
    }
  }

  private static void scope(String scope, String src, String key) {
    // RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E
    if (scope == null || scope.isEmpty() || !scope.chars().allMatch(ch -> ch == 0x21 || (ch >= 0x23 && ch <= 0x5B) || (ch >= 0x5D && ch <= 0x7E))) {
      fail(src, key, "not a valid scope token (RFC 6749 section 3.3): '" + scope + "'");
    }
  }

  private static void header(String name, String src, String key) {
    if (name == null || !HEADER_NAME.matcher(name).matches()) {
      fail(src, key, "must be a lower-case header name, got '" + name + "'");
    }
    if (name.equals("authorization") || name.equals("host") || name.equals("cookie")) {
      fail(src, key, "'" + name + "' cannot carry identity");
    }
  }

  static void port(int port, String src, String key) {
    if (port < 0 || port > 65535) {
      fail(src, key, "must be 0-65535, got " + port);
    }
  }

  private static void positive(int v, String src, String key) {
    if (v <= 0) {
      fail(src, key, "must be positive, got " + v);
    }
  }

  private static void fail(String src, String key, String reason) {
    throw new ConfigException(src, key, reason);
  }
}
