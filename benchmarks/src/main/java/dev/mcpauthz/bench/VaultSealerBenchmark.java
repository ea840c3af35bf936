package dev.mcpauthz.bench;

import dev.mcpauthz.decision.UpstreamAccess;
import dev.mcpauthz.vault.CredentialKey;
import dev.mcpauthz.vault.CredentialSealer;
import dev.mcpauthz.vault.KeyRing;
import dev.mcpauthz.vault.SealedCredential;
import dev.mcpauthz.vault.Secrets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The vault's own share of a vault-hit Check, without the rest of the Check: opening a sealed
 * credential's access token into the {@code Authorization} value a Check injects (AES-256-GCM
 * open, base64url re-encoding, the header String), for a Keycloak-sized JWT and a GitHub-sized
 * opaque token, with the Check-path cache off (every Check) and on (every Check after the first).
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar VaultSealerBenchmark -prof gc
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@State(Scope.Benchmark)
public class VaultSealerBenchmark {
  private static final CredentialKey KEY = new CredentialKey("https://keycloak.example/realms/corp",
      "5f0c8a51-3b1e-4c55-9a44-3f3a1c1b2d7e", "github");

  /** jwt: 1,200-character JWT-shaped access token; opaque: GitHub-shaped {@code gho_…}. */
  @Param({"jwt", "opaque"})
  public String token;

  /** off: every call opens the seal; on: {@code vault.check_cache_entries} on, so calls after the first unmask. */
  @Param({"off", "on"})
  public String cache;

  private CredentialSealer sealer;
  private SealedCredential sealed;

  @Setup
  public void setUp() {
    sealer = new CredentialSealer(KeyRing.of(Map.of("k1", new byte[32])), cache.equals("on") ? 100 : 0);
    String access = token.equals("jwt") ? BenchFixtures.jwtShaped(1200, 1) : VaultFanout.opaque("gho_", 36, 1);
    sealed = sealer.seal(KEY, new Secrets(access, BenchFixtures.jwtShaped(800, 2)));
  }

  @Benchmark
  public UpstreamAccess.Granted openAuthorization() {
    return sealer.openAuthorization(KEY, sealed);
  }
}
