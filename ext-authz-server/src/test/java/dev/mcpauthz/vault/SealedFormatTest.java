package dev.mcpauthz.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Record format 2 (docs/vault.md, "Stored format"): access and refresh token sealed apart in the
 * compact token form, bound to the credential, the key id, the part and each other; format 1
 * records of the previous release still open, and format 1 is still written for such members.
 */
class SealedFormatTest {
  private static final CredentialKey ALICE = new CredentialKey("https://idp.example/realms/corp", "alice", "github");
  private static final KeyRing RING = VaultTestCluster.ring();
  private final CredentialSealer sealer = new CredentialSealer(RING);
  private final Random random = new Random(11);
  private final String access = TokenCodecTest.jwt(random, 850);
  private final String refresh = TokenCodecTest.jwt(random, 500);

  /** The parts of a format-2 array: [flags, accessIv, accessCt, refreshIv, refreshCt]. */
  private static byte[][] parts(byte[] b) {
    int p = 14;
    int n = 0;
    for (int shift = 0; ; shift += 7) {
      byte v = b[p++];
      n |= (v & 0x7F) << shift;
      if (v >= 0) {
        break;
      }
    }
    byte[] accessCt = Arrays.copyOfRange(b, p, p + n);
    boolean hasRefresh = (b[1] & 1) != 0;
    return new byte[][] {{b[1]}, Arrays.copyOfRange(b, 2, 14), accessCt,
        hasRefresh ? Arrays.copyOfRange(b, p + n, p + n + 12) : null,
        hasRefresh ? Arrays.copyOfRange(b, p + n + 12, b.length) : null};
  }

  private static byte[] assemble(byte flags, byte[] accessIv, byte[] accessCt, byte[] refreshIv, byte[] refreshCt) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(2);
    out.write(flags);
    out.writeBytes(accessIv);
    int v = accessCt.length;
    while ((v & ~0x7F) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
    out.writeBytes(accessCt);
    if (refreshIv != null) {
      out.writeBytes(refreshIv);
      out.writeBytes(refreshCt);
    }
    return out.toByteArray();
  }

  @Test
  void formatTwoRoundTripsAndIsAQuarterSmallerForJwts() {
    SealedCredential s = sealer.seal(ALICE, new Secrets(access, refresh));
    assertThat(s.format()).isEqualTo(2);
    assertThat(sealer.open(ALICE, s)).isEqualTo(new Secrets(access, refresh));
    assertThat(sealer.openAccessToken(ALICE, s)).isEqualTo(access);
    SealedCredential one = sealer.seal(ALICE, new Secrets(access, refresh), SealedCredential.FORMAT_1);
    assertThat(one.format()).isEqualTo(1);
    assertThat(sealer.open(ALICE, one)).isEqualTo(new Secrets(access, refresh));
    // ~2 KB of JWT text: format 1 stores it all plus 37 bytes, format 2 about 3/4 of it plus ~60.
    assertThat(one.bytes().length).isEqualTo(1 + 12 + 4 + access.length() + 1 + 4 + refresh.length() + 16);
    assertThat(s.bytes().length).isLessThan((access.length() + refresh.length()) * 3 / 4 + 80);

    SealedCredential noRefresh = sealer.seal(ALICE, new Secrets("gho_16C7e42F292c6912E7710c838347Ae178B4a", null));
    assertThat(sealer.open(ALICE, noRefresh)).isEqualTo(new Secrets("gho_16C7e42F292c6912E7710c838347Ae178B4a", null));
    assertThat(noRefresh.bytes()[1]).isZero();
    // Raw tokens (non-ASCII, non-canonical base64url) round-trip through the sealer too.
    for (String t : List.of("tökén ünïcödé", "eyJ" + "u".repeat(1200), "x", "YWJjZA==")) {
      assertThat(sealer.open(ALICE, sealer.seal(ALICE, new Secrets(t, t + "-r")))).isEqualTo(new Secrets(t, t + "-r"));
    }
  }

  @Test
  void theCheckPathGetsTheReadyBearerHeaderValueInEveryFormAndFormat() {
    for (String t : List.of(access, "gho_16C7e42F292c6912E7710c838347Ae178B4a", "tökén ünïcödé", "YWJjZA==", "x",
        "eyJ" + "u".repeat(5000))) {
      for (int format : new int[] {SealedCredential.FORMAT_2, SealedCredential.FORMAT_1}) {
        SealedCredential s = sealer.seal(ALICE, new Secrets(t, refresh), format);
        assertThat(sealer.openAuthorization(ALICE, s).authorization()).as("%s, format %d", t, format)
            .isEqualTo("Bearer " + t);
        assertThat(sealer.openAccessToken(ALICE, s)).isEqualTo(t);
      }
    }
    // The scratch a prefixed open used is zeroed: a later, shorter token is not followed by its tail.
    sealer.openAuthorization(ALICE, sealer.seal(ALICE, new Secrets("eyJ" + "v".repeat(900), null)));
    assertThat(sealer.openAuthorization(ALICE, sealer.seal(ALICE, new Secrets("eyJh", null))).authorization())
        .isEqualTo("Bearer eyJh");
  }

  @Test
  void theCheckPathAuthenticatesOnlyTheAccessPart() {
    SealedCredential s = sealer.seal(ALICE, new Secrets(access, refresh));
    byte[] b = s.bytes().clone();
    b[b.length - 1] ^= 1; // last byte: the refresh part's tag
    SealedCredential brokenRefresh = new SealedCredential("k1", b);
    assertThat(sealer.openAccessToken(ALICE, brokenRefresh)).isEqualTo(access);
    assertThatThrownBy(() -> sealer.open(ALICE, brokenRefresh)).isInstanceOf(UnreadableCredentialException.class)
        .hasMessageContaining("authentication failed");
  }

  @Test
  void everyTamperedByteOfTheAccessPartOrHeaderFailsToOpen() {
    SealedCredential s = sealer.seal(ALICE, new Secrets("gho_16C7e42F292c6912E7710c838347Ae178B4a", "ghr_" + "x".repeat(76)));
    int accessEnd = s.bytes().length - 12 - (1 + 1 + 57 + 16); // refresh part: iv + ct(form + 57 bytes) + tag
    for (int i = 0; i < s.bytes().length; i++) {
      byte[] b = s.bytes().clone();
      b[i] ^= 0x10;
      SealedCredential t;
      try {
        t = new SealedCredential("k1", b);
      } catch (IllegalArgumentException notAFormat) {
        continue; // the format byte itself
      }
      assertThatThrownBy(() -> sealer.open(ALICE, t)).as("byte %d", i).isInstanceOf(UnreadableCredentialException.class);
      if (i < accessEnd) {
        assertThatThrownBy(() -> sealer.openAccessToken(ALICE, t)).as("byte %d", i)
            .isInstanceOf(UnreadableCredentialException.class);
      }
    }
  }

  @Test
  void partsCannotSwapPlacesNorCombineWithAnotherWrite() {
    SealedCredential s = sealer.seal(ALICE, new Secrets(access, refresh));
    byte[][] p = parts(s.bytes());
    // The refresh part in the access place: it would be injected as a bearer token.
    SealedCredential swapped = new SealedCredential("k1", assemble(p[0][0], p[3], p[4], p[1], p[2]));
    assertThatThrownBy(() -> sealer.openAccessToken(ALICE, swapped)).isInstanceOf(UnreadableCredentialException.class);
    assertThatThrownBy(() -> sealer.open(ALICE, swapped)).isInstanceOf(UnreadableCredentialException.class);
    // Dropping the refresh part (flags cleared) does not leave an openable access part.
    SealedCredential dropped = new SealedCredential("k1", assemble((byte) 0, p[1], p[2], null, null));
    assertThatThrownBy(() -> sealer.openAccessToken(ALICE, dropped)).isInstanceOf(UnreadableCredentialException.class);
    // The refresh part of another write of the same credential.
    byte[][] q = parts(sealer.seal(ALICE, new Secrets(access, "other-refresh")).bytes());
    SealedCredential spliced = new SealedCredential("k1", assemble(p[0][0], p[1], p[2], q[3], q[4]));
    assertThatThrownBy(() -> sealer.open(ALICE, spliced)).isInstanceOf(UnreadableCredentialException.class);
    assertThatThrownBy(() -> sealer.openAccessToken(ALICE, spliced)).isInstanceOf(UnreadableCredentialException.class);
  }

  @Test
  void eachPartIsBoundToIssuerSubjectServerAndKeyId() {
    for (int format : List.of(1, 2)) {
      SealedCredential s = sealer.seal(ALICE, new Secrets(access, refresh), format);
      for (CredentialKey other : List.of(
          new CredentialKey(ALICE.issuer(), "bob", ALICE.serverId()),
          new CredentialKey(ALICE.issuer(), ALICE.subject(), "jira"),
          new CredentialKey("https://other.example", ALICE.subject(), ALICE.serverId()),
          new CredentialKey(ALICE.issuer() + "a", "lice", ALICE.serverId()))) {
        assertThatThrownBy(() -> sealer.openAccessToken(other, s)).isInstanceOf(UnreadableCredentialException.class);
        assertThatThrownBy(() -> sealer.open(other, s)).isInstanceOf(UnreadableCredentialException.class);
      }
      // Relabelled with another key id that has the same key material: the key id is bound too.
      CredentialSealer relabelling = new CredentialSealer(VaultTestCluster.ring("k2", VaultTestCluster.KEY_1));
      SealedCredential relabelled = new SealedCredential("k2", s.bytes());
      assertThatThrownBy(() -> relabelling.openAccessToken(ALICE, relabelled))
          .isInstanceOf(UnreadableCredentialException.class);
      // A format-1 array labelled format 2 (and the reverse) does not open either.
      byte[] b = s.bytes().clone();
      b[0] = (byte) (format == 1 ? 2 : 1);
      assertThatThrownBy(() -> sealer.open(ALICE, new SealedCredential("k1", b)))
          .isInstanceOf(UnreadableCredentialException.class);
    }
  }

  @Test
  void recordsOfThePreviousReleaseOpenAndItOpensFormatOneWrites() throws Exception {
    Format1Legacy.Sealed old = Format1Legacy.seal(RING, ALICE, new Secrets(access, refresh));
    assertThat(sealer.open(ALICE, old.current())).isEqualTo(new Secrets(access, refresh));
    assertThat(sealer.openAccessToken(ALICE, old.current())).isEqualTo(access);
    Format1Legacy.Sealed noRefresh = Format1Legacy.seal(RING, ALICE, new Secrets("at-only", null));
    assertThat(sealer.open(ALICE, noRefresh.current())).isEqualTo(new Secrets("at-only", null));
    // The reverse, for a mixed cluster: the previous release opens what format 1 writes today.
    SealedCredential one = sealer.seal(ALICE, new Secrets(access, refresh), SealedCredential.FORMAT_1);
    assertThat(Format1Legacy.open(RING, ALICE, one.keyId(), one.format1Iv(), one.format1Ciphertext()))
        .isEqualTo(new Secrets(access, refresh));
    // Rotation across formats: a format-1 record under k1 opens with [k2, k1]; new writes are k2, format 2.
    CredentialSealer rotated = new CredentialSealer(
        VaultTestCluster.ring("k2", VaultTestCluster.KEY_2, "k1", VaultTestCluster.KEY_1));
    assertThat(rotated.openAccessToken(ALICE, old.current())).isEqualTo(access);
    SealedCredential fresh = rotated.seal(ALICE, new Secrets(access, refresh));
    assertThat(fresh.keyId()).isEqualTo("k2");
    assertThat(fresh.format()).isEqualTo(2);
    assertThatThrownBy(() -> sealer.open(ALICE, fresh)).isInstanceOf(UnreadableCredentialException.class);
    // A tampered format-1 record still fails.
    byte[] ct = old.ciphertext().clone();
    ct[3] ^= 1;
    assertThatThrownBy(() -> sealer.openAccessToken(ALICE, SealedCredential.format1("k1", old.iv(), ct)))
        .isInstanceOf(UnreadableCredentialException.class);
  }

  @Test
  void associatedDataIsByteForByteWhatDataOutputStreamWrote() throws Exception {
    Random r = new Random(5);
    for (int i = 0; i < 2_000; i++) {
      CredentialKey key = new CredentialKey(randomString(r), randomString(r), randomString(r));
      String keyId = randomString(r);
      assertThat(CredentialSealer.aadFormat1(key, keyId)).isEqualTo(Format1Legacy.associatedData(key, keyId));
    }
  }

  private static String randomString(Random r) {
    StringBuilder sb = new StringBuilder();
    int n = r.nextInt(12);
    for (int i = 0; i < n; i++) {
      sb.append(switch (r.nextInt(6)) {
        case 0 -> '\u0000';
        case 1 -> (char) (0x80 + r.nextInt(0x780));     // two bytes
        case 2 -> (char) (0x800 + r.nextInt(0xD000));   // three bytes
        case 3 -> Character.highSurrogate(0x1F600 + r.nextInt(64));
        default -> (char) (0x20 + r.nextInt(0x5F));
      });
    }
    return sb.toString();
  }

  @Test
  void malformedFormatTwoArraysAreUnreadable() {
    byte[] good = sealer.seal(ALICE, new Secrets(access, refresh)).bytes();
    // A truncated refresh part fails the refresh, not a Check (which never reads it).
    byte[] shortRefresh = Arrays.copyOf(good, good.length - 20);
    assertThatThrownBy(() -> sealer.open(ALICE, new SealedCredential("k1", shortRefresh)))
        .isInstanceOf(UnreadableCredentialException.class);
    assertThat(sealer.openAccessToken(ALICE, new SealedCredential("k1", shortRefresh))).isEqualTo(access);
    byte[] noRefreshTag = Arrays.copyOf(good, parts(good)[2].length + 15 + 12 + 15);
    List<byte[]> bad = new ArrayList<>(List.of(
        Arrays.copyOf(good, 14),                          // nothing after the access nonce
        Arrays.copyOf(good, 20),                          // truncated access part
        noRefreshTag));                                   // a refresh part shorter than a tag
    byte[] flags = good.clone();
    flags[1] = 0x7F;
    bad.add(flags);
    byte[] varint = good.clone();
    Arrays.fill(varint, 14, 18, (byte) 0xFF);
    bad.add(varint);
    for (byte[] b : bad) {
      assertThatThrownBy(() -> sealer.open(ALICE, new SealedCredential("k1", b)))
          .isInstanceOf(UnreadableCredentialException.class);
      assertThatThrownBy(() -> sealer.openAccessToken(ALICE, new SealedCredential("k1", b)))
          .isInstanceOf(UnreadableCredentialException.class);
    }
    assertThatThrownBy(() -> new SealedCredential("k1", new byte[] {3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void pooledDecryptionIsCorrectUnderConcurrencyAndForLargeTokens() throws Exception {
    int n = 64;
    List<CredentialKey> keys = new ArrayList<>();
    List<String> tokens = new ArrayList<>();
    List<SealedCredential> sealed = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      CredentialKey k = new CredentialKey("https://idp", "user-" + i, "srv");
      String t = i % 3 == 0 ? "raw token ü " + i : TokenCodecTest.jwt(random, 10 + 40 * i);
      keys.add(k);
      tokens.add(t);
      sealed.add(sealer.seal(k, new Secrets(t, "r-" + i), i % 2 == 0 ? 2 : 1));
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> runs = new ArrayList<>();
      for (int th = 0; th < 8; th++) {
        int seed = th;
        runs.add(pool.submit(() -> {
          Random r = new Random(seed);
          for (int i = 0; i < 3_000; i++) {
            int j = r.nextInt(n);
            if (r.nextInt(10) == 0) {
              // a failing open in between must not poison a pooled cipher
              assertThatThrownBy(() -> sealer.openAccessToken(keys.get((j + 1) % n), sealed.get(j)))
                  .isInstanceOf(UnreadableCredentialException.class);
            }
            assertThat(sealer.openAccessToken(keys.get(j), sealed.get(j))).isEqualTo(tokens.get(j));
          }
        }));
      }
      for (Future<?> f : runs) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    String huge = TokenCodecTest.jwt(random, 200_000);
    String hugeRaw = "ü".repeat(70_000);
    assertThat(sealer.openAccessToken(ALICE, sealer.seal(ALICE, new Secrets(huge, null)))).isEqualTo(huge);
    assertThat(sealer.open(ALICE, sealer.seal(ALICE, new Secrets(hugeRaw, huge)))).isEqualTo(new Secrets(hugeRaw, huge));
  }
}
