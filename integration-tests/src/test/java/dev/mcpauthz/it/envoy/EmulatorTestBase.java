package dev.mcpauthz.it.envoy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * One scripted authorization server and one recording upstream per test, and the emulator a test
 * starts between them with {@link #envoy(ExtAuthzFilterConfig.Builder)}; everything is closed
 * after each test.
 */
abstract class EmulatorTestBase {
  protected ScriptedAuthzServer authz;
  protected RecordingUpstream upstream;
  protected EnvoyExtAuthzEmulator envoy;

  @BeforeEach
  void startPeers() throws Exception {
    authz = ScriptedAuthzServer.start();
    upstream = RecordingUpstream.start();
  }

  @AfterEach
  void stopAll() {
    if (envoy != null) {
      envoy.close();
    }
    upstream.close();
    authz.close();
  }

  /** A filter config aimed at this test's authorization server, with a functional-test deadline. */
  protected ExtAuthzFilterConfig.Builder config() {
    return ExtAuthzFilterConfig.builder(authz.target()).timeout(ScriptedAuthzServer.FUNCTIONAL_TIMEOUT);
  }

  /** Starts the emulator in front of {@link #upstream}, aimed at {@link #authz}. */
  protected EnvoyExtAuthzEmulator envoy(ExtAuthzFilterConfig.Builder b) {
    envoy = EnvoyExtAuthzEmulator.start(
        b.grpcTarget(authz.target()).timeout(ScriptedAuthzServer.FUNCTIONAL_TIMEOUT).build(), upstream.uri());
    return envoy;
  }

  /** Starts the emulator with the builder exactly as given (for tests about deadlines). */
  protected EnvoyExtAuthzEmulator envoyExactly(ExtAuthzFilterConfig.Builder b) {
    envoy = EnvoyExtAuthzEmulator.start(b.build(), upstream.uri());
    return envoy;
  }
}
