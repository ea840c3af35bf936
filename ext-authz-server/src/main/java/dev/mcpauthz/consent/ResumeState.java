package dev.mcpauthz.consent;

import java.time.Instant;

/**
 * What a user carries back to their client after consent (issue 4 item 4): which user, server and
 * call the consent was for. Sealed by {@link ResumeStates}, opaque to the client and the browser.
 * It grants nothing by itself (the credential is in the vault, bound to the user), so reading it
 * twice is harmless; the retried call itself is what resumes.
 *
 * @param elicitationId the completed elicitation
 * @param callDigest the call to retry ({@link CallDigest}); empty for a pre-connect
 * @param client the {@code consent.clients[].id} to return to, or null
 */
public record ResumeState(String issuer, String subject, String server, String provider, String elicitationId,
    String callDigest, String client, Instant expiresAt) {}
