package dev.mcpauthz.bench;

import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * The vault-hit figure of docs/PERFORMANCE.md measured so that both sides see the same machine:
 * {@link VaultHitBenchmark}'s two Checks (cached-JWT allow without upstream, and the same allow
 * with a vault hit and token injection) run in one JVM, alternating in short blocks (ABBA order),
 * each call timed on its own. JMH runs one benchmark after the other in separate JVMs, so on a
 * shared VM its two p99s come from different minutes and different JIT outcomes and differ by
 * tens of microseconds between runs; here a noisy moment or a GC pause falls on both sides alike.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.mcpauthz.bench.VaultHitInterleaved [rounds=400] [block=250]
 * </pre>
 */
public final class VaultHitInterleaved {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 400;
    int block = args.length > 1 ? Integer.parseInt(args[1]) : 250;
    VaultHitBenchmark bench = new VaultHitBenchmark();
    bench.setUp();
    try {
      CheckHandlerBenchmark.Collector c = new CheckHandlerBenchmark.Collector();
      // Warm-up: both paths compiled, as in JMH's five 2-second iterations.
      long warmEnd = System.nanoTime() + 10_000_000_000L;
      while (System.nanoTime() < warmEnd) {
        for (int i = 0; i < block; i++) {
          bench.cachedJwtAllow(c);
          bench.vaultHitInject(c);
        }
      }
      long[] plain = new long[rounds * block];
      long[] vault = new long[rounds * block];
      long plainAlloc = 0;
      long vaultAlloc = 0;
      for (int r = 0; r < rounds; r++) {
        boolean plainFirst = (r & 1) == 0; // ABBA: neither side always runs right after the other
        for (int side = 0; side < 2; side++) {
          boolean isPlain = (side == 0) == plainFirst;
          long[] into = isPlain ? plain : vault;
          long a0 = THREADS.getCurrentThreadAllocatedBytes();
          for (int i = 0; i < block; i++) {
            long t0 = System.nanoTime();
            CheckResponse resp = isPlain ? bench.cachedJwtAllow(c) : bench.vaultHitInject(c);
            into[r * block + i] = System.nanoTime() - t0;
            if (resp == null) {
              throw new IllegalStateException("no response");
            }
          }
          long allocated = THREADS.getCurrentThreadAllocatedBytes() - a0;
          if (isPlain) {
            plainAlloc += allocated;
          } else {
            vaultAlloc += allocated;
          }
        }
      }
      long n = (long) rounds * block;
      Arrays.sort(plain);
      Arrays.sort(vault);
      System.out.printf("# vault hit vs cached-JWT allow, interleaved in one JVM: %d rounds x %d calls each side,"
          + " %d cores, %s%n", rounds, block, Runtime.getRuntime().availableProcessors(),
          System.getProperty("java.vm.version"));
      System.out.printf("| Check | mean (µs) | p50 (µs) | p90 (µs) | p99 (µs) | p99.9 (µs) | allocated (B/op) |%n");
      System.out.printf("|---|---:|---:|---:|---:|---:|---:|%n");
      row("`cachedJwtAllow`", plain, plainAlloc / n);
      row("`vaultHitInject`", vault, vaultAlloc / n);
      System.out.printf("| difference | %+.2f | %+.2f | %+.2f | **%+.2f** | %+.2f | **%+d** |%n",
          (mean(vault) - mean(plain)) / 1e3, (q(vault, 0.5) - q(plain, 0.5)) / 1e3,
          (q(vault, 0.9) - q(plain, 0.9)) / 1e3, (q(vault, 0.99) - q(plain, 0.99)) / 1e3,
          (q(vault, 0.999) - q(plain, 0.999)) / 1e3, (vaultAlloc - plainAlloc) / n);
      System.out.printf("| added, %% of cachedJwtAllow | %+.0f%% | %+.0f%% | %+.0f%% | **%+.0f%%** | %+.0f%% | |%n",
          pct(mean(vault), mean(plain)), pct(q(vault, 0.5), q(plain, 0.5)), pct(q(vault, 0.9), q(plain, 0.9)),
          pct(q(vault, 0.99), q(plain, 0.99)), pct(q(vault, 0.999), q(plain, 0.999)));
    } finally {
      bench.tearDown();
    }
    System.exit(0);
  }

  private static void row(String name, long[] sorted, long allocPerOp) {
    System.out.printf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %d |%n", name, mean(sorted) / 1e3,
        q(sorted, 0.5) / 1e3, q(sorted, 0.9) / 1e3, q(sorted, 0.99) / 1e3, q(sorted, 0.999) / 1e3, allocPerOp);
  }

  private static double pct(double vault, double plain) {
    return (vault - plain) * 100 / plain;
  }

  private static double q(long[] sorted, double quantile) {
    return sorted[Math.min(sorted.length - 1, (int) (sorted.length * quantile))];
  }

  private static double mean(long[] values) {
    double sum = 0;
    for (long v : values) {
      sum += v;
    }
    return sum / values.length;
  }

  private VaultHitInterleaved() {}
}
