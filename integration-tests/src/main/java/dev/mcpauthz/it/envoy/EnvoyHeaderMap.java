package dev.mcpauthz.it.envoy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An ordered header multimap with the semantics of Envoy's {@code HeaderMapImpl} that matter to the
 * ext_authz filter: lower-cased keys, pseudo-headers kept in front, {@code host} stored as
 * {@code :authority} in request maps, and the difference between inline headers (one entry; a second
 * {@code addCopy} comma-joins) and other headers (every {@code addCopy} is a separate entry).
 */
final class EnvoyHeaderMap {

  enum Type { REQUEST, RESPONSE }

  /** Envoy's {@code INLINE_REQ_RESP_*} headers (request and response maps). */
  private static final Set<String> INLINE_REQ_RESP = Set.of(
      "connection", "content-type", "x-envoy-decorator-operation", "keep-alive", "proxy-connection",
      "proxy-status", "x-request-id", "transfer-encoding", "upgrade", "via", "content-length",
      "x-envoy-attempt-count");

  /** Envoy's {@code INLINE_REQ_*} headers (request maps only). */
  private static final Set<String> INLINE_REQ = Set.of(
      "x-client-trace-id", "x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node",
      "x-envoy-external-address", "x-envoy-force-trace", "x-envoy-hedge-on-per-try-timeout",
      "x-envoy-internal", "x-envoy-ip-tags", "x-envoy-retry-on", "x-envoy-retry-grpc-on",
      "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names", "x-envoy-original-path",
      "x-envoy-original-url", "x-envoy-upstream-alt-stat-name",
      "x-envoy-upstream-rq-timeout-alt-response", "expect", "x-forwarded-client-cert",
      "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "grpc-timeout", ":authority",
      ":method", ":path", ":protocol", ":scheme", "te", "user-agent",
      "x-envoy-expected-rq-timeout-ms", "x-envoy-max-retries", "x-envoy-upstream-rq-timeout-ms",
      "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-upstream-stream-duration-ms");

  /** Envoy's {@code INLINE_RESP_*} headers (response maps only). */
  private static final Set<String> INLINE_RESP = Set.of(
      "date", "x-envoy-degraded", "x-envoy-immediate-health-check-fail", "x-envoy-ratelimited",
      "x-envoy-upstream-canary", "x-envoy-upstream-healthchecked-cluster", "location", "server",
      "x-envoy-upstream-service-time", ":status", "grpc-status", "grpc-message");

  private final Type type;
  private final List<String[]> entries = new ArrayList<>();

  EnvoyHeaderMap(Type type) {
    this.type = type;
  }

  /** Lower-cases the key and, in request maps, maps the legacy {@code host} key onto {@code :authority}. */
  String canonicalKey(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return type == Type.REQUEST && k.equals("host") ? ":authority" : k;
  }

  boolean isInline(String canonicalKey) {
    return INLINE_REQ_RESP.contains(canonicalKey)
        || (type == Type.REQUEST ? INLINE_REQ : INLINE_RESP).contains(canonicalKey);
  }

  List<String> get(String key) {
    String k = canonicalKey(key);
    List<String> out = new ArrayList<>();
    for (String[] e : entries) {
      if (e[0].equals(k)) {
        out.add(e[1]);
      }
    }
    return out;
  }

  String getFirst(String key) {
    String k = canonicalKey(key);
    for (String[] e : entries) {
      if (e[0].equals(k)) {
        return e[1];
      }
    }
    return null;
  }

  boolean has(String key) {
    return getFirst(key) != null;
  }

  /** {@code HeaderMapImpl::addCopy}: a new entry, or a comma-join if the header is inline and present. */
  void add(String key, String value) {
    String k = canonicalKey(key);
    if (isInline(k)) {
      for (String[] e : entries) {
        if (e[0].equals(k)) {
          e[1] = join(k, e[1], value);
          return;
        }
      }
    }
    insert(k, value);
  }

  /** {@code HeaderMapImpl::setCopy}: remove every entry of the key, then add one at the end. */
  void set(String key, String value) {
    remove(key);
    insert(canonicalKey(key), value);
  }

  /** {@code HeaderMapImpl::appendCopy}: join onto the first entry (cookie with "; ", others ","), else add. */
  void append(String key, String value) {
    String k = canonicalKey(key);
    for (String[] e : entries) {
      if (e[0].equals(k)) {
        e[1] = join(k, e[1], value);
        return;
      }
    }
    insert(k, value);
  }

  /** {@code HeaderMapImpl::appendToHeader}: empty data is a no-op, the delimiter only between values. */
  private static String join(String key, String existing, String data) {
    if (data.isEmpty()) {
      return existing;
    }
    return existing.isEmpty() ? data : existing + (key.equals("cookie") ? "; " : ",") + data;
  }

  int remove(String key) {
    String k = canonicalKey(key);
    int before = entries.size();
    entries.removeIf(e -> e[0].equals(k));
    return before - entries.size();
  }

  /** Entries in iteration order (pseudo-headers first). */
  List<Map.Entry<String, String>> entries() {
    List<Map.Entry<String, String>> out = new ArrayList<>(entries.size());
    for (String[] e : entries) {
      out.add(Map.entry(e[0], e[1]));
    }
    return out;
  }

  int size() {
    return entries.size();
  }

  private void insert(String k, String value) {
    if (k.startsWith(":")) {
      int i = 0;
      while (i < entries.size() && entries.get(i)[0].startsWith(":")) {
        i++;
      }
      entries.add(i, new String[] {k, value});
    } else {
      entries.add(new String[] {k, value});
    }
  }

  /** Envoy's {@code HeaderUtility::isRemovableHeader}: neither a pseudo-header nor {@code host}. */
  static boolean isRemovableHeader(String key) {
    return !key.isEmpty() && key.charAt(0) != ':' && !key.equalsIgnoreCase("host");
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    for (String[] e : entries) {
      sb.append(e[0]).append(": ").append(e[1]).append('\n');
    }
    return sb.toString();
  }
}
