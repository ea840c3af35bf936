package dev.mcpauthz.vault;

import dev.mcpauthz.authn.ResourceUri;
import dev.mcpauthz.config.AuthzConfig;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * What a call needs from the vault: the server's provider, its RFC 8707 resource (canonical form,
 * null when the server names none) and the upstream scopes (server scopes ∪ per-call scopes).
 */
record Need(String provider, String resource, List<String> scopes) {

  static Need of(AuthzConfig.Upstream upstream, List<String> neededScopes) {
    List<String> serverScopes = upstream.scopes();
    if ((neededScopes == null || serverScopes.containsAll(neededScopes)) && distinct(serverScopes)) {
      // The common Check: nothing beyond the server's scopes. No set, and no copy of an immutable list.
      return new Need(upstream.provider(), canonicalResource(upstream), List.copyOf(serverScopes));
    }
    LinkedHashSet<String> scopes = new LinkedHashSet<>(upstream.scopes());
    if (neededScopes != null) {
      scopes.addAll(neededScopes);
    }
    return new Need(upstream.provider(), canonicalResource(upstream), List.copyOf(scopes));
  }

  /** Normalised once per configured resource: Need.of runs on every Check of an upstream server. */
  private static final java.util.concurrent.ConcurrentHashMap<java.net.URI, String> CANONICAL =
      new java.util.concurrent.ConcurrentHashMap<>();

  static String canonicalResource(AuthzConfig.Upstream upstream) {
    return upstream.resource() == null ? null
        : CANONICAL.computeIfAbsent(upstream.resource(), r -> ResourceUri.normalize(r.toString()));
  }

  private static boolean distinct(List<String> scopes) {
    for (int i = 1; i < scopes.size(); i++) {
      for (int j = 0; j < i; j++) {
        if (scopes.get(j).equals(scopes.get(i))) {
          return false;
        }
      }
    }
    return true;
  }

  static List<String> union(List<String> a, List<String> b) {
    LinkedHashSet<String> all = new LinkedHashSet<>(a);
    all.addAll(b);
    return List.copyOf(all);
  }
}
