package dev.mcpauthz.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The compact token form of record format 2: exact round trips, fallback to raw, malformed input. */
class TokenCodecTest {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  static String jwt(Random r, int payloadBytes) {
    byte[] payload = new byte[payloadBytes];
    byte[] sig = new byte[256];
    r.nextBytes(payload);
    r.nextBytes(sig);
    return B64.encodeToString("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k\"}".getBytes(StandardCharsets.US_ASCII))
        + "." + B64.encodeToString(payload) + "." + B64.encodeToString(sig);
  }

  private static String roundTrip(String token) {
    byte[] e = TokenCodec.encode(token);
    String back = TokenCodec.decode(e, 0, e.length);
    assertThat(back).as("round trip of %s", token).isEqualTo(token);
    return back;
  }

  private static byte form(String token) {
    return TokenCodec.encode(token)[0];
  }

  @Test
  void jwtsJwesAndBase64urlOpaqueTokensTakeThreeQuartersAndComeBackExactly() {
    Random r = new Random(42);
    for (int payload = 0; payload < 1200; payload += 37) {
      String t = jwt(r, payload);
      roundTrip(t);
      assertThat(form(t)).isEqualTo(TokenCodec.SEGMENTS);
      assertThat(TokenCodec.encode(t).length).isLessThanOrEqualTo(t.length() * 3 / 4 + 8);
    }
    // JWE compact: five segments, the encrypted key empty with "dir".
    String jwe = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
    roundTrip(jwe);
    assertThat(form(jwe)).isEqualTo(TokenCodec.SEGMENTS);
    // GitHub: gho_ + 36 base62 = 40 base64url characters.
    String github = "gho_16C7e42F292c6912E7710c838347Ae178B4a";
    roundTrip(github);
    assertThat(form(github)).isEqualTo(TokenCodec.SEGMENTS);
    assertThat(TokenCodec.encode(github)).hasSize(1 + 1 + 30);
  }

  @Test
  void anythingThatWouldNotComeBackIdenticallyStaysRaw() {
    List<String> raw = List.of(
        "eyJ" + "u".repeat(1200),      // 1,203 chars: the last one has non-zero unused bits (non-canonical)
        "abcd.eyJhbGciOi=",             // padding
        "YWJjZA==",                     // padded base64url
        "ab+c/d==",                     // standard base64 alphabet
        "abcde",                        // 4k+1 characters cannot be base64
        "abcd efgh",                    // whitespace
        "abcd\nefgh",
        "tökén-ünïcödé",                // non-ASCII
        "日本語トークン",
        "a.b",                          // one character per segment: 4k+1
        "AB",                           // "AB" decodes to 0x00 but unused bits 0001 ≠ 0 → not canonical
        "",                             // empty
        ".",                            // empty segments only: not smaller than raw
        "..",
        "xy.",
        "abc",                          // shorter or equal than raw: raw wins
        "Bearer abcdefgh");
    for (String t : raw) {
      roundTrip(t);
      assertThat(form(t)).as(t).isEqualTo(TokenCodec.RAW);
    }
    // Canonical but non-minimal-looking inputs still come back exactly.
    for (String t : List.of("AA", "AAA", "AAAA", "____", "----.____", ".AAAA", "AAAA.", "AAAA..AAAA", "QQ.QUE.QUFB", ".AAAAAAAA.AAAA",
        "..AAAAAAAA")) {
      roundTrip(t);
    }
    assertThat(form("AAAA..AAAA")).isEqualTo(TokenCodec.SEGMENTS);
    assertThat(form(".AAAAAAAA.AAAA")).isEqualTo(TokenCodec.SEGMENTS); // leading empty segment
    assertThat(form("..AAAAAAAA")).isEqualTo(TokenCodec.SEGMENTS);
  }

  @Test
  void randomStringsOfTokenCharactersAlwaysRoundTrip() {
    Random r = new Random(7);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ~é";
    int segments = 0;
    for (int i = 0; i < 20_000; i++) {
      int n = r.nextInt(64);
      StringBuilder sb = new StringBuilder();
      boolean b64Only = r.nextBoolean();
      for (int j = 0; j < n; j++) {
        sb.append(alphabet.charAt(r.nextInt(b64Only ? 65 : alphabet.length())));
      }
      String t = sb.toString();
      roundTrip(t);
      if (form(t) == TokenCodec.SEGMENTS) {
        segments++;
        assertThat(TokenCodec.encode(t).length).isLessThan(t.getBytes(StandardCharsets.UTF_8).length + 1);
      }
    }
    assertThat(segments).as("the segment form is exercised").isGreaterThan(1000);
    // Random bytes, base64url-encoded and joined: always the segment form.
    for (int i = 0; i < 2_000; i++) {
      StringBuilder sb = new StringBuilder();
      int parts = 1 + r.nextInt(5);
      for (int p = 0; p < parts; p++) {
        byte[] b = new byte[r.nextInt(300)];
        r.nextBytes(b);
        sb.append(p == 0 ? "" : ".").append(B64.encodeToString(b));
      }
      String t = sb.toString();
      roundTrip(t);
      if (t.length() > 8) {
        assertThat(form(t)).isEqualTo(TokenCodec.SEGMENTS);
      }
    }
  }

  @Test
  void malformedEncodingsAreUnreadableNeverAnotherException() {
    for (byte[] bad : List.of(
        new byte[0],
        new byte[] {7, 1, 2},                       // unknown form
        new byte[] {TokenCodec.SEGMENTS},           // no segment
        new byte[] {TokenCodec.SEGMENTS, 5, 1, 2},  // segment longer than the rest
        new byte[] {TokenCodec.SEGMENTS, (byte) 0x80},                               // truncated varint
        new byte[] {TokenCodec.SEGMENTS, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1})) { // too long
      assertThatThrownBy(() -> TokenCodec.decode(bad, 0, bad.length)).isInstanceOf(UnreadableCredentialException.class);
    }
    Random r = new Random(3);
    byte[] good = TokenCodec.encode(jwt(r, 300));
    for (int i = 0; i < 5_000; i++) {
      byte[] mutated = good.clone();
      mutated[r.nextInt(mutated.length)] = (byte) r.nextInt(256);
      int len = r.nextInt(mutated.length + 1);
      try {
        TokenCodec.decode(mutated, 0, len);
      } catch (UnreadableCredentialException expected) {
        // fine: only this exception type
      }
    }
  }

  @Test
  void everySegmentLengthComesBackExactly() {
    // The encoder takes 6 bytes at a time, then 3, then the 1- or 2-byte tail: every length and
    // every alignment of a segment after another one must come back byte-identical.
    Random random = new Random(5);
    java.util.Base64.Encoder b64 = java.util.Base64.getUrlEncoder().withoutPadding();
    for (int first = 0; first <= 7; first++) {
      for (int len = 1; len <= 64; len++) {
        byte[] a = new byte[Math.max(1, first)];
        byte[] b = new byte[len];
        random.nextBytes(a);
        random.nextBytes(b);
        String t = b64.encodeToString(a) + "." + b64.encodeToString(b);
        byte[] e = TokenCodec.encode(t);
        assertThat(e[0]).as("segment form for %s", t).isEqualTo(TokenCodec.SEGMENTS);
        assertThat(TokenCodec.decode(e, 0, e.length)).isEqualTo(t);
        assertThat(TokenCodec.decode(e, 0, e.length, n -> new byte[n], "Bearer ")).isEqualTo("Bearer " + t);
      }
    }
  }

  @Test
  void decodingZeroesTheScratchItBuiltTheTokenIn() {
    String t = jwt(new Random(1), 500);
    byte[] e = TokenCodec.encode(t);
    byte[] scratch = new byte[4096];
    assertThat(TokenCodec.decode(e, 0, e.length, n -> scratch, "")).isEqualTo(t);
    assertThat(scratch).containsOnly(0);
    // With the Check path's prefix, in both forms (segments, and raw for a non-base64url token).
    assertThat(TokenCodec.decode(e, 0, e.length, n -> scratch, "Bearer ")).isEqualTo("Bearer " + t);
    assertThat(scratch).containsOnly(0);
    byte[] raw = TokenCodec.encode("tökén+/=");
    assertThat(raw[0]).isEqualTo(TokenCodec.RAW);
    assertThat(TokenCodec.decode(raw, 0, raw.length, n -> scratch, "Bearer ")).isEqualTo("Bearer tökén+/=");
    assertThat(scratch).containsOnly(0);
    // An offset inside a larger array works too.
    byte[] shifted = new byte[e.length + 10];
    System.arraycopy(e, 0, shifted, 5, e.length);
    assertThat(TokenCodec.decode(shifted, 5, e.length)).isEqualTo(t);
    assertThat(Arrays.equals(TokenCodec.encode(t), e)).isTrue();
  }
}
