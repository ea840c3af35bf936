package dev.mcpauthz;

import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.config.ConfigException;
import dev.mcpauthz.config.ConfigLoader;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Command line: {@code java -jar mcp-authz.jar [--config FILE] [--check-config]}. The config file
 * may also be given as {@code MCP_AUTHZ_CONFIG}. Exit status 2 means the configuration is invalid.
 */
public final class McpAuthzMain {
  private McpAuthzMain() {}

  public static void main(String[] args) throws Exception {
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
      System.out.println("mcp-authz: configuration OK: " + file);
      return;
    }
    McpAuthzServer server = McpAuthzServer.start(config);
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
    System.exit(error == null ? 0 : 2);
  }
}
