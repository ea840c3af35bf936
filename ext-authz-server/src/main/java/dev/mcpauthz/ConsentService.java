package dev.mcpauthz;

import com.hazelcast.core.HazelcastInstance;
import dev.mcpauthz.cluster.ClusterMember;
import dev.mcpauthz.config.AuthzConfig;
import dev.mcpauthz.consent.BrowserSessions;
import dev.mcpauthz.consent.ClientApps;
import dev.mcpauthz.consent.ClientCapabilities;
import dev.mcpauthz.consent.ConsentFlow;
import dev.mcpauthz.consent.ConsentLinks;
import dev.mcpauthz.consent.ElicitationStore;
import dev.mcpauthz.consent.FlowSecrets;
import dev.mcpauthz.consent.FlowStates;
import dev.mcpauthz.consent.ResumeStates;
import dev.mcpauthz.consent.ResumeTracker;
import dev.mcpauthz.consent.SignInClient;
import dev.mcpauthz.ingress.ConsentPrompts;
import dev.mcpauthz.mcp.McpRequestParser;
import dev.mcpauthz.telemetry.ConsentAudit;
import dev.mcpauthz.telemetry.ConsentMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Everything consent needs, on the vault's Hazelcast member: the prompts the Check path renders,
 * the consent pages' flow, and resume tracking. Started only with {@link UpstreamVault}.
 */
final class ConsentService implements AutoCloseable {
  private final ConsentPrompts prompts;
  private final ConsentFlow flow;
  private final ResumeTracker resumes;
  private final boolean https;

  ConsentService(AuthzConfig config, UpstreamVault upstream, MeterRegistry meters, Clock clock, Executor io,
      IntSupplier httpPort) {
    HazelcastInstance hz = upstream.member().hazelcast();
    AuthzConfig.Consent c = config.consent();
    Map<String, String> names = new HashMap<>();
    config.providers().forEach(p -> names.put(p.id(), p.displayName() == null ? p.id() : p.displayName()));
    ConsentMetrics metrics = new ConsentMetrics(meters);
    ConsentAudit audit = new ConsentAudit();
    ClientApps apps = new ClientApps(c.clients());
    ElicitationStore elicitations = new ElicitationStore(hz, c.elicitationTtl(), clock, io,
        e -> metrics.minted(e.reason().label(), e.provider(), e.server()));
    this.resumes = new ResumeTracker(hz, c.resumeTtl(), clock, io, metrics, audit);
    // Without consent.public_base_url links point at this replica's loopback listener (docs/consent.md).
    ConsentLinks links = ConsentLinks.of(c.publicBaseUrl(), httpPort);
    Supplier<String> base = () -> links.base();
    this.https = c.publicBaseUrl() != null && "https".equalsIgnoreCase(c.publicBaseUrl().getScheme());
    this.prompts = new ConsentPrompts(elicitations, new ClientCapabilities(hz, ClusterMember.SESSION_MAP, io), links,
        names, metrics, audit,
        new McpRequestParser(config.limits().maxJsonDepth(), config.limits().maxBodyBytes(),
            config.policy() == null ? 64 * 1024 : config.policy().maxArgsBytes()),
        apps, resumes);
    List<SignInClient> signIns = new ArrayList<>();
    for (AuthzConfig.SignIn s : c.signIn()) {
      config.issuers().stream().filter(i -> i.id().equals(s.issuer())).findFirst()
          .ifPresent(i -> signIns.add(new SignInClient(i, s)));
    }
    this.flow = new ConsentFlow(elicitations, new FlowStates(hz, c.flowTtl(), clock), new FlowSecrets(upstream.keys()),
        new BrowserSessions(hz, c.browserSessionTtl(), clock), new ResumeStates(upstream.keys(), c.resumeTtl(), clock),
        resumes, apps, signIns, upstream.providers(), upstream.vault(), config.servers(), names, base, clock, metrics,
        audit);
    warmUp(hz);
  }

  /**
   * The first operation on a map creates its partition containers and loads the entry-processor
   * classes (~0.3 s measured): pay that at start, not in the first user's prompt, which must answer
   * within Envoy's ext_authz timeout.
   */
  private static void warmUp(HazelcastInstance hz) {
    for (String name : List.of(ElicitationStore.MAP_NAME, ClusterMember.SESSION_MAP, FlowStates.MAP_NAME,
        BrowserSessions.MAP_NAME, ResumeTracker.MAP_NAME)) {
      hz.getMap(name).containsKey("mcp-authz-warm-up");
    }
    ElicitationStore.warmUp(hz);
  }

  ConsentPrompts prompts() {
    return prompts;
  }

  ConsentFlow flow() {
    return flow;
  }

  /** Cookies get the Secure attribute when browsers reach the pages over https. */
  boolean https() {
    return https;
  }

  @Override
  public void close() {
    resumes.close();
  }
}
