package dev.mcpauthz.upstream;

import static dev.mcpauthz.upstream.ProviderTestKit.await;
import static dev.mcpauthz.upstream.ProviderTestKit.refresh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.mcpauthz.config.AuthzConfig.ClientAuth;
import dev.mcpauthz.testing.FaultyTokenEndpoint.Recorded;
import dev.mcpauthz.testing.FaultyTokenEndpoint.Reply;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.Date;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client authentication as the token endpoint sees it (RFC 6749 §2.3, RFC 7523 §2.2). */
class ProviderClientAuthTest {
  @TempDir Path dir;

  private static Reply ok() {
    return Reply.tokens("at-1", "rt-2", 300L, null);
  }

  @Test
  void clientSecretBasicFormUrlEncodesIdAndSecretBeforeBase64() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(ok());
      ProviderClient client = kit.client(s -> {
        s.clientId = "my client:1";
        s.clientSecret = "p@ss:w/rd é+";
      });
      assertThat(await(client.refresh(refresh("rt-1")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      Recorded r = kit.endpoint.lastRequest();
      // RFC 6749 §2.3.1: id and secret are application/x-www-form-urlencoded, then joined by ':'.
      String expected = "my+client%3A1:p%40ss%3Aw%2Frd+%C3%A9%2B";
      assertThat(r.header("Authorization"))
          .isEqualTo("Basic " + Base64.getEncoder().encodeToString(expected.getBytes(StandardCharsets.UTF_8)));
      assertThat(r.form()).doesNotContainKeys("client_id", "client_secret");
      assertThat(r.header("Content-Type")).startsWith("application/x-www-form-urlencoded");
      assertThat(r.header("Accept")).isEqualTo("application/json");
    }
  }

  @Test
  void clientSecretPostSendsBothInTheBodyAndNoAuthorizationHeader() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(ok());
      ProviderClient client = kit.client(s -> s.clientAuth = ClientAuth.CLIENT_SECRET_POST);
      await(client.refresh(refresh("rt-1")));
      Recorded r = kit.endpoint.lastRequest();
      assertThat(r.header("Authorization")).isNull();
      assertThat(r.param("client_id")).isEqualTo(ProviderTestKit.CLIENT_ID);
      assertThat(r.param("client_secret")).isEqualTo(ProviderTestKit.CLIENT_SECRET);
    }
  }

  @Test
  void clientSecretFileIsReadAndStripped() throws Exception {
    Path secret = Files.writeString(dir.resolve("secret"), "from-file-secret\n");
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(ok());
      ProviderClient client = kit.client(s -> {
        s.clientAuth = ClientAuth.CLIENT_SECRET_POST;
        s.clientSecret = null;
        s.clientSecretFile = secret;
      });
      await(client.refresh(refresh("rt-1")));
      assertThat(kit.endpoint.lastRequest().param("client_secret")).isEqualTo("from-file-secret");
    }
  }

  @Test
  void publicClientSendsOnlyItsClientId() throws Exception {
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(ok());
      ProviderClient client = kit.client(s -> {
        s.clientAuth = ClientAuth.NONE;
        s.clientSecret = null;
      });
      await(client.refresh(refresh("rt-1")));
      Recorded r = kit.endpoint.lastRequest();
      assertThat(r.header("Authorization")).isNull();
      assertThat(r.param("client_id")).isEqualTo(ProviderTestKit.CLIENT_ID);
      assertThat(r.form()).doesNotContainKeys("client_secret", "client_assertion");
    }
  }

  @Test
  void privateKeyJwtWithRsaPemIsAFreshAssertionVerifiableWithThePublicKey() throws Exception {
    KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
    gen.initialize(2048);
    KeyPair pair = gen.generateKeyPair();
    Path pem = writePem(pair);
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(Reply.status(503), ok());
      ProviderClient client = kit.client(s -> {
        s.clientAuth = ClientAuth.PRIVATE_KEY_JWT;
        s.clientSecret = null;
        s.privateKeyFile = pem;
      });
      assertThat(await(client.refresh(refresh("rt-1")))).isInstanceOf(RefreshOutcome.Refreshed.class);
      SignedJWT first = assertion(kit.endpoint.request(0), new RSASSAVerifier((RSAPublicKey) pair.getPublic()), kit);
      SignedJWT second = assertion(kit.endpoint.request(1), new RSASSAVerifier((RSAPublicKey) pair.getPublic()), kit);
      assertThat(first.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
      // RFC 7523 §3: a retry must not replay the assertion.
      assertThat(first.getJWTClaimsSet().getJWTID()).isNotEqualTo(second.getJWTClaimsSet().getJWTID());
    }
  }

  @Test
  void privateKeyJwtWithEcPemSignsEs256() throws Exception {
    KeyPairGenerator gen = KeyPairGenerator.getInstance("EC");
    gen.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair pair = gen.generateKeyPair();
    Path pem = writePem(pair);
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(ok());
      ProviderClient client = kit.client(s -> {
        s.clientAuth = ClientAuth.PRIVATE_KEY_JWT;
        s.privateKeyFile = pem;
      });
      await(client.refresh(refresh("rt-1")));
      SignedJWT jwt = assertion(kit.endpoint.lastRequest(), new ECDSAVerifier((ECPublicKey) pair.getPublic()), kit);
      assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
    }
  }

  @Test
  void privateKeyJwtFromAPrivateJwkCarriesItsKid() throws Exception {
    ECKey jwk = new ECKeyGenerator(Curve.P_384).keyID("upstream-2026").generate();
    Path file = Files.writeString(dir.resolve("key.jwk"), jwk.toJSONString());
    try (ProviderTestKit kit = new ProviderTestKit()) {
      kit.endpoint.enqueue(ok());
      ProviderClient client = kit.client(s -> {
        s.clientAuth = ClientAuth.PRIVATE_KEY_JWT;
        s.privateKeyFile = file;
      });
      await(client.refresh(refresh("rt-1")));
      SignedJWT jwt = assertion(kit.endpoint.lastRequest(), new ECDSAVerifier(jwk.toPublicJWK()), kit);
      assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES384);
      assertThat(jwt.getHeader().getKeyID()).isEqualTo("upstream-2026");
    }
  }

  @Test
  void unreadableOrMalformedKeysFailAtConstructionWithoutEchoingTheFile() throws Exception {
    Path pkcs1 = Files.writeString(dir.resolve("rsa.pem"), "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n");
    try (ProviderTestKit kit = new ProviderTestKit()) {
      assertThatThrownBy(() -> kit.client(s -> {
        s.clientAuth = ClientAuth.PRIVATE_KEY_JWT;
        s.privateKeyFile = pkcs1;
      })).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PKCS#8").hasMessageNotContaining("AAAA");
    }
  }

  private static SignedJWT assertion(Recorded r, JWSVerifier verifier, ProviderTestKit kit) throws Exception {
    assertThat(r.header("Authorization")).isNull();
    assertThat(r.param("client_assertion_type")).isEqualTo("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assertThat(r.form()).doesNotContainKey("client_secret");
    SignedJWT jwt = SignedJWT.parse(r.param("client_assertion"));
    assertThat(jwt.verify(verifier)).isTrue();
    JWTClaimsSet claims = jwt.getJWTClaimsSet();
    assertThat(claims.getIssuer()).isEqualTo(ProviderTestKit.CLIENT_ID);
    assertThat(claims.getSubject()).isEqualTo(ProviderTestKit.CLIENT_ID);
    assertThat(claims.getAudience()).containsExactly(kit.endpoint.tokenEndpoint().toString());
    assertThat(claims.getJWTID()).isNotBlank();
    assertThat(claims.getExpirationTime()).isAfter(new Date());
    return jwt;
  }

  private Path writePem(KeyPair pair) throws Exception {
    String b64 = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(pair.getPrivate().getEncoded());
    return Files.writeString(dir.resolve("key-" + System.nanoTime() + ".pem"),
        "-----BEGIN PRIVATE KEY-----\n" + b64 + "\n-----END PRIVATE KEY-----\n");
  }
}
