package dev.mcpauthz.it.envoy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A minimal HTTP/1.1 client over a plain socket, so tests control every request header line
 * (duplicates, hop-by-hop headers, Host, raw octets) and see every response header line.
 */
final class RawHttp {

  record Result(int status, List<Map.Entry<String, String>> headers, byte[] body, int clientPort) {

    List<String> values(String name) {
      return headers.stream().filter(e -> e.getKey().equalsIgnoreCase(name)).map(Map.Entry::getValue).toList();
    }

    String header(String name) {
      List<String> v = values(name);
      return v.isEmpty() ? null : v.get(0);
    }

    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  private RawHttp() {}

  /** Sends {@code head} (request line + header lines, CRLF-separated, without the blank line) and a body. */
  static Result exchange(URI base, String head, byte[] body) throws IOException {
    try (Socket socket = new Socket(base.getHost(), base.getPort())) {
      socket.setSoTimeout(5_000);
      OutputStream out = socket.getOutputStream();
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      out.write("\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      if (body != null) {
        out.write(body);
      }
      out.flush();
      return read(socket.getInputStream(), socket.getLocalPort(), head.startsWith("HEAD "));
    }
  }

  static Result exchange(URI base, String head) throws IOException {
    return exchange(base, head, null);
  }

  private static Result read(InputStream in, int clientPort, boolean head) throws IOException {
    String statusLine = readLine(in);
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    String line;
    while (!(line = readLine(in)).isEmpty()) {
      int colon = line.indexOf(':');
      headers.add(Map.entry(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim()));
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    String cl = headers.stream().filter(e -> e.getKey().equals("content-length")).map(Map.Entry::getValue).findFirst().orElse(null);
    boolean chunked = headers.stream().anyMatch(e -> e.getKey().equals("transfer-encoding") && e.getValue().contains("chunked"));
    if (head || status == 204 || status == 304) {
      // no body
    } else if (chunked) {
      while (true) {
        int size = Integer.parseInt(readLine(in).split(";")[0].trim(), 16);
        if (size == 0) {
          while (!readLine(in).isEmpty()) {
            // trailers
          }
          break;
        }
        body.write(in.readNBytes(size));
        readLine(in);
      }
    } else if (cl != null) {
      body.write(in.readNBytes(Integer.parseInt(cl)));
    } else {
      in.transferTo(body);
    }
    return new Result(status, List.copyOf(headers), body.toByteArray(), clientPort);
  }

  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != -1) {
      if (b == '\n') {
        break;
      }
      if (b != '\r') {
        line.write(b);
      }
    }
    return line.toString(StandardCharsets.ISO_8859_1);
  }
}
