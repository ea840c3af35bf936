package dev.mcpauthz.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What a policy decides on for one JSON-RPC message: server, method and name, plus the CEL
 * variables, converted to CEL values only when a condition reads them and at most once per Check
 * (a batch shares claims and headers between its messages).
 */
public final class PolicyInput {
  /** Headers a condition never sees: credentials must not flow into policy logic or explain output. */
  static final Set<String> HIDDEN_HEADERS = Set.of("authorization", "proxy-authorization", "cookie", "set-cookie");

  private final String server;
  private final String method;
  private final String name;
  private final Shared shared;
  private final Supplier<JsonNode> arguments;
  private final boolean argumentsTooLarge;
  private Object args;

  private PolicyInput(String server, String method, String name, Shared shared, Supplier<JsonNode> arguments,
      boolean argumentsTooLarge) {
    this.server = server;
    this.method = method;
    this.name = name;
    this.shared = shared;
    this.arguments = arguments;
    this.argumentsTooLarge = argumentsTooLarge;
  }

  /**
   * @param claims verified token claims (JSON values), or null
   * @param headers request headers by lower-case name (credentials are removed here), or null
   * @param arguments {@code params.arguments}, or null when the request has none or they were not kept
   * @param argumentsTooLarge the request had arguments over the size limit: {@code args} is an error
   */
  public static PolicyInput of(String server, String method, String name, Supplier<Map<String, ?>> claims,
      Supplier<Map<String, String>> headers, JsonNode arguments, boolean argumentsTooLarge) {
    return new PolicyInput(server, method, name, new Shared(claims, headers), () -> arguments, argumentsTooLarge);
  }

  /** Another message of the same request (same caller and headers). */
  public PolicyInput sibling(String method, String name, JsonNode arguments, boolean argumentsTooLarge) {
    return new PolicyInput(server, method, name, shared, () -> arguments, argumentsTooLarge);
  }

  public String server() {
    return server;
  }

  public String method() {
    return method;
  }

  public String name() {
    return name;
  }

  /** CEL variable resolver: absent variables make the evaluation fail (and so fail closed). */
  Optional<Object> variable(String var) {
    return switch (var) {
      case "server" -> Optional.ofNullable(server);
      case "method" -> Optional.ofNullable(method);
      case "name" -> Optional.of(name == null ? "" : name);
      case "claims" -> Optional.ofNullable(shared.claims());
      case "headers" -> Optional.ofNullable(shared.headers());
      case "args" -> Optional.ofNullable(args());
      default -> Optional.empty();
    };
  }

  private Object args() {
    if (argumentsTooLarge) {
      throw new Condition.ConditionError("the request's arguments exceed policy.max_args_bytes");
    }
    if (args == null) {
      JsonNode node = arguments.get();
      args = node == null || node.isNull() ? Map.of() : fromJson(node);
    }
    return args;
  }

  private static final class Shared {
    private final Supplier<Map<String, ?>> claimsSource;
    private final Supplier<Map<String, String>> headersSource;
    private Map<String, Object> claims;
    private Map<String, String> headers;

    Shared(Supplier<Map<String, ?>> claims, Supplier<Map<String, String>> headers) {
      this.claimsSource = claims;
      this.headersSource = headers;
    }

    Map<String, Object> claims() {
      if (claims == null) {
        Map<String, ?> raw = claimsSource == null ? null : claimsSource.get();
        Map<String, Object> out = new LinkedHashMap<>();
        if (raw != null) {
          raw.forEach((k, v) -> out.put(k, fromJava(v, 0)));
        }
        claims = out;
      }
      return claims;
    }

    Map<String, String> headers() {
      if (headers == null) {
        Map<String, String> raw = headersSource == null ? null : headersSource.get();
        Map<String, String> out = new LinkedHashMap<>();
        if (raw != null) {
          raw.forEach((k, v) -> {
            if (!HIDDEN_HEADERS.contains(k) && !k.startsWith(":")) {
              out.put(k, v);
            }
          });
        }
        headers = out;
      }
      return headers;
    }
  }

  /** JSON tree → CEL values (map, list, string, int (Long), double, bool, null). */
  static Object fromJson(JsonNode n) {
    return switch (n.getNodeType()) {
      case OBJECT -> {
        Map<String, Object> m = new LinkedHashMap<>();
        n.properties().forEach(e -> m.put(e.getKey(), fromJson(e.getValue())));
        yield m;
      }
      case ARRAY -> {
        List<Object> l = new ArrayList<>(n.size());
        n.forEach(e -> l.add(fromJson(e)));
        yield l;
      }
      case STRING -> n.textValue();
      case BOOLEAN -> n.booleanValue();
      case NUMBER -> n.isIntegralNumber() && n.canConvertToLong() ? (Object) n.longValue() : (Object) n.doubleValue();
      case BINARY, POJO -> n.asText();
      default -> dev.cel.common.values.NullValue.NULL_VALUE;
    };
  }

  /** Claim values as Nimbus/JSON-smart give them → CEL values; nesting is bounded by the token size. */
  static Object fromJava(Object v, int depth) {
    if (depth > 32) {
      return String.valueOf(v);
    }
    return switch (v) {
      case null -> dev.cel.common.values.NullValue.NULL_VALUE;
      case String s -> s;
      case Boolean b -> b;
      case Integer i -> (long) i;
      case Long l -> l;
      case Short s -> (long) s;
      case Byte b -> (long) b;
      case BigInteger b -> b.bitLength() < 64 ? (Object) b.longValue() : (Object) b.doubleValue();
      case BigDecimal b -> b.doubleValue();
      case Number num -> num.doubleValue();
      case Date d -> d.getTime() / 1000;
      case Map<?, ?> m -> {
        Map<String, Object> out = new LinkedHashMap<>();
        m.forEach((k, val) -> out.put(String.valueOf(k), fromJava(val, depth + 1)));
        yield out;
      }
      case Collection<?> c -> {
        List<Object> out = new ArrayList<>(c.size());
        c.forEach(e -> out.add(fromJava(e, depth + 1)));
        yield out;
      }
      case JsonNode j -> fromJson(j);
      default -> String.valueOf(v);
    };
  }
}
