package dev.mcpauthz.config;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Load-time rules of the {@code consent} section (docs/consent.md), each failing with its key. */
final class ConsentConfigRules {
  /**
   * Deep links must leave the browser for an application, never run in the page or reach a local
   * file (issue 4 item 5: no open redirect, allowlisted targets only).
   */
  private static final Set<String> FORBIDDEN_SCHEMES =
      Set.of("javascript", "data", "vbscript", "file", "about", "blob", "filesystem", "http");

  private ConsentConfigRules() {}

  static AuthzConfig.Consent consent(AuthzConfig.Consent c, Set<String> issuerIds, String src, Path baseDir) {
    if (c.publicBaseUrl() != null) {
      // Consent pages are opened by users' browsers: https, or http on loopback only (a sign-in over
      // plain http elsewhere would cross the network in clear); no query or fragment, since paths
      // such as /auth/start?elicitation= are appended.
      URI u = c.publicBaseUrl();
      ConfigValidator.absoluteHttpUri(u, src, "consent.public_base_url");
      if (u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
        ConfigValidator.failAt(src, "consent.public_base_url", "must have no query, fragment or user info, got '" + u + "'");
      }
    }
    between(c.elicitationTtl(), Duration.ofSeconds(10), Duration.ofHours(24), src, "consent.elicitation_ttl");
    between(c.flowTtl(), Duration.ofSeconds(30), Duration.ofHours(1), src, "consent.flow_ttl");
    between(c.browserSessionTtl(), Duration.ofMinutes(1), Duration.ofDays(7), src, "consent.browser_session_ttl");
    between(c.resumeTtl(), Duration.ofSeconds(30), Duration.ofHours(24), src, "consent.resume_ttl");

    List<AuthzConfig.SignIn> signIns = new ArrayList<>();
    Set<String> signInIssuers = new HashSet<>();
    for (int i = 0; i < c.signIn().size(); i++) {
      AuthzConfig.SignIn s = c.signIn().get(i);
      String key = "consent.sign_in[" + i + "]";
      if (s.issuer() == null || !issuerIds.contains(s.issuer())) {
        ConfigValidator.failAt(src, key + ".issuer", "must name one of issuers[].id " + issuerIds + ", got '" + s.issuer() + "'");
      }
      if (!signInIssuers.add(s.issuer())) {
        ConfigValidator.failAt(src, key + ".issuer", "issuer '" + s.issuer() + "' has two sign-in clients");
      }
      if (s.clientId() == null || s.clientId().isBlank()) {
        ConfigValidator.failAt(src, key + ".client_id", "is required");
      }
      if ((s.clientSecret() == null) == (s.clientSecretFile() == null)) {
        ConfigValidator.failAt(src, key, "set exactly one of client_secret and client_secret_file");
      }
      Path file = s.clientSecretFile();
      if (file != null) {
        file = baseDir == null ? file : baseDir.resolve(file);
        if (!Files.isReadable(file)) {
          ConfigValidator.failAt(src, key + ".client_secret_file", "cannot read " + file);
        }
      }
      signIns.add(new AuthzConfig.SignIn(s.issuer(), s.clientId(), s.clientSecret(), file));
    }

    Set<String> appIds = new HashSet<>();
    Set<String> oauthClients = new HashSet<>();
    for (int i = 0; i < c.clients().size(); i++) {
      AuthzConfig.ClientApp a = c.clients().get(i);
      String key = "consent.clients[" + i + "]";
      ConfigValidator.id(a.id(), src, key + ".id");
      if (!appIds.add(a.id())) {
        ConfigValidator.failAt(src, key + ".id", "duplicate client id '" + a.id() + "'");
      }
      deepLink(a.deepLink(), src, key + ".deep_link");
      for (String oauthClient : a.oauthClientIds()) {
        if (!oauthClients.add(oauthClient)) {
          ConfigValidator.failAt(src, key + ".oauth_client_ids", "'" + oauthClient + "' is listed by two clients");
        }
      }
    }
    return new AuthzConfig.Consent(c.publicBaseUrl(), c.elicitationTtl(), signIns, c.clients(), c.flowTtl(),
        c.browserSessionTtl(), c.resumeTtl());
  }

  /** One {@code {state}} placeholder, an absolute URI, and a scheme that opens an application. */
  static void deepLink(String template, String src, String key) {
    if (template == null || template.isBlank()) {
      ConfigValidator.failAt(src, key, "is required (e.g. vscode://publisher.extension/mcp-auth-complete?state={state})");
    }
    int first = template.indexOf("{state}");
    if (first < 0 || template.indexOf("{state}", first + 1) >= 0) {
      ConfigValidator.failAt(src, key, "must contain exactly one {state} placeholder, got '" + template + "'");
    }
    URI uri;
    try {
      uri = new URI(template.replace("{state}", "x"));
    } catch (java.net.URISyntaxException e) {
      ConfigValidator.failAt(src, key, "is not a URI: " + e.getMessage());
      return;
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (scheme.isEmpty() || FORBIDDEN_SCHEMES.contains(scheme)) {
      ConfigValidator.failAt(src, key, "scheme must be the application's own (or https), got '" + scheme + ":'");
    }
    if (template.indexOf('{') != first || template.lastIndexOf('}') != first + "{state}".length() - 1) {
      ConfigValidator.failAt(src, key, "only the {state} placeholder is supported");
    }
  }

  private static void between(Duration d, Duration min, Duration max, String src, String key) {
    if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
      ConfigValidator.failAt(src, key, "must be between " + text(min) + " and " + text(max) + ", got " + text(d));
    }
  }

  /** The config's own duration syntax (10s, 15m, 24h, 7d), not ISO-8601. */
  private static String text(Duration d) {
    long s = d.toSeconds();
    if (s % 86_400 == 0 && s > 86_400) {
      return s / 86_400 + "d";
    }
    if (s % 3_600 == 0 && s > 0) {
      return s / 3_600 + "h";
    }
    if (s % 60 == 0 && s > 0) {
      return s / 60 + "m";
    }
    return d.toMillis() % 1000 == 0 ? s + "s" : d.toMillis() + "ms";
  }
}
