// Shared by call-v1.mjs and call-v2.mjs: command line, stdin lines, and the JSON-lines output the
// Java wrapper (dev.mcpauthz.it.mcp.TsMcpClient) parses. Every stdout line is one JSON object:
// an outcome line ({"outcome": ...}, exactly one per tool call) or an event line ({"event": ...}).
import { createInterface } from 'node:readline';

// Anything the SDKs log goes to stderr: stdout carries only the JSON lines.
console.log = (...args) => console.error(...args);
console.info = (...args) => console.error(...args);
console.debug = (...args) => console.error(...args);

export function usage(script, extra) {
  return `usage: MCP_BEARER_TOKEN=... node ${script} --url URL --tool NAME [--args JSON] [--calls N] [--timeout-ms MS] ${extra}`;
}

/** Parses --name value pairs; every option needs a value. */
export function parseArgs(argv, defaults, script, extra) {
  const opts = { args: '{}', calls: '1', 'timeout-ms': '20000', ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    if (!key.startsWith('--') || i + 1 >= argv.length) {
      fail(usage(script, extra));
    }
    opts[key.slice(2)] = argv[i + 1];
  }
  if (!opts.url || !opts.tool) {
    fail(usage(script, extra));
  }
  try {
    opts.toolArgs = JSON.parse(opts.args);
  } catch (e) {
    fail(`--args is not JSON: ${e.message}`);
  }
  opts.calls = Number.parseInt(opts.calls, 10);
  opts.timeoutMs = Number.parseInt(opts['timeout-ms'], 10);
  return opts;
}

export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** The next stdin line, trimmed, or null at end of input. */
export async function nextLine() {
  const { value, done } = await lines.next();
  return done ? null : value.trim();
}

export function bearerHeaders() {
  const token = process.env.MCP_BEARER_TOKEN;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The outcome line for an exception that is not a URL elicitation. */
export function errorOutcome(e) {
  const out = { outcome: 'error', name: e?.name ?? typeof e, message: String(e?.message ?? e) };
  if (e && e.code !== undefined) {
    out.code = e.code;
  }
  if (e && e.data !== undefined) {
    out.data = e.data;
  }
  return out;
}

/** The outcome line of a completed tool call. */
export function okOutcome(result) {
  return { outcome: 'ok', content: result.content, isError: result.isError ?? false };
}

/**
 * The outcome line of a failed tool call: the SDK's URL elicitation error (its own class, passed in
 * since each SDK major has one) as a prompt, anything else as an error.
 */
export function failureOutcome(e, UrlElicitationRequiredError) {
  if (e instanceof UrlElicitationRequiredError) {
    return {
      outcome: 'url_elicitation_required',
      code: e.code,
      message: e.message,
      elicitations: e.elicitations.map(elicitationOf),
    };
  }
  return errorOutcome(e);
}

/** Reduces SDK elicitation params to the fields the tests check. */
export function elicitationOf(e) {
  return { mode: e.mode, elicitationId: e.elicitationId, url: e.url, message: e.message };
}

/**
 * Runs the calls: one outcome line each; between two calls it waits for one stdin line (the Java
 * test sends it after the user consented in the browser); end of stdin stops early.
 */
export async function runCalls(opts, callOnce) {
  for (let i = 1; i <= opts.calls; i++) {
    if (i > 1) {
      emit({ event: 'waiting', before: i });
      if ((await nextLine()) === null) {
        break;
      }
    }
    emit({ call: i, ...(await callOnce()) });
  }
}

/** Ends the process even when the SDK leaves sockets or timers open. */
export async function finish(close, code = 0) {
  try {
    await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
  } catch (e) {
    console.error('close failed:', e);
  }
  process.exit(code);
}
