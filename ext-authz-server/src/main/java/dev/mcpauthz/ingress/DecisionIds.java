package dev.mcpauthz.ingress;

import java.util.concurrent.ThreadLocalRandom;

/** Random 128-bit ids for decisions: unique enough to correlate logs, metadata and responses. */
final class DecisionIds {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private DecisionIds() {}

  static String next() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] out = new char[32];
    fill(out, 0, r.nextLong());
    fill(out, 16, r.nextLong());
    return new String(out);
  }

  private static void fill(char[] out, int at, long v) {
    for (int i = 15; i >= 0; i--) {
      out[at + i] = HEX[(int) (v & 0xF)];
      v >>>= 4;
    }
  }
}
