package dev.mcpauthz.upstream;

import java.net.URI;

/**
 * A provider's endpoints: configured ones win, the rest come from discovery.
 *
 * @param tokenEndpoint never null
 * @param authorizationEndpoint null when neither configured nor discovered
 * @param revocationEndpoint null when neither configured nor discovered
 * @param issParameterSupported the metadata says authorization responses carry {@code iss}
 *     (RFC 9207 §3); a response without it must then be rejected
 */
public record ProviderEndpoints(URI tokenEndpoint, URI authorizationEndpoint, URI revocationEndpoint,
    boolean issParameterSupported) {
  /** Configured endpoints only: nothing is known about {@code iss}. */
  public ProviderEndpoints(URI tokenEndpoint, URI authorizationEndpoint, URI revocationEndpoint) {
    this(tokenEndpoint, authorizationEndpoint, revocationEndpoint, false);
  }
}
