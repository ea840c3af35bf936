package dev.mcpauthz.consent;

import java.util.List;

/**
 * One consent page: what happened and what the user can do next. Text only; {@link ConsentPageHtml}
 * escapes everything when rendering.
 *
 * @param kind stable machine-readable name, also the page's {@code data-page} attribute (tests and
 *     support read it)
 * @param resumeToken the copyable resume state on the resume page, else null
 */
public record ConsentPage(int status, String kind, String title, List<String> paragraphs, List<Action> actions,
    String resumeToken) {
  public ConsentPage {
    paragraphs = List.copyOf(paragraphs);
    actions = List.copyOf(actions);
  }

  /** A link styled as a button; {@code id} lets tests and scripts find it. */
  public record Action(String id, String label, String href) {}

  public static ConsentPage message(int status, String kind, String title, String... paragraphs) {
    return new ConsentPage(status, kind, title, List.of(paragraphs), List.of(), null);
  }

  public ConsentPage with(Action action) {
    List<Action> more = new java.util.ArrayList<>(actions);
    more.add(action);
    return new ConsentPage(status, kind, title, paragraphs, more, resumeToken);
  }
}
