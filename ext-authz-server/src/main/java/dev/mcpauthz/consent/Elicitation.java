package dev.mcpauthz.consent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mcpauthz.decision.ConsentReason;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One pending consent prompt: who must consent, for which server, provider and scopes, and why.
 * Holds no token or secret; the id is the only part that leaves the service (in the consent URL).
 *
 * @param id opaque random id (see {@link ElicitationStore#newId()})
 * @param issuer inbound issuer of the user the prompt was minted for (the same-user guard of
 *     /auth/start compares it)
 * @param subject inbound {@code sub} of that user
 * @param server configured MCP server id
 * @param provider upstream provider id
 * @param scopes what the consent asks for: granted ∪ needed
 * @param callDigest hex SHA-256 of the call that needed consent ({@link CallDigest}), for resume
 * @param client the {@code consent.clients[].id} of the application the user came from (where
 *     the resume page sends them back); null when unknown
 * @param completedAt when the user finished consenting; null while pending
 */
public record Elicitation(
    String id,
    String issuer,
    String subject,
    String server,
    String provider,
    List<String> scopes,
    ConsentReason reason,
    String callDigest,
    String client,
    Instant createdAt,
    Instant expiresAt,
    Instant completedAt) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public Elicitation {
    scopes = List.copyOf(scopes);
  }

  public boolean expiredAt(Instant now) {
    return !now.isBefore(expiresAt);
  }

  public boolean completed() {
    return completedAt != null;
  }

  public Elicitation completeAt(Instant now) {
    return new Elicitation(id, issuer, subject, server, provider, scopes, reason, callDigest, client, createdAt,
        expiresAt, now);
  }

  /** The stored form (a JSON string: no Hazelcast serializer to register or version). */
  String toJson() {
    ObjectNode o = JSON.createObjectNode()
        .put("id", id).put("iss", issuer).put("sub", subject).put("server", server).put("provider", provider)
        .put("reason", reason.name()).put("call", callDigest)
        .put("created", createdAt.toEpochMilli()).put("expires", expiresAt.toEpochMilli());
    if (client != null) {
      o.put("client", client);
    }
    if (completedAt != null) {
      o.put("completed", completedAt.toEpochMilli());
    }
    scopes.forEach(o.putArray("scopes")::add);
    return o.toString();
  }

  static Elicitation fromJson(String json) {
    try {
      JsonNode o = JSON.readTree(json);
      List<String> scopes = new ArrayList<>();
      o.path("scopes").forEach(s -> scopes.add(s.asText()));
      return new Elicitation(o.get("id").asText(), o.get("iss").asText(), o.get("sub").asText(),
          o.get("server").asText(), o.get("provider").asText(), scopes, ConsentReason.valueOf(o.get("reason").asText()),
          o.get("call").asText(), o.hasNonNull("client") ? o.get("client").asText() : null,
          Instant.ofEpochMilli(o.get("created").asLong()), Instant.ofEpochMilli(o.get("expires").asLong()),
          o.hasNonNull("completed") ? Instant.ofEpochMilli(o.get("completed").asLong()) : null);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
