package dev.mcpauthz;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigException;
import dev.mcpauthz.config.ConfigLoader;
import dev.mcpauthz.policy.PolicyCli;
import dev.mcpauthz.policy.PolicyEnvironment;
import dev.mcpauthz.policy.PolicyException;
import dev.mcpauthz.policy.PolicyLoader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * Command line: {@code java -jar mcp-authz.jar [--config FILE] [--check-config]}. The config file
 * may also be given as {@code MCP_AUTHZ_CONFIG}. Exit status 2 means the configuration (or a policy
 * file it points to) is invalid.
 *
 * <p>{@code java -jar mcp-authz.jar policy validate|test|explain ...} runs the policy tools
 * ({@link PolicyCli}; exit 0 ok, 1 invalid policy or test mismatch, 2 usage error).
 */
public final class McpAuthzMain {
  private McpAuthzMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("policy")) {
      PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
      PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
      System.exit(PolicyCli.run(Arrays.copyOfRange(args, 1, args.length), out, err));
      return;
    }
    String file = System.getenv("MCP_AUTHZ_CONFIG");
    boolean checkOnly = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config", "-c" -> {
          if (i + 1 >= args.length) {
            usage("--config needs a file");
          }
          file = args[++i];
        }
        case "--check-config" -> checkOnly = true;
        case "--help", "-h" -> usage(null);
        default -> usage("unknown argument " + args[i]);
      }
    }
    if (file == null) {
      usage("no configuration: pass --config FILE or set MCP_AUTHZ_CONFIG");
    }
    AuthzConfig config;
    try {
      config = ConfigLoader.load(Path.of(file), System.getenv());
    } catch (ConfigException e) {
      System.err.println("mcp-authz: invalid configuration: " + e.getMessage());
      System.exit(2);
      return;
    }
    if (checkOnly) {
      if (config.policy() != null) {
        try {
          var set = PolicyLoader.load(config.policy().dir(), PolicyEnvironment.of(config));
          System.out.println("mcp-authz: policy OK: " + config.policy().dir() + " (version " + set.version() + ", "
              + set.servers().size() + " servers, " + set.ruleCount() + " rules)");
        } catch (PolicyException e) {
          System.err.println("mcp-authz: invalid policy: " + e.getMessage());
          System.exit(2);
          return;
        }
      }
      System.out.println("mcp-authz: configuration OK: " + file);
      return;
    }
    McpAuthzServer server;
    try {
      server = McpAuthzServer.start(config);
    } catch (ConfigException e) {
      System.err.println("mcp-authz: invalid policy: " + e.getMessage());
      System.exit(2);
      return;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.close();
      stopped.countDown();
    }, "mcp-authz-shutdown"));
    stopped.await();
  }

  private static void usage(String error) {
    if (error != null) {
      System.err.println("mcp-authz: " + error);
    }
    System.err.println("usage: java -jar mcp-authz.jar [--config FILE] [--check-config]");
    System.err.println("       java -jar mcp-authz.jar policy validate|test|explain ... (policy --help)");
    System.exit(error == null ? 0 : 2);
  }
}
