// One MCP session with the official TypeScript SDK 1.x (@modelcontextprotocol/sdk): Streamable
// HTTP to --url with the bearer token from MCP_BEARER_TOKEN, initialize (protocol 2025-11-25, the
// SDK's latest) declaring URL-mode elicitation (--elicitation none: no elicitation capability),
// then --calls times tools/call --tool --args.
//
// stdout, one JSON object per line:
//   {"event":"connected","protocolVersion":..,"sessionId":..,"serverInfo":..}
//   {"call":1,"outcome":"ok","content":[..],"isError":false}
//   {"call":1,"outcome":"url_elicitation_required","code":-32042,"message":..,"elicitations":[{mode,elicitationId,url,message}]}
//   {"call":1,"outcome":"error","code":..,"message":..,"name":..,"data":..}
//   {"event":"waiting","before":2}   then one stdin line (any text) starts call 2; EOF stops
//   {"event":"elicitation","params":{..}}  a server-sent elicitation/create (answered "cancel")
// Exit status 0 after the calls; 1 when connecting failed (after an outcome line for it).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, UrlElicitationRequiredError } from '@modelcontextprotocol/sdk/types.js';
import { bearerHeaders, emit, errorOutcome, failureOutcome, finish, okOutcome, parseArgs, runCalls } from './common.mjs';

const opts = parseArgs(process.argv.slice(2), { elicitation: 'url' }, 'call-v1.mjs', '[--elicitation url|none]');
const declareUrl = opts.elicitation === 'url';

const client = new Client(
  { name: 'mcp-authz-it-ts-v1', version: '1.0.0' },
  { capabilities: declareUrl ? { elicitation: { url: {} } } : {} },
);
if (declareUrl) {
  // 2025-11-25 servers may also send elicitation/create themselves (over SSE); a gateway cannot.
  client.setRequestHandler(ElicitRequestSchema, async (request) => {
    emit({ event: 'elicitation', params: request.params });
    return { action: 'cancel' };
  });
}
const transport = new StreamableHTTPClientTransport(new URL(opts.url), {
  requestInit: { headers: bearerHeaders() },
});

try {
  await client.connect(transport, { timeout: opts.timeoutMs });
} catch (e) {
  emit({ call: 0, phase: 'connect', ...errorOutcome(e) });
  await finish(() => client.close(), 1);
}
emit({
  event: 'connected',
  protocolVersion: transport.protocolVersion,
  sessionId: transport.sessionId,
  serverInfo: client.getServerVersion(),
});

await runCalls(opts, async () => {
  try {
    const result = await client.callTool({ name: opts.tool, arguments: opts.toolArgs }, undefined, {
      timeout: opts.timeoutMs,
    });
    return okOutcome(result);
  } catch (e) {
    return failureOutcome(e, UrlElicitationRequiredError);
  }
});
await finish(() => client.close());
