package dev.mcpauthz.consent;

/**
 * Renders a {@link ConsentPage} as a small self-contained HTML document. Every dynamic value is
 * escaped; the only script (copy the resume token) and style carry the response's CSP nonce, so the
 * page runs nothing else even if a value slipped through.
 */
public final class ConsentPageHtml {
  private ConsentPageHtml() {}

  public static String render(ConsentPage p, String nonce) {
    StringBuilder b = new StringBuilder(2048);
    b.append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .append("<meta name=\"referrer\" content=\"no-referrer\"><title>").append(esc(p.title()))
        .append(" · mcp-authz</title><style nonce=\"").append(nonce).append("\">")
        .append("body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}")
        .append("h1{font-size:1.4rem}.actions{display:flex;gap:.75rem;flex-wrap:wrap;margin:1.5rem 0}")
        .append(".button{display:inline-block;padding:.6rem 1rem;border-radius:.4rem;background:#0b57d0;color:#fff;")
        .append("text-decoration:none}.button.secondary{background:#e8eaed;color:#1b1b1b}")
        .append("input{width:100%;font-family:monospace;padding:.4rem;box-sizing:border-box}")
        .append("</style></head><body data-page=\"").append(esc(p.kind())).append("\"><main><h1>")
        .append(esc(p.title())).append("</h1>");
    for (String para : p.paragraphs()) {
      b.append("<p>").append(esc(para)).append("</p>");
    }
    if (!p.actions().isEmpty()) {
      b.append("<div class=\"actions\">");
      boolean first = true;
      for (ConsentPage.Action a : p.actions()) {
        b.append("<a class=\"button").append(first ? "" : " secondary").append("\" id=\"").append(esc(a.id()))
            .append("\" href=\"").append(esc(a.href())).append("\">").append(esc(a.label())).append("</a>");
        first = false;
      }
      b.append("</div>");
    }
    if (p.resumeToken() != null) {
      b.append("<p><label for=\"resume-token\">If the button does not open your client, copy this resume code ")
          .append("and paste it where your client asks for it:</label></p>")
          .append("<input id=\"resume-token\" readonly value=\"").append(esc(p.resumeToken())).append("\">")
          .append("<div class=\"actions\"><button class=\"button secondary\" id=\"copy-resume-token\" type=\"button\">")
          .append("Copy resume code</button></div>")
          .append("<script nonce=\"").append(nonce).append("\">document.getElementById('copy-resume-token')")
          .append(".addEventListener('click',function(){var t=document.getElementById('resume-token');t.select();")
          .append("if(navigator.clipboard){navigator.clipboard.writeText(t.value);}else{document.execCommand('copy');}")
          .append("this.textContent='Copied';});</script>");
    }
    return b.append("</main></body></html>").toString();
  }

  static String esc(String s) {
    if (s == null) {
      return "";
    }
    StringBuilder b = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
