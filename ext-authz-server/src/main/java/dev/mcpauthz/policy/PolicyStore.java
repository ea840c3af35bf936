package dev.mcpauthz.policy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy in force: one volatile reference to an immutable {@link PolicySet}, replaced whole by
 * {@link #reloadNow()}. A Check reads the reference once and decides on that snapshot, so a reload
 * never changes or drops a Check in flight. An invalid edit is rejected (logged, counted, reported
 * to listeners) and the last good set stays in force.
 */
public final class PolicyStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PolicyStore.class);

  /** The outcome of one (re)load. {@code changed} is false when the files were identical. */
  public record Reload(boolean success, boolean changed, String version, PolicyException error) {}

  private final Path dir;
  private final PolicyEnvironment env;
  private final List<Consumer<Reload>> listeners = new CopyOnWriteArrayList<>();
  private volatile PolicySet current;
  private int generation;
  private PolicyWatcher watcher;

  private PolicyStore(Path dir, PolicyEnvironment env, PolicySet initial) {
    this.dir = dir;
    this.env = env;
    this.current = initial;
    this.generation = initial.generation();
  }

  /** Loads the directory; an invalid policy at start is thrown (the service does not start). */
  public static PolicyStore open(Path dir, PolicyEnvironment env) {
    PolicySet initial = PolicyCompiler.compile(PolicyLoader.read(dir), env, 1);
    log.info("policy loaded dir={} version={} servers={} rules={}", dir, initial.version(), initial.servers().keySet(),
        initial.ruleCount());
    return new PolicyStore(dir, env, initial);
  }

  /** A store that never changes (tests, benchmarks, servers without a policy directory). */
  public static PolicyStore fixed(PolicySet set) {
    return new PolicyStore(null, PolicyEnvironment.ANY, set);
  }

  public PolicySet current() {
    return current;
  }

  public Path dir() {
    return dir;
  }

  /** Called after every reload attempt (success, unchanged or failure), on the reloading thread. */
  public void addListener(Consumer<Reload> listener) {
    listeners.add(Objects.requireNonNull(listener));
  }

  /** Re-reads the directory now; returns (and tells listeners) what happened. */
  public synchronized Reload reloadNow() {
    Reload result;
    if (dir == null) {
      result = new Reload(true, false, current.version(), null);
    } else {
      try {
        List<PolicySource> sources = PolicyLoader.read(dir);
        if (PolicyCompiler.contentHash(sources).equals(current.contentHash())) {
          result = new Reload(true, false, current.version(), null);
        } else {
          PolicySet next = PolicyCompiler.compile(sources, env, generation + 1);
          generation++;
          current = next;
          result = new Reload(true, true, next.version(), null);
          log.info("policy reloaded version={} servers={} rules={}", next.version(), next.servers().keySet(), next.ruleCount());
        }
      } catch (PolicyException e) {
        result = new Reload(false, false, current.version(), e);
        log.warn("policy reload rejected, keeping version={}: {}", current.version(), e.getMessage());
      } catch (RuntimeException e) {
        PolicyException pe = new PolicyException(String.valueOf(dir), 0, "", "unexpected error: " + e);
        result = new Reload(false, false, current.version(), pe);
        log.warn("policy reload failed, keeping version={}", current.version(), e);
      }
    }
    for (Consumer<Reload> l : listeners) {
      try {
        l.accept(result);
      } catch (RuntimeException e) {
        log.warn("policy reload listener failed: {}", e.toString());
      }
    }
    return result;
  }

  /** Watches the directory (JDK WatchService on a virtual thread) and reloads after {@code debounce} of quiet. */
  public synchronized void watch(Duration debounce) {
    if (dir == null || watcher != null) {
      return;
    }
    watcher = PolicyWatcher.start(dir, debounce, this::reloadNow);
  }

  @Override
  public synchronized void close() {
    if (watcher != null) {
      watcher.close();
      watcher = null;
    }
  }
}
