package dev.mcpauthz.upstream;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

/**
 * The private key for {@code private_key_jwt}: a PEM PKCS#8 RSA or EC key ({@code BEGIN PRIVATE
 * KEY}), or a private JWK (its {@code kid} and {@code alg} are used). RSA signs with RS256, EC with
 * ES256/ES384/ES512 by curve.
 */
record SigningKey(PrivateKey key, JWSAlgorithm algorithm, String keyId) {
  @Override
  public String toString() {
    return "SigningKey[" + algorithm + ", kid=" + keyId + "]";
  }

  static SigningKey load(Path file) {
    String text;
    try {
      text = Files.readString(file).strip();
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read private_key_file " + file, e);
    }
    try {
      return text.startsWith("{") ? fromJwk(text) : fromPem(text);
    } catch (GeneralSecurityException | JOSEException | java.text.ParseException | IllegalArgumentException e) {
      throw new IllegalArgumentException("private_key_file " + file + ": not a PKCS#8 RSA/EC PEM key or private JWK ("
          + e.getClass().getSimpleName() + ")");
    }
  }

  private static SigningKey fromPem(String pem) throws GeneralSecurityException {
    if (!pem.startsWith("-----BEGIN PRIVATE KEY-----")) {
      throw new IllegalArgumentException("expected PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
    }
    String b64 = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64));
    try {
      return new SigningKey(KeyFactory.getInstance("RSA").generatePrivate(spec), JWSAlgorithm.RS256, null);
    } catch (GeneralSecurityException notRsa) {
      ECPrivateKey ec = (ECPrivateKey) KeyFactory.getInstance("EC").generatePrivate(spec);
      return new SigningKey(ec, ecAlgorithm(Curve.forECParameterSpec(ec.getParams())), null);
    }
  }

  private static SigningKey fromJwk(String json) throws JOSEException, java.text.ParseException {
    JWK jwk = JWK.parse(json);
    if (!jwk.isPrivate()) {
      throw new IllegalArgumentException("the JWK has no private part");
    }
    if (jwk instanceof RSAKey rsa) {
      JWSAlgorithm alg = rsa.getAlgorithm() == null ? JWSAlgorithm.RS256 : JWSAlgorithm.parse(rsa.getAlgorithm().getName());
      return new SigningKey(rsa.toRSAPrivateKey(), alg, rsa.getKeyID());
    }
    if (jwk instanceof ECKey ec) {
      return new SigningKey(ec.toECPrivateKey(), ecAlgorithm(ec.getCurve()), ec.getKeyID());
    }
    throw new IllegalArgumentException("only RSA and EC keys are supported");
  }

  private static JWSAlgorithm ecAlgorithm(Curve curve) {
    if (Curve.P_256.equals(curve)) {
      return JWSAlgorithm.ES256;
    }
    if (Curve.P_384.equals(curve)) {
      return JWSAlgorithm.ES384;
    }
    if (Curve.P_521.equals(curve)) {
      return JWSAlgorithm.ES512;
    }
    throw new IllegalArgumentException("unsupported EC curve " + curve);
  }
}
