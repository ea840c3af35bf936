package dev.mcpauthz.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyGlobTest {
  @ParameterizedTest(name = "{0} ~ {1} (segmented={2}) = {3}")
  @CsvSource({
      "get_*, get_issue, false, true",
      "get_*, list_issue, false, false",
      "get_*, get_, false, true",
      "*, anything/at/all, false, true",
      "notifications/*, notifications/initialized, false, true",
      "get_?, get_x, false, true",
      "get_?, get_xy, false, false",
      "a*b*c, aXXbYYc, false, true",
      "a*b*c, aXXbYY, false, false",
      "get\\*, get*, false, true",
      "get\\*, getx, false, false",
      "repo://acme/*/README.md, repo://acme/web/README.md, true, true",
      "repo://acme/*/README.md, repo://acme/web/sub/README.md, true, false",
      "repo://acme/**, repo://acme/web/sub/README.md, true, true",
      "repo://acme/**/README.md, repo://acme/a/b/README.md, true, true",
      "file:///?, file:///a, true, true",
      "file:///?, file:////, true, false",
  })
  void matches(String pattern, String name, boolean segmented, boolean expected) {
    assertThat(Glob.compile(pattern, segmented).matches(name)).isEqualTo(expected);
  }

  @Test
  void refusesNonsense() {
    assertThatThrownBy(() -> Glob.compile("", false)).hasMessageContaining("empty");
    assertThatThrownBy(() -> Glob.compile("a***", false)).hasMessageContaining("***");
    assertThatThrownBy(() -> Glob.compile("a\\", false)).hasMessageContaining("escape");
    assertThat(Glob.isPattern("get\\*")).isFalse();
    assertThat(Glob.unescape("get\\*")).isEqualTo("get*");
  }

  @Test
  void hostileNamesStayLinear() {
    Glob g = Glob.compile("*a*a*a*a*a*a*a*a*a*a*b", false);
    String name = "a".repeat(ServerPolicy.MAX_NAME_CHARS);
    long start = System.nanoTime();
    assertThat(g.matches(name)).isFalse();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(500));
  }

  @Test
  void dotSegmentsAreRecognisedInEveryDisguise() {
    assertThat(ServerPolicy.hasDotSegment("repo://a/../b")).isTrue();
    assertThat(ServerPolicy.hasDotSegment("repo://a/%2E%2e/b")).isTrue();
    assertThat(ServerPolicy.hasDotSegment("repo://a/.")).isTrue();
    assertThat(ServerPolicy.hasDotSegment("repo://a/..%2Fb")).isTrue();
    assertThat(ServerPolicy.hasDotSegment("repo://a/...b/c.d")).isFalse();
  }
}
