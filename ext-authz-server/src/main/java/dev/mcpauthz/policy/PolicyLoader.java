package dev.mcpauthz.policy;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Reads a policy directory: every {@code *.yaml} / {@code *.yml} file directly in it, by name;
 * hidden files (editor swap files, Kubernetes ConfigMap {@code ..data} links) are skipped.
 */
public final class PolicyLoader {
  public static final int MAX_FILE_BYTES = 1024 * 1024;
  public static final int MAX_FILES = 1_000;

  private PolicyLoader() {}

  public static List<PolicySource> read(Path dir) {
    String where = dir.toString();
    if (!Files.isDirectory(dir)) {
      throw new PolicyException(where, 0, "", "not a directory");
    }
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String n = p.getFileName().toString();
        if (!n.startsWith(".") && (n.endsWith(".yaml") || n.endsWith(".yml")) && Files.isRegularFile(p)) {
          files.add(p);
        }
      }
    } catch (IOException e) {
      throw new PolicyException(where, 0, "", "cannot list: " + e.getMessage());
    }
    if (files.size() > MAX_FILES) {
      throw new PolicyException(where, 0, "", "more than " + MAX_FILES + " policy files");
    }
    files.sort(Comparator.comparing(p -> p.getFileName().toString()));
    List<PolicySource> out = new ArrayList<>(files.size());
    for (Path p : files) {
      String name = p.getFileName().toString();
      try {
        if (Files.size(p) > MAX_FILE_BYTES) {
          throw new PolicyException(name, 0, "", "larger than " + MAX_FILE_BYTES + " bytes");
        }
        byte[] bytes = Files.readAllBytes(p);
        String text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        out.add(new PolicySource(name, text));
      } catch (CharacterCodingException e) {
        throw new PolicyException(name, 0, "", "not UTF-8");
      } catch (IOException e) {
        throw new PolicyException(name, 0, "", "cannot read: " + e.getMessage());
      }
    }
    return out;
  }

  /** Reads and compiles a directory (the CLI and {@code --check-config}). */
  public static PolicySet load(Path dir, PolicyEnvironment env) {
    return PolicyCompiler.compile(read(dir), env, 1);
  }
}
