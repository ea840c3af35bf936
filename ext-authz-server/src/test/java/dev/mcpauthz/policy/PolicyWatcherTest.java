package dev.mcpauthz.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The directory watcher, on its own: a bounded await on the reload listener, no sleeps. */
class PolicyWatcherTest {
  static final String A = PolicyReloadTest.A;
  static final String B = PolicyReloadTest.B;

  @TempDir
  Path tmp;

  @Test
  void watcherReloadsAfterAnEditAndRejectsABadOne() throws Exception {
    Path dir = tmp.resolve("w");
    java.nio.file.Files.createDirectories(dir);
    PolicyFixtures.write(dir.resolve("github.yaml"), A);
    try (PolicyStore store = PolicyStore.open(dir, PolicyEnvironment.ANY)) {
      String first = store.current().version();
      ConcurrentLinkedQueue<PolicyStore.Reload> reloads = new ConcurrentLinkedQueue<>();
      CountDownLatch changed = new CountDownLatch(1);
      CountDownLatch failed = new CountDownLatch(1);
      store.addListener(r -> {
        reloads.add(r);
        if (r.changed()) {
          changed.countDown();
        }
        if (!r.success()) {
          failed.countDown();
        }
      });
      store.watch(java.time.Duration.ofMillis(50));

      PolicyFixtures.write(dir.resolve("github.yaml"), B);
      assertThat(changed.await(20, TimeUnit.SECONDS)).as("watcher reloaded").isTrue();
      assertThat(store.current().version()).isNotEqualTo(first).endsWith("-2");
      assertThat(store.current().forServer("github").rules()).extracting(Rule::id).containsExactly("rule-b");

      PolicyFixtures.write(dir.resolve("github.yaml"), "server: github\nrules: [oops");
      assertThat(failed.await(20, TimeUnit.SECONDS)).as("watcher saw the bad edit").isTrue();
      assertThat(store.current().forServer("github").rules()).extracting(Rule::id).containsExactly("rule-b");
    }
  }
}
