package dev.mcpauthz.http;

import dev.mcpauthz.consent.ConsentFlow;
import dev.mcpauthz.consent.ConsentOutcome;
import dev.mcpauthz.consent.ConsentPage;
import dev.mcpauthz.consent.ConsentPageHtml;
import dev.mcpauthz.consent.FlowSecrets;
import java.util.List;
import java.util.concurrent.Executor;
import org.eclipse.jetty.http.HttpCookie;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP for the consent pages: {@code GET /auth/start}, {@code /auth/callback}, {@code /auth/resume}.
 * Each request runs on its own virtual thread ({@link ConsentFlow} blocks on Hazelcast and the
 * identity providers); the Jetty thread returns at once. Every answer is {@code no-store}, cannot be
 * framed (anti-clickjacking) and sends no referrer (the URLs carry state).
 */
final class ConsentEndpoints {
  private static final Logger log = LoggerFactory.getLogger(ConsentEndpoints.class);
  static final String PREFIX = "/auth/";

  private final ConsentFlow flow;
  private final Executor executor;
  private final boolean secureCookies;

  /** @param secureCookies mark cookies Secure (the public base URL is https) */
  ConsentEndpoints(ConsentFlow flow, Executor executor, boolean secureCookies) {
    this.flow = flow;
    this.executor = executor;
    this.secureCookies = secureCookies;
  }

  boolean handle(String path, Request request, Response response, Callback callback) {
    Fields query = Request.extractQueryParameters(request);
    ConsentFlow.Browser browser = new ConsentFlow.Browser(cookie(request, ConsentFlow.SESSION_COOKIE),
        cookie(request, ConsentFlow.BROWSER_COOKIE));
    String rawQuery = request.getHttpURI().getQuery();
    executor.execute(() -> {
      ConsentOutcome outcome;
      try {
        outcome = switch (path) {
          case "/auth/start" -> query.getValue("elicitation") != null
              ? flow.start(query.getValue("elicitation"), "1".equals(query.getValue("switch_user")), browser)
              : flow.preconnect(query.getValue("client"), query.getValue("provider"), query.getValue("server"),
                  query.getValue("return"), browser);
          case "/auth/callback" -> flow.callback(rawQuery, browser);
          case "/auth/resume" -> flow.resume(query.getValue("state"));
          default -> new ConsentOutcome.Show(ConsentPage.message(404, "not-found", "Not found",
              "There is no consent page at this address."));
        };
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        outcome = unavailable();
      } catch (RuntimeException e) {
        // Hazelcast or a provider did not answer in time; the exception names no secret.
        log.warn("consent page {} failed: {}", path, e.toString());
        outcome = unavailable();
      }
      write(outcome, response, callback);
    });
    return true;
  }

  private static ConsentOutcome unavailable() {
    return new ConsentOutcome.Show(ConsentPage.message(503, "unavailable", "Please try again in a moment",
        "The gateway could not complete this step right now. Nothing was lost: reload this page or go back to your "
            + "client and try again."));
  }

  private void write(ConsentOutcome outcome, Response response, Callback callback) {
    var h = response.getHeaders();
    h.put(HttpHeader.CACHE_CONTROL, "no-store");
    h.put(HttpHeader.PRAGMA, "no-cache");
    h.put("Referrer-Policy", "no-referrer");
    h.put("X-Frame-Options", "DENY");
    h.put("X-Content-Type-Options", "nosniff");
    for (ConsentOutcome.Cookie c : outcome.cookies()) {
      HttpCookie.Builder b = HttpCookie.build(c.name(), c.value()).path("/auth").httpOnly(true)
          .sameSite(HttpCookie.SameSite.LAX).secure(secureCookies);
      if (c.maxAge() != null) {
        b.maxAge(c.maxAge().toSeconds());
      }
      Response.addCookie(response, b.build());
    }
    switch (outcome) {
      case ConsentOutcome.Redirect r -> {
        response.setStatus(HttpStatus.SEE_OTHER_303);
        h.put(HttpHeader.LOCATION, r.location().toString());
        h.put("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
        response.write(true, null, callback);
      }
      case ConsentOutcome.Show s -> {
        String nonce = FlowSecrets.random();
        response.setStatus(s.page().status());
        h.put(HttpHeader.CONTENT_TYPE, "text/html; charset=utf-8");
        h.put("Content-Security-Policy", "default-src 'none'; style-src 'nonce-" + nonce + "'; script-src 'nonce-"
            + nonce + "'; img-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'");
        Content.Sink.write(response, true, ConsentPageHtml.render(s.page(), nonce), callback);
      }
    }
  }

  private static String cookie(Request request, String name) {
    List<HttpCookie> cookies = Request.getCookies(request);
    for (HttpCookie c : cookies) {
      if (c.getName().equals(name)) {
        return c.getValue();
      }
    }
    return null;
  }
}
