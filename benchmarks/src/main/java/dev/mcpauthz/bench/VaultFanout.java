package dev.mcpauthz.bench;

import com.hazelcast.config.Config;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import dev.mcpauthz.cluster.ClusterMember;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.testing.FreePorts;
import dev.mcpauthz.upstream.RefreshOutcome;
import dev.mcpauthz.upstream.TokenGrant;
import dev.mcpauthz.upstream.TokenRefresher;
import dev.mcpauthz.vault.CredentialKey;
import dev.mcpauthz.vault.KeyRing;
import dev.mcpauthz.vault.VaultLookup;
import dev.mcpauthz.vault.VaultService;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Two vault figures for docs/PERFORMANCE.md that JMH cannot express (see the table's notes there):
 *
 * <ul>
 *   <li><b>fan-out</b>: 1,000 callers spread over 3 Hazelcast members (one JVM, loopback) ask for
 *       one expired credential at once; the one refresh is parked at the identity provider until
 *       all have asked, then answered. The figure is the time from that answer to each caller
 *       being served (target: p99 at most 10 ms over the IdP's latency). Each cycle also checks
 *       that exactly one refresh ran and every caller got this cycle's token.
 *   <li><b>heap per credential</b>: 10,000 credentials stored on one member, with JWT-shaped
 *       Keycloak-sized tokens and with GitHub-shaped opaque tokens (random bytes, so an encoding
 *       can only save the base64 overhead); per credential: Hazelcast's own entry memory cost (the
 *       BINARY key and value plus its record), the JVM heap growth after GC once stored, and again
 *       after every credential was read once through {@link VaultService#credentialFor} as a Check
 *       does, which adds the near cache's deserialised copy and the Check-path cache entry (target: at most
 *       2 KB for the stored credential).
 * </ul>
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.mcpauthz.bench.VaultFanout [cycles=30] [idpLatencyMs=50]
 * java -cp benchmarks/target/benchmarks.jar dev.mcpauthz.bench.VaultFanout heap    (the heap figures only)
 * java -cp benchmarks/target/benchmarks.jar dev.mcpauthz.bench.VaultFanout processes [cycles] [idpLatencyMs]
 *     (the fan-out with each member in its own JVM, see {@link VaultFanoutMember})
 * </pre>
 */
public final class VaultFanout {
  static final int WAITERS = 1_000;
  static final int CREDENTIALS = 10_000;
  static final AuthzConfig.Upstream UPSTREAM =
      new AuthzConfig.Upstream("idp", URI.create("https://api.example.test/"), List.of("repo"));

  public static void main(String[] args) throws Exception {
    boolean heapOnly = args.length > 0 && args[0].equals("heap");
    boolean processes = args.length > 0 && args[0].equals("processes");
    int first = processes ? 1 : 0;
    int cycles = args.length > first && !heapOnly ? Integer.parseInt(args[first]) : 30;
    long idpLatencyMs = args.length > first + 1 ? Long.parseLong(args[first + 1]) : 50;
    System.out.printf("# vault fan-out and heap (%d cores, %s)%n", Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.vm.version"));
    if (processes) {
      fanOutProcesses(cycles, idpLatencyMs);
      System.exit(0);
    }
    if (!heapOnly) {
      fanOut(cycles, idpLatencyMs);
    }
    heapPerCredential("Keycloak-sized JWTs", i -> BenchFixtures.jwtShaped(1200, 2L * i),
        i -> BenchFixtures.jwtShaped(800, 2L * i + 1));
    heapPerCredential("GitHub-sized opaque tokens", i -> opaque("gho_", 36, 2L * i), i -> opaque("ghr_", 76, 2L * i + 1));
    System.exit(0);
  }

  static AuthzConfig.Vault vaultConfig() {
    return new AuthzConfig.Vault(List.of(new AuthzConfig.VaultKey("k1", key(), null)), Duration.ofSeconds(60), 0.10,
        Duration.ofSeconds(10), Duration.ofSeconds(30), 1, Duration.ofHours(1), null);
  }

  static String key() {
    return java.util.Base64.getEncoder().encodeToString(new byte[32]);
  }

  static Config member(String cluster, int port, List<Integer> ports, AuthzConfig.Vault vault) throws Exception {
    AuthzConfig.Cluster c = new AuthzConfig.Cluster(cluster, "127.0.0.1", port,
        ports.stream().map(p -> "127.0.0.1:" + p).toList(), null, null);
    Config config = ClusterMember.memberConfig(c, vault, null);
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    config.setProperty("hazelcast.partition.count", "31");
    return config;
  }

  /**
   * An identity provider whose answer the benchmark releases: the refresh is parked until every
   * waiter has asked, so what is measured after the release is the fan-out alone.
   */
  static final class GatedIdp implements TokenRefresher {
    final AtomicInteger calls = new AtomicInteger();
    volatile CompletableFuture<RefreshOutcome> pending = new CompletableFuture<>();
    final java.util.concurrent.Semaphore arrived = new java.util.concurrent.Semaphore(0);

    @Override
    public CompletableFuture<RefreshOutcome> refresh(dev.mcpauthz.upstream.RefreshRequest r) {
      calls.incrementAndGet();
      CompletableFuture<RefreshOutcome> f = pending;
      arrived.release();
      return f;
    }

    /** Answers the parked refresh; returns the token it carries. */
    String answer(int cycle) {
      String token = "access-" + cycle;
      CompletableFuture<RefreshOutcome> f = pending;
      pending = new CompletableFuture<>();
      f.complete(new RefreshOutcome.Refreshed(new TokenGrant(token, "refresh-" + cycle,
          Instant.now().plus(Duration.ofMinutes(30)), List.of("repo")), 1));
      return token;
    }
  }

  static void fanOut(int cycles, long idpLatencyMs) throws Exception {
    AuthzConfig.Vault cfg = vaultConfig();
    KeyRing keys = KeyRing.fromConfig(cfg, null);
    GatedIdp idp = new GatedIdp();
    List<Integer> ports = List.of(FreePorts.pick(), FreePorts.pick(), FreePorts.pick());
    String cluster = "fanout-" + Long.toHexString(System.nanoTime());
    List<ClusterMember> members = new ArrayList<>();
    List<VaultService> vaults = new ArrayList<>();
    try {
      for (int port : ports) {
        ClusterMember m = ClusterMember.start(member(cluster, port, ports, cfg));
        members.add(m);
        vaults.add(new VaultService(m.hazelcast(), cfg, keys, idp, new SimpleMeterRegistry(), Clock.systemUTC()));
      }
      dev.mcpauthz.testing.Conditions.waitUntil(java.time.Duration.ofSeconds(60), "cluster of 3 members",
          () -> members.getFirst().hazelcast().getCluster().getMembers().size() == 3);
      CredentialKey key = new CredentialKey("https://issuer.example", "alice", "srv");
      long[] fanout = new long[WAITERS * cycles];
      long[] endToEnd = new long[WAITERS * cycles];
      long[] issuing = new long[cycles];
      long[] allocParked = new long[cycles];
      long[] allocServed = new long[cycles];
      long[] allocCaller = new long[cycles];
      // Warm-up: short cycles until the refresh path is compiled, as in a member that has run for a while.
      int warmup = 300;
      long[] quiet = new long[WAITERS * cycles];
      int quietCount = 0;
      int gcCycles = 0;
      for (int cycle = -warmup; cycle < cycles; cycle++) {
        TokenGrant expired = new TokenGrant("expired-" + cycle, "refresh-seed-" + cycle,
            Instant.now().minusSeconds(1), List.of("repo"));
        vaults.getFirst().store(key, UPSTREAM, List.of("repo"), expired, "bench").get(30, TimeUnit.SECONDS);
        int before = idp.calls.get();
        int waiters = cycle < 0 ? 30 : WAITERS;
        long[] done = new long[waiters];
        long[] starts = new long[waiters];
        List<CompletableFuture<VaultLookup>> futures = new ArrayList<>(waiters);
        long alloc0 = allocatedBytes();
        long callerAlloc0 = THREADS.getCurrentThreadAllocatedBytes();
        long issueStart = System.nanoTime();
        for (int i = 0; i < waiters; i++) {
          final int idx = i;
          starts[i] = System.nanoTime();
          futures.add(vaults.get(i % 3).credentialFor(key, UPSTREAM, List.of(), "w" + i)
              .whenComplete((r, e) -> done[idx] = System.nanoTime()));
        }
        long issued = System.nanoTime() - issueStart;
        long callerAllocated = THREADS.getCurrentThreadAllocatedBytes() - callerAlloc0;
        if (!idp.arrived.tryAcquire(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("no refresh reached the IdP");
        }
        Thread.sleep(cycle < 0 ? 0 : idpLatencyMs); // the IdP's think time, so waiters' reads have settled as in real life
        long alloc1 = allocatedBytes();
        long gc0 = LoadGenerator.gcCount();
        long released = System.nanoTime();
        String fresh = idp.answer(cycle);
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        long alloc2 = allocatedBytes();
        boolean gcInWindow = LoadGenerator.gcCount() != gc0;
        // A waiter served from a stale near cache would get another token: fail loudly.
        for (CompletableFuture<VaultLookup> f : futures) {
          if (!(f.join() instanceof VaultLookup.Granted g) || !g.accessToken().equals(fresh)) {
            throw new IllegalStateException("a waiter did not get this cycle's token: " + f.join());
          }
        }
        if (idp.calls.get() - before != 1) {
          throw new IllegalStateException("cycle " + cycle + ": " + (idp.calls.get() - before) + " refreshes, wanted 1");
        }
        if (cycle >= 0) {
          issuing[cycle] = issued;
          allocParked[cycle] = (alloc1 - alloc0) / WAITERS;
          allocServed[cycle] = (alloc2 - alloc1) / WAITERS;
          allocCaller[cycle] = callerAllocated / WAITERS;
          if (gcInWindow) {
            gcCycles++;
          } else {
            System.arraycopy(done, 0, quiet, quietCount, WAITERS);
            for (int i = quietCount; i < quietCount + WAITERS; i++) {
              quiet[i] = Math.max(0, quiet[i] - released);
            }
            quietCount += WAITERS;
          }
          for (int i = 0; i < WAITERS; i++) {
            fanout[cycle * WAITERS + i] = Math.max(0, done[i] - released);
            endToEnd[cycle * WAITERS + i] = done[i] - starts[i];
          }
        }
      }
      Arrays.sort(fanout);
      long[] quietSorted = Arrays.copyOf(quiet, quietCount);
      Arrays.sort(quietSorted);
      Arrays.sort(endToEnd);
      Arrays.sort(issuing);
      System.out.printf("fan-out: %d cycles x %d waiters over 3 members (one JVM), IdP think time %d ms,"
          + " exactly 1 refresh per cycle%n", cycles, WAITERS, idpLatencyMs);
      System.out.printf("| measure | p50 (ms) | p99 (ms) | max (ms) |%n|---|---:|---:|---:|%n");
      System.out.printf("| IdP answer -> waiter served (fan-out) | %.1f | **%.1f** | %.1f |%n", ms(fanout, 0.5),
          ms(fanout, 0.99), ms(fanout, 1));
      if (quietCount > 0) {
        System.out.printf("| the same, the %d of %d cycles without a GC pause in their fan-out window | %.1f | %.1f | %.1f |%n",
            cycles - gcCycles, cycles, ms(quietSorted, 0.5), ms(quietSorted, 0.99), ms(quietSorted, 1));
      }
      System.out.printf("| waiter's call -> served (includes the IdP's %d ms) | %.1f | %.1f | %.1f |%n", idpLatencyMs,
          ms(endToEnd, 0.5), ms(endToEnd, 0.99), ms(endToEnd, 1));
      System.out.printf("| issuing the 1,000 calls (per cycle, cold near cache) | %.1f | %.1f | %.1f |%n",
          ms(issuing, 0.5), ms(issuing, 0.99), ms(issuing, 1));
      Arrays.sort(allocParked);
      Arrays.sort(allocServed);
      Arrays.sort(allocCaller);
      System.out.printf("allocated per waiter, all threads of the JVM (3 members), median of the cycles:"
          + " call -> parked at the IdP %d B (of which on the calling thread %d B), IdP answer -> served %d B%n",
          allocParked[cycles / 2], allocCaller[cycles / 2], allocServed[cycles / 2]);
    } finally {
      vaults.forEach(VaultService::close);
      members.forEach(ClusterMember::close);
    }
  }

  /** The identity provider of the multi-process mode: answers the parked refresh when released. */
  static final class GatedHttpIdp implements AutoCloseable {
    final com.sun.net.httpserver.HttpServer server;
    final java.util.concurrent.Semaphore arrived = new java.util.concurrent.Semaphore(0);
    final AtomicInteger calls = new AtomicInteger();
    private final java.util.concurrent.LinkedBlockingQueue<com.sun.net.httpserver.HttpExchange> parked =
        new java.util.concurrent.LinkedBlockingQueue<>();

    GatedHttpIdp() throws java.io.IOException {
      server = com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 16);
      server.createContext("/token", exchange -> {
        exchange.getRequestBody().readAllBytes();
        calls.incrementAndGet();
        parked.add(exchange); // answered by answer(), from the driver's thread
        arrived.release();
      });
      server.start();
    }

    int port() {
      return server.getAddress().getPort();
    }

    /** Answers the parked refresh with this cycle's tokens; returns the time the answer was written. */
    long answer(int cycle) throws Exception {
      com.sun.net.httpserver.HttpExchange exchange = parked.take();
      byte[] body = ("access-" + cycle + " refresh-" + cycle).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      long released = System.nanoTime();
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
      return released;
    }

    @Override
    public void close() {
      server.stop(0);
    }
  }

  /** A member JVM of the multi-process mode, driven over its standard input and output. */
  record MemberProcess(Process process, java.io.BufferedReader out, java.io.PrintWriter in) implements AutoCloseable {
    static MemberProcess start(String cluster, int port, List<Integer> ports, int idpPort) throws java.io.IOException {
      String javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process p = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp",
          System.getProperty("java.class.path"), VaultFanoutMember.class.getName(), cluster, Integer.toString(port),
          String.join(",", ports.stream().map(String::valueOf).toList()), Integer.toString(idpPort))
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      return new MemberProcess(p, p.inputReader(java.nio.charset.StandardCharsets.UTF_8),
          new java.io.PrintWriter(p.outputWriter(java.nio.charset.StandardCharsets.UTF_8), true));
    }

    void send(String command) {
      in.println(command);
    }

    /** The member's next answer line; fails on an error answer or when the member died. */
    String expect(String prefix) throws java.io.IOException {
      String line = out.readLine();
      if (line == null || !line.startsWith(prefix)) {
        throw new IllegalStateException("member answered " + line + ", expected " + prefix);
      }
      return line;
    }

    @Override
    public void close() throws Exception {
      in.println("quit");
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * The fan-out with each member in its own JVM, as replicas run: a GC pause or a busy member
   * delays only its own waiters. The driver parks the refresh at its HTTP identity provider until
   * every member has issued its lookups (plus the think time), writes the answer and compares each
   * waiter's completion time with the moment the answer was written (one monotonic clock on Linux).
   */
  static void fanOutProcesses(int cycles, long idpLatencyMs) throws Exception {
    List<Integer> ports = List.of(FreePorts.pick(), FreePorts.pick(), FreePorts.pick());
    String cluster = "fanout-" + Long.toHexString(System.nanoTime());
    List<MemberProcess> members = new ArrayList<>();
    try (GatedHttpIdp idp = new GatedHttpIdp()) {
      for (int port : ports) {
        members.add(MemberProcess.start(cluster, port, ports, idp.port()));
      }
      for (MemberProcess m : members) {
        m.expect("ready");
      }
      long[] fanout = new long[WAITERS * cycles];
      int warmup = 300;
      for (int cycle = -warmup; cycle < cycles; cycle++) {
        int waiters = cycle < 0 ? 30 : WAITERS;
        members.getFirst().send("store " + cycle);
        members.getFirst().expect("stored");
        int before = idp.calls.get();
        for (int m = 0; m < 3; m++) {
          members.get(m).send("issue " + cycle + " " + (waiters / 3 + (m < waiters % 3 ? 1 : 0)));
        }
        for (MemberProcess m : members) {
          m.expect("issued");
        }
        if (!idp.arrived.tryAcquire(30, TimeUnit.SECONDS)) {
          throw new IllegalStateException("no refresh reached the IdP");
        }
        Thread.sleep(cycle < 0 ? 0 : idpLatencyMs); // the IdP's think time
        long released = idp.answer(cycle);
        int k = 0;
        for (MemberProcess m : members) {
          m.send("collect " + cycle);
        }
        for (MemberProcess m : members) {
          String[] times = m.expect("done").split(" ");
          for (int i = 1; i < times.length && cycle >= 0; i++) {
            fanout[cycle * WAITERS + k++] = Math.max(0, Long.parseLong(times[i]) - released);
          }
        }
        if (idp.calls.get() - before != 1) {
          throw new IllegalStateException("cycle " + cycle + ": " + (idp.calls.get() - before) + " refreshes, wanted 1");
        }
      }
      Arrays.sort(fanout);
      System.out.printf("fan-out: %d cycles x %d waiters over 3 members (three JVMs), IdP think time %d ms,"
          + " exactly 1 refresh per cycle%n", cycles, WAITERS, idpLatencyMs);
      System.out.printf("| measure | p50 (ms) | p99 (ms) | max (ms) |%n|---|---:|---:|---:|%n");
      System.out.printf("| IdP answer written -> waiter served (fan-out, three JVMs) | %.1f | **%.1f** | %.1f |%n",
          ms(fanout, 0.5), ms(fanout, 0.99), ms(fanout, 1));
    } finally {
      for (MemberProcess m : members) {
        m.close();
      }
    }
  }

  static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  /** Bytes allocated by every thread of this JVM so far (terminated threads included): load-independent. */
  static long allocatedBytes() {
    return THREADS.getTotalThreadAllocatedBytes();
  }

  static double ms(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) (sorted.length * q))] / 1e6;
  }

  /** A GitHub-shaped opaque token: prefix and {@code n} random base62 characters. */
  static String opaque(String prefix, int n, long seed) {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    java.util.Random random = new java.util.Random(seed);
    StringBuilder sb = new StringBuilder(prefix);
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  static void heapPerCredential(String label, java.util.function.IntFunction<String> access,
      java.util.function.IntFunction<String> refresh) throws Exception {
    AuthzConfig.Vault cfg = vaultConfig();
    int port = FreePorts.pick();
    try (ClusterMember m = ClusterMember.start(member("heap-" + System.nanoTime(), port, List.of(port), cfg))) {
      VaultService vault = new VaultService(m.hazelcast(), cfg, KeyRing.fromConfig(cfg, null),
          r -> CompletableFuture.completedFuture(new RefreshOutcome.Failed("unused", Duration.ofSeconds(1), 0)),
          new SimpleMeterRegistry(), Clock.systemUTC());
      int accessLength = access.apply(0).length();
      int refreshLength = refresh.apply(0).length();
      long before = usedHeapAfterGc();
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      for (int i = 0; i < CREDENTIALS; i++) {
        writes.add(vault.store(key(i), UPSTREAM, List.of("repo"),
            new TokenGrant(access.apply(i), refresh.apply(i), Instant.now().plusSeconds(3600), List.of("repo")),
            "bench"));
      }
      CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
      writes = null;
      long stored = usedHeapAfterGc();
      HazelcastInstance hz = m.hazelcast();
      IMap<Object, Object> map = hz.getMap(VaultService.MAP_NAME);
      long entryCost = map.getLocalMapStats().getOwnedEntryMemoryCost() + map.getLocalMapStats().getBackupEntryMemoryCost();
      // Every credential read once, as a Check does: the near cache now holds its deserialised copy.
      for (int i = 0; i < CREDENTIALS; i++) {
        VaultLookup l = vault.credentialFor(key(i), UPSTREAM, List.of(), "bench").get(30, TimeUnit.SECONDS);
        if (!(l instanceof VaultLookup.Granted g) || !g.accessToken().equals(access.apply(i))) {
          throw new IllegalStateException("credential " + i + " did not open to its token: " + l);
        }
      }
      long nearCached = map.getLocalMapStats().getNearCacheStats().getOwnedEntryCount();
      long read = usedHeapAfterGc();
      System.out.printf("heap, %s: %d credentials (access token %d chars, refresh token %d chars, random per user)%n",
          label, CREDENTIALS, accessLength, refreshLength);
      System.out.printf("| measure | bytes per credential |%n|---|---:|%n");
      System.out.printf("| Hazelcast owned entry memory cost (key + sealed record, serialised) | %d |%n",
          entryCost / CREDENTIALS);
      System.out.printf("| JVM heap growth after GC, stored (one member, no backups on a single member) | %d |%n",
          (stored - before) / CREDENTIALS);
      System.out.printf("| JVM heap growth after GC, stored and read once (near cache: %d entries) | %d |%n",
          nearCached, (read - before) / CREDENTIALS);
      System.out.printf("| of which the near-cached copy and the Check-path cache entry | %d |%n", (read - stored) / CREDENTIALS);
      vault.close();
    }
  }

  static CredentialKey key(int i) {
    return new CredentialKey("https://issuer.example", "user-" + i, "srv");
  }

  static long usedHeapAfterGc() throws InterruptedException {
    var mem = ManagementFactory.getMemoryMXBean();
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200); // let G1 finish concurrent work; a measurement pause, not synchronisation
    }
    return mem.getHeapMemoryUsage().getUsed();
  }

  private VaultFanout() {}
}
