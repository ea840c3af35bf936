package dev.mcpauthz.it.envoy;

import java.net.URI;
import java.util.Map;
import java.util.Objects;

/**
 * One route of the emulated route table: a {@code match: {prefix: ...}} route to one upstream
 * cluster, with the route's {@code ExtAuthzPerRoute} settings ({@code disabled: true} or
 * {@code check_settings.context_extensions}). Routes are matched in order, by plain string prefix
 * on the path (query excluded), as Envoy does; no match is Envoy's empty 404.
 */
public record EmulatedRoute(String prefix, URI upstream, boolean extAuthzDisabled, Map<String, String> contextExtensions) {

  public EmulatedRoute {
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(upstream, "upstream");
    contextExtensions = Map.copyOf(contextExtensions == null ? Map.of() : contextExtensions);
  }

  /** A route with ext_authz enabled and no context extensions. */
  public static EmulatedRoute prefix(String prefix, URI upstream) {
    return new EmulatedRoute(prefix, upstream, false, Map.of());
  }

  /** {@code typed_per_filter_config: {envoy.filters.http.ext_authz: {disabled: true}}}. */
  public EmulatedRoute withExtAuthzDisabled() {
    return new EmulatedRoute(prefix, upstream, true, contextExtensions);
  }

  /** {@code check_settings.context_extensions} of this route. */
  public EmulatedRoute withContextExtensions(Map<String, String> extensions) {
    return new EmulatedRoute(prefix, upstream, extAuthzDisabled, extensions);
  }

  boolean matches(String pathAndQuery) {
    int q = pathAndQuery.indexOf('?');
    String path = q < 0 ? pathAndQuery : pathAndQuery.substring(0, q);
    return path.startsWith(prefix);
  }
}
