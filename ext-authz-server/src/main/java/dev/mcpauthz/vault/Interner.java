package dev.mcpauthz.vault;

import java.util.concurrent.ConcurrentHashMap;

/**
 * One shared instance per distinct provider id, resource, key id and scope list of deserialised
 * records. Every near-cached record otherwise holds its own copies of these few values (a dozen
 * configured servers and providers, a handful of scope sets), about 250 bytes per credential. Bounded:
 * past {@link #MAX} distinct values nothing more is interned (correct, just not shared).
 */
final class Interner {
  static final int MAX = 4096;
  private static final ConcurrentHashMap<Object, Object> VALUES = new ConcurrentHashMap<>();

  private Interner() {}

  @SuppressWarnings("unchecked")
  static <T> T intern(T value) {
    if (value == null) {
      return null;
    }
    Object shared = VALUES.get(value);
    if (shared != null) {
      return (T) shared;
    }
    if (VALUES.size() >= MAX) {
      return value;
    }
    shared = VALUES.putIfAbsent(value, value);
    return shared == null ? value : (T) shared;
  }
}
