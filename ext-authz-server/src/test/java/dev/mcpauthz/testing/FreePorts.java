package dev.mcpauthz.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for servers that cannot bind port 0 (Hazelcast members, whose peers must be
 * listed up front). Picked below Linux's ephemeral range (32768 and up), so an outgoing
 * connection of the same test cannot take the port between the pick and the bind.
 */
public final class FreePorts {
  private FreePorts() {}

  public static int pick() {
    for (int attempt = 0; attempt < 200; attempt++) {
      int port = ThreadLocalRandom.current().nextInt(20_000, 32_000);
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        s.setReuseAddress(true);
        return port;
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IllegalStateException("no free loopback port in 20000-31999");
  }
}
