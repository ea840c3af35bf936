// One MCP connection with the official TypeScript SDK 2.x client (@modelcontextprotocol/client):
// Streamable HTTP to --url with the bearer token from MCP_BEARER_TOKEN, declaring URL-mode
// elicitation (--elicitation none: no elicitation capability), then --calls times tools/call
// --tool --args.
//
// --era (how the protocol revision is chosen):
//   legacy        (default, the SDK's default too) initialize handshake, 2025-11-25
//   auto          server/discover probe, 2026-07-28 if the server speaks it, else initialize
//   modern        server/discover probe, pinned to 2026-07-28 (fails on a 2025-era server)
//   prior-modern  no probe: adopt a DiscoverResult for 2026-07-28 (connect({prior})), so the first
//                 request on the wire is the tools/call itself
// --input-required (2026-07-28 only: what to do with an input_required result):
//   report  (default) the call passes allowInputRequired, and the script prints the result
//   fulfil  the SDK's multi-round-trip driver calls our elicitation/create handler, which prints
//           {"event":"elicitation",..} and waits for one stdin line: accept | decline | cancel;
//           then the SDK retries the call itself with inputResponses (up to --max-rounds rounds)
//
// stdout, one JSON object per line:
//   {"event":"connected","protocolVersion":..,"era":"legacy"|"modern","sessionId":..,"serverInfo":..}
//   {"call":1,"outcome":"ok","content":[..],"isError":false}
//   {"call":1,"outcome":"input_required","inputRequests":{..},"requestState":..}
//   {"call":1,"outcome":"url_elicitation_required","code":-32042,..,"elicitations":[..]}  (legacy era)
//   {"call":1,"outcome":"error","code":..,"message":..,"name":..,"data":..}
//   {"event":"waiting","before":2}   then one stdin line starts call 2; EOF stops
// Exit status 0 after the calls; 1 when connecting failed (after an outcome line for it).
import {
  Client,
  StreamableHTTPClientTransport,
  UrlElicitationRequiredError,
  isInputRequiredResult,
} from '@modelcontextprotocol/client';
import { bearerHeaders, emit, errorOutcome, failureOutcome, finish, nextLine, okOutcome, parseArgs, runCalls } from './common.mjs';

const EXTRA = '[--era legacy|auto|modern|prior-modern] [--input-required report|fulfil] [--max-rounds N] [--elicitation url|none]';
const opts = parseArgs(process.argv.slice(2), { era: 'legacy', 'input-required': 'report', 'max-rounds': '3', elicitation: 'url' },
  'call-v2.mjs', EXTRA);
const MODERN = '2026-07-28';

const negotiation = { legacy: { mode: 'legacy' }, auto: { mode: 'auto' }, modern: { mode: { pin: MODERN } },
  'prior-modern': { mode: 'legacy' } }[opts.era];
if (!negotiation || !['report', 'fulfil'].includes(opts['input-required'])) {
  console.error(`unknown --era or --input-required; ${EXTRA}`);
  process.exit(2);
}

const client = new Client(
  { name: 'mcp-authz-it-ts-v2', version: '1.0.0' },
  {
    capabilities: opts.elicitation === 'url' ? { elicitation: { url: {} } } : {},
    versionNegotiation: negotiation,
    inputRequired: { autoFulfill: true, maxRounds: Number.parseInt(opts['max-rounds'], 10) },
  },
);
// 2026-07-28: called by the multi-round-trip driver for an input_required result's embedded
// elicitation/create. 2025-11-25: a server-sent request (over SSE).
if (opts.elicitation === 'url') {
  client.setRequestHandler('elicitation/create', async (request) => {
    emit({ event: 'elicitation', params: request.params });
    if (opts['input-required'] !== 'fulfil') {
      return { action: 'cancel' };
    }
    const answer = (await nextLine()) ?? 'cancel';
    return { action: ['accept', 'decline', 'cancel'].includes(answer) ? answer : 'cancel' };
  });
}
const transport = new StreamableHTTPClientTransport(new URL(opts.url), {
  requestInit: { headers: bearerHeaders() },
});

try {
  const connectOptions = { timeout: opts.timeoutMs };
  if (opts.era === 'prior-modern') {
    connectOptions.prior = { kind: 'modern', discover: { supportedVersions: [MODERN], capabilities: { tools: {} } } };
  }
  await client.connect(transport, connectOptions);
} catch (e) {
  emit({ call: 0, phase: 'connect', ...errorOutcome(e) });
  await finish(() => client.close(), 1);
}
emit({
  event: 'connected',
  protocolVersion: client.getNegotiatedProtocolVersion(),
  era: client.getProtocolEra(),
  sessionId: transport.sessionId,
  serverInfo: client.getServerVersion(),
});

await runCalls(opts, async () => {
  try {
    const result = await client.callTool({ name: opts.tool, arguments: opts.toolArgs }, {
      timeout: opts.timeoutMs,
      allowInputRequired: opts['input-required'] === 'report',
    });
    if (isInputRequiredResult(result)) {
      return { outcome: 'input_required', inputRequests: result.inputRequests ?? {}, requestState: result.requestState };
    }
    return okOutcome(result);
  } catch (e) {
    return failureOutcome(e, UrlElicitationRequiredError);
  }
});
await finish(() => client.close());
