package dev.mcpauthz.testing;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A real, minimal OAuth authorization server on 127.0.0.1 for fast tests: signs JWTs with Nimbus,
 * serves its JWKS and discovery document over HTTP, and answers RFC 7662 introspection for opaque
 * tokens it was told about. Counts every request so tests can assert fetch behaviour.
 */
public final class TestIssuer implements AutoCloseable {
  public static final String INTROSPECTION_CLIENT = "mcp-authz";
  public static final String INTROSPECTION_SECRET = "introspection-secret";

  private final HttpServer server;
  private final List<RSAKey> published = new ArrayList<>();
  private volatile RSAKey signingKey;
  private final AtomicInteger jwksRequests = new AtomicInteger();
  private final AtomicInteger introspectionRequests = new AtomicInteger();
  private final Map<String, Map<String, Object>> opaqueTokens = new ConcurrentHashMap<>();
  private volatile CountDownLatch introspectionGate = new CountDownLatch(0);
  private volatile CountDownLatch jwksGate = new CountDownLatch(0);
  private volatile int jwksStatus = 200;

  private TestIssuer() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.createContext("/jwks", this::jwks);
    server.createContext("/.well-known/openid-configuration", this::discovery);
    server.createContext("/introspect", this::introspect);
    signingKey = newKey("k1");
    published.add(signingKey);
    server.start();
  }

  public static TestIssuer start() {
    try {
      return new TestIssuer();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String issuer() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  public URI jwksUri() {
    return URI.create(issuer() + "/jwks");
  }

  public URI introspectionUri() {
    return URI.create(issuer() + "/introspect");
  }

  public int jwksRequests() {
    return jwksRequests.get();
  }

  public int introspectionRequests() {
    return introspectionRequests.get();
  }

  public RSAKey signingKey() {
    return signingKey;
  }

  /** Publishes a new key and signs with it from now on (the old key stays published). */
  public synchronized RSAKey rotate(String kid) {
    RSAKey k = newKey(kid);
    published.add(k);
    signingKey = k;
    return k;
  }

  /** Signs with a key that is not (yet) published. */
  public RSAKey unpublishedKey(String kid) {
    return newKey(kid);
  }

  public synchronized void publish(RSAKey key) {
    published.add(key);
  }

  /** While closed, JWKS requests wait (to test single-flight); open it to let them finish. */
  public void holdJwks() {
    jwksGate = new CountDownLatch(1);
  }

  public void releaseJwks() {
    jwksGate.countDown();
  }

  public void failJwks(int status) {
    jwksStatus = status;
  }

  public void holdIntrospection() {
    introspectionGate = new CountDownLatch(1);
  }

  public void releaseIntrospection() {
    introspectionGate.countDown();
  }

  /** A JWT with sensible defaults (sub alice, aud = audience, exp in 5 min, scope), then customised. */
  public String mint(String audience, Consumer<JWTClaimsSet.Builder> customise) {
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder()
        .issuer(issuer())
        .subject("alice")
        .audience(audience)
        .issueTime(new Date())
        .expirationTime(Date.from(Instant.now().plus(Duration.ofMinutes(5))))
        .claim("client_id", "test-client")
        .claim("scope", "mcp:tools");
    customise.accept(claims);
    return sign(signingKey, new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(signingKey.getKeyID())
        .type(JOSEObjectType.JWT).build(), claims.build());
  }

  public String mint(String audience) {
    return mint(audience, c -> {});
  }

  public static String sign(RSAKey key, JWSHeader header, JWTClaimsSet claims) {
    try {
      SignedJWT jwt = new SignedJWT(header, claims);
      jwt.sign(new RSASSASigner(key));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Registers an opaque token the introspection endpoint reports as active with these claims. */
  public String opaque(Map<String, Object> claims) {
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(
        java.util.UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
    opaqueTokens.put(token, claims);
    return token;
  }

  public void revoke(String opaqueToken) {
    opaqueTokens.remove(opaqueToken);
  }

  private void jwks(HttpExchange ex) throws IOException {
    jwksRequests.incrementAndGet();
    await(jwksGate);
    String body;
    synchronized (this) {
      body = new JWKSet(new ArrayList<JWK>(published)).toPublicJWKSet().toString();
    }
    respond(ex, jwksStatus, body);
  }

  private void discovery(HttpExchange ex) throws IOException {
    String iss = issuer();
    respond(ex, 200, "{\"issuer\":\"" + iss + "\",\"jwks_uri\":\"" + iss + "/jwks\",\"introspection_endpoint\":\""
        + iss + "/introspect\",\"authorization_endpoint\":\"" + iss + "/authorize\",\"token_endpoint\":\"" + iss
        + "/token\",\"response_types_supported\":[\"code\"],\"subject_types_supported\":[\"public\"],"
        + "\"id_token_signing_alg_values_supported\":[\"RS256\"]}");
  }

  private void introspect(HttpExchange ex) throws IOException {
    introspectionRequests.incrementAndGet();
    await(introspectionGate);
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    String expected = "Basic " + Base64.getEncoder().encodeToString(
        (INTROSPECTION_CLIENT + ":" + INTROSPECTION_SECRET).getBytes(StandardCharsets.UTF_8));
    if (!expected.equals(auth)) {
      respond(ex, 401, "{\"error\":\"invalid_client\"}");
      return;
    }
    String form = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    String token = null;
    for (String pair : form.split("&")) {
      if (pair.startsWith("token=")) {
        token = java.net.URLDecoder.decode(pair.substring(6), StandardCharsets.UTF_8);
      }
    }
    Map<String, Object> claims = token == null ? null : opaqueTokens.get(token);
    if (claims == null) {
      respond(ex, 200, "{\"active\":false}");
      return;
    }
    var json = new StringBuilder("{\"active\":true");
    for (var e : claims.entrySet()) {
      json.append(",\"").append(e.getKey()).append("\":");
      Object v = e.getValue();
      if (v instanceof Number n) {
        json.append(n);
      } else if (v instanceof List<?> l) {
        json.append('[');
        for (int i = 0; i < l.size(); i++) {
          json.append(i > 0 ? "," : "").append('"').append(l.get(i)).append('"');
        }
        json.append(']');
      } else {
        json.append('"').append(v).append('"');
      }
    }
    respond(ex, 200, json.append('}').toString());
  }

  private static void await(CountDownLatch gate) {
    try {
      gate.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void respond(HttpExchange ex, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
    ex.close();
  }

  private static RSAKey newKey(String kid) {
    try {
      return new RSAKeyGenerator(2048).keyID(kid).algorithm(JWSAlgorithm.RS256).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    releaseJwks();
    releaseIntrospection();
    server.stop(0);
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
