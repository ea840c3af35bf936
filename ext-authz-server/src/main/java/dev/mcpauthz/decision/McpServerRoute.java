package dev.mcpauthz.decision;

import dev.mcpauthz.authn.IssuerRuntime;
import dev.mcpauthz.authn.Principal;
import dev.mcpauthz.authn.ResourceUri;
import dev.mcpauthz.config.AuthzConfig;
import java.net.URI;
import java.util.List;
import java.util.Set;

/** A configured MCP server with everything the Check path needs precomputed. */
public final class McpServerRoute {
  /** RFC 9728 §3: the well-known suffix inserted between host and path. */
  public static final String WELL_KNOWN = "/.well-known/oauth-protected-resource";

  private final AuthzConfig.Server config;
  private final String normalizedResource;
  private final String resourceMetadataUrl;
  private final List<IssuerRuntime> trustedIssuers;
  private final Set<String> requiredScopes;
  private final String challengeScope;

  McpServerRoute(AuthzConfig.Server config, List<IssuerRuntime> trustedIssuers) {
    this.config = config;
    this.normalizedResource = ResourceUri.normalize(config.resource().toString());
    this.resourceMetadataUrl =
        config.resourceMetadataUrl() != null
            ? config.resourceMetadataUrl().toString()
            : metadataUrlFor(config.resource());
    this.trustedIssuers = List.copyOf(trustedIssuers);
    this.requiredScopes = Set.copyOf(config.requiredScopes());
    List<String> advertised = config.requiredScopes().isEmpty() ? config.scopesSupported() : config.requiredScopes();
    this.challengeScope = advertised.isEmpty() ? null : String.join(" ", advertised);
  }

  /** RFC 9728 §3.1 path insertion: {@code https://h/mcp} → {@code https://h/.well-known/oauth-protected-resource/mcp}. */
  public static String metadataUrlFor(URI resource) {
    String path = resource.getRawPath() == null || resource.getRawPath().equals("/") ? "" : resource.getRawPath();
    return resource.getScheme() + "://" + resource.getRawAuthority() + WELL_KNOWN + path;
  }

  public String id() {
    return config.id();
  }

  public AuthzConfig.Server config() {
    return config;
  }

  public String resource() {
    return config.resource().toString();
  }

  public String resourceMetadataUrl() {
    return resourceMetadataUrl;
  }

  public List<IssuerRuntime> trustedIssuers() {
    return trustedIssuers;
  }

  public Set<String> requiredScopes() {
    return requiredScopes;
  }

  /** Scopes to name in a 401 challenge (required scopes, else scopes_supported), or null. */
  public String challengeScope() {
    return challengeScope;
  }

  public boolean trusts(Principal p) {
    for (IssuerRuntime i : trustedIssuers) {
      if (i.id().equals(p.issuerId())) {
        return true;
      }
    }
    return false;
  }

  /** MCP authorization: the token must have been issued for this server (RFC 8707 audience). */
  public boolean isAudienceOf(Principal p) {
    if (p.hasAudience(normalizedResource)) {
      return true;
    }
    for (IssuerRuntime i : trustedIssuers) {
      if (i.id().equals(p.issuerId())) {
        for (String extra : i.extraAudiences()) {
          if (p.hasAudience(extra)) {
            return true;
          }
        }
      }
    }
    return false;
  }
}
