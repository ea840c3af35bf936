package dev.mcpauthz.bench;

import dev.mcpauthz.ingress.AuthorizationService;
import dev.mcpauthz.telemetry.CheckMetrics;
import dev.mcpauthz.telemetry.DecisionLog;
import dev.mcpauthz.testing.Responses;
import io.envoyproxy.envoy.service.auth.v3.AuthorizationGrpc;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * gRPC load over loopback against (a) a real mcp-authz wired to an in-process issuer (cached-JWT
 * allow, tools/call with a padded JSON-RPC body) and (b) a no-op ext_authz server with the same
 * transport set-up, in one run, with the same client settings and the same request bytes.
 *
 * <p>Two phases per target:
 *
 * <ol>
 *   <li><b>saturation</b> (closed loop): {@code concurrency} calls always in flight over
 *       {@code channels} channels; each completion issues the next call. Gives the maximum
 *       throughput; its latency is mostly queueing (Little's law: mean = in-flight / throughput).
 *   <li><b>fixed rate</b> (open loop, when {@code --rate} > 0): calls are sent on a schedule of
 *       {@code rate} per second (at most {@code concurrency} in flight) and each latency is taken
 *       from the call's <i>intended</i> send time, so a stall is not hidden by the sender slowing
 *       down (no coordinated omission). Gives the latency at that load.
 * </ol>
 *
 * <p>Each phase has a warm-up then a measured window bounded in time and in number of calls;
 * latencies go into an HdrHistogram. Client, servers and issuer share one JVM and the machine's
 * cores, so the figures are a lower bound for a dedicated ext_authz host.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.mcpauthz.bench.LoadGenerator [options]
 * </pre>
 */
public final class LoadGenerator {
  /** Targets of docs/PERFORMANCE.md. */
  static final double TARGET_CHECKS_PER_SECOND = 10_000;
  static final double TARGET_P99_MICROS = 2_000;
  static final double TARGET_RATIO = 0.7;
  static final int MAX_ERRORS = 1_000;
  static final Duration RATE_WARMUP = Duration.ofSeconds(3);
  /**
   * noop and mcp-authz are the comparison the targets are about. The -direct variants are what-ifs
   * that run the Check on the Netty event loop instead of the fixed pool (McpAuthzServer does not):
   * mcp-authz-direct serves the same engine through the same AuthorizationService class.
   */
  static final List<String> TARGETS = List.of("noop", "mcp-authz", "noop-direct", "mcp-authz-direct",
      "mcp-authz-vault");
  /** Issue 3: a vault hit (near cache, AES-GCM open, injection) adds less than this to the allow's p99. */
  static final double TARGET_VAULT_ADDED_P99 = 0.10;

  record Options(Duration warmup, Duration duration, int concurrency, int channels, int bodyBytes,
      long maxCalls, Duration deadline, List<Double> rates, int rounds, List<String> targets,
      BenchFixtures.BodyField bodyField, String serverCpus) {

    static final String USAGE = """
        usage: LoadGenerator [--duration=15s] [--warmup=10s] [--concurrency=64] [--channels=4]
                             [--body-bytes=4096] [--rate=10000[,5000,...]] [--rounds=1] [--max-calls=20000000]
                             [--deadline=2s] [--targets=noop,mcp-authz] [--body-field=body] [--server-cpus=1]
          duration     measured window of each phase
          warmup       warm-up before the saturation phase of each target (the JIT needs ~10 s on 2 cores);
                       the fixed-rate phase, run right after it, warms up for 3 s
          concurrency  calls in flight (saturation), at most in flight (fixed rate); spread over the channels
          body-bytes   size of the JSON-RPC tools/call body in the CheckRequest
          rate         checks/s of the fixed-rate phase; a comma-separated list runs one phase per rate; 0 skips it
          rounds       repeat the whole sequence (targets alternate), figures are merged
          max-calls    per phase, warm-up included: the phase also ends when reached
          deadline     gRPC deadline of each call (Envoy's ext_authz timeout)
          targets      comma-separated, run in this order: noop, mcp-authz, and the what-ifs noop-direct,
                       mcp-authz-direct (Check served on the Netty event loop instead of a thread pool);
                       mcp-authz-vault is mcp-authz whose server has an upstream: each allow is a vault hit
                       that injects the user's upstream token (compare with mcp-authz)
          body-field   body (Envoy's default) or raw_body (with_request_body.pack_as_bytes: true)
          server-cpus  run each target (noop, mcp-authz) in its own JVM pinned with taskset to these CPUs,
                       e.g. 1; start the generator itself with taskset -c 0 so the two never share a core""";

    static Options parse(String[] args) {
      Map<String, String> kv = new LinkedHashMap<>();
      kv.put("warmup", "10s");
      kv.put("duration", "15s");
      kv.put("concurrency", "64");
      kv.put("channels", "4");
      kv.put("body-bytes", Integer.toString(BenchFixtures.DEFAULT_BODY_BYTES));
      kv.put("rate", "10000");
      kv.put("rounds", "1");
      kv.put("max-calls", "20000000");
      kv.put("deadline", "2s");
      kv.put("targets", "noop,mcp-authz");
      kv.put("body-field", "body");
      kv.put("server-cpus", "");
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        if (a.equals("-h") || a.equals("--help")) {
          usage(null);
        }
        if (!a.startsWith("--")) {
          usage("unexpected argument: " + a);
        }
        String key;
        String value;
        int eq = a.indexOf('=');
        if (eq > 0) {
          key = a.substring(2, eq);
          value = a.substring(eq + 1);
        } else {
          key = a.substring(2);
          if (i + 1 >= args.length) {
            usage("missing value for " + a);
          }
          value = args[++i];
        }
        if (!kv.containsKey(key)) {
          usage("unknown option --" + key);
        }
        kv.put(key, value);
      }
      Options o = null;
      try {
        o = new Options(duration(kv.get("warmup")), duration(kv.get("duration")),
            Integer.parseInt(kv.get("concurrency")), Integer.parseInt(kv.get("channels")),
            Integer.parseInt(kv.get("body-bytes")), Long.parseLong(kv.get("max-calls")),
            duration(kv.get("deadline")), rates(kv.get("rate")),
            Integer.parseInt(kv.get("rounds")), List.of(kv.get("targets").split(",")),
            BenchFixtures.BodyField.of(kv.get("body-field")), kv.get("server-cpus").trim());
      } catch (IllegalArgumentException e) {
        usage(e.getMessage());
      }
      if (o.concurrency < 1 || o.channels < 1 || o.maxCalls < 1 || o.rounds < 1
          || o.duration.isZero() || o.deadline.isZero()) {
        usage("concurrency, channels, max-calls, rounds, duration and deadline must be positive");
      }
      for (String t : o.targets) {
        if (!TARGETS.contains(t)) {
          usage("unknown target " + t + " " + TARGETS);
        }
        if (!o.serverCpus.isEmpty() && t.endsWith("-direct")) {
          usage("--server-cpus runs noop and mcp-authz only, not " + t);
        }
      }
      return o;
    }

    static List<Double> rates(String s) {
      List<Double> rates = new ArrayList<>();
      for (String r : s.split(",")) {
        double v = Double.parseDouble(r.trim());
        if (v < 0) {
          throw new IllegalArgumentException("rate must not be negative: " + r);
        }
        if (v > 0) {
          rates.add(v);
        }
      }
      return List.copyOf(rates);
    }

    /** "15s", "500ms", "2m", or a plain number of seconds. */
    static Duration duration(String s) {
      s = s.trim().toLowerCase(Locale.ROOT);
      if (s.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
      }
      if (s.endsWith("s")) {
        return Duration.ofMillis((long) (Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
      }
      if (s.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1)));
      }
      return Duration.ofMillis((long) (Double.parseDouble(s) * 1000));
    }

    private static void usage(String error) {
      if (error != null) {
        System.err.println("LoadGenerator: " + error);
      }
      System.err.println(USAGE);
      System.exit(error == null ? 0 : 2);
    }
  }

  /** Measured figures of one phase against one target, merged over rounds. */
  static final class Result {
    final String target;
    final Histogram latencyNanos = new Histogram(3);
    /** Fixed rate only: latency from the actual send time (without the sender's own delay). */
    final Histogram fromSendNanos = new Histogram(3);
    long calls;
    double seconds;
    long errors;
    long notOk;
    long cpuNanos;
    long gcCount;
    long gcMillis;
    String firstError;

    Result(String target) {
      this.target = target;
    }

    double checksPerSecond() {
      return seconds == 0 ? 0 : calls / seconds;
    }

    void merge(Result other) {
      latencyNanos.add(other.latencyNanos);
      fromSendNanos.add(other.fromSendNanos);
      calls += other.calls;
      seconds += other.seconds;
      errors += other.errors;
      notOk += other.notOk;
      cpuNanos += other.cpuNanos;
      gcCount += other.gcCount;
      gcMillis += other.gcMillis;
      if (firstError == null) {
        firstError = other.firstError;
      }
    }

    double micros(double percentile) {
      return latencyNanos.getTotalCount() == 0 ? 0 : latencyNanos.getValueAtPercentile(percentile) / 1000.0;
    }

    double cpuMicrosPerCheck() {
      return calls == 0 ? 0 : cpuNanos / 1000.0 / calls;
    }

    /** Counters and clocks read at the start of a measured window. */
    final class Window {
      private final long cpu0 = processCpuNanos();
      private final long gcCount0 = gcCount();
      private final long gcMillis0 = gcMillis();
      private final long t0 = System.nanoTime();

      void close(Histogram h, Histogram fromSend, long errorsInWindow, long notOkInWindow, String error) {
        seconds += (System.nanoTime() - t0) / 1e9;
        cpuNanos += processCpuNanos() - cpu0;
        gcCount += gcCount() - gcCount0;
        gcMillis += gcMillis() - gcMillis0;
        calls += h.getTotalCount();
        latencyNanos.add(h);
        if (fromSend != null) {
          fromSendNanos.add(fromSend);
        }
        errors += errorsInWindow;
        notOk += notOkInWindow;
        if (firstError == null) {
          firstError = error;
        }
      }
    }
  }

  private LoadGenerator() {}

  /** A {@link BenchServer} child JVM pinned to CPUs with taskset; stopped (and waited for) on close. */
  static final class ServerProcess implements AutoCloseable {
    final Process process;
    final int port;
    final String token;

    private ServerProcess(Process process, int port, String token) {
      this.process = process;
      this.port = port;
      this.token = token;
    }

    static ServerProcess start(String target, String cpus) throws IOException {
      String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      Process p = new ProcessBuilder("taskset", "-c", cpus, javaBin, "--enable-native-access=ALL-UNNAMED",
          "-cp", System.getProperty("java.class.path"), BenchServer.class.getName(), target)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
          java.nio.charset.StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("READY ")) {
          String[] parts = line.split(" ");
          return new ServerProcess(p, Integer.parseInt(parts[1]), parts[2]);
        }
      }
      p.destroyForcibly();
      throw new IOException("BenchServer " + target + " exited before it was ready (is taskset installed?)");
    }

    @Override
    public void close() throws InterruptedException {
      try {
        process.getOutputStream().close(); // BenchServer exits when its stdin closes
      } catch (IOException ignored) {
        // already gone
      }
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    }
  }

  public static void main(String[] args) throws Exception {
    Options o = Options.parse(args);
    int cores = Runtime.getRuntime().availableProcessors();
    Map<String, Result> saturation = new LinkedHashMap<>();
    // rate -> target -> result
    Map<Double, Map<String, Result>> fixedRate = new LinkedHashMap<>();
    for (String t : o.targets) {
      saturation.put(t, new Result(t));
      for (double rate : o.rates) {
        fixedRate.computeIfAbsent(rate, r -> new LinkedHashMap<>()).put(t, new Result(t));
      }
    }
    // One issuer, one mcp-authz, one request for both targets: the no-op server gets the same
    // bytes. mcp-authz sits idle while the no-op server is measured.
    try (BenchFixtures f = BenchFixtures.start();
        BenchFixtures vault = o.targets.contains("mcp-authz-vault") && o.serverCpus.isEmpty()
            ? BenchFixtures.startWithVault() : null) {
      CheckRequest allow = f.allowRequest(o.bodyBytes, o.bodyField);
      System.out.printf(Locale.ROOT, "# mcp-authz load generator%n");
      System.out.printf(Locale.ROOT, "machine: %d cores (availableProcessors), %s, %s %s, GC %s, heap max %d MiB%n",
          cores, System.getProperty("os.arch"), System.getProperty("java.vm.vendor"),
          System.getProperty("java.vm.version"), gcNames(), Runtime.getRuntime().maxMemory() >> 20);
      System.out.printf(Locale.ROOT, "jvm args: %s%n", ManagementFactory.getRuntimeMXBean().getInputArguments());
      System.out.printf(Locale.ROOT,
          "request: tools/call, JSON-RPC body %d B in %s, CheckRequest %d B serialised, RS256 JWT of %d chars%n",
          BenchFixtures.bodyLength(allow), o.bodyField.name().toLowerCase(Locale.ROOT), allow.getSerializedSize(),
          f.token.length());
      System.out.printf(Locale.ROOT,
          "settings: saturation %d in flight over %d channels, warm-up %s, measure %s; fixed rate %s/s "
              + "(at most %d in flight), warm-up %s, measure %s; %d round(s); deadline %s; "
              + "server executors: fixed pool of %d threads (-direct targets: Netty event loop)%n",
          o.concurrency, o.channels, human(o.warmup), human(o.duration),
          o.rates.isEmpty() ? "off" : rateList(o.rates), o.concurrency,
          human(RATE_WARMUP), human(o.duration), o.rounds, human(o.deadline), cores);
      if (o.serverCpus.isEmpty()) {
        System.out.printf(Locale.ROOT,
            "note: load generator, servers and issuer share this JVM and its %d cores%n%n", cores);
      } else {
        System.out.printf(Locale.ROOT, "note: each target runs in its own JVM pinned to CPUs %s (taskset); this"
            + " generator sees %d core(s); CPU/check counts this JVM only%n%n", o.serverCpus, cores);
      }

      int maxInbound = f.config.limits().maxBodyBytes() + 256 * 1024;
      for (int round = 1; round <= o.rounds; round++) {
        for (String target : o.targets) {
          if (!o.serverCpus.isEmpty()) {
            try (ServerProcess child = ServerProcess.start(target, o.serverCpus)) {
              CheckRequest req = BenchFixtures.toolsCall(o.bodyBytes, child.token, o.bodyField);
              runTarget(target, child.port, req, o, round, saturation.get(target), fixedRate);
            }
          } else if (target.equals("mcp-authz")) {
            runTarget(target, f.server.grpcPort(), allow, o, round, saturation.get(target), fixedRate);
          } else if (target.equals("mcp-authz-vault")) {
            runTarget(target, vault.server.grpcPort(), vault.allowRequest(o.bodyBytes, o.bodyField), o, round,
                saturation.get(target), fixedRate);
          } else {
            BindableService service = target.startsWith("noop") ? LoopbackServer.noop()
                : new AuthorizationService(f.server.engine(), f.config, new CheckMetrics(f.server.registry()),
                    new DecisionLog(f.config.logging().decisions()));
            int threads = target.endsWith("-direct") ? 0 : cores;
            try (LoopbackServer server = LoopbackServer.start(service, threads, maxInbound)) {
              runTarget(target, server.port(), allow, o, round, saturation.get(target), fixedRate);
            }
          }
          System.gc();
        }
      }
    }
    report(saturation, fixedRate, o);
  }

  private static void runTarget(String target, int port, CheckRequest request, Options o, int round,
      Result saturation, Map<Double, Map<String, Result>> fixedRates) throws InterruptedException {
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      List<AuthorizationGrpc.AuthorizationStub> stubs = new ArrayList<>();
      for (int i = 0; i < o.channels; i++) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            // Callbacks run on the Netty event loop: the client adds no thread hand-off of its own.
            .directExecutor()
            .build();
        channels.add(ch);
        // Connect, and check the target answers as expected before loading it.
        CheckResponse first = AuthorizationGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
            .check(request);
        if (!Responses.allowed(first)) {
          throw new IllegalStateException(target + " did not allow the benchmark request: " + first);
        }
        stubs.add(AuthorizationGrpc.newStub(ch));
      }
      System.out.printf(Locale.ROOT, "[round %d] %-9s saturation: warm-up %s, measure %s ... ", round, target,
          human(o.warmup), human(o.duration));
      System.out.flush();
      long calls0 = saturation.calls;
      double secs0 = saturation.seconds;
      Histogram before = saturation.latencyNanos.copy();
      closedLoop(stubs, request, o, saturation);
      Histogram phase = saturation.latencyNanos.copy();
      phase.subtract(before);
      System.out.printf(Locale.ROOT, "%,.0f checks/s, p50 %,.0f us, p99 %,.0f us%n",
          (saturation.calls - calls0) / (saturation.seconds - secs0), phase.getValueAtPercentile(50) / 1000.0,
          phase.getValueAtPercentile(99) / 1000.0);
      for (double rate : o.rates) {
        Result fixedRate = fixedRates.get(rate).get(target);
        System.out.printf(Locale.ROOT, "[round %d] %-9s fixed rate %,.0f/s: warm-up %s, measure %s ... ", round,
            target, rate, human(RATE_WARMUP), human(o.duration));
        System.out.flush();
        calls0 = fixedRate.calls;
        secs0 = fixedRate.seconds;
        Histogram rateBefore = fixedRate.latencyNanos.copy();
        Histogram sendBefore = fixedRate.fromSendNanos.copy();
        openLoop(stubs, request, o, rate, fixedRate);
        Histogram ratePhase = fixedRate.latencyNanos.copy();
        ratePhase.subtract(rateBefore);
        Histogram sendPhase = fixedRate.fromSendNanos.copy();
        sendPhase.subtract(sendBefore);
        System.out.printf(Locale.ROOT, "%,.0f checks/s, p50 %,.0f us, p99 %,.0f us (from send %,.0f us)%n",
            (fixedRate.calls - calls0) / (fixedRate.seconds - secs0), ratePhase.getValueAtPercentile(50) / 1000.0,
            ratePhase.getValueAtPercentile(99) / 1000.0, sendPhase.getValueAtPercentile(99) / 1000.0);
      }
    } finally {
      for (ManagedChannel ch : channels) {
        ch.shutdownNow();
      }
      for (ManagedChannel ch : channels) {
        ch.awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  // ---------------------------------------------------------------- closed loop (saturation)

  private static void closedLoop(List<AuthorizationGrpc.AuthorizationStub> stubs, CheckRequest request,
      Options o, Result result) throws InterruptedException {
    ClosedLoop run = new ClosedLoop(request, o);
    for (int i = 0; i < o.concurrency; i++) {
      new Slot(run, stubs.get(i % stubs.size())).next();
    }
    sleepUntil(System.nanoTime() + o.warmup.toNanos(), run.running);
    run.recorder.getIntervalHistogram(); // discard the warm-up
    long errors0 = run.errors.get();
    long notOk0 = run.notOk.get();
    Result.Window w = result.new Window();
    sleepUntil(System.nanoTime() + o.duration.toNanos(), run.running);
    Histogram h = run.recorder.getIntervalHistogram();
    w.close(h, null, run.errors.get() - errors0, run.notOk.get() - notOk0, run.firstError);
    run.running.set(false);
    if (!run.stopped.await(Math.max(10, o.deadline.toSeconds() * 2), TimeUnit.SECONDS)) {
      System.err.printf("%d calls still in flight after stop%n", run.stopped.getCount());
    }
    failOnErrors(run.errors.get(), run.firstError);
  }

  private static final class ClosedLoop {
    final CheckRequest request;
    final Options options;
    final Recorder recorder = new Recorder(3);
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong issued = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong notOk = new AtomicLong();
    final CountDownLatch stopped;
    volatile String firstError;

    ClosedLoop(CheckRequest request, Options options) {
      this.request = request;
      this.options = options;
      this.stopped = new CountDownLatch(options.concurrency);
    }
  }

  /** One of the N calls kept in flight: issues the next call when the previous one completes. */
  private static final class Slot implements StreamObserver<CheckResponse> {
    private final ClosedLoop run;
    private final AuthorizationGrpc.AuthorizationStub stub;
    private long startNanos;
    private boolean ok;

    Slot(ClosedLoop run, AuthorizationGrpc.AuthorizationStub stub) {
      this.run = run;
      this.stub = stub;
    }

    void next() {
      if (!run.running.get() || run.issued.incrementAndGet() > run.options.maxCalls) {
        run.running.set(false);
        run.stopped.countDown();
        return;
      }
      ok = false;
      startNanos = System.nanoTime();
      stub.withDeadlineAfter(run.options.deadline.toNanos(), TimeUnit.NANOSECONDS).check(run.request, this);
    }

    @Override
    public void onNext(CheckResponse value) {
      ok = value.getStatus().getCode() == 0;
    }

    @Override
    public void onCompleted() {
      run.recorder.recordValue(System.nanoTime() - startNanos);
      if (!ok) {
        run.notOk.incrementAndGet();
      }
      next();
    }

    @Override
    public void onError(Throwable t) {
      if (run.firstError == null) {
        run.firstError = t.toString();
      }
      if (run.errors.incrementAndGet() > MAX_ERRORS) {
        // Stop rather than spin (with a direct executor a failing call can fail synchronously).
        run.running.set(false);
      }
      next();
    }
  }

  // ---------------------------------------------------------------- open loop (fixed rate)

  /**
   * Sends calls at {@code rate}/s from this thread (parking between sends, never spinning: the
   * cores are shared with the server). A call's latency runs from its intended send time, so
   * any delay in sending (pacing thread late, all permits in use) is charged to the call.
   */
  private static void openLoop(List<AuthorizationGrpc.AuthorizationStub> stubs, CheckRequest request,
      Options o, double rate, Result result) throws InterruptedException {
    OpenLoop run = new OpenLoop(o);
    long period = Math.max(1, (long) (1e9 / rate));
    long t0 = System.nanoTime() + 1_000_000;
    long measureFrom = t0 + RATE_WARMUP.toNanos();
    long end = measureFrom + o.duration.toNanos();
    run.measureFrom = measureFrom;
    run.measureTo = end;
    Result.Window w = null;
    long i = 0;
    while (run.running.get() && i < o.maxCalls) {
      long intended = t0 + i * period;
      if (intended >= end) {
        break;
      }
      long now = System.nanoTime();
      if (now < intended) {
        LockSupport.parkNanos(intended - now);
        continue;
      }
      if (w == null && intended >= measureFrom) {
        w = result.new Window();
      }
      if (!run.permits.tryAcquire(o.deadline.toNanos(), TimeUnit.NANOSECONDS)) {
        throw new IllegalStateException("no call completed within the deadline: " + run.firstError);
      }
      stubs.get((int) (i % stubs.size()))
          .withDeadlineAfter(o.deadline.toNanos(), TimeUnit.NANOSECONDS)
          .check(request, new Call(run, intended));
      i++;
    }
    // Let the calls of the measured window finish, then close it.
    if (!run.permits.tryAcquire(o.concurrency, Math.max(10, o.deadline.toSeconds() * 2), TimeUnit.SECONDS)) {
      System.err.println("calls still in flight after the fixed-rate phase");
    }
    if (w == null) {
      w = result.new Window();
    }
    w.close(run.recorder.getIntervalHistogram(), run.fromSend.getIntervalHistogram(), run.errors.get(),
        run.notOk.get(), run.firstError);
    failOnErrors(run.errors.get(), run.firstError);
  }

  private static final class OpenLoop {
    final Semaphore permits;
    final Recorder recorder = new Recorder(3);
    final Recorder fromSend = new Recorder(3);
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong errors = new AtomicLong();
    final AtomicLong notOk = new AtomicLong();
    volatile long measureFrom;
    volatile long measureTo;
    volatile String firstError;

    OpenLoop(Options o) {
      permits = new Semaphore(o.concurrency);
    }
  }

  private static final class Call implements StreamObserver<CheckResponse> {
    private final OpenLoop run;
    private final long intended;
    private final long sent = System.nanoTime();
    private boolean ok;

    Call(OpenLoop run, long intended) {
      this.run = run;
      this.intended = intended;
    }

    private boolean measured() {
      return intended >= run.measureFrom && intended < run.measureTo;
    }

    @Override
    public void onNext(CheckResponse value) {
      ok = value.getStatus().getCode() == 0;
    }

    @Override
    public void onCompleted() {
      if (measured()) {
        long now = System.nanoTime();
        run.recorder.recordValue(now - intended);
        run.fromSend.recordValue(now - sent);
        if (!ok) {
          run.notOk.incrementAndGet();
        }
      }
      run.permits.release();
    }

    @Override
    public void onError(Throwable t) {
      if (run.firstError == null) {
        run.firstError = t.toString();
      }
      if (measured()) {
        run.errors.incrementAndGet();
      }
      if (run.errors.get() > MAX_ERRORS) {
        run.running.set(false);
      }
      run.permits.release();
    }
  }

  // ---------------------------------------------------------------- report

  static void report(Map<String, Result> saturation, Map<Double, Map<String, Result>> fixedRates, Options o) {
    System.out.println();
    System.out.println("## Results (Markdown)");
    System.out.println();
    System.out.printf(Locale.ROOT, "Saturation: closed loop, %d calls in flight over %d channels, %s measured x %d round(s).%n%n",
        o.concurrency, o.channels, human(o.duration), o.rounds);
    table(saturation.values(), false);
    if (!fixedRates.isEmpty()) {
      System.out.printf(Locale.ROOT,
          "Fixed rate: open loop (at most %d in flight), latency from the intended send time; "
              + "\"p99 from send\" leaves out the load generator's own sending delay. %s measured x %d round(s).%n%n",
          o.concurrency, human(o.duration), o.rounds);
      List<Result> rows = new ArrayList<>();
      for (var e : fixedRates.entrySet()) {
        for (Result r : e.getValue().values()) {
          Result named = new Result(String.format(Locale.ROOT, "%s @ %,.0f/s", r.target, e.getKey()));
          named.merge(r);
          rows.add(named);
        }
      }
      table(rows, true);
    }

    Result authz = saturation.get("mcp-authz");
    Result noop = saturation.get("noop");
    if (authz != null && noop != null) {
      double ratio = authz.checksPerSecond() / noop.checksPerSecond();
      System.out.println("| mcp-authz vs no-op | value |");
      System.out.println("|---|---:|");
      System.out.printf(Locale.ROOT, "| saturation throughput ratio | %.2fx |%n", ratio);
      System.out.printf(Locale.ROOT, "| saturation p99 difference | %+,.0f µs |%n", authz.micros(99) - noop.micros(99));
      System.out.printf(Locale.ROOT, "| saturation CPU per check difference | %+.1f µs |%n",
          authz.cpuMicrosPerCheck() - noop.cpuMicrosPerCheck());
      for (var e : fixedRates.entrySet()) {
        Result a = e.getValue().get("mcp-authz");
        Result n = e.getValue().get("noop");
        if (a == null || n == null) {
          continue;
        }
        System.out.printf(Locale.ROOT, "| %,.0f/s p50 difference | %+,.0f µs |%n", e.getKey(), a.micros(50) - n.micros(50));
        System.out.printf(Locale.ROOT, "| %,.0f/s p99 difference | %+,.0f µs |%n", e.getKey(), a.micros(99) - n.micros(99));
        System.out.printf(Locale.ROOT, "| %,.0f/s CPU per check difference | %+.1f µs |%n", e.getKey(),
            a.cpuMicrosPerCheck() - n.cpuMicrosPerCheck());
      }
      System.out.println();
      System.out.printf(Locale.ROOT, "target: throughput >= 0.7x the no-op server ....... %s (%.2fx)%n",
          ratio >= TARGET_RATIO ? "MET" : "MISSED", ratio);
    }
    Result vaultHit = saturation.get("mcp-authz-vault");
    if (authz != null && vaultHit != null) {
      vaultReport(authz, vaultHit, fixedRates);
    }
    if (authz != null) {
      System.out.printf(Locale.ROOT, "target: >= 10,000 checks/s (saturation) ........... %s (%,.0f/s)%n",
          authz.checksPerSecond() >= TARGET_CHECKS_PER_SECOND ? "MET" : "MISSED", authz.checksPerSecond());
    }
    Map<String, Result> atTarget = fixedRates.get(TARGET_CHECKS_PER_SECOND);
    Result authzRate = atTarget == null ? null : atTarget.get("mcp-authz");
    if (authzRate != null) {
      boolean rateHeld = authzRate.checksPerSecond() >= 0.98 * TARGET_CHECKS_PER_SECOND;
      System.out.printf(Locale.ROOT, "target: p99 <= 2 ms at 10,000 checks/s ............ %s (p99 %,.0f µs at %,.0f/s)%n",
          authzRate.micros(99) <= TARGET_P99_MICROS && rateHeld ? "MET" : "MISSED",
          authzRate.micros(99), authzRate.checksPerSecond());
    }
  }

  /** Issue 3's figure: what a vault hit adds to the cached-JWT allow, end to end over gRPC. */
  private static void vaultReport(Result authz, Result vault, Map<Double, Map<String, Result>> fixedRates) {
    System.out.println("| vault hit vs cached-JWT allow | p50 | p99 | p99 added | CPU per check |");
    System.out.println("|---|---:|---:|---:|---:|");
    vaultRow("saturation", authz, vault);
    boolean met = !fixedRates.isEmpty();
    for (var e : fixedRates.entrySet()) {
      Result a = e.getValue().get("mcp-authz");
      Result v = e.getValue().get("mcp-authz-vault");
      if (a != null && v != null) {
        vaultRow(String.format(Locale.ROOT, "%,.0f/s", e.getKey()), a, v);
        met &= v.micros(99) - a.micros(99) < TARGET_VAULT_ADDED_P99 * a.micros(99);
      }
    }
    System.out.println();
    System.out.printf(Locale.ROOT, "target: a vault hit adds < 10%% to the p99 (fixed rate) ... %s%n",
        fixedRates.isEmpty() ? "NOT MEASURED (no --rate)" : met ? "MET" : "MISSED");
  }

  private static void vaultRow(String load, Result authz, Result vault) {
    System.out.printf(Locale.ROOT, "| %s | %,.0f → %,.0f µs | %,.0f → %,.0f µs | **%+.1f%%** | %+.1f µs |%n", load,
        authz.micros(50), vault.micros(50), authz.micros(99), vault.micros(99),
        (vault.micros(99) - authz.micros(99)) * 100 / authz.micros(99),
        vault.cpuMicrosPerCheck() - authz.cpuMicrosPerCheck());
  }

  private static void table(Iterable<Result> results, boolean fromSend) {
    System.out.println("| target | checks/s | p50 (µs) | p90 (µs) | p99 (µs) | p99.9 (µs) | max (µs) "
        + (fromSend ? "| p99 from send (µs) " : "")
        + "| CPU/check (µs, whole JVM) | GCs (total ms) | calls | errors | not OK |");
    System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + (fromSend ? "---:|" : ""));
    for (Result r : results) {
      System.out.printf(Locale.ROOT, "| %s | %,.0f | %,.0f | %,.0f | %,.0f | %,.0f | %,.0f |%s %.1f | %d (%d) | %,d | %d | %d |%n",
          r.target, r.checksPerSecond(), r.micros(50), r.micros(90), r.micros(99), r.micros(99.9),
          r.latencyNanos.getMaxValue() / 1000.0,
          fromSend ? String.format(Locale.ROOT, " %,.0f |", r.fromSendNanos.getTotalCount() == 0 ? 0
              : r.fromSendNanos.getValueAtPercentile(99) / 1000.0) : "",
          r.cpuMicrosPerCheck(), r.gcCount, r.gcMillis, r.calls, r.errors, r.notOk);
    }
    System.out.println();
  }

  private static String rateList(List<Double> rates) {
    List<String> parts = new ArrayList<>();
    for (double r : rates) {
      parts.add(String.format(Locale.ROOT, "%,.0f", r));
    }
    return String.join(" + ", parts);
  }

  // ---------------------------------------------------------------- helpers

  private static void sleepUntil(long deadlineNanos, AtomicBoolean running) throws InterruptedException {
    while (running.get()) {
      long left = deadlineNanos - System.nanoTime();
      if (left <= 0) {
        return;
      }
      Thread.sleep(Math.min(20, Math.max(1, left / 1_000_000)));
    }
  }

  private static void failOnErrors(long errors, String firstError) {
    if (errors > MAX_ERRORS) {
      throw new IllegalStateException("too many failed calls (" + errors + "), first: " + firstError);
    }
  }

  static long processCpuNanos() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return 0;
  }

  static long gcCount() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionCount());
    }
    return n;
  }

  static long gcMillis() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionTime());
    }
    return n;
  }

  private static String gcNames() {
    List<String> names = new ArrayList<>();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      names.add(gc.getName());
    }
    return String.join("/", names);
  }

  private static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
  }
}
