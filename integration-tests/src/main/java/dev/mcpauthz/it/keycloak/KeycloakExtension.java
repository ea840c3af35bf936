package dev.mcpauthz.it.keycloak;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension for {@link KeycloakServer#shared()}: starts the shared instance before the first
 * test class that uses it, injects it into {@code KeycloakServer} parameters (constructor, lifecycle
 * and test methods), and stops it when the whole test run ends, through an {@link AutoCloseable}
 * kept in the root context's store (JUnit closes those when the engine finishes). A JVM shutdown
 * hook stops it too if the run ends otherwise.
 *
 * <pre>{@code
 * @ExtendWith(KeycloakExtension.class)
 * class MyKeycloakTest {
 *   @Test void t(KeycloakServer keycloak) { RealmHandle realm = keycloak.createRealm(...); }
 * }
 * }</pre>
 */
public final class KeycloakExtension implements BeforeAllCallback, ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(KeycloakExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    server(context);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == KeycloakServer.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
    return server(extensionContext);
  }

  private static KeycloakServer server(ExtensionContext context) {
    context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(SharedServerCloser.class,
        k -> new SharedServerCloser(), SharedServerCloser.class);
    return KeycloakServer.shared();
  }

  /** Closed by JUnit with the root store, at the end of the test run. */
  private static final class SharedServerCloser implements AutoCloseable {
    @Override
    public void close() {
      KeycloakServer.closeShared();
    }
  }
}
