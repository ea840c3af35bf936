package dev.mcpauthz.consent;

import com.hazelcast.map.EntryProcessor;
import java.util.Map;

/**
 * Frees a "pending prompt" slot if it still names the given elicitation: a newer prompt that took
 * the slot after this one expired keeps it. Atomic on the partition owner, like {@link ClaimPending}.
 */
final class ReleasePending implements EntryProcessor<String, String, Boolean> {
  private static final long serialVersionUID = 1L;

  private final String elicitationId;

  ReleasePending(String elicitationId) {
    this.elicitationId = elicitationId;
  }

  @Override
  public Boolean process(Map.Entry<String, String> entry) {
    String current = entry.getValue();
    if (current != null && Elicitation.fromJson(current).id().equals(elicitationId)) {
      entry.setValue(null);
      return true;
    }
    return false;
  }
}
