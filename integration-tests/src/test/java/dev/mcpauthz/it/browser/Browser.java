package dev.mcpauthz.it.browser;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.logging.Level;
import java.util.stream.Stream;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real headless Chromium (Debian's {@code chromium} package) driven through Debian's
 * {@code chromedriver}, both given by path so Selenium Manager never looks for or downloads a
 * browser or a driver. Every instance has a new, empty profile in a temp directory, deleted on
 * {@link #close()}, which also always ends the browser and the chromedriver process.
 *
 * <p>Helpers are what an end-to-end consent test needs: open a URL, read the current URL and the
 * page text, click by id or visible text, fill a field by name or id, read attributes and
 * cookies, take named screenshots ({@code target/screenshots/<TestClass>/<step>.png}), and observe
 * a navigation to a URI scheme the browser has no handler for ({@code vscode://…}) without
 * following it ({@link #hrefOf}, {@link #clickAndCaptureNavigation}).
 */
public final class Browser implements AutoCloseable {
  public static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  public static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  /** How long the helpers wait for an element, a URL or a text before failing. */
  public static final Duration WAIT = Duration.ofSeconds(10);

  private final ChromeDriverService service;
  private final ChromeDriver driver;
  private final Path profile;
  private final Path screenshots;
  private final ProcessHandle chromedriverProcess;
  private static final org.openqa.selenium.json.Json JSON = new org.openqa.selenium.json.Json();
  /**
   * Selenium looks for DevTools bindings matching the browser's version and logs a warning when
   * none matches; this class needs none (CDP commands go through chromedriver).
   */
  private static final java.util.logging.Logger CDP_FINDER =
      java.util.logging.Logger.getLogger("org.openqa.selenium.devtools.CdpVersionFinder");

  static {
    CDP_FINDER.setLevel(Level.SEVERE);
  }

  /** Navigation events read so far from the performance log (which is drained on each read). */
  private final List<Map<String, Object>> events = new CopyOnWriteArrayList<>();
  private boolean closed;

  private Browser(Path screenshots) throws IOException {
    requireInstalled();
    this.screenshots = screenshots;
    this.profile = Files.createTempDirectory("mcp-authz-chromium-");
    ChromeDriverService svc = null;
    ChromeDriver drv = null;
    try {
      svc = new ChromeDriverService.Builder()
          .usingDriverExecutable(CHROMEDRIVER.toFile())
          .usingAnyFreePort()
          .withLogOutput(java.io.OutputStream.nullOutputStream())
          .build();
      svc.start();
      ChromeOptions options = new ChromeOptions();
      options.setBinary(CHROMIUM.toFile());
      options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--disable-dev-shm-usage", "--no-default-browser-check", "--window-size=1280,900",
          "--user-data-dir=" + profile);
      // Page events from the browser's DevTools protocol, read through chromedriver's performance
      // log: works with any Chromium version (no version-specific selenium-devtools module).
      LoggingPreferences logs = new LoggingPreferences();
      logs.enable(LogType.PERFORMANCE, Level.ALL);
      options.setCapability("goog:loggingPrefs", logs);
      options.setExperimentalOption("perfLoggingPrefs", Map.of("enableNetwork", true, "enablePage", true));
      drv = new ChromeDriver(svc, options);
      drv.manage().timeouts().pageLoadTimeout(Duration.ofSeconds(30));
      drv.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", CAPTURE_SCRIPT));
      drv.get("about:blank");
    } catch (RuntimeException | IOException e) {
      if (drv != null) {
        drv.quit();
      }
      if (svc != null) {
        svc.stop();
      }
      deleteProfile(profile);
      throw e;
    }
    this.service = svc;
    this.driver = drv;
    this.chromedriverProcess = findChromedriver(svc).orElse(null);
  }

  /** Starts a browser whose screenshots go to {@code target/screenshots/<testClass simple name>/}. */
  public static Browser start(Class<?> testClass) {
    String base = System.getProperty("screenshots.dir", Path.of("target", "screenshots").toString());
    try {
      return new Browser(Path.of(base, testClass.getSimpleName()).toAbsolutePath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Fails (never skips) with what to run when Debian's chromium or chromedriver is missing. */
  public static void requireInstalled() {
    requireInstalled(CHROMIUM, CHROMEDRIVER);
  }

  static void requireInstalled(Path chromium, Path chromedriver) {
    List<String> missing = new ArrayList<>();
    if (!Files.isExecutable(chromium)) {
      missing.add(chromium + " (Debian package chromium)");
    }
    if (!Files.isExecutable(chromedriver)) {
      missing.add(chromedriver + " (Debian package chromium-driver)");
    }
    if (!missing.isEmpty()) {
      throw new IllegalStateException("The browser tests need " + String.join(" and ", missing)
          + ". Run ./dev test, which installs them (as root: apt-get install -y chromium chromium-driver).");
    }
  }

  public WebDriver driver() {
    return driver;
  }

  // ---- navigation and reading ------------------------------------------------------------------

  public Browser open(String url) {
    driver.get(url);
    return this;
  }

  public Browser open(URI url) {
    return open(url.toString());
  }

  public String currentUrl() {
    return driver.getCurrentUrl();
  }

  public String title() {
    return driver.getTitle();
  }

  /** The visible text of the page ({@code body.innerText}). */
  public String pageText() {
    return find(By.tagName("body")).getText();
  }

  /** The page's HTML as the browser has it now. */
  public String pageSource() {
    return driver.getPageSource();
  }

  /** Waits (bounded) for the element; a timeout names the element, the current URL and the page text. */
  public WebElement find(By by) {
    try {
      return new WebDriverWait(driver, WAIT).until(d -> {
        List<WebElement> found = d.findElements(by);
        return found.isEmpty() ? null : found.get(0);
      });
    } catch (org.openqa.selenium.TimeoutException e) {
      throw new AssertionError(by + " not found within " + WAIT.toSeconds() + " s; URL " + currentUrl()
          + ", text: " + safePageText(), e);
    }
  }

  private String safePageText() {
    try {
      List<WebElement> body = driver.findElements(By.tagName("body"));
      return body.isEmpty() ? "(no body)" : body.get(0).getText();
    } catch (RuntimeException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }

  public boolean exists(By by) {
    return !driver.findElements(by).isEmpty();
  }

  public String attribute(By by, String name) {
    return find(by).getDomAttribute(name);
  }

  /** The resolved value of a DOM property (e.g. {@code href} as an absolute URL, {@code value}). */
  public String property(By by, String name) {
    return find(by).getDomProperty(name);
  }

  // ---- acting ----------------------------------------------------------------------------------

  public Browser clickId(String id) {
    return click(By.id(id));
  }

  /** Clicks the first button, link or submit input whose visible text (or value) is {@code text}. */
  public Browser clickText(String text) {
    String q = xpathLiteral(text);
    return click(By.xpath("//button[normalize-space(.)=" + q + "] | //a[normalize-space(.)=" + q + "]"
        + " | //input[(@type='submit' or @type='button') and @value=" + q + "]"));
  }

  public Browser click(By by) {
    WebElement e;
    try {
      e = new WebDriverWait(driver, WAIT).until(d -> {
        List<WebElement> found = d.findElements(by);
        return !found.isEmpty() && found.get(0).isDisplayed() && found.get(0).isEnabled() ? found.get(0) : null;
      });
    } catch (org.openqa.selenium.TimeoutException timeout) {
      throw new AssertionError(by + " not clickable within " + WAIT.toSeconds() + " s; URL " + currentUrl()
          + ", text: " + safePageText(), timeout);
    }
    e.click();
    return this;
  }

  /** Types into the field whose {@code name} or {@code id} is {@code nameOrId}, replacing its value. */
  public Browser fill(String nameOrId, String value) {
    String q = xpathLiteral(nameOrId);
    WebElement e = find(By.xpath("//*[@name=" + q + " or @id=" + q + "]"));
    e.clear();
    e.sendKeys(value);
    return this;
  }

  /** Waits until the current URL satisfies {@code condition}; returns it. */
  public String waitForUrl(String what, Predicate<String> condition) {
    try {
      return new WebDriverWait(driver, WAIT).withMessage("URL " + what)
          .until(d -> condition.test(d.getCurrentUrl()) ? d.getCurrentUrl() : null);
    } catch (org.openqa.selenium.TimeoutException e) {
      throw new AssertionError("URL " + what + " not seen within " + WAIT.toSeconds() + " s; now at " + currentUrl(), e);
    }
  }

  /** Waits until the page text contains {@code text}; returns the page text. */
  public String waitForText(String text) {
    try {
      return new WebDriverWait(driver, WAIT)
          .until(d -> {
            String t = d.findElement(By.tagName("body")).getText();
            return t.contains(text) ? t : null;
          });
    } catch (org.openqa.selenium.TimeoutException e) {
      throw new AssertionError("page text never contained '" + text + "' within " + WAIT.toSeconds()
          + " s; URL " + currentUrl() + ", text: " + pageText(), e);
    }
  }

  public Object script(String js, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(js, args);
  }

  // ---- cookies ---------------------------------------------------------------------------------

  /** The cookies the browser would send to the current page's URL. */
  public Set<Cookie> cookies() {
    return driver.manage().getCookies();
  }

  public Optional<Cookie> cookie(String name) {
    return Optional.ofNullable(driver.manage().getCookieNamed(name));
  }

  // ---- custom URI schemes ----------------------------------------------------------------------

  /**
   * Installed in every document before its own scripts run (CDP
   * {@code Page.addScriptToEvaluateOnNewDocument}, passed through chromedriver, so no
   * version-specific DevTools bindings are needed). The Navigation API's {@code navigate} event
   * sees every navigation the page starts (link click, {@code location} assignment, form
   * submission, meta refresh); one to a scheme outside {@link #WEB_SCHEMES} is recorded and
   * cancelled, so Chromium never hands it to an external handler, which it would do once per page
   * and then ignore further ones. {@code window.open} of such a URL is recorded the same way.
   */
  private static final String CAPTURE_SCRIPT = """
      (() => {
        const web = /^(https?|about|data|blob|file|chrome|chrome-untrusted|devtools|javascript):/i;
        const seen = window.__mcpAuthzCapturedNavigations = [];
        const record = (url) => { seen.push(String(url)); };
        if (window.navigation) {
          navigation.addEventListener('navigate', (e) => {
            const url = e.destination.url;
            if (!web.test(url)) { record(url); if (e.cancelable) { e.preventDefault(); } }
          });
        }
        const open = window.open;
        window.open = function (url, ...rest) {
          try {
            const abs = new URL(url, location.href).href;
            if (!web.test(abs)) { record(abs); return null; }
          } catch (ignored) { /* let the browser decide */ }
          return open.call(this, url, ...rest);
        };
      })();
      """;

  /** Schemes the browser loads itself; any other is a "custom" scheme (an app's deep link). */
  public static final List<String> WEB_SCHEMES =
      List.of("http", "https", "about", "data", "blob", "file", "chrome", "chrome-untrusted", "devtools", "javascript");

  /**
   * The absolute target of a link, read without following it: the way to learn where a "return to
   * your client" link ({@code vscode://…}, {@code cursor://…}) points.
   */
  public String hrefOf(By link) {
    return property(link, "href");
  }

  /**
   * Clicks {@code by} (a link, a button whose script sets {@code location}, a submit button) and
   * returns the URL of the first navigation that then started whose URL begins with
   * {@code prefix} (e.g. {@code "vscode:"}). The navigation is not followed: the page stays where
   * it was and the test can go on.
   */
  public String clickAndCaptureNavigation(By by, String prefix) {
    int inPage = capturedInPage().size();
    drainEvents();
    int logged = events.size();
    click(by);
    return awaitNavigation(prefix, inPage, logged);
  }

  /**
   * The first navigation since this page loaded (for a page that sends the browser on by itself,
   * e.g. a resume page that sets {@code location} on load) or since the browser started (for a
   * server redirect, seen in the DevTools network events) whose URL begins with {@code prefix}.
   */
  public String awaitNavigation(String prefix) {
    return awaitNavigation(prefix, 0, 0);
  }

  private String awaitNavigation(String prefix, int fromInPage, int fromLogged) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      List<String> inPage = capturedInPage();
      for (int i = fromInPage; i < inPage.size(); i++) {
        if (inPage.get(i).startsWith(prefix)) {
          return inPage.get(i);
        }
      }
      // A server redirect (302 Location: vscode://…) never reaches the page's scripts; Chromium
      // reports it as a request of the frame.
      drainEvents();
      for (int i = fromLogged; i < events.size(); i++) {
        String url = navigationUrl(events.get(i));
        if (url != null && url.startsWith(prefix)) {
          return url;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no navigation to " + prefix + "… within " + WAIT.toSeconds() + " s; URL "
            + currentUrl() + ", captured in page: " + inPage + ", frame navigations: " + navigations());
      }
      java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
  }

  /** Custom-scheme navigations the current document started (and that were cancelled). */
  @SuppressWarnings("unchecked")
  public List<String> capturedInPage() {
    Object v = script("return window.__mcpAuthzCapturedNavigations || [];");
    return v instanceof List<?> l ? ((List<Object>) l).stream().map(String::valueOf).toList() : List.of();
  }

  /**
   * Every document navigation the browser reported so far (top-level and frame requests,
   * redirects included), in order, for assertions and failure messages.
   */
  public List<String> navigations() {
    drainEvents();
    return events.stream().map(Browser::navigationUrl).filter(u -> u != null).distinct().toList();
  }

  @SuppressWarnings("unchecked")
  private static String navigationUrl(Map<String, Object> event) {
    Object method = event.get("method");
    Map<String, Object> params = (Map<String, Object>) event.getOrDefault("params", Map.of());
    if ("Page.frameRequestedNavigation".equals(method) || "Page.frameScheduledNavigation".equals(method)) {
      return (String) params.get("url");
    }
    if ("Network.requestWillBeSent".equals(method) && "Document".equals(params.get("type"))
        && params.get("request") instanceof Map<?, ?> req) {
      return (String) req.get("url");
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private synchronized void drainEvents() {
    for (LogEntry entry : driver.manage().logs().get(LogType.PERFORMANCE)) {
      Map<String, Object> outer = JSON.toType(entry.getMessage(), Map.class);
      if (outer.get("message") instanceof Map<?, ?> m && isNavigationEvent(m.get("method"))) {
        events.add((Map<String, Object>) m);
      }
    }
  }

  private static boolean isNavigationEvent(Object method) {
    return "Page.frameRequestedNavigation".equals(method) || "Page.frameScheduledNavigation".equals(method)
        || "Network.requestWillBeSent".equals(method);
  }

  // ---- screenshots -----------------------------------------------------------------------------

  /** Saves a PNG of the viewport as {@code <screenshots>/<step>.png} and returns its path. */
  public Path screenshot(String step) {
    String safe = step.replaceAll("[^A-Za-z0-9._-]", "_");
    try {
      Files.createDirectories(screenshots);
      Path file = screenshots.resolve(safe + ".png");
      Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path screenshotDir() {
    return screenshots;
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  /** The chromedriver process and everything it started (Chromium and its helpers), while alive. */
  List<ProcessHandle> processes() {
    if (chromedriverProcess == null) {
      return List.of();
    }
    return Stream.concat(Stream.of(chromedriverProcess), chromedriverProcess.descendants())
        .filter(ProcessHandle::isAlive).toList();
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<ProcessHandle> started = new ArrayList<>(processes());
    started.addAll(profileProcesses());
    try {
      driver.quit();
    } catch (RuntimeException ignored) {
      // the processes are ended below anyway
    } finally {
      try {
        service.stop();
      } finally {
        // Backstop: whatever chromedriver or Chromium left running (a crashed driver, a
        // renderer that outlived quit) is ended here, by pid.
        started.addAll(profileProcesses());
        endAll(started);
        deleteProfile(profile);
      }
    }
  }

  /** Processes whose command line names this browser's own profile directory (Chromium and helpers). */
  private List<ProcessHandle> profileProcesses() {
    String marker = "--user-data-dir=" + profile;
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains(marker)).orElse(false))
        .toList();
  }

  private static void endAll(List<ProcessHandle> processes) {
    for (ProcessHandle p : processes) {
      p.destroy();
    }
    for (ProcessHandle p : processes) {
      try {
        p.onExit().get(5, TimeUnit.SECONDS);
      } catch (Exception notYet) {
        p.destroyForcibly();
      }
    }
  }

  private static Optional<ProcessHandle> findChromedriver(ChromeDriverService svc) {
    String port = "--port=" + svc.getUrl().getPort();
    return ProcessHandle.current().descendants()
        .filter(p -> p.info().command().map(c -> c.endsWith("chromedriver")).orElse(false))
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains(port)).orElse(false))
        .findFirst();
  }

  private static void deleteProfile(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
    } catch (IOException | UncheckedIOException e) {
      // a leftover temp directory is harmless; never hide the test's own failure
    }
  }

  private static String xpathLiteral(String s) {
    if (!s.contains("'")) {
      return "'" + s + "'";
    }
    if (!s.contains("\"")) {
      return "\"" + s + "\"";
    }
    return "concat('" + s.replace("'", "', \"'\", '") + "')";
  }

  Path profileDir() {
    return profile;
  }
}
