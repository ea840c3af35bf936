package dev.mcpauthz.it.browser;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;

/**
 * The real browser works end to end on this machine: Debian's Chromium, driven through
 * chromedriver, fills and posts a form served by a loopback Jetty, keeps a cookie across the
 * round trip, takes PNG screenshots, survives links to URI schemes it has no handler for (and
 * reports their targets), and leaves no process or profile behind.
 */
class BrowserSmokeTest {
  static Server jetty;
  static URI base;
  /** What the server saw on the POST: the form value and the cookie. */
  static final Map<String, String> received = new ConcurrentHashMap<>();
  static final String COOKIE_VALUE = UUID.randomUUID().toString();

  static final String FORM = """
      <!doctype html><html><head><meta charset="utf-8"><title>smoke form</title></head><body>
      <h1>Connect your account</h1>
      <form method="post" action="/submit">
        <label>Greeting <input type="text" name="greeting" id="greeting-field"></label>
        <button type="submit" id="send">Send</button>
      </form></body></html>
      """;

  static final String RESULT = """
      <!doctype html><html><head><meta charset="utf-8"><title>smoke result</title></head><body>
      <p id="echo">Received: %s</p>
      <a id="back" href="vscode://mcp-authz.test/resume?elicitation=abc&amp;state=1">Return to VS Code</a>
      <button id="scripted" onclick="location.href='cursor://mcp-authz.test/resume?x=2'">Return to Cursor</button>
      </body></html>
      """;

  @BeforeAll
  static void startServer() throws Exception {
    jetty = new Server();
    ServerConnector connector = new ServerConnector(jetty);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    jetty.addConnector(connector);
    jetty.setHandler(new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String path = Request.getPathInContext(request);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html; charset=utf-8");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
        if ("GET".equals(request.getMethod()) && "/form".equals(path)) {
          Response.addCookie(response, HttpCookie.build("smoke", COOKIE_VALUE).path("/").httpOnly(true).build());
          Content.Sink.write(response, true, FORM, callback);
        } else if ("POST".equals(request.getMethod()) && "/submit".equals(path)) {
          Map<String, String> form = parseForm(Content.Source.asString(request, StandardCharsets.UTF_8));
          String greeting = form.getOrDefault("greeting", "");
          received.put("greeting", greeting);
          Request.getCookies(request).stream().filter(c -> c.getName().equals("smoke"))
              .findFirst().ifPresent(c -> received.put("cookie", c.getValue()));
          Content.Sink.write(response, true, RESULT.formatted(escape(greeting)), callback);
        } else if ("/redirect".equals(path)) {
          // What a consent callback may answer: straight back to the MCP client's deep link.
          response.setStatus(302);
          response.getHeaders().put(HttpHeader.LOCATION, "vscode://mcp-authz.test/from-redirect?ok=1");
          callback.succeeded();
        } else {
          response.setStatus(404);
          Content.Sink.write(response, true, "not found", callback);
        }
        return true;
      }
    });
    jetty.start();
    base = URI.create("http://127.0.0.1:" + connector.getLocalPort());
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (jetty != null) {
      jetty.stop();
    }
  }

  @Test
  void fillsPostsKeepsCookiesScreenshotsAndCapturesCustomSchemeLinks() throws Exception {
    Browser browser = Browser.start(BrowserSmokeTest.class);
    Path profile = browser.profileDir();
    var processes = browser.processes();
    try (browser) {
      assertThat(processes).as("chromedriver and the browser it started").hasSizeGreaterThanOrEqualTo(2);
      browser.open(base.resolve("/form"));
      assertThat(browser.title()).isEqualTo("smoke form");
      assertThat(browser.cookie("smoke")).hasValueSatisfying(c -> {
        assertThat(c.getValue()).isEqualTo(COOKIE_VALUE);
        assertThat(c.isHttpOnly()).isTrue();
      });

      browser.fill("greeting", "héllo wörld");
      assertThat(browser.property(By.id("greeting-field"), "value")).isEqualTo("héllo wörld");
      Path filled = browser.screenshot("1-form-filled");
      browser.clickText("Send");

      assertThat(browser.waitForText("Received: héllo wörld")).contains("Return to VS Code");
      assertThat(browser.currentUrl()).isEqualTo(base.resolve("/submit").toString());
      assertThat(received).containsEntry("greeting", "héllo wörld").containsEntry("cookie", COOKIE_VALUE);
      Path result = browser.screenshot("2-result");

      for (Path png : new Path[] {filled, result}) {
        assertThat(png).exists().hasParent(Path.of("target", "screenshots", "BrowserSmokeTest").toAbsolutePath());
        byte[] bytes = Files.readAllBytes(png);
        assertThat(bytes.length).isGreaterThan(1000);
        assertThat(java.util.Arrays.copyOf(bytes, 8))
            .as("PNG signature").containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n');
      }

      // A deep link back to the MCP client: read without following, and followed by a click.
      assertThat(browser.hrefOf(By.id("back"))).isEqualTo("vscode://mcp-authz.test/resume?elicitation=abc&state=1");
      assertThat(browser.clickAndCaptureNavigation(By.id("back"), "vscode:"))
          .isEqualTo("vscode://mcp-authz.test/resume?elicitation=abc&state=1");
      // The same through a script that sets location.
      assertThat(browser.clickAndCaptureNavigation(By.id("scripted"), "cursor:"))
          .isEqualTo("cursor://mcp-authz.test/resume?x=2");
      // Again: each one is captured, none is handed to the (absent) external handler.
      assertThat(browser.clickAndCaptureNavigation(By.id("back"), "vscode:"))
          .isEqualTo("vscode://mcp-authz.test/resume?elicitation=abc&state=1");
      assertThat(browser.capturedInPage()).containsExactly("vscode://mcp-authz.test/resume?elicitation=abc&state=1",
          "cursor://mcp-authz.test/resume?x=2", "vscode://mcp-authz.test/resume?elicitation=abc&state=1");
      // None crashed the browser nor left the page.
      assertThat(browser.currentUrl()).isEqualTo(base.resolve("/submit").toString());
      assertThat(browser.pageText()).contains("Received: héllo wörld");
      browser.screenshot("3-after-custom-scheme");

      // A server redirect to a custom scheme is seen in the browser's network events.
      browser.open(base.resolve("/redirect"));
      assertThat(browser.awaitNavigation("vscode://mcp-authz.test/from-redirect"))
          .isEqualTo("vscode://mcp-authz.test/from-redirect?ok=1");
      browser.open(base.resolve("/form"));
      assertThat(browser.title()).as("still usable after the redirect").isEqualTo("smoke form");
    }
    assertThat(processes).as("no chromedriver or Chromium process outlives close()").noneMatch(ProcessHandle::isAlive);
    assertThat(profile).as("the temp profile is deleted").doesNotExist();
  }

  @Test
  void aMissingBrowserFailsWithWhatToRun() {
    assertThatThrownBy(() -> Browser.requireInstalled(Path.of("/nonexistent/chromium"), Browser.CHROMEDRIVER))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("/nonexistent/chromium (Debian package chromium)")
        .hasMessageContaining("./dev test");
  }

  private static Map<String, String> parseForm(String body) {
    Map<String, String> out = new HashMap<>();
    for (String pair : body.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
