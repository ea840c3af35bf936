package dev.mcpauthz.policy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a policy directory and runs a reload once changes have been quiet for the debounce
 * interval (an editor's save, or Kubernetes swapping a ConfigMap's {@code ..data} link, is several
 * events). Runs on one virtual thread; {@link #close()} stops it.
 */
final class PolicyWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PolicyWatcher.class);

  private final WatchService watch;
  private final Thread thread;

  private PolicyWatcher(WatchService watch, Thread thread) {
    this.watch = watch;
    this.thread = thread;
  }

  static PolicyWatcher start(Path dir, Duration debounce, Runnable reload) {
    WatchService ws;
    try {
      ws = FileSystems.getDefault().newWatchService();
      dir.register(ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY,
          StandardWatchEventKinds.ENTRY_DELETE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot watch " + dir, e);
    }
    long quietMillis = Math.max(1, debounce.toMillis());
    Thread t = Thread.ofVirtual().name("mcp-authz-policy-watch").start(() -> loop(ws, quietMillis, reload));
    return new PolicyWatcher(ws, t);
  }

  private static void loop(WatchService ws, long quietMillis, Runnable reload) {
    try {
      while (true) {
        WatchKey key = ws.take();
        drain(key);
        // Debounce: wait until no further event arrives within the quiet interval.
        WatchKey more;
        while ((more = ws.poll(quietMillis, TimeUnit.MILLISECONDS)) != null) {
          drain(more);
        }
        try {
          reload.run();
        } catch (RuntimeException e) {
          log.warn("policy reload failed: {}", e.toString());
        }
      }
    } catch (ClosedWatchServiceException | InterruptedException e) {
      // closed: stop
    }
  }

  private static void drain(WatchKey key) {
    key.pollEvents();
    key.reset();
  }

  @Override
  public void close() {
    try {
      watch.close();
    } catch (IOException e) {
      log.debug("closing policy watcher: {}", e.toString());
    }
    thread.interrupt();
  }
}
