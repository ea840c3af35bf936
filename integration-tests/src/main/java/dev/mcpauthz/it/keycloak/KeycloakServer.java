package dev.mcpauthz.it.keycloak;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Keycloak, started from the distribution that the integration-tests build unpacks into
 * {@code target/keycloak-<version>} (system property {@value #HOME_PROPERTY}), as a child process
 * bound to 127.0.0.1 on free ports.
 *
 * <p>{@link #shared()} gives one instance per JVM, started on first use and stopped when the JUnit
 * run ends ({@link KeycloakExtension}) or, as a backstop, by a JVM shutdown hook. Keycloak runs as
 * {@code kc.sh start-dev} with the {@value #FEATURES} feature, health checks on the management port,
 * and an H2 file database under {@code target/keycloak-data/}. Its console output goes to
 * {@code target/keycloak-logs/*.log}, never to the test console.
 *
 * <p>The child is started through a small {@code sh} watchdog whose standard input is a pipe from
 * this JVM: if the JVM dies without running its shutdown hooks (SIGKILL), the pipe reaches end of
 * file and the watchdog stops Keycloak.
 *
 * <p>See {@code docs/keycloak-harness.md}.
 */
public final class KeycloakServer implements AutoCloseable {

  /** System property naming the unpacked Keycloak distribution; integration-tests/pom.xml sets it. */
  public static final String HOME_PROPERTY = "keycloak.home";
  /** Seconds to wait for readiness (first start includes a Quarkus re-augmentation, ~25 s on 2 cores). */
  public static final String START_TIMEOUT_PROPERTY = "keycloak.startTimeoutSeconds";
  /** Keycloak features enabled at build time. {@code resource-indicators}: RFC 8707, experimental in 26.x. */
  public static final String FEATURES = "resource-indicators";
  /** Bootstrap admin of the master realm. Loopback-only test instance: fixed, so a kept database works. */
  public static final String ADMIN_USERNAME = "admin";
  public static final String ADMIN_PASSWORD = "admin";

  /** Name of the realm default client scope that puts {@link RealmSpec#audienceResource()} into aud. */
  static final String AUDIENCE_SCOPE = "rfc8707-resource-audience";
  /** Client attribute that Keycloak's resource-indicators feature matches the resource parameter against. */
  static final String RESOURCE_URL_ATTRIBUTE = "resource_url";

  private static final Logger LOG = LoggerFactory.getLogger(KeycloakServer.class);
  private static final String LOCALHOST = "127.0.0.1";
  private static final Duration POLL_PAUSE = Duration.ofMillis(250);
  private static final int STOP_GRACE_SECONDS = 30;
  private static final Duration STOP_GRACE = Duration.ofSeconds(STOP_GRACE_SECONDS);
  private static final int MAX_ATTEMPTS = 3;
  private static final AtomicInteger ISOLATED_COUNTER = new AtomicInteger();

  /**
   * Runs "$@" (kc.sh and its arguments) in the background and stops it when this shell gets
   * SIGTERM/SIGINT/SIGHUP or when its standard input (a pipe whose writing end only the test JVM
   * holds) reaches end of file. Exits with Keycloak's status.
   */
  private static final String WATCHDOG = String.join("\n",
      "\"$@\" </dev/null &",
      "kc=$!",
      "trap 'kill -TERM \"$kc\" 2>/dev/null' TERM INT HUP",
      "exec 3<&0 0</dev/null",
      "( while read -r _ <&3; do :; done; kill -TERM \"$kc\" 2>/dev/null ) &",
      "wd=$!",
      "exec 3<&-",
      "status=0",
      "wait \"$kc\" || status=$?",
      "while kill -0 \"$kc\" 2>/dev/null; do wait \"$kc\"; status=$?; done",
      "kill \"$wd\" 2>/dev/null",
      "exit \"$status\"");

  private static KeycloakServer shared;
  private static Throwable sharedStartFailure;

  private final Path home;
  private final DataSlot slot;
  private final Path logFile;
  private final Map<String, KeycloakRealm> realms = new LinkedHashMap<>();
  private final Thread shutdownHook;
  private Process process;
  private final Set<ProcessHandle> knownProcesses = new LinkedHashSet<>();
  private int httpPort;
  private int managementPort;
  private URI baseUri;
  private KeycloakAdmin admin;
  private Duration startupTime;
  private boolean reaugmented;
  private volatile boolean closed;

  // ------------------------------------------------------------------------------------ factories

  /**
   * The JVM's shared instance, started on first use (and again if someone closed it). If the start
   * fails, later calls fail at once with the same cause instead of waiting for Keycloak again.
   */
  public static KeycloakServer shared() {
    synchronized (KeycloakServer.class) {
      if (sharedStartFailure != null) {
        throw new IllegalStateException("the shared Keycloak failed to start earlier in this JVM", sharedStartFailure);
      }
      if (shared == null || shared.closed) {
        try {
          shared = launch("shared", false);
        } catch (RuntimeException | Error e) {
          sharedStartFailure = e;
          throw e;
        }
      }
      return shared;
    }
  }

  /** Stops the shared instance if one is running; {@link KeycloakExtension} calls this at the end of the run. */
  public static void closeShared() {
    KeycloakServer s;
    synchronized (KeycloakServer.class) {
      s = shared;
      shared = null;
    }
    if (s != null) {
      s.close();
    }
  }

  /**
   * A separate instance with its own database (deleted on {@link #close()}); the caller must close
   * it. The database starts as a copy of the shared instance's database as it was when that last
   * started (so Keycloak skips schema creation), or empty on the very first run.
   */
  public static KeycloakServer startIsolated() {
    return launch("isolated-" + ProcessHandle.current().pid() + "-" + ISOLATED_COUNTER.incrementAndGet(), true);
  }

  private static KeycloakServer launch(String name, boolean isolated) {
    Path home = locateHome();
    Path target = home.toAbsolutePath().getParent();
    Path dataRoot = target.resolve("keycloak-data");
    DataSlot slot = DataSlot.open(dataRoot, name, isolated);
    try {
      slot.exchangeTemplate(dataRoot.resolve("template.mv.db"));
      return new KeycloakServer(home, slot, target.resolve("keycloak-logs").resolve(slot.name() + ".log"));
    } catch (RuntimeException | Error e) {
      slot.release();
      throw e;
    }
  }

  private KeycloakServer(Path home, DataSlot slot, Path logFile) {
    this.home = home;
    this.slot = slot;
    this.logFile = logFile;
    this.shutdownHook = new Thread(this::stopFromShutdownHook, "keycloak-stop-" + slot.name());
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    try {
      start();
    } catch (RuntimeException | Error e) {
      closed = true;
      removeShutdownHook();
      try {
        stopProcessTree();
      } catch (RuntimeException stopFailure) {
        e.addSuppressed(stopFailure);
      }
      throw e;
    }
  }

  // ------------------------------------------------------------------------------------ public API

  /** {@code http://127.0.0.1:<port>}: Keycloak's only URL; the issuer of realm r is {@code baseUri()/realms/r}. */
  public URI baseUri() {
    return baseUri;
  }

  /** The management interface ({@code /health/ready}, {@code /health/live}). */
  public URI managementUri() {
    return URI.create("http://" + LOCALHOST + ":" + managementPort);
  }

  /** The H2 database directory of this instance. */
  public Path dataDirectory() {
    return slot.dir();
  }

  /** Keycloak's console output. */
  public Path logFile() {
    return logFile;
  }

  /** From launching {@code kc.sh} to {@code /health/ready} answering 200. */
  public Duration startupTime() {
    return startupTime;
  }

  /** Whether this start re-ran Keycloak's Quarkus build because the build options changed (first start). */
  public boolean reaugmented() {
    return reaugmented;
  }

  public boolean isRunning() {
    return !closed && process != null && process.isAlive();
  }

  /** The watchdog shell, then kc.sh and the Keycloak JVM (those alive now, and those seen at start). */
  public List<ProcessHandle> processTree() {
    Set<ProcessHandle> all = new LinkedHashSet<>();
    if (process != null) {
      all.add(process.toHandle());
      process.toHandle().descendants().forEach(all::add);
    }
    all.addAll(knownProcesses);
    return List.copyOf(all);
  }

  /**
   * Creates a realm as {@code spec} says, idempotent by name: while this server runs, the same spec
   * returns the same handle. A realm of that name left in the kept database by an earlier run, or
   * created here from a different spec, is deleted and created afresh.
   *
   * <p>Realm settings: refresh-token rotation ({@code revokeRefreshToken=true},
   * {@code refreshTokenMaxReuse=0}); {@code sslRequired=none}. Each scope is a client scope with an
   * optional link to every client. With {@link RealmSpec#audienceResource()} set, a client whose
   * client id is the resource URI and whose {@code resource_url} attribute is the same URI, and a
   * default client scope with an Audience mapper naming that client, so that every access token has
   * the URI in {@code aud}, and with the resource-indicators feature a request with
   * {@code resource=<URI>} gets {@code aud} = exactly that URI (a different resource:
   * {@code invalid_target}).
   */
  public synchronized RealmHandle createRealm(RealmSpec spec) {
    ensureOpen();
    KeycloakRealm existing = realms.get(spec.name());
    if (existing != null && existing.spec().equals(spec)) {
      return existing;
    }
    if (existing != null) {
      LOG.info("Realm {} exists with a different spec: creating it again", spec.name());
    }
    realms.remove(spec.name());
    Instant t0 = Instant.now();
    admin.deleteRealm(spec.name());
    buildRealm(spec);
    KeycloakRealm realm = new KeycloakRealm(spec, baseUri, admin);
    realms.put(spec.name(), realm);
    LOG.info("Realm {} ready in {} ms", realm.issuer(), Duration.between(t0, Instant.now()).toMillis());
    return realm;
  }

  /** Deletes a realm (no error when it does not exist). */
  public synchronized void deleteRealm(String name) {
    ensureOpen();
    realms.remove(name);
    admin.deleteRealm(name);
  }

  /**
   * Stops Keycloak: SIGTERM to the Keycloak JVM, kc.sh and the watchdog, waits for all of them to
   * exit (SIGKILL after 30 s), releases the database directory and deletes it
   * if it was an isolated one. Idempotent.
   */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    removeShutdownHook();
    Instant t0 = Instant.now();
    try {
      stopProcessTree();
    } finally {
      slot.release();
    }
    LOG.info("Keycloak at {} stopped in {} ms", baseUri, Duration.between(t0, Instant.now()).toMillis());
    if (slot.temporary()) {
      try {
        Files.deleteIfExists(logFile); // a clean stop: per-JVM log names would only pile up
      } catch (IOException e) {
        LOG.debug("could not delete {}", logFile, e);
      }
    }
  }

  @Override
  public String toString() {
    return "KeycloakServer[" + baseUri + ", data=" + slot.dir() + ", log=" + logFile + "]";
  }

  // ------------------------------------------------------------------------------------ start

  private void start() {
    Duration timeout = Duration.ofSeconds(Long.getLong(START_TIMEOUT_PROPERTY, 180));
    int javaFeature = Runtime.version().feature();
    if (javaFeature < 21) {
      throw new IllegalStateException("Keycloak 26 needs Java 21+, this JVM is " + Runtime.version());
    }
    boolean wipedOnce = false;
    for (int attempt = 1; ; attempt++) {
      int[] ports = freePorts(2);
      httpPort = ports[0];
      managementPort = ports[1];
      baseUri = URI.create("http://" + LOCALHOST + ":" + httpPort);
      Instant t0 = Instant.now();
      launchProcess();
      StartOutcome outcome = awaitReady(t0.plus(timeout));
      if (outcome == StartOutcome.READY) {
        startupTime = Duration.between(t0, Instant.now());
        reaugmented = logContains("Updating the configuration");
        process.toHandle().descendants().forEach(knownProcesses::add);
        admin = new KeycloakAdmin(baseUri, ADMIN_USERNAME, ADMIN_PASSWORD);
        admin.checkLogin();
        LOG.info("Keycloak ready at {} in {} ms{} (data {}, log {})", baseUri, startupTime.toMillis(),
            reaugmented ? " including the Quarkus build" : "", slot.dir(), logFile);
        return;
      }
      String tail = logTail(25);
      stopProcessTree();
      knownProcesses.clear();
      if (outcome == StartOutcome.TIMED_OUT) {
        throw new IllegalStateException("Keycloak not ready within " + timeout.toSeconds() + " s (system property "
            + START_TIMEOUT_PROPERTY + "); log " + logFile + " ends with:\n" + tail);
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new IllegalStateException("Keycloak exited during start-up " + attempt + " times; log " + logFile
            + " ends with:\n" + tail);
      }
      if (tail.contains("already in use") || tail.contains("already bound")) {
        LOG.warn("Keycloak start-up lost a port race, trying other ports");
      } else if (!wipedOnce) {
        LOG.warn("Keycloak exited during start-up; deleting its database {} and trying again. Log tail:\n{}",
            slot.dir(), tail);
        slot.wipe();
        wipedOnce = true;
      } else {
        throw new IllegalStateException("Keycloak exited during start-up; log " + logFile + " ends with:\n" + tail);
      }
    }
  }

  private enum StartOutcome { READY, EXITED, TIMED_OUT }

  private void launchProcess() {
    Path kcSh = home.resolve("bin").resolve("kc.sh");
    List<String> command = new ArrayList<>(List.of("sh", "-c", WATCHDOG, "keycloak-watchdog", "sh", kcSh.toString()));
    command.addAll(List.of(
        "start-dev",
        // build options: keep these exactly as they are, or every start re-runs the Quarkus build
        "--features=" + FEATURES,
        "--health-enabled=true",
        "--db=dev-file",
        // run-time options
        // Keycloak adds these H2 settings only to its default dev-file URL, not to an explicit one
        "--db-url=jdbc:h2:file:" + slot.dir().toAbsolutePath().resolve("keycloakdb")
            + ";NON_KEYWORDS=VALUE;DB_CLOSE_ON_EXIT=FALSE",
        "--http-host=" + LOCALHOST,
        "--http-port=" + httpPort,
        "--http-management-port=" + managementPort,
        "--hostname=" + baseUri));
    ProcessBuilder pb = new ProcessBuilder(command).directory(home.toFile()).redirectErrorStream(true);
    try {
      Files.createDirectories(logFile.getParent());
      Files.writeString(logFile, "# " + Instant.now() + " kc.sh start-dev on " + baseUri + "\n", StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    // stdin stays a pipe from this JVM: the watchdog's dead-man switch
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> k.startsWith("KC_") || k.startsWith("QUARKUS_") || k.startsWith("JAVA_OPTS")
        || k.equals("JAVA_ADD_OPENS") || k.equals("JAVA_LOCALE") || k.equals("DEBUG") || k.equals("DEBUG_PORT")
        || k.equals("PRINT_ENV") || k.equals("JAVA"));
    env.put("JAVA_HOME", System.getProperty("java.home"));
    env.put("KC_BOOTSTRAP_ADMIN_USERNAME", ADMIN_USERNAME);
    env.put("KC_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not run " + kcSh, e);
    }
  }

  private StartOutcome awaitReady(Instant deadline) {
    URI ready = managementUri().resolve("/health/ready");
    HttpClient probe = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest request = HttpRequest.newBuilder(ready).timeout(Duration.ofSeconds(5)).GET().build();
    while (true) {
      if (!process.isAlive()) {
        return StartOutcome.EXITED;
      }
      try {
        HttpResponse<Void> r = probe.send(request, HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return StartOutcome.READY;
        }
      } catch (IOException notYet) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for Keycloak", e);
      }
      if (Instant.now().isAfter(deadline)) {
        return StartOutcome.TIMED_OUT;
      }
      try {
        // poll pause, not a synchronisation sleep: readiness is decided by the endpoint above
        Thread.sleep(POLL_PAUSE);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for Keycloak", e);
      }
    }
  }

  // ------------------------------------------------------------------------------------ realm set-up

  private void buildRealm(RealmSpec spec) {
    String r = spec.name();
    ObjectNode realm = KeycloakAdmin.object();
    realm.put("realm", r);
    realm.put("enabled", true);
    realm.put("sslRequired", "none");
    realm.put("revokeRefreshToken", true);
    realm.put("refreshTokenMaxReuse", 0);
    if (spec.accessTokenLifespan() != null) {
      realm.put("accessTokenLifespan", Math.toIntExact(spec.accessTokenLifespan().toSeconds()));
    }
    admin.createRealm(realm);

    for (String scope : spec.scopes()) {
      ObjectNode cs = KeycloakAdmin.object();
      cs.put("name", scope);
      cs.put("protocol", "openid-connect");
      ObjectNode attrs = cs.putObject("attributes");
      attrs.put("include.in.token.scope", "true");
      // Listed on the consent screen of a consentRequired client (the only ones that show one).
      attrs.put("display.on.consent.screen", "true");
      attrs.put("consent.screen.text", scope);
      String id = admin.createClientScope(r, cs);
      admin.addRealmDefaultClientScope(r, id, true);
    }

    if (spec.audienceResource() != null) {
      String resource = spec.audienceResource();
      ObjectNode rs = KeycloakAdmin.object();
      rs.put("clientId", resource);
      rs.put("name", "RFC 8707 resource " + resource);
      rs.put("enabled", true);
      rs.put("protocol", "openid-connect");
      rs.put("publicClient", false);
      rs.put("bearerOnly", false);
      rs.put("standardFlowEnabled", false);
      rs.put("implicitFlowEnabled", false);
      rs.put("directAccessGrantsEnabled", false);
      rs.put("serviceAccountsEnabled", false);
      rs.putObject("attributes").put(RESOURCE_URL_ATTRIBUTE, resource);
      admin.createClient(r, rs);

      ObjectNode cs = KeycloakAdmin.object();
      cs.put("name", AUDIENCE_SCOPE);
      cs.put("protocol", "openid-connect");
      ObjectNode attrs = cs.putObject("attributes");
      attrs.put("include.in.token.scope", "false");
      attrs.put("display.on.consent.screen", "false");
      ObjectNode mapper = cs.putArray("protocolMappers").addObject();
      mapper.put("name", "aud " + resource);
      mapper.put("protocol", "openid-connect");
      mapper.put("protocolMapper", "oidc-audience-mapper");
      ObjectNode config = mapper.putObject("config");
      config.put("included.client.audience", resource);
      config.put("access.token.claim", "true");
      config.put("introspection.token.claim", "true");
      config.put("id.token.claim", "false");
      config.put("lightweight.claim", "false");
      String id = admin.createClientScope(r, cs);
      admin.addRealmDefaultClientScope(r, id, false);
    }

    // Clients come after the scopes: a new client is linked to the realm's default client scopes.
    for (ClientSpec c : spec.clients()) {
      ObjectNode client = KeycloakAdmin.object();
      client.put("clientId", c.clientId());
      client.put("name", c.clientId());
      client.put("enabled", true);
      client.put("protocol", "openid-connect");
      client.put("publicClient", c.isPublic());
      if (!c.isPublic()) {
        client.put("clientAuthenticatorType", "client-secret");
        client.put("secret", c.secret());
      }
      client.set("redirectUris", KeycloakAdmin.array(c.redirectUris()));
      client.set("webOrigins", KeycloakAdmin.array(List.of("+")));
      client.put("standardFlowEnabled", true);
      client.put("implicitFlowEnabled", false);
      client.put("directAccessGrantsEnabled", c.directAccessGrants());
      client.put("serviceAccountsEnabled", c.serviceAccount());
      client.put("consentRequired", c.consentRequired());
      client.put("fullScopeAllowed", true);
      ObjectNode attrs = client.putObject("attributes");
      if (c.pkceS256()) {
        attrs.put("pkce.code.challenge.method", "S256");
      }
      attrs.put("post.logout.redirect.uris", "+");
      admin.createClient(r, client);
    }

    for (UserSpec u : spec.users()) {
      ObjectNode user = KeycloakAdmin.object();
      user.put("username", u.username());
      user.put("enabled", true);
      if (u.email() != null) {
        user.put("email", u.email());
        user.put("emailVerified", true);
      }
      if (u.firstName() != null) {
        user.put("firstName", u.firstName());
      }
      if (u.lastName() != null) {
        user.put("lastName", u.lastName());
      }
      ObjectNode cred = user.putArray("credentials").addObject();
      cred.put("type", "password");
      cred.put("value", u.password());
      cred.put("temporary", false);
      admin.createUser(r, user);
    }
  }

  // ------------------------------------------------------------------------------------ stop

  private void stopFromShutdownHook() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    LOG.info("JVM shutdown: stopping Keycloak at {}", baseUri);
    try {
      stopProcessTree();
    } finally {
      slot.release();
    }
  }

  private void removeShutdownHook() {
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // the JVM is exiting; the hook runs (or ran) and finds the server closed
    }
  }

  /** SIGTERM to every process of the tree, wait, SIGKILL what is left, wait again. */
  private void stopProcessTree() {
    if (process == null) {
      return;
    }
    Set<ProcessHandle> tree = new LinkedHashSet<>(knownProcesses);
    process.toHandle().descendants().forEach(tree::add);
    List<ProcessHandle> leavesFirst = new ArrayList<>(tree);
    leavesFirst.sort(Comparator.comparingLong(ProcessHandle::pid).reversed());
    leavesFirst.forEach(ProcessHandle::destroy);
    process.destroy();
    Set<ProcessHandle> all = new LinkedHashSet<>(tree);
    all.add(process.toHandle());
    List<ProcessHandle> alive = awaitExit(all, STOP_GRACE);
    if (!alive.isEmpty()) {
      LOG.warn("Keycloak processes {} ignored SIGTERM for {} s: killing them", pids(alive), STOP_GRACE.toSeconds());
      List<ProcessHandle> toKill = new ArrayList<>(alive);
      // the tree may have grown meanwhile (kc.sh relaunching java after a build)
      process.toHandle().descendants().forEach(toKill::add);
      toKill.forEach(ProcessHandle::destroyForcibly);
      alive = awaitExit(toKill, Duration.ofSeconds(10));
    }
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // already closed
    }
    if (!alive.isEmpty()) {
      throw new IllegalStateException("Keycloak processes " + pids(alive) + " still alive after SIGKILL");
    }
  }

  private static List<ProcessHandle> awaitExit(Set<ProcessHandle> handles, Duration grace) {
    return awaitExit(new ArrayList<>(handles), grace);
  }

  private static List<ProcessHandle> awaitExit(List<ProcessHandle> handles, Duration grace) {
    Instant deadline = Instant.now().plus(grace);
    List<ProcessHandle> alive = new ArrayList<>();
    for (ProcessHandle h : handles) {
      CompletableFuture<ProcessHandle> exit = h.onExit();
      long left = Math.max(1, Duration.between(Instant.now(), deadline).toMillis());
      try {
        exit.get(left, TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        alive.add(h);
      } catch (ExecutionException e) {
        if (h.isAlive()) {
          alive.add(h);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        if (h.isAlive()) {
          alive.add(h);
        }
      }
    }
    return alive;
  }

  private static List<Long> pids(List<ProcessHandle> handles) {
    return handles.stream().map(ProcessHandle::pid).toList();
  }

  // ------------------------------------------------------------------------------------ helpers

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("Keycloak server is closed: " + this);
    }
  }

  private boolean logContains(String needle) {
    try (Stream<String> lines = Files.lines(logFile, StandardCharsets.UTF_8)) {
      return lines.anyMatch(l -> l.contains(needle));
    } catch (IOException | UncheckedIOException e) {
      return false;
    }
  }

  private String logTail(int n) {
    try {
      List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - n), lines.size()));
    } catch (IOException | UncheckedIOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  private static int[] freePorts(int n) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      InetAddress loopback = InetAddress.getByName(LOCALHOST);
      int[] ports = new int[n];
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 1, loopback);
        sockets.add(s);
        ports[i] = s.getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException("no free loopback port", e);
    } finally {
      for (ServerSocket s : sockets) {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing a listening socket we own
        }
      }
    }
  }

  /** {@value #HOME_PROPERTY}, else $KEYCLOAK_HOME, else target/keycloak-* or integration-tests/target/keycloak-*. */
  static Path locateHome() {
    List<Path> candidates = new ArrayList<>();
    String prop = System.getProperty(HOME_PROPERTY);
    if (prop != null && !prop.isBlank()) {
      candidates.add(Path.of(prop));
    }
    String env = System.getenv("KEYCLOAK_HOME");
    if (env != null && !env.isBlank()) {
      candidates.add(Path.of(env));
    }
    for (Path target : List.of(Path.of("target"), Path.of("integration-tests", "target"))) {
      if (Files.isDirectory(target)) {
        try (Stream<Path> s = Files.list(target)) {
          s.filter(p -> p.getFileName().toString().startsWith("keycloak-")).sorted().forEach(candidates::add);
        } catch (IOException e) {
          // not a usable candidate
        }
      }
    }
    for (Path p : candidates) {
      if (Files.isRegularFile(p.resolve("bin").resolve("kc.sh"))) {
        return p.toAbsolutePath().normalize();
      }
    }
    throw new IllegalStateException("No Keycloak distribution found (looked at " + candidates + "). Set -D"
        + HOME_PROPERTY + " or run `./mvnw -pl integration-tests process-test-resources`, which unpacks it into"
        + " integration-tests/target/keycloak-<version>.");
  }

  /**
   * A database directory, locked for the life of one server. The shared instance keeps
   * {@code keycloak-data/shared} between runs (a warm start skips schema creation); when another JVM
   * holds it, or for isolated instances, a fresh directory is used and deleted on release.
   */
  private static final class DataSlot {
    private final String name;
    private final Path dir;
    private final boolean temporary;
    private FileChannel channel;
    private FileLock lock;

    private DataSlot(String name, Path dir, boolean temporary, FileChannel channel, FileLock lock) {
      this.name = name;
      this.dir = dir;
      this.temporary = temporary;
      this.channel = channel;
      this.lock = lock;
    }

    static DataSlot open(Path root, String name, boolean temporary) {
      try {
        Files.createDirectories(root);
        if (!temporary) {
          DataSlot slot = tryLock(root, name, false);
          if (slot != null) {
            return slot;
          }
          name = name + "-" + ProcessHandle.current().pid() + "-" + ISOLATED_COUNTER.incrementAndGet();
          LOG.info("Keycloak database {} is in use by another process: using a temporary one", root.resolve("shared"));
        }
        deleteTree(root.resolve(name));
        DataSlot slot = tryLock(root, name, true);
        if (slot == null) {
          throw new IllegalStateException("could not lock " + root.resolve(name));
        }
        return slot;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private static DataSlot tryLock(Path root, String name, boolean temporary) throws IOException {
      Path dir = root.resolve(name);
      Files.createDirectories(dir);
      FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = ch.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        ch.close();
        return null;
      }
      return new DataSlot(name, dir, temporary, ch, lock);
    }

    String name() {
      return name;
    }

    boolean temporary() {
      return temporary;
    }

    Path dir() {
      return dir;
    }

    /**
     * The kept slot refreshes {@code template} from its database, which is closed at this point
     * (this JVM holds the lock and has not started Keycloak yet); a temporary slot starts from a
     * copy of {@code template}, if there is one.
     */
    void exchangeTemplate(Path template) {
      Path db = dir.resolve("keycloakdb.mv.db");
      try {
        if (!temporary && Files.isRegularFile(db)) {
          Path tmp = template.resolveSibling(template.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
          Files.copy(db, tmp, StandardCopyOption.REPLACE_EXISTING);
          Files.move(tmp, template, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } else if (temporary && Files.isRegularFile(template) && !Files.exists(db)) {
          Files.copy(template, db);
        }
      } catch (IOException e) {
        LOG.warn("Keycloak database template {} not used: {}", template, e.toString());
      }
    }

    /** Deletes the database files (after a failed start; the process is stopped). */
    void wipe() {
      try (Stream<Path> s = Files.list(dir)) {
        for (Path p : s.filter(p -> !p.getFileName().toString().equals(".lock")).toList()) {
          deleteTree(p);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    synchronized void release() {
      try {
        if (lock != null) {
          lock.release();
          channel.close();
        }
        if (temporary) {
          deleteTree(dir);
        }
      } catch (IOException e) {
        LOG.warn("could not release Keycloak data directory {}: {}", dir, e.toString());
      } finally {
        lock = null;
        channel = null;
      }
    }

    private static void deleteTree(Path p) throws IOException {
      if (!Files.exists(p)) {
        return;
      }
      try (Stream<Path> walk = Files.walk(p)) {
        for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(q);
        }
      }
    }
  }
}
