package dev.mcpauthz.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * A load-generator target in its own JVM, so that the generator and the server can run on
 * different cores ({@code LoadGenerator --server-cpus}). Prints one line {@code READY <port>
 * <bearer token>} and runs until its standard input closes.
 *
 * <pre>
 * taskset -c 1 java -cp benchmarks.jar dev.mcpauthz.bench.BenchServer mcp-authz|mcp-authz-vault|noop
 * </pre>
 */
public final class BenchServer {
  private BenchServer() {}

  public static void main(String[] args) throws Exception {
    String target = args.length > 0 ? args[0] : "mcp-authz";
    int threads = Runtime.getRuntime().availableProcessors();
    try (BenchFixtures f = target.equals("mcp-authz-vault") ? BenchFixtures.startWithVault() : BenchFixtures.start()) {
      int maxInbound = f.config.limits().maxBodyBytes() + 256 * 1024;
      switch (target) {
        case "mcp-authz", "mcp-authz-vault" -> serve(f.server.grpcPort(), f.token);
        case "noop" -> {
          try (LoopbackServer s = LoopbackServer.start(LoopbackServer.noop(), threads, maxInbound)) {
            serve(s.port(), f.token);
          }
        }
        default -> throw new IllegalArgumentException("target must be mcp-authz, mcp-authz-vault or noop: " + target);
      }
    }
  }

  private static void serve(int port, String token) throws Exception {
    System.out.println("READY " + port + " " + token);
    System.out.flush();
    try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      while (in.readLine() != null) {
        // the parent holds stdin open for as long as it wants this server
      }
    }
  }
}
