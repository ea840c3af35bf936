package dev.mcpauthz.policy;

import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.ast.CelExpr;
import dev.cel.common.ast.CelReference;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.extensions.CelExtensions;
import dev.cel.parser.CelStandardMacro;
import dev.cel.parser.CelUnparser;
import dev.cel.parser.CelUnparserFactory;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A rule's {@code when} condition: a CEL expression (cel-java), compiled and type-checked once when
 * the policy is loaded, evaluated per request against lazily built variables.
 *
 * <p>Variables: {@code claims} (map, every verified token claim), {@code args} (map, the
 * tools/call or prompts/get {@code params.arguments}), {@code headers} (map of lower-case request
 * headers; credentials and cookies removed), {@code server} (the MCP server id), {@code method},
 * {@code name} (tool or prompt name, resource URI; {@code ""} for methods without one). Headers are
 * what the client sent: identity comes from {@code claims}, never from headers.
 *
 * <p>Bounded: at most {@link #MAX_ITERATIONS} comprehension iterations per evaluation, expressions
 * of at most {@link #MAX_EXPRESSION_CHARS} characters and nesting {@link #MAX_NESTING}, RE2
 * regular expressions (linear time) with a bounded program size; arguments larger than the
 * configured limit are never handed to CEL.
 */
public final class Condition {
  public static final int MAX_ITERATIONS = 1_000;
  public static final int MAX_EXPRESSION_CHARS = 4_096;
  public static final int MAX_NESTING = 32;
  public static final Set<String> VARIABLES = Set.of("claims", "args", "headers", "server", "method", "name");

  static final CelOptions OPTIONS = CelOptions.current()
      .comprehensionMaxIterations(MAX_ITERATIONS)
      .maxExpressionCodePointSize(MAX_EXPRESSION_CHARS)
      .maxParseRecursionDepth(MAX_NESTING)
      .maxRegexProgramSize(1_000)
      .enableHeterogeneousNumericComparisons(true)
      .populateMacroCalls(true)
      .build();

  private static final CelCompiler COMPILER = CelCompilerFactory.standardCelCompilerBuilder()
      .setOptions(OPTIONS)
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
      .addLibraries(CelExtensions.strings(), CelExtensions.sets(OPTIONS))
      .addVar("claims", MapType.create(SimpleType.STRING, SimpleType.DYN))
      .addVar("args", MapType.create(SimpleType.STRING, SimpleType.DYN))
      .addVar("headers", MapType.create(SimpleType.STRING, SimpleType.STRING))
      .addVar("server", SimpleType.STRING)
      .addVar("method", SimpleType.STRING)
      .addVar("name", SimpleType.STRING)
      .setResultType(SimpleType.BOOL)
      .build();

  private static final CelRuntime RUNTIME = CelRuntimeFactory.standardCelRuntimeBuilder()
      .setOptions(OPTIONS)
      .addLibraries(CelExtensions.strings(), CelExtensions.sets(OPTIONS))
      .build();

  private static final CelUnparser UNPARSER = CelUnparserFactory.newUnparser();

  private final String source;
  private final CelAbstractSyntaxTree ast;
  private final CelRuntime.Program program;
  private final Set<String> variables;

  private Condition(String source, CelAbstractSyntaxTree ast, CelRuntime.Program program, Set<String> variables) {
    this.source = source;
    this.ast = ast;
    this.program = program;
    this.variables = variables;
  }

  /**
   * @param line line of the expression in its file, to report errors at the right line
   * @throws PolicyException when the expression does not parse, type-check or yield a bool
   */
  static Condition compile(String source, String file, int line, String key) {
    if (source.length() > MAX_EXPRESSION_CHARS) {
      throw new PolicyException(file, line, key, "condition longer than " + MAX_EXPRESSION_CHARS + " characters");
    }
    CelValidationResult result;
    try {
      result = COMPILER.compile(source);
    } catch (RuntimeException e) {
      throw new PolicyException(file, line, key, "CEL: " + e.getMessage());
    }
    if (result.hasError()) {
      CelIssue first = result.getErrors().get(0);
      int issueLine = first.getSourceLocation().getLine();
      int at = issueLine > 0 ? line + issueLine - 1 : line;
      String col = first.getSourceLocation().getColumn() >= 0 ? " (column " + (first.getSourceLocation().getColumn() + 1) + ")" : "";
      throw new PolicyException(file, at, key, "CEL compile error" + col + ": " + first.getMessage());
    }
    CelAbstractSyntaxTree ast;
    CelRuntime.Program program;
    try {
      ast = result.getAst();
      program = RUNTIME.createProgram(ast);
    } catch (CelValidationException | CelEvaluationException | RuntimeException e) {
      throw new PolicyException(file, line, key, "CEL: " + e.getMessage());
    }
    Set<String> vars = new HashSet<>();
    for (CelReference ref : ast.getReferenceMap().values()) {
      if (VARIABLES.contains(ref.name())) {
        vars.add(ref.name());
      }
    }
    return new Condition(source, ast, program, Set.copyOf(vars));
  }

  public String source() {
    return source;
  }

  /** Which of {@link #VARIABLES} the expression reads. */
  public Set<String> variables() {
    return variables;
  }

  /**
   * @return TRUE or FALSE; an evaluation error (missing key, type mismatch, budget exceeded, a
   *     variable the request does not have) is thrown as {@link ConditionError}
   */
  boolean evaluate(PolicyInput input) {
    Object v;
    try {
      v = program.eval(input::variable);
    } catch (CelEvaluationException | RuntimeException e) {
      throw new ConditionError(message(e));
    }
    if (v instanceof Boolean b) {
      return b;
    }
    throw new ConditionError("condition yielded " + (v == null ? "null" : v.getClass().getSimpleName()) + ", not a bool");
  }

  /** Evaluates with a trace of the top-level {@code &&}/{@code ||} terms, for {@code policy explain}. */
  Trace trace(PolicyInput input) {
    Map<Long, Object> values = new HashMap<>();
    Object v;
    String error = null;
    try {
      v = program.trace(input::variable, (expr, value) -> values.put(expr.id(), value));
    } catch (CelEvaluationException | RuntimeException e) {
      v = null;
      error = message(e);
    }
    List<Term> terms = new ArrayList<>();
    collectTerms(ast.getExpr(), null, values, terms);
    Boolean result = v instanceof Boolean b ? b : null;
    if (error == null && result == null) {
      error = "condition yielded " + (v == null ? "null" : v.getClass().getSimpleName()) + ", not a bool";
    }
    return new Trace(result, error, terms);
  }

  private void collectTerms(CelExpr e, String op, Map<Long, Object> values, List<Term> out) {
    if (e.exprKind().getKind() == CelExpr.ExprKind.Kind.CALL) {
      String fn = e.call().function();
      if ((fn.equals("_&&_") || fn.equals("_||_")) && (op == null || op.equals(fn))) {
        for (CelExpr arg : e.call().args()) {
          collectTerms(arg, fn, values, out);
        }
        return;
      }
    }
    String text;
    try {
      text = UNPARSER.unparse(CelAbstractSyntaxTree.newParsedAst(e, ast.getSource()));
    } catch (RuntimeException ex) {
      text = "(expression " + e.id() + ")";
    }
    out.add(new Term(text, values.containsKey(e.id()), render(values.get(e.id()))));
  }

  static String render(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof String s) {
      return '"' + (s.length() > 80 ? s.substring(0, 77) + "..." : s) + '"';
    }
    String s = String.valueOf(v);
    if (v instanceof dev.cel.common.values.NullValue) {
      return "null";
    }
    return s.length() > 120 ? s.substring(0, 117) + "..." : s;
  }

  private static String message(Exception e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    m = m.replace("evaluation error at <input>:", "at offset ");
    return YamlTree.firstLine(m);
  }

  /** The value of one top-level term; {@code evaluated} is false when short-circuiting skipped it. */
  public record Term(String expression, boolean evaluated, String value) {}

  /** @param result null when the evaluation failed ({@code error} says why) */
  public record Trace(Boolean result, String error, List<Term> terms) {}

  /** A condition that could not be evaluated; treated fail-closed (see {@link ServerPolicy}). */
  static final class ConditionError extends RuntimeException {
    ConditionError(String message) {
      super(message, null, false, false);
    }
  }
}
