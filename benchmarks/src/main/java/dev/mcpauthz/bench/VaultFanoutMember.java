package dev.mcpauthz.bench;

import dev.mcpauthz.cluster.ClusterMember;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.TokenGrant;
import dev.mcpauthz.upstream.TokenRefresher;
import dev.mcpauthz.vault.CredentialKey;
import dev.mcpauthz.vault.KeyRing;
import dev.mcpauthz.vault.VaultLookup;
import dev.mcpauthz.vault.VaultService;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One member of {@link VaultFanout}'s multi-process mode: a Hazelcast member with its own {@link
 * VaultService} in its own JVM, whose token endpoint is the driver's gated HTTP identity provider.
 * The driver sends one command per line on standard input and reads one answer line on standard
 * output:
 *
 * <ul>
 *   <li>{@code store <cycle>} → {@code stored}: writes the cycle's expired credential;
 *   <li>{@code issue <cycle> <n>} → {@code issued}: starts n lookups of the credential, as n Checks
 *       would, and returns while they wait for the refresh;
 *   <li>{@code collect <cycle>} → {@code done <t1> … <tn>}: the {@link System#nanoTime} at which
 *       each lookup completed, after checking that each got this cycle's token ({@code error …}
 *       otherwise). On Linux {@code nanoTime} is {@code CLOCK_MONOTONIC}, one clock for every
 *       process of the machine, so the driver compares it with its own.
 * </ul>
 *
 * <pre>
 * java -cp benchmarks.jar dev.mcpauthz.bench.VaultFanoutMember clusterName port port,port,port idpPort
 * </pre>
 */
public final class VaultFanoutMember {
  static final CredentialKey KEY = new CredentialKey("https://issuer.example", "alice", "srv");

  public static void main(String[] args) throws Exception {
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
        StandardCharsets.UTF_8);
    System.setOut(new PrintStream(java.io.OutputStream.nullOutputStream())); // Hazelcast's banner must not mix in
    String cluster = args[0];
    int port = Integer.parseInt(args[1]);
    List<Integer> ports = Arrays.stream(args[2].split(",")).map(Integer::parseInt).toList();
    URI idp = URI.create("http://127.0.0.1:" + args[3] + "/token");
    AuthzConfig.Vault cfg = VaultFanout.vaultConfig();
    try (ClusterMember member = ClusterMember.start(VaultFanout.member(cluster, port, ports, cfg));
        VaultService vault = new VaultService(member.hazelcast(), cfg, KeyRing.fromConfig(cfg, null),
            new HttpIdp(idp), new SimpleMeterRegistry(), Clock.systemUTC())) {
      dev.mcpauthz.testing.Conditions.waitUntil(Duration.ofSeconds(60), "cluster of " + ports.size() + " members",
          () -> member.hazelcast().getCluster().getMembers().size() == ports.size());
      out.println("ready");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      List<CompletableFuture<VaultLookup>> futures = new ArrayList<>();
      long[] done = new long[0];
      for (String line; (line = in.readLine()) != null; ) {
        String[] cmd = line.split(" ");
        switch (cmd[0]) {
          case "store" -> {
            vault.store(KEY, VaultFanout.UPSTREAM, List.of("repo"), new TokenGrant("expired-" + cmd[1],
                "refresh-seed-" + cmd[1], Instant.now().minusSeconds(1), List.of("repo")), "bench")
                .get(30, TimeUnit.SECONDS);
            out.println("stored");
          }
          case "issue" -> {
            int n = Integer.parseInt(cmd[2]);
            futures = new ArrayList<>(n);
            long[] times = new long[n];
            done = times;
            for (int i = 0; i < n; i++) {
              int idx = i;
              futures.add(vault.credentialFor(KEY, VaultFanout.UPSTREAM, List.of(), "w" + i)
                  .whenComplete((r, e) -> times[idx] = System.nanoTime()));
            }
            out.println("issued");
          }
          case "collect" -> {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            String expected = "access-" + cmd[1];
            String wrong = null;
            for (CompletableFuture<VaultLookup> f : futures) {
              if (!(f.join() instanceof VaultLookup.Granted g) || !g.accessToken().equals(expected)) {
                wrong = String.valueOf(f.join());
              }
            }
            StringBuilder sb = new StringBuilder(wrong == null ? "done" : "error a waiter got " + wrong);
            if (wrong == null) {
              for (long t : done) {
                sb.append(' ').append(t);
              }
            }
            out.println(sb);
          }
          case "quit" -> {
            return;
          }
          default -> out.println("error unknown command " + cmd[0]);
        }
      }
    }
  }

  /** The refresher of every member: the driver's gated token endpoint, over loopback HTTP. */
  private record HttpIdp(URI uri) implements TokenRefresher {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @Override
    public CompletableFuture<RefreshOutcome> refresh(dev.mcpauthz.upstream.RefreshRequest request) {
      return HTTP.sendAsync(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
            String[] tokens = r.body().split(" ");
            return new RefreshOutcome.Refreshed(new TokenGrant(tokens[0], tokens[1],
                Instant.now().plus(Duration.ofMinutes(30)), List.of("repo")), 1);
          });
    }
  }

  private VaultFanoutMember() {}
}
