package dev.mcpauthz.testing;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import java.util.List;

/** Reading CheckResponses in assertions. */
public final class Responses {
  private Responses() {}

  public static boolean allowed(CheckResponse r) {
    return r.getStatus().getCode() == 0;
  }

  public static int httpStatus(CheckResponse r) {
    return r.getDeniedResponse().getStatus().getCodeValue();
  }

  public static String deniedHeader(CheckResponse r, String name) {
    return find(r.getDeniedResponse().getHeadersList(), name);
  }

  public static String okHeader(CheckResponse r, String name) {
    return find(r.getOkResponse().getHeadersList(), name);
  }

  public static String body(CheckResponse r) {
    return r.getDeniedResponse().getBody();
  }

  public static String metadata(CheckResponse r, String key) {
    var v = r.getDynamicMetadata().getFieldsMap().get(key);
    return v == null ? null : v.hasStringValue() ? v.getStringValue() : String.valueOf((long) v.getNumberValue());
  }

  private static String find(List<HeaderValueOption> headers, String name) {
    for (HeaderValueOption h : headers) {
      if (h.getHeader().getKey().equals(name)) {
        return h.getHeader().getValue();
      }
    }
    return null;
  }
}
