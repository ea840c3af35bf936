package dev.mcpauthz.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.HttpCookie;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal browser for consent-flow tests: keeps cookies per host like a browser does, follows
 * redirects one by one (so a test can stop at, inspect or tamper with any hop) and never follows a
 * custom-scheme deep link. Real Chromium runs the same flows in the integration tests.
 */
public final class CookieBrowser {
  private final CookieManager cookies = new CookieManager(null, CookiePolicy.ACCEPT_ALL);
  private final HttpClient http = HttpClient.newBuilder().cookieHandler(cookies)
      .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(Duration.ofSeconds(5)).build();

  /** One hop. */
  public HttpResponse<String> get(URI uri) {
    try {
      return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public HttpResponse<String> get(String uri) {
    return get(URI.create(uri));
  }

  /** The hops of one navigation, the last being the page shown (or a redirect out of http). */
  public record Navigation(List<HttpResponse<String>> hops) {
    public HttpResponse<String> last() {
      return hops.get(hops.size() - 1);
    }

    /** The request URIs in order, first one included. */
    public List<URI> uris() {
      return hops.stream().map(HttpResponse::uri).toList();
    }

    /** The first hop whose URI starts with {@code prefix}. */
    public HttpResponse<String> hop(String prefix) {
      return hops.stream().filter(h -> h.uri().toString().startsWith(prefix)).findFirst()
          .orElseThrow(() -> new AssertionError("no hop to " + prefix + " in " + uris()));
    }
  }

  /** Follows http(s) redirects (at most 20) until a page, or until {@code stopBefore} matches the next URI. */
  public Navigation navigate(String uri, String stopBefore) {
    List<HttpResponse<String>> hops = new ArrayList<>();
    URI next = URI.create(uri);
    for (int i = 0; i < 20; i++) {
      HttpResponse<String> r = get(next);
      hops.add(r);
      var location = r.headers().firstValue("location");
      if (r.statusCode() / 100 != 3 || location.isEmpty()) {
        return new Navigation(hops);
      }
      next = next.resolve(location.get());
      if (!next.getScheme().startsWith("http") || (stopBefore != null && next.toString().startsWith(stopBefore))) {
        return new Navigation(hops);
      }
    }
    throw new AssertionError("more than 20 redirects: " + hops.stream().map(HttpResponse::uri).toList());
  }

  public Navigation navigate(String uri) {
    return navigate(uri, null);
  }

  /** The cookie {@code name} for {@code uri}, or null. */
  public HttpCookie cookie(URI uri, String name) {
    return cookies.getCookieStore().get(uri).stream().filter(c -> c.getName().equals(name)).findFirst().orElse(null);
  }

  public void forgetCookies() {
    cookies.getCookieStore().removeAll();
  }
}
