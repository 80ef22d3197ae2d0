// A small MCP server for the tests: JSON-RPC over newline-delimited stdio, no dependencies. It speaks the
// initialize handshake (answering with the protocol version it is asked for), tools/list, tools/call, ping and
// notifications/cancelled; anything else is "method not found", as a server that predates a method answers.
import { renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const pending = new Map(); // id (as JSON) -> name of a `wait` call not yet answered
let cancelled = 0;

const object = (properties = {}, required = []) => ({ type: 'object', properties, required });
const tools = [
  { name: 'echo', description: 'Returns its text.', inputSchema: object({ text: { type: 'string' } }, ['text']) },
  { name: 'add', description: 'Adds two numbers.', inputSchema: object({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']) },
  { name: 'fail', description: 'Always fails.', inputSchema: { type: 'object' } },
  { name: 'env', description: 'The value of an environment variable.', inputSchema: object({ name: { type: 'string' } }, ['name']) },
  { name: 'pid', description: 'The server process id.', inputSchema: { type: 'object' } },
  { name: 'cwd', description: 'The server working directory.', inputSchema: { type: 'object', properties: {} } },
  { name: 'wait', description: 'Never answers, until cancelled.', inputSchema: { type: 'object' } },
  { name: 'waiting', description: 'How many wait calls are in flight.', inputSchema: { type: 'object' } },
  { name: 'cancelled_count', description: 'How many wait calls were cancelled.', inputSchema: { type: 'object' } },
  { name: 'mixed', description: 'One block of every kind.', inputSchema: { type: 'object' } },
  { name: 'structured', description: 'Only structured content.', inputSchema: { type: 'object' } },
  // Names that need sanitizing, and collide once sanitized; no description, so the title or a default stands in.
  { name: 'get-weather.now', title: 'Weather now', inputSchema: object({ city: { type: 'string' } }) },
  { name: 'get_weather_now', inputSchema: { type: 'object' } },
];

const text = (value, isError = false) => ({ content: [{ type: 'text', text: String(value) }], isError });

function call(id, name, args) {
  switch (name) {
    case 'echo': return text(args.text);
    case 'add': return text(args.a + args.b);
    case 'fail': return text('it failed on purpose', true);
    case 'env': return text(process.env[args.name] ?? '(unset)');
    case 'pid': return text(process.pid);
    case 'cwd': return text(process.cwd());
    case 'wait': pending.set(JSON.stringify(id), name); return undefined;
    case 'waiting': return text(pending.size);
    case 'cancelled_count': return text(cancelled);
    case 'mixed': return {
      content: [
        { type: 'text', text: 'first' },
        { type: 'image', data: Buffer.from('abcd').toString('base64'), mimeType: 'image/png' },
        { type: 'audio', data: Buffer.from('abcdef').toString('base64'), mimeType: 'audio/wav' },
        { type: 'resource', resource: { uri: 'file:///notes.txt', mimeType: 'text/plain', text: 'embedded text' } },
        { type: 'resource', resource: { uri: 'file:///blob.bin', mimeType: 'application/octet-stream', blob: Buffer.from('xy').toString('base64') } },
        { type: 'resource_link', uri: 'file:///linked.md', name: 'linked.md', mimeType: 'text/markdown' },
        { type: 'text', text: 'last' },
      ],
    };
    case 'structured': return { content: [], structuredContent: { answer: 42 } };
    case 'get-weather.now': return text('sunny');
    case 'get_weather_now': return text('cloudy');
    default: return null;
  }
}

const send = (message) => process.stdout.write(JSON.stringify({ jsonrpc: '2.0', ...message }) + '\n');

function handle(message) {
  const { id, method, params } = message;
  if (method === undefined) {
    return; // a response to a request of ours: we send none
  }

  if (id === undefined) {
    if (method === 'notifications/cancelled' && pending.delete(JSON.stringify(params?.requestId))) {
      cancelled++; // a cancelled request gets no answer
    }
    return;
  }

  switch (method) {
    case 'initialize':
      return send({ id, result: {
        protocolVersion: params.protocolVersion,
        capabilities: { tools: {} },
        serverInfo: { name: 'mcp-test-server', version: '1.0.0' },
      } });
    case 'ping':
      return send({ id, result: {} });
    case 'tools/list':
      return send({ id, result: { tools } });
    case 'tools/call': {
      const result = call(id, params.name, params.arguments ?? {});
      if (result === null) {
        return send({ id, error: { code: -32602, message: `Unknown tool: ${params.name}` } });
      }
      return result === undefined ? undefined : send({ id, result });
    }
    default:
      return send({ id, error: { code: -32601, message: `Method not found: ${method}` } });
  }
}

// A line on stderr, which the client logs at Debug.
process.stderr.write(`mcp-test-server ${process.pid} started\n`);
// For tests that need the pid of a server that never gets as far as answering (renamed into place: never half written).
if (process.env.MCP_TEST_PID_FILE) {
  writeFileSync(`${process.env.MCP_TEST_PID_FILE}.tmp`, String(process.pid));
  renameSync(`${process.env.MCP_TEST_PID_FILE}.tmp`, process.env.MCP_TEST_PID_FILE);
}
// A server that hangs: it reads everything and answers nothing.
const silent = process.env.MCP_TEST_SILENT === '1';
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== '' && !silent) {
    handle(JSON.parse(line));
  }
});
// The client ends a stdio server by closing its stdin.
lines.on('close', () => process.exit(0));
