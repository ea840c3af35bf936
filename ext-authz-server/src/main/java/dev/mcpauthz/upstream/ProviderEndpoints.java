package dev.mcpauthz.upstream;

import java.net.URI;

/**
 * A provider's endpoints: configured ones win, the rest come from discovery.
 *
 * @param tokenEndpoint never null
 * @param authorizationEndpoint null when neither configured nor discovered
 * @param revocationEndpoint null when neither configured nor discovered
 */
public record ProviderEndpoints(URI tokenEndpoint, URI authorizationEndpoint, URI revocationEndpoint) {}
