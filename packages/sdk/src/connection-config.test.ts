/** Unit tests of connection settings: precedence, validation, signal composition, HTTP failures. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { composeSignal, ConnectionConfig, DEFAULT_API_URL, DEFAULT_REQUEST_TIMEOUT_MS } from './connection-config.js';
import { AuthenticationError, ConnectionError, NotFoundError, RequestTimeoutError } from './errors.js';
import { HttpClient } from './http-client.js';

describe('ConnectionConfig', () => {
  it('uses defaults when neither options nor env say anything', () => {
    const config = new ConnectionConfig({}, {});
    assert.equal(config.apiUrl, DEFAULT_API_URL);
    assert.equal(config.apiKey, undefined);
    assert.equal(config.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
  });

  it('reads HUTCH_API_URL and HUTCH_API_KEY from the environment', () => {
    const config = new ConnectionConfig({}, { HUTCH_API_URL: 'http://10.0.0.1:9000/', HUTCH_API_KEY: 'k-env' });
    assert.equal(config.apiUrl, 'http://10.0.0.1:9000');
    assert.equal(config.apiKey, 'k-env');
  });

  it('prefers explicit options over the environment', () => {
    const config = new ConnectionConfig({ apiUrl: 'http://a:1', apiKey: 'k-opt', requestTimeoutMs: 5 }, { HUTCH_API_URL: 'http://b:2', HUTCH_API_KEY: 'k-env' });
    assert.equal(config.apiUrl, 'http://a:1');
    assert.equal(config.apiKey, 'k-opt');
    assert.equal(config.requestTimeoutMs, 5);
  });

  it('treats empty env values as unset', () => {
    const config = new ConnectionConfig({}, { HUTCH_API_URL: '  ', HUTCH_API_KEY: '' });
    assert.equal(config.apiUrl, DEFAULT_API_URL);
    assert.equal(config.apiKey, undefined);
  });

  it('rejects a bad URL and a negative timeout', () => {
    assert.throws(() => new ConnectionConfig({ apiUrl: 'not a url' }, {}), TypeError);
    assert.throws(() => new ConnectionConfig({ requestTimeoutMs: -1 }, {}), RangeError);
  });

  it('round-trips through toOptions', () => {
    const config = new ConnectionConfig({ apiUrl: 'http://a:1', apiKey: 'k', requestTimeoutMs: 7 }, {});
    assert.deepEqual(new ConnectionConfig(config.toOptions(), {}), config);
  });
});

describe('composeSignal', () => {
  it('returns undefined with nothing to wait on, and the caller signal alone without a timeout', () => {
    assert.equal(composeSignal(undefined, undefined), undefined);
    assert.equal(composeSignal(undefined, 0), undefined);
    const controller = new AbortController();
    assert.equal(composeSignal(controller.signal, 0), controller.signal);
  });

  it('aborts with the caller reason when the caller aborts first', () => {
    const controller = new AbortController();
    const signal = composeSignal(controller.signal, 60_000)!;
    const reason = new Error('mine');
    controller.abort(reason);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
  });

  it('aborts on the timeout', async () => {
    const signal = composeSignal(undefined, 1)!;
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    assert.equal((signal.reason as Error).name, 'TimeoutError');
  });
});

describe('HttpClient', () => {
  let server: Server;
  let url: string;
  const seen: Array<{ url: string; headers: Record<string, string | string[] | undefined> }> = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      if (req.url?.startsWith('/missing')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'sandbox_not_found', message: 'No sandbox "x".', details: { sandboxId: 'x' } }));
      } else if (req.url === '/denied') {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'unauthorized', message: 'Bad key.' }));
      } else if (req.url === '/garbage') {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('upstream exploded');
      } else if (req.url === '/slow') {
        // Never answers: the client's timeout must fire.
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('sends the API key, the access token and query parameters', async () => {
    const http = new HttpClient(new ConnectionConfig({ apiUrl: url, apiKey: 'secret' }, {}), 'tok');
    assert.deepEqual(await http.json({ method: 'GET', path: '/ok', query: { a: 1, b: undefined, c: 'x y' } }), { ok: true });
    const last = seen.at(-1)!;
    assert.equal(last.url, '/ok?a=1&c=x+y');
    assert.equal(last.headers.authorization, 'Bearer secret');
    assert.equal(last.headers['x-access-token'], 'tok');
  });

  it('turns an error body into a typed error with its code, status and details', async () => {
    const http = new HttpClient(new ConnectionConfig({ apiUrl: url }, {}));
    await assert.rejects(http.json({ method: 'GET', path: '/missing' }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.code, 'sandbox_not_found');
      assert.equal(err.status, 404);
      assert.deepEqual(err.details, { sandboxId: 'x' });
      return true;
    });
    await assert.rejects(http.json({ method: 'GET', path: '/denied' }), AuthenticationError);
    await assert.rejects(http.json({ method: 'GET', path: '/garbage' }), (err: { code?: string; status?: number }) => err.code === 'internal' && err.status === 502);
  });

  it('reports a request that gets no answer in time as RequestTimeoutError', async () => {
    const http = new HttpClient(new ConnectionConfig({ apiUrl: url, requestTimeoutMs: 50 }, {}));
    await assert.rejects(http.json({ method: 'GET', path: '/slow' }), (err: unknown) => err instanceof RequestTimeoutError && err.code === 'request_timeout');
  });

  it('rejects with the caller signal reason on abort', async () => {
    const http = new HttpClient(new ConnectionConfig({ apiUrl: url }, {}));
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const pending = http.json({ method: 'GET', path: '/slow' }, { signal: controller.signal });
    controller.abort(reason);
    await assert.rejects(pending, (err) => err === reason);
  });

  it('reports an unreachable server as ConnectionError naming the URL', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const http = new HttpClient(new ConnectionConfig({ apiUrl: deadUrl }, {}));
    await assert.rejects(http.json({ method: 'GET', path: '/ok' }), (err: unknown) => err instanceof ConnectionError && err.code === 'connection_failed' && err.message.includes(deadUrl) && err.message.includes('ECONNREFUSED'));
  });
});
