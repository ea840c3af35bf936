package dev.mcpauthz.it.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Unit tests of the Envoy HeaderMapImpl / string utility semantics the emulator relies on. */
class EnvoyEmulatorHeaderMapTest {

  @Test
  void pseudoHeadersStayInFrontAndHostIsAuthority() {
    EnvoyHeaderMap h = new EnvoyHeaderMap(EnvoyHeaderMap.Type.REQUEST);
    h.add("X-A", "1");
    h.add("Host", "example");
    h.set(":path", "/p");
    h.add("x-b", "2");

    assertThat(h.entries()).extracting(Map.Entry::getKey).containsExactly(":authority", ":path", "x-a", "x-b");
    assertThat(h.getFirst("host")).isEqualTo("example");
    h.set("host", "other");
    assertThat(h.get(":authority")).containsExactly("other");
  }

  @Test
  void addCopyDuplicatesRegularHeadersButJoinsInlineOnes() {
    EnvoyHeaderMap h = new EnvoyHeaderMap(EnvoyHeaderMap.Type.REQUEST);
    h.add("x-custom", "a");
    h.add("x-custom", "b");
    h.add("user-agent", "a");
    h.add("user-agent", "b");
    h.add("user-agent", "");

    assertThat(h.get("x-custom")).containsExactly("a", "b");
    assertThat(h.get("user-agent")).containsExactly("a,b");
  }

  @Test
  void responseMapsHaveTheirOwnInlineSet() {
    EnvoyHeaderMap h = new EnvoyHeaderMap(EnvoyHeaderMap.Type.RESPONSE);
    h.add("location", "/a");
    h.add("location", "/b");
    h.add("user-agent", "x"); // not inline in response maps
    h.add("user-agent", "y");
    h.add("host", "not-special");

    assertThat(h.get("location")).containsExactly("/a,/b");
    assertThat(h.get("user-agent")).containsExactly("x", "y");
    assertThat(h.get("host")).containsExactly("not-special");
  }

  @Test
  void appendJoinsOntoTheFirstEntryWithCookieDelimiterAndSetReplacesAll() {
    EnvoyHeaderMap h = new EnvoyHeaderMap(EnvoyHeaderMap.Type.REQUEST);
    h.add("x-a", "1");
    h.add("x-a", "2");
    h.add("cookie", "a=1");
    h.append("x-a", "3");
    h.append("cookie", "b=2");
    h.append("x-new", "n");

    assertThat(h.get("x-a")).containsExactly("1,3", "2");
    assertThat(h.get("cookie")).containsExactly("a=1; b=2");
    assertThat(h.get("x-new")).containsExactly("n");

    h.set("X-A", "only");
    assertThat(h.get("x-a")).containsExactly("only");
    assertThat(h.entries().get(h.size() - 1)).isEqualTo(Map.entry("x-a", "only"));
  }

  @Test
  void onlyPseudoHeadersAndHostAreUnremovable() {
    assertThat(EnvoyHeaderMap.isRemovableHeader("authorization")).isTrue();
    assertThat(EnvoyHeaderMap.isRemovableHeader(":path")).isFalse();
    assertThat(EnvoyHeaderMap.isRemovableHeader("Host")).isFalse();
  }

  @Test
  void sanitizeUtf8ReplacesEachBadByteWithBang() {
    assertThat(EnvoyStrings.sanitizeUtf8("héllo".getBytes(StandardCharsets.UTF_8))).isEqualTo("héllo");
    assertThat(EnvoyStrings.sanitizeUtf8(new byte[] {'a', (byte) 0xFF, 'b'})).isEqualTo("a!b");
    // a truncated 3-byte sequence: both octets are replaced
    assertThat(EnvoyStrings.sanitizeUtf8(new byte[] {'a', (byte) 0xE2, (byte) 0x82})).isEqualTo("a!!");
    // overlong encoding and UTF-16 surrogate are not structurally valid
    assertThat(EnvoyStrings.sanitizeUtf8(new byte[] {(byte) 0xC0, (byte) 0xAF})).isEqualTo("!!");
    assertThat(EnvoyStrings.sanitizeUtf8(new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})).isEqualTo("!!!");
  }

  @Test
  void dateHeaderIsImfFixdate() {
    assertThat(EnvoyStrings.httpDate(ZonedDateTime.of(2026, 3, 5, 7, 8, 9, 0, ZoneOffset.UTC)))
        .isEqualTo("Thu, 05 Mar 2026 07:08:09 GMT");
  }

  @Test
  void defaultsAreEnvoysDefaults() {
    ExtAuthzFilterConfig cfg = ExtAuthzFilterConfig.builder("127.0.0.1:1").build();
    assertThat(cfg.timeout()).isEqualTo(java.time.Duration.ofMillis(200));
    assertThat(cfg.failureModeAllow()).isFalse();
    assertThat(cfg.failureModeAllowHeaderAdd()).isFalse();
    assertThat(cfg.statusOnError()).isEqualTo(403);
    assertThat(cfg.withRequestBody()).isFalse();
    assertThat(cfg.encodeRawHeaders()).isFalse();
    assertThat(cfg.enableDynamicMetadataIngestion()).isTrue();
    assertThat(cfg.okHeadersMode()).isEqualTo(ExtAuthzFilterConfig.OkHeadersMode.LEGACY_APPEND_FIELD);
  }

  @Test
  void statusOnErrorFallsBackLikeEnvoysToErrorCode() {
    ExtAuthzFilterConfig.Builder b = ExtAuthzFilterConfig.builder("127.0.0.1:1");
    assertThat(b.build().effectiveStatusOnError()).isEqualTo(403);
    assertThat(b.statusOnError(503).build().effectiveStatusOnError()).isEqualTo(503);
    assertThat(b.statusOnError(0).build().effectiveStatusOnError()).isEqualTo(403);
    assertThat(b.statusOnError(600).build().effectiveStatusOnError()).isEqualTo(403);
  }
}
