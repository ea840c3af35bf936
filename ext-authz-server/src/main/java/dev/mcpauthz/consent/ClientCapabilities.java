package dev.mcpauthz.consent;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.mcpauthz.mcp.ElicitationSupport;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Remembers whether a pre-2026-07-28 client declared URL elicitation at {@code initialize}, in the
 * session map ({@code vault.session_ttl}). ext_authz never sees the initialize response, which is
 * where the server assigns {@code Mcp-Session-Id}, so capabilities are stored under the user, OAuth
 * client and server of the initialize, and bound to a session id the first time a prompt is
 * rendered for a request carrying it (ADR 0007). Keys are hashes: no user identifier in the map.
 */
public final class ClientCapabilities {
  private final IMap<String, String> sessions;
  private final Executor executor;

  public ClientCapabilities(HazelcastInstance hazelcast, String mapName, Executor executor) {
    this.sessions = hazelcast.getMap(mapName);
    this.executor = executor;
  }

  /** Who is talking to which server: the initialize and later requests of one client share it. */
  public record Client(String issuer, String subject, String clientId, String server) {}

  /** Records what an initialize declared (fire and forget: the initialize itself is not delayed). */
  public CompletableFuture<Void> rememberInitialize(Client c, ElicitationSupport declared) {
    if (declared == ElicitationSupport.UNDECLARED) {
      return CompletableFuture.completedFuture(null);
    }
    return sessions.setAsync(clientKey(c), declared.name()).thenApplyAsync(v -> v, executor).toCompletableFuture();
  }

  /**
   * What the client declared: the binding of {@code sessionId} when there is one, else the last
   * initialize of this client (then bound to {@code sessionId}, so a later re-initialize of another
   * session of the same client does not change this session's answer). UNDECLARED when unknown.
   */
  public CompletableFuture<ElicitationSupport> lookup(Client c, String sessionId) {
    if (sessionId == null || sessionId.isEmpty()) {
      return sessions.getAsync(clientKey(c)).thenApplyAsync(ClientCapabilities::parse, executor).toCompletableFuture();
    }
    String sessionKey = sessionKey(c, sessionId);
    return sessions.getAsync(sessionKey).thenCompose(bound -> bound != null
            ? CompletableFuture.completedFuture(bound)
            : sessions.getAsync(clientKey(c)).thenApply(declared -> {
              if (declared != null) {
                sessions.setAsync(sessionKey, declared);
              }
              return declared;
            }))
        .thenApplyAsync(ClientCapabilities::parse, executor)
        .toCompletableFuture();
  }

  private static ElicitationSupport parse(String v) {
    return v == null ? ElicitationSupport.UNDECLARED : ElicitationSupport.valueOf(v);
  }

  private static String clientKey(Client c) {
    return "client:" + sha256(c.issuer(), c.subject(), c.clientId() == null ? "" : c.clientId(), c.server());
  }

  private static String sessionKey(Client c, String sessionId) {
    return "session:" + sha256(c.issuer(), c.subject(), c.server(), sessionId);
  }

  static String sha256(String... parts) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(String.join("\0", parts).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
