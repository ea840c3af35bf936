package dev.mcpauthz.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Loads {@link AuthzConfig}: YAML file, then environment overrides, then validation.
 *
 * <p>Environment overrides use {@code MCP_AUTHZ_} + the key path in upper case with {@code __}
 * between path segments and list indexes, e.g. {@code MCP_AUTHZ_GRPC__PORT=9000} or {@code
 * MCP_AUTHZ_ISSUERS__0__INTROSPECTION__CLIENT_SECRET=...}. A double underscore separates segments
 * because keys themselves contain single underscores.
 */
public final class ConfigLoader {
  public static final String ENV_PREFIX = "MCP_AUTHZ_";
  /** Not an override: the config file path used by the launcher. */
  static final String ENV_CONFIG_FILE = "MCP_AUTHZ_CONFIG";

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper BINDER =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .addModule(
              new SimpleModule()
                  .addDeserializer(Duration.class, new DurationDeserializer()))
          .build();

  private ConfigLoader() {}

  public static AuthzConfig load(Path file, Map<String, String> env) {
    String source = file.toString();
    String yaml;
    try {
      yaml = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException(source, "", "file not found");
    } catch (IOException e) {
      throw new ConfigException(source, "", "cannot read: " + e.getMessage());
    }
    return parse(yaml, source, env, file.toAbsolutePath().getParent());
  }

  /** Parses YAML text; {@code baseDir} resolves relative file paths (jwks_file, secrets). */
  public static AuthzConfig parse(String yaml, String source, Map<String, String> env, Path baseDir) {
    JsonNode tree;
    try {
      tree = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      var loc = e.getLocation();
      String where = loc == null ? "" : "line " + loc.getLineNr() + ", column " + loc.getColumnNr();
      throw new ConfigException(source, where, "invalid YAML: " + e.getOriginalMessage());
    }
    if (tree == null || tree.isMissingNode() || tree.isNull()) {
      tree = JsonNodeFactory.instance.objectNode();
    }
    if (!tree.isObject()) {
      throw new ConfigException(source, "", "top level must be a mapping");
    }
    applyEnvOverrides((ObjectNode) tree, env, source);
    AuthzConfig config;
    try {
      config = BINDER.treeToValue(tree, AuthzConfig.class);
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException(
          source, keyPath(e), "unknown key '" + e.getPropertyName() + "'" + knownKeys(e));
    } catch (JsonMappingException e) {
      throw new ConfigException(source, keyPath(e), rootMessage(e));
    } catch (JsonProcessingException e) {
      throw new ConfigException(source, "", e.getOriginalMessage());
    }
    return ConfigValidator.validate(config, source, baseDir);
  }

  static void applyEnvOverrides(ObjectNode root, Map<String, String> env, String source) {
    // Sorted so list indexes are created in order and the result does not depend on map order.
    for (var e : new TreeMap<>(env).entrySet()) {
      String name = e.getKey();
      if (!name.startsWith(ENV_PREFIX) || name.equals(ENV_CONFIG_FILE)) {
        continue;
      }
      String[] path = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).split("__");
      setPath(root, path, e.getValue(), name, source);
    }
  }

  private static void setPath(ObjectNode root, String[] path, String value, String envName, String source) {
    JsonNode node = root;
    for (int i = 0; i < path.length; i++) {
      String seg = path[i];
      boolean last = i == path.length - 1;
      boolean nextIsIndex = !last && path[i + 1].matches("\\d+");
      if (node instanceof ObjectNode obj) {
        if (last) {
          obj.set(seg, TextNode.valueOf(value));
          return;
        }
        JsonNode child = obj.get(seg);
        if (child == null || child.isNull()) {
          child = nextIsIndex ? obj.putArray(seg) : obj.putObject(seg);
        }
        node = child;
      } else if (node instanceof ArrayNode arr && seg.matches("\\d+")) {
        int idx = Integer.parseInt(seg);
        while (arr.size() <= idx) {
          arr.addObject();
        }
        if (last) {
          arr.set(idx, TextNode.valueOf(value));
          return;
        }
        node = arr.get(idx);
      } else {
        throw new ConfigException(
            source, String.join(".", path), "environment override " + envName + " does not fit the config shape");
      }
    }
  }

  private static String keyPath(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      } else if (ref.getFieldName() != null) {
        if (!sb.isEmpty()) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      }
    }
    return sb.toString();
  }

  private static String knownKeys(UnrecognizedPropertyException e) {
    var known = e.getKnownPropertyIds();
    return known == null || known.isEmpty() ? "" : " (known keys: " + new java.util.TreeSet<>(known.stream().map(String::valueOf).toList()) + ")";
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    if (t instanceof JsonProcessingException jpe) {
      return jpe.getOriginalMessage();
    }
    return t.getMessage();
  }

  private static final class DurationDeserializer extends StdScalarDeserializer<Duration> {
    DurationDeserializer() {
      super(Duration.class);
    }

    @Override
    public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      String text = p.getValueAsString();
      if (text == null) {
        return (Duration) ctxt.handleUnexpectedToken(Duration.class, p);
      }
      try {
        return DurationValue.parse(text);
      } catch (IllegalArgumentException e) {
        throw JsonMappingException.from(p, e.getMessage());
      }
    }
  }
}
