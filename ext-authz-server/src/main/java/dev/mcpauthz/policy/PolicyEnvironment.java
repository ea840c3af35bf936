package dev.mcpauthz.policy;

import dev.mcpauthz.config.AuthzConfig;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What policy files are checked against: the configured server ids (a file for an unknown server
 * is an error) and which servers have an upstream credential (only they can ask for
 * {@code upstream_scopes}). {@link #ANY} accepts everything, for the CLI without {@code --config}.
 */
public record PolicyEnvironment(Set<String> servers, Set<String> serversWithUpstream) {
  public static final PolicyEnvironment ANY = new PolicyEnvironment(null, null);

  public static PolicyEnvironment of(AuthzConfig config) {
    return new PolicyEnvironment(
        config.servers().stream().map(AuthzConfig.Server::id).collect(Collectors.toUnmodifiableSet()),
        config.servers().stream().filter(s -> s.upstream() != null).map(AuthzConfig.Server::id)
            .collect(Collectors.toUnmodifiableSet()));
  }

  boolean knows(String server) {
    return servers == null || servers.contains(server);
  }

  boolean hasUpstream(String server) {
    return serversWithUpstream == null || serversWithUpstream.contains(server);
  }
}
