package dev.mcpauthz.it.keycloak;

import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the test harness's Keycloak by hand (for the demo or for poking at it), with a realm
 * {@code mcp-demo} set up like the tests' realms, until Ctrl-C:
 *
 * <pre>
 * ./mvnw -B -ntp -q -DskipTests install
 * ./mvnw -B -ntp -q -pl integration-tests exec:java \
 *     -Dexec.mainClass=dev.mcpauthz.it.keycloak.RunKeycloak -Dexec.args="http://127.0.0.1:8080/mcp"
 * </pre>
 *
 * The argument is the MCP server's canonical resource URI (RFC 8707), which tokens carry in aud.
 */
public final class RunKeycloak {

  public static final String REALM = "mcp-demo";

  private RunKeycloak() {}

  public static void main(String[] args) throws InterruptedException {
    String resource = args.length > 0 ? args[0] : "http://127.0.0.1:8080/mcp";
    KeycloakServer keycloak = KeycloakServer.shared();
    RealmHandle realm = keycloak.createRealm(new RealmSpec(REALM,
        List.of(ClientSpec.confidential("mcp-gateway", "gateway-secret"), ClientSpec.publicPkce("mcp-cli")),
        List.of(UserSpec.of("alice", "alice-pw"), UserSpec.of("bob", "bob-pw")),
        List.of("mcp:tools", "mcp:resources", "mcp:prompts", "repo:read"),
        resource, null));
    System.out.println(String.join("\n",
        "Keycloak " + keycloak.baseUri() + "  (admin console: " + keycloak.baseUri() + "/admin, "
            + KeycloakServer.ADMIN_USERNAME + " / " + KeycloakServer.ADMIN_PASSWORD + ")",
        "issuer          " + realm.issuer(),
        "discovery       " + realm.discoveryUri(),
        "jwks            " + realm.jwksUri(),
        "token endpoint  " + realm.tokenEndpoint(),
        "resource (aud)  " + resource,
        "clients         mcp-gateway (secret gateway-secret), mcp-cli (public, PKCE S256)",
        "users           alice / alice-pw, bob / bob-pw",
        "scopes          mcp:tools mcp:resources mcp:prompts repo:read",
        "log             " + keycloak.logFile(),
        "Ctrl-C stops Keycloak."));
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
