package dev.mcpauthz.it.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.oauth2.sdk.ResourceOwnerPasswordCredentialsGrant;
import com.nimbusds.oauth2.sdk.Scope;
import com.nimbusds.oauth2.sdk.TokenRequest;
import com.nimbusds.oauth2.sdk.TokenResponse;
import com.nimbusds.oauth2.sdk.auth.ClientSecretBasic;
import com.nimbusds.oauth2.sdk.auth.Secret;
import com.nimbusds.oauth2.sdk.id.ClientID;
import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import io.modelcontextprotocol.client.transport.customizer.McpHttpClientAuthorizationErrorHandler;
import io.modelcontextprotocol.client.transport.customizer.McpSyncHttpClientRequestCustomizer;
import io.modelcontextprotocol.common.McpTransportContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What an MCP client does with a 401 (MCP authorization, "Authorization Server Discovery"): read
 * {@code resource_metadata} from {@code WWW-Authenticate}, fetch the RFC 9728 document, discover
 * the authorization server (OIDC discovery), get a token for the advertised {@code resource}
 * (RFC 8707) and the challenge's scope, then retry with it. The grant is the password grant because
 * no browser is involved here; everything else is what a real client does.
 */
final class DiscoveringBearerAuth implements McpSyncHttpClientRequestCustomizer, McpHttpClientAuthorizationErrorHandler.Sync {
  private static final Pattern PARAM = Pattern.compile("(\\w+)=\"([^\"]*)\"");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String clientId;
  private final String clientSecret;
  private final String user;
  private final String password;
  private final boolean acquire;
  private final HttpClient http = HttpClient.newHttpClient();
  final List<String> challenges = new CopyOnWriteArrayList<>();
  volatile String token;
  volatile String discoveredResource;

  DiscoveringBearerAuth(String clientId, String clientSecret, String user, String password, boolean acquire) {
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.user = user;
    this.password = password;
    this.acquire = acquire;
  }

  @Override
  public void customize(HttpRequest.Builder builder, String method, URI endpoint, String body, McpTransportContext context) {
    if (token != null) {
      builder.setHeader("Authorization", "Bearer " + token);
    }
  }

  @Override
  public boolean handle(HttpResponse.ResponseInfo response, McpTransportContext context) {
    String challenge = response.headers().firstValue("www-authenticate").orElse("");
    challenges.add(response.statusCode() + " " + challenge);
    if (!acquire || response.statusCode() != 401 || token != null) {
      return false;
    }
    try {
      String metadataUrl = param(challenge, "resource_metadata");
      String scope = param(challenge, "scope");
      JsonNode prm = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(metadataUrl)).build(),
          HttpResponse.BodyHandlers.ofString()).body());
      discoveredResource = prm.path("resource").asText();
      String issuer = prm.path("authorization_servers").get(0).asText();
      OIDCProviderMetadata as = OIDCProviderMetadata.resolve(new Issuer(issuer));
      TokenRequest request = new TokenRequest.Builder(as.getTokenEndpointURI(),
              new ClientSecretBasic(new ClientID(clientId), new Secret(clientSecret)),
              new ResourceOwnerPasswordCredentialsGrant(user, new Secret(password)))
          .scope(scope == null ? null : Scope.parse(scope))
          .resources(URI.create(discoveredResource))
          .build();
      TokenResponse tokenResponse = TokenResponse.parse(request.toHTTPRequest().send());
      if (!tokenResponse.indicatesSuccess()) {
        throw new IllegalStateException("token request failed: " + tokenResponse.toErrorResponse().getErrorObject());
      }
      token = tokenResponse.toSuccessResponse().getTokens().getAccessToken().getValue();
      return true;
    } catch (Exception e) {
      throw new IllegalStateException("discovery failed: " + e.getMessage(), e);
    }
  }

  static String param(String challenge, String name) {
    Matcher m = PARAM.matcher(challenge);
    while (m.find()) {
      if (m.group(1).equals(name)) {
        return m.group(2);
      }
    }
    return null;
  }
}
