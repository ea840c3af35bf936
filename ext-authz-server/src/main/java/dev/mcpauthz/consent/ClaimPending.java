package dev.mcpauthz.consent;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.ExtendedMapEntry;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Atomically takes the "pending prompt" slot of one (user, server, reason, scopes): keeps a live
 * elicitation that is already there, else stores the candidate. Runs on the partition owner, one
 * at a time per key, so two Checks racing for the same consent get the same elicitation (no prompt
 * storm). The time is the caller's, carried in the processor, so the backup replays the same choice.
 */
final class ClaimPending implements EntryProcessor<String, String, String> {
  private static final long serialVersionUID = 1L;

  private final String candidateJson;
  private final long nowMillis;
  private final long ttlMillis;

  ClaimPending(String candidateJson, long nowMillis, long ttlMillis) {
    this.candidateJson = candidateJson;
    this.nowMillis = nowMillis;
    this.ttlMillis = ttlMillis;
  }

  /** @return the JSON of the elicitation that now holds the slot */
  @Override
  public String process(Map.Entry<String, String> entry) {
    String current = entry.getValue();
    if (current != null && Elicitation.fromJson(current).expiresAt().toEpochMilli() > nowMillis) {
      return current;
    }
    ((ExtendedMapEntry<String, String>) entry).setValue(candidateJson, ttlMillis, TimeUnit.MILLISECONDS);
    return candidateJson;
  }
}
