package dev.mcpauthz.policy;

import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Every server's compiled policy, immutable. The service holds one in a volatile reference and
 * swaps it whole on reload, so a Check sees one consistent set from start to end.
 *
 * @param version {@code <content hash, 12 hex>-<load counter>}; empty for {@link #EMPTY}
 * @param contentHash SHA-256 (hex, 12 characters) over the file names and contents
 */
public record PolicySet(String version, String contentHash, int generation, Map<String, ServerPolicy> servers,
    List<String> files) {
  public static final PolicySet EMPTY = new PolicySet("", "", 0, Map.of(), List.of());

  public PolicySet {
    servers = Map.copyOf(servers);
    files = List.copyOf(files);
  }

  /** The server's policy, or null when no file governs it (its requests are decided as without policy). */
  public ServerPolicy forServer(String serverId) {
    return servers.get(serverId);
  }

  public Collection<ServerPolicy> all() {
    return servers.values();
  }

  public int ruleCount() {
    return servers.values().stream().mapToInt(s -> s.rules().size()).sum();
  }
}
