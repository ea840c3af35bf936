package dev.mcpauthz.policy;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A YAML (or JSON) document read into nodes that remember their line, so every problem in a policy
 * file can be reported at the line that causes it. Duplicate keys are an error.
 */
final class YamlTree {
  private static final YAMLFactory YAML = YAMLFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
      .build();

  private YamlTree() {}

  sealed interface Node permits Scalar, MapNode, ListNode {
    int line();
  }

  /** A scalar; {@code text} is null for YAML null, {@code kind} the token it came from. */
  record Scalar(String text, JsonToken kind, int line) implements Node {
    boolean isNull() {
      return kind == JsonToken.VALUE_NULL;
    }

    boolean isString() {
      return kind == JsonToken.VALUE_STRING;
    }
  }

  record MapNode(Map<String, Node> entries, Map<String, Integer> keyLines, int line) implements Node {}

  record ListNode(List<Node> items, int line) implements Node {}

  static Node parse(String file, String text) {
    try (JsonParser p = YAML.createParser(text)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        return new MapNode(Map.of(), Map.of(), 1);
      }
      Node root = read(p, t, file);
      if (p.nextToken() != null) {
        throw new PolicyException(file, line(p.currentTokenLocation()), "", "only one YAML document per file");
      }
      return root;
    } catch (JsonProcessingException e) {
      JsonLocation loc = e.getLocation();
      throw new PolicyException(file, loc == null ? 0 : loc.getLineNr(), "", "invalid YAML: " + firstLine(e.getOriginalMessage()));
    } catch (IOException e) {
      throw new PolicyException(file, 0, "", "cannot read: " + e.getMessage());
    }
  }

  private static Node read(JsonParser p, JsonToken t, String file) throws IOException {
    int line = line(p.currentTokenLocation());
    switch (t) {
      case START_OBJECT -> {
        Map<String, Node> entries = new LinkedHashMap<>();
        Map<String, Integer> keyLines = new LinkedHashMap<>();
        while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
          String key = p.currentName();
          int keyLine = line(p.currentTokenLocation());
          if (entries.containsKey(key)) {
            throw new PolicyException(file, keyLine, key, "duplicate key");
          }
          Node value = read(p, p.nextToken(), file);
          entries.put(key, value);
          keyLines.put(key, keyLine);
        }
        return new MapNode(entries, keyLines, line);
      }
      case START_ARRAY -> {
        List<Node> items = new ArrayList<>();
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
          items.add(read(p, t, file));
        }
        return new ListNode(items, line);
      }
      case VALUE_NULL -> {
        return new Scalar(null, t, line);
      }
      default -> {
        return new Scalar(p.getText(), t, line);
      }
    }
  }

  private static int line(JsonLocation loc) {
    return loc == null ? 0 : loc.getLineNr();
  }

  static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
