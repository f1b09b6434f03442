/**
 * Unit tests of stream decoding and the command handle against a tiny local HTTP server: error
 * frames become typed errors, a cut output stream is resumed from the last seq, timeouts throw.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Commands } from './commands.js';
import { ConnectionConfig } from './connection-config.js';
import { NotFoundError, ProtocolError, TimeoutError } from './errors.js';
import { decodeBase64, decodeProcessFrames, encodeBase64, type CommandFrame } from './frames.js';
import { HttpClient } from './http-client.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const line = (value: unknown) => `${JSON.stringify(value)}\n`;

async function* fromArray<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

describe('frames', () => {
  it('round-trips base64 with the web-standard codec', () => {
    const bytes = new Uint8Array(70_000).map((_, i) => i % 256);
    assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
    assert.equal(encodeBase64(new TextEncoder().encode('hi')), b64('hi'));
  });

  it('drops keepalives, decodes output and stops at exit', async () => {
    const frames: CommandFrame[] = [];
    const source = fromArray([
      { type: 'start', pid: 7 } as const,
      { type: 'keepalive' } as const,
      { type: 'output', stream: 'stdout', seq: 1, data: b64('x') } as const,
      { type: 'exit', exitCode: 0, signal: null, reason: 'exited' } as const,
      { type: 'output', stream: 'stdout', seq: 2, data: b64('after exit') } as const,
    ]);
    for await (const frame of decodeProcessFrames(source)) frames.push(frame);
    assert.deepEqual(frames.map((f) => f.type), ['start', 'output', 'exit']);
  });

  it('throws an error frame as a typed error with its code', async () => {
    const source = fromArray([{ type: 'error', code: 'sandbox_not_found', message: 'gone' } as const]);
    await assert.rejects(
      (async () => {
        for await (const _ of decodeProcessFrames(source)) void _;
      })(),
      (err: unknown) => err instanceof NotFoundError && err.code === 'sandbox_not_found' && err.status === 404,
    );
  });
});

describe('Commands and CommandHandle over HTTP', () => {
  let server: Server;
  let commands: Commands;
  const outputRequests: string[] = [];

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/x-ndjson');
    if (url.pathname === '/v1/sandboxes/s1/processes/5') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ pid: 5 }));
    } else if (url.pathname === '/v1/sandboxes/s1/processes/5/output') {
      const from = Number(url.searchParams.get('from'));
      outputRequests.push(`from=${from}`);
      // The first connection is cut after seq 2; the resumed one replays seq 2 (a duplicate) then ends.
      if (from === 1) res.end(line({ type: 'start', pid: 5 }) + line({ type: 'output', stream: 'stdout', seq: 1, data: b64('a') }) + line({ type: 'output', stream: 'stderr', seq: 2, data: b64('b') }));
      else res.end(line({ type: 'start', pid: 5 }) + line({ type: 'output', stream: 'stderr', seq: 2, data: b64('b') }) + line({ type: 'output', stream: 'stdout', seq: 3, data: b64('c') }) + line({ type: 'exit', exitCode: 0, signal: null, reason: 'exited' }));
    } else if (url.pathname === '/v1/sandboxes/s1/exec') {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const exec = JSON.parse(body) as { shell: string };
        if (exec.shell === 'slow') res.end(line({ type: 'start', pid: 9 }) + line({ type: 'output', stream: 'stdout', seq: 1, data: b64('partial') }) + line({ type: 'exit', exitCode: null, signal: 'SIGKILL', reason: 'timeout' }));
        else if (exec.shell === 'cut') res.end(line({ type: 'start', pid: 9 }));
        else res.end(line({ type: 'start', pid: 9 }) + line({ type: 'output', stream: 'stdout', seq: 1, data: b64('x') }) + line({ type: 'exit', exitCode: null, signal: 'SIGTERM', reason: 'signaled' }));
      });
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ code: 'not_found', message: 'no route' }));
    }
  }

  before(async () => {
    server = createServer(route);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const http = new HttpClient(new ConnectionConfig({ apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, {}));
    commands = new Commands(http, '/v1/sandboxes/s1');
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('resumes a cut output stream from the last seq, without duplicates', async () => {
    const stdout: string[] = [];
    const handle = await commands.connect(5, { onStdout: (d) => stdout.push(d) });
    const result = await handle.wait();
    assert.equal(result.stdout, 'ac');
    assert.equal(result.stderr, 'b');
    assert.deepEqual(stdout, ['a', 'c']);
    assert.deepEqual(outputRequests, ['from=1', 'from=3']);
    const seen: string[] = [];
    for await (const frame of handle) seen.push(frame.type === 'output' ? `${frame.seq}` : frame.type);
    assert.deepEqual(seen, ['start', '1', '2', '3', 'exit']);
  });

  it('maps a signal exit to 128 + n and keeps the signal name', async () => {
    const result = await commands.run('signaled');
    assert.equal(result.exitCode, 143);
    assert.equal(result.signal, 'SIGTERM');
    assert.equal(result.pid, 9);
  });

  it('throws TimeoutError with the partial output when the exit reason is timeout', async () => {
    await assert.rejects(commands.run('slow', { timeoutMs: 10 }), (err: unknown) => err instanceof TimeoutError && err.code === 'process_timeout' && (err.details as { stdout: string }).stdout === 'partial');
  });

  it('throws ProtocolError when a command stream ends without an exit', async () => {
    await assert.rejects(commands.run('cut'), ProtocolError);
  });

  it('rejects bad pids before sending anything', async () => {
    await assert.rejects(commands.connect(0), RangeError);
  });
});
