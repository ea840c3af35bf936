// An MCP server from the official TypeScript SDK 2.x (@modelcontextprotocol/server with the Node
// adapter): Streamable HTTP at any path on 127.0.0.1, serving 2026-07-28 (server/discover,
// per-request _meta) and, statelessly, 2025-era clients. The upstream a 2026-07-28 client needs
// behind mcp-authz (the MCP Java SDK server speaks 2025-11-25 at most). Tools:
//   echo {text}  returns text
//   whoami       "subject=<x-mcp-authz-subject> authorization=<Authorization header or none> era=<legacy|modern>"
//
// stdout, one JSON object per line:
//   {"event":"listening","port":N}
//   {"event":"request","method":"POST","headers":{..},"body":{..}}   for every request received
// Stops when stdin ends (the test JVM holds the other end: it exits with the JVM).
import { createServer } from 'node:http';
import { localhostHostValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { emit } from './common.mjs';

const port = Number.parseInt(process.argv[2] ?? '0', 10);
const logged = ['authorization', 'mcp-method', 'mcp-name', 'mcp-protocol-version', 'mcp-session-id',
  'x-mcp-authz-subject', 'x-mcp-authz-decision-id', 'content-type', 'accept'];

const factory = (ctx) => {
  const server = new McpServer({ name: 'mcp-authz-ts-demo', version: '1.0.0' });
  const header = (name) => ctx.requestInfo?.headers.get(name) ?? null;
  server.registerTool('echo', { description: 'Echo text', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }));
  server.registerTool('whoami', { description: 'Who the gateway says I am' }, async () => ({
    content: [{
      type: 'text',
      text: `subject=${header('x-mcp-authz-subject') ?? ''} authorization=${header('authorization') ?? 'none'} era=${ctx.era}`,
    }],
  }));
  return server;
};

const mcp = toNodeHandler(createMcpHandler(factory));
const validateHost = localhostHostValidation();

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const text = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    emit({
      event: 'request',
      method: req.method,
      headers: Object.fromEntries(logged.filter((h) => req.headers[h] !== undefined).map((h) => [h, req.headers[h]])),
      body,
    });
    if (!validateHost(req, res)) {
      return;
    }
    try {
      await mcp(req, res, body);
    } catch (e) {
      console.error('handler failed:', e);
      if (!res.headersSent) {
        res.writeHead(500).end();
      }
    }
  });
});

server.listen(port, '127.0.0.1', () => emit({ event: 'listening', port: server.address().port }));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
