package dev.mcpauthz.consent;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.config.Config;
import dev.mcpauthz.cluster.ClusterMember;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.decision.ConsentReason;
import dev.mcpauthz.testing.MutableClock;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The elicitation store on a real Hazelcast member: opaque ids, reuse while pending, expiry, safe links. */
class ElicitationStoreTest {
  private static final Duration TTL = Duration.ofMinutes(10);
  private static ClusterMember member;
  private static ExecutorService executor;

  @BeforeAll
  static void start() throws Exception {
    int port;
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    AuthzConfig.Cluster cluster = new AuthzConfig.Cluster("elicitations-" + System.nanoTime(), "127.0.0.1", port,
        List.of(), null, null);
    Config config = ClusterMember.memberConfig(cluster, new AuthzConfig(null, null, null, null, null, null, null, null,
        null, null, null).vault(), new AuthzConfig.Consent(null, TTL), null);
    assertThat(config.getMapConfig(ElicitationStore.MAP_NAME).getTimeToLiveSeconds()).isEqualTo(600);
    member = ClusterMember.start(config);
    executor = Executors.newFixedThreadPool(2, r -> new Thread(r, "store-callbacks"));
  }

  @AfterAll
  static void stop() {
    member.close();
    executor.shutdownNow();
  }

  private final MutableClock clock = MutableClock.at(Instant.parse("2026-12-01T10:00:00Z"));
  private final ElicitationStore store = new ElicitationStore(member.hazelcast(), TTL, clock, executor);

  private static ElicitationStore.Request request(String subject, ConsentReason reason, String... scopes) {
    return new ElicitationStore.Request("https://idp.example.com/realms/a", subject, "github", "gh", List.of(scopes),
        reason, CallDigest.of("tools/call", "search", null, false), null);
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(10, TimeUnit.SECONDS);
  }

  @Test
  void idsAre256RandomBitsInUrlSafeBase64() {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 1000; i++) {
      String id = ElicitationStore.newId();
      assertThat(id).matches("[A-Za-z0-9_-]{43}");
      assertThat(Base64.getUrlDecoder().decode(id)).hasSize(32);
      ids.add(id);
    }
    assertThat(ids).hasSize(1000);
  }

  @Test
  void theSamePendingConsentIsReusedAndDifferentOnesAreNot() throws Exception {
    Elicitation first = get(store.mint(request("alice", ConsentReason.SCOPE_ESCALATION, "read:user", "repo")));
    Elicitation again = get(store.mint(request("alice", ConsentReason.SCOPE_ESCALATION, "repo", "read:user")));
    assertThat(again).isEqualTo(first);
    assertThat(first.expiresAt()).isEqualTo(clock.instant().plus(TTL));
    assertThat(first.scopes()).containsExactly("read:user", "repo");

    assertThat(get(store.mint(request("bob", ConsentReason.SCOPE_ESCALATION, "read:user", "repo"))).id())
        .isNotEqualTo(first.id());
    assertThat(get(store.mint(request("alice", ConsentReason.REVOKED, "read:user", "repo"))).id())
        .isNotEqualTo(first.id());
    assertThat(get(store.mint(request("alice", ConsentReason.SCOPE_ESCALATION, "read:user"))).id())
        .isNotEqualTo(first.id());
    assertThat(get(store.find(first.id()))).contains(first);
  }

  @Test
  void concurrentPromptsForOneConsentShareOneElicitation() throws Exception {
    List<CompletableFuture<Elicitation>> all = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      all.add(store.mint(request("carol", ConsentReason.FIRST_CONSENT, "read:user")));
    }
    Set<String> ids = new HashSet<>();
    for (var f : all) {
      ids.add(get(f).id());
    }
    assertThat(ids).hasSize(1);
    assertThat(get(store.find(ids.iterator().next()))).isPresent();
    // The losing candidates are deleted: only the winner is resolvable, so the map holds one id entry per prompt.
    long idEntries = member.hazelcast().<String, String>getMap(ElicitationStore.MAP_NAME).keySet().stream()
        .filter(k -> k.startsWith("id:"))
        .filter(k -> store.find(k.substring(3)).join().filter(e -> e.subject().equals("carol")).isPresent())
        .count();
    assertThat(idEntries).isEqualTo(1);
  }

  @Test
  void anExpiredElicitationIsGoneAndTheNextPromptGetsANewOne() throws Exception {
    Elicitation first = get(store.mint(request("dave", ConsentReason.FIRST_CONSENT, "read:user")));
    var entry = member.hazelcast().<String, String>getMap(ElicitationStore.MAP_NAME).getEntryView("id:" + first.id());
    // Hazelcast evicts it by itself, too, after a grace period in which a late click reads "expired".
    assertThat(entry.getTtl()).isEqualTo(TTL.plus(ElicitationStore.EXPIRED_GRACE).toMillis());

    clock.advance(TTL);
    assertThat(get(store.find(first.id()))).isEmpty();
    Elicitation late = get(store.lookup(first.id())).orElseThrow();
    assertThat(late.expiredAt(clock.instant())).isTrue();
    assertThat(late.completed()).isFalse();
    Elicitation next = get(store.mint(request("dave", ConsentReason.FIRST_CONSENT, "read:user")));
    assertThat(next.id()).isNotEqualTo(first.id());
    assertThat(get(store.find(next.id()))).contains(next);
  }

  @Test
  void completingFreesThePendingSlotSoTheNextPromptGetsANewLink() throws Exception {
    Elicitation first = get(store.mint(request("erin", ConsentReason.FIRST_CONSENT, "read:user")));
    Elicitation done = get(store.complete(first));
    assertThat(done.completed()).isTrue();
    assertThat(get(store.lookup(first.id()))).contains(done);
    assertThat(get(store.find(first.id()))).contains(done); // still live until its expiry: the page shows "resume"

    Elicitation later = get(store.mint(request("erin", ConsentReason.FIRST_CONSENT, "read:user")));
    assertThat(later.id()).isNotEqualTo(first.id());
    assertThat(later.completed()).isFalse();
  }

  @Test
  void completingAnOldElicitationLeavesANewerPromptsSlotAlone() throws Exception {
    Elicitation old = get(store.mint(request("fay", ConsentReason.FIRST_CONSENT, "read:user")));
    clock.advance(TTL);
    Elicitation newer = get(store.mint(request("fay", ConsentReason.FIRST_CONSENT, "read:user")));
    get(store.complete(old));
    assertThat(get(store.mint(request("fay", ConsentReason.FIRST_CONSENT, "read:user"))).id()).isEqualTo(newer.id());
  }

  @Test
  void unknownIdsAreNotFound() throws Exception {
    assertThat(get(store.find(ElicitationStore.newId()))).isEmpty();
  }

  @Test
  void theConsentLinkCarriesOnlyTheOpaqueId() throws Exception {
    Elicitation e = get(store.mint(request("erin@example.com", ConsentReason.FIRST_CONSENT, "read:user")));
    String url = ConsentLinks.of(URI.create("https://gw.example.com/"), () -> 1).start(e.id());
    assertThat(url).isEqualTo("https://gw.example.com/auth/start?elicitation=" + e.id());
    assertThat(url).doesNotContain("erin", "idp.example.com", "github", "read:user", e.callDigest());
    assertThat(ConsentLinks.of(null, () -> 8123).start("x")).isEqualTo("http://127.0.0.1:8123/auth/start?elicitation=x");
    // Nor do the map's keys name the user.
    assertThat(member.hazelcast().<String, String>getMap(ElicitationStore.MAP_NAME).keySet())
        .noneMatch(k -> k.contains("erin"));
  }

  @Test
  void theCallDigestIgnoresKeyOrderAndWhitespaceButNotValues() throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    String a = CallDigest.of("tools/call", "search", json.readTree("{\"q\":\"x\",\"n\":{\"b\":1,\"a\":[1,2]}}"), false);
    String b = CallDigest.of("tools/call", "search", json.readTree("{ \"n\": {\"a\":[1,2], \"b\":1}, \"q\":\"x\" }"), false);
    String c = CallDigest.of("tools/call", "search", json.readTree("{\"q\":\"y\",\"n\":{\"b\":1,\"a\":[1,2]}}"), false);
    assertThat(a).isEqualTo(b).isNotEqualTo(c).matches("[0-9a-f]{64}");
    assertThat(CallDigest.of("tools/call", "other", null, false)).isNotEqualTo(CallDigest.of("tools/call", "search", null, false));
  }
}
