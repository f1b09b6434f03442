/**
 * The E2B wire format on the fake backend (fast, any host): Connect envelopes and end-stream
 * messages, unary errors, access tokens, the 502 of a gone sandbox, control-plane error bodies,
 * the SDK's own signature function and the port proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getSignature } from 'e2b';
import { createServer, request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { e2bApiKeyFor } from '../../src/server/e2b/index.js';
import { fileSignature, EnvdTokens } from '../../src/server/e2b/credentials.js';
import { API_KEY, openTestServer, type TestServer } from '../server/helpers.js';

const E2B_KEY = e2bApiKeyFor(API_KEY);

/** `[flags][uint32 BE length][JSON]` */
function envelope(message: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(message));
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

function parseEnvelopes(body: Buffer): Array<{ flags: number; message: Record<string, unknown> }> {
  const out: Array<{ flags: number; message: Record<string, unknown> }> = [];
  for (let at = 0; at < body.length; ) {
    const length = body.readUInt32BE(at + 1);
    out.push({ flags: body[at]!, message: JSON.parse(body.subarray(at + 5, at + 5 + length).toString()) as Record<string, unknown> });
    at += 5 + length;
  }
  return out;
}

describe('E2B wire format (fake backend)', () => {
  let server: TestServer;
  let id: string;
  let token: string;
  before(async () => {
    server = await openTestServer({
      listen: true,
      fake: { script: (spec) => (spec.args?.join(' ') === '-l -c echo hi' ? { stdout: ['hi\n'], stderr: ['oops\n'], exitCode: 2 } : undefined) },
    });
    id = (await server.engine.lifecycle.create({})).id;
    token = new EnvdTokens(server.engine.settings).tokenFor(id);
  });
  after(async () => server.close());

  const envd = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(`${server.url}${path}`, { ...init, headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '49983', 'X-Access-Token': token, ...init.headers } });

  it('streams Start as start, data, end and an end-stream envelope', async () => {
    const res = await envd('/process.Process/Start', {
      method: 'POST',
      headers: { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1' },
      body: envelope({ process: { cmd: '/bin/bash', args: ['-l', '-c', 'echo hi'] }, stdin: false }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/connect+json');
    const frames = parseEnvelopes(Buffer.from(await res.arrayBuffer()));
    const events = frames.filter((f) => f.flags === 0).map((f) => f.message.event as Record<string, Record<string, unknown>>);
    assert.ok(events[0]!.start && typeof events[0]!.start.pid === 'number', JSON.stringify(events[0]));
    const data = events.filter((e) => e.data).map((e) => e.data!);
    assert.equal(Buffer.from(String(data.find((d) => d.stdout)?.stdout), 'base64').toString(), 'hi\n');
    assert.equal(Buffer.from(String(data.find((d) => d.stderr)?.stderr), 'base64').toString(), 'oops\n');
    assert.deepEqual(events.at(-1), { end: { exitCode: 2, exited: true, status: 'exit status 2', error: 'exit status 2' } });
    assert.deepEqual(frames.at(-1), { flags: 2, message: {} });
  });

  it('answers unary errors with a string Connect code', async () => {
    const res = await envd('/filesystem.Filesystem/Stat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '/nope' }) });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'not_found');
    const signal = await envd('/process.Process/SendSignal', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ process: { pid: 4242 }, signal: 'SIGNAL_SIGKILL' }) });
    assert.equal(((await signal.json()) as { code: string }).code, 'not_found');
  });

  it('encodes int64 as strings and enums as names', async () => {
    await server.engine.files.write(id, '/root/a.txt', Buffer.from('abcd'));
    const res = await envd('/filesystem.Filesystem/Stat', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: 'a.txt' }) });
    const { entry } = (await res.json()) as { entry: Record<string, unknown> };
    assert.equal(entry.size, '4');
    assert.equal(entry.type, 'FILE_TYPE_FILE');
    assert.equal(entry.path, '/root/a.txt', 'relative paths resolve against the home of the default user (root without a template)');
    assert.equal(entry.permissions, '-rw-r--r--');
  });

  it('needs the access token for RPC but not for /health', async () => {
    const res = await envd('/process.Process/List', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Access-Token': 'wrong' }, body: '{}' });
    assert.equal(res.status, 401);
    assert.equal((await envd('/health', { headers: { 'X-Access-Token': '' } })).status, 204);
  });

  it('signs URLs exactly as the SDK does', async () => {
    const sdk = await getSignature({ path: 'a b.txt', operation: 'read', user: 'user', expirationInSeconds: 60, envdAccessToken: token });
    assert.equal(fileSignature('a b.txt', 'read', 'user', token, sdk.expiration!), sdk.signature);
  });

  it('answers control-plane errors as {code: status, message}', async () => {
    const headers = { 'X-API-KEY': E2B_KEY };
    const missing = await fetch(`${server.url}/sandboxes/sbxmissing`, { headers });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: number }).code, 404);
    const bad = await fetch(`${server.url}/sandboxes/${id}`, { headers: { 'X-API-KEY': 'e2b_00' } });
    assert.equal(bad.status, 401);
    assert.equal((await fetch(`${server.url}/sandboxes/${id}/pause`, { method: 'POST', headers })).status, 204);
    const again = await fetch(`${server.url}/sandboxes/${id}/pause`, { method: 'POST', headers });
    assert.equal(again.status, 409);
    assert.equal(((await again.json()) as { code: number }).code, 409);
    const paused = await envd('/health');
    assert.equal(paused.status, 502);
    assert.deepEqual(await paused.json(), { sandboxId: id, message: 'The sandbox was not found', code: 502 });
    const resumed = await fetch(`${server.url}/v2/sandboxes/${id}/connect`, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: '{"timeout":60}' });
    assert.equal(resumed.status, 201);
    assert.equal(((await resumed.json()) as { envdAccessToken: string }).envdAccessToken, token);
  });

  it('proxies a port to a service in the sandbox and reports a closed one', async () => {
    server.fake.world.listeners.set(`${id}:8080`, (socket: Duplex) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello'));
    });
    const res = await fetch(`${server.url}/any/path`, { headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '8080' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello');
    const closed = await fetch(`${server.url}/`, { headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '8081' } });
    assert.equal(closed.status, 502);
    assert.deepEqual(await closed.json(), { sandboxId: id, port: 8081, message: 'The sandbox is running but port is not open', code: 502 });
  });

  it('routes Host: <port>-<id>.<domain> to the port proxy', async () => {
    server.fake.world.listeners.set(`${id}:8090`, (socket: Duplex) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'));
    });
    const { port } = new URL(server.url);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers: { host: `8090-${id}.localhost:${port}` } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(body, '200 ok');
  });

  it('bridges WebSockets to a service in the sandbox', async () => {
    const upstream = createServer();
    const wss = new WebSocketServer({ server: upstream });
    wss.on('connection', (socket, req) => socket.on('message', (m) => socket.send(`echo:${m.toString()} at ${req.url}`)));
    server.fake.world.listeners.set(`${id}:9090`, (socket: Duplex) => void upstream.emit('connection', socket));
    const client = new WebSocket(`${server.url.replace('http', 'ws')}/ws?x=1`, { headers: { 'E2b-Sandbox-Id': id, 'E2b-Sandbox-Port': '9090' } });
    const reply = await new Promise<string>((resolve, reject) => {
      client.once('open', () => client.send('ping'));
      client.once('message', (m) => resolve(m.toString()));
      client.once('error', reject);
    });
    assert.equal(reply, 'echo:ping at /ws?x=1');
    client.close();
    wss.close();
  });

  it('gives 502 on envd once the sandbox is destroyed', async () => {
    await server.engine.lifecycle.destroy(id);
    assert.equal((await envd('/health')).status, 502);
    assert.equal((await fetch(`${server.url}/sandboxes/${id}`, { method: 'DELETE', headers: { 'X-API-KEY': E2B_KEY } })).status, 404);
  });
});
