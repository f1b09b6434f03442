import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BackendFailureError } from '../../src/domain/errors.js';
import { loadOrCreateApiKey } from '../../src/server/index.js';
import { API_KEY, createSandbox, openTestServer, type TestServer } from './helpers.js';

describe('authentication', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer();
  });
  after(async () => server.close());

  const bare = (url: string, headers: Record<string, string> = {}, method: 'GET' | 'POST' = 'GET') => server.app.inject({ method, url, headers });

  it('refuses a missing or wrong API key with 401 unauthorized', async () => {
    const cases: Array<Record<string, string>> = [{}, { authorization: 'Bearer hutch_wrong' }, { 'x-api-key': 'hutch_wrong' }, { authorization: API_KEY }];
    for (const headers of cases) {
      const res = await bare('/v1/sandboxes', headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(res.json().code, 'unauthorized');
    }
  });

  it('accepts the key as a bearer token or as X-API-Key', async () => {
    assert.equal((await bare('/v1/sandboxes', { authorization: `Bearer ${API_KEY}` })).statusCode, 200);
    assert.equal((await bare('/v1/sandboxes', { 'x-api-key': API_KEY })).statusCode, 200);
  });

  it('leaves health and the console open', async () => {
    assert.equal((await bare('/v1/health')).statusCode, 200);
    const page = await bare('/');
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /text\/html/);
    assert.equal((await bare('/console.js')).statusCode, 200);
  });

  it('opens a sandbox\'s own routes with its access token, and nothing else', async () => {
    const mine = await createSandbox(server);
    const other = await createSandbox(server);
    const token = { 'x-access-token': mine.accessToken };
    assert.equal((await bare(`/v1/sandboxes/${mine.id}`, token)).statusCode, 200);
    assert.equal((await bare(`/v1/sandboxes/${mine.id}/processes`, token)).statusCode, 200);
    assert.equal((await bare(`/v1/sandboxes/${mine.id}/pause`, token, 'POST')).statusCode, 200);

    const foreign = await bare(`/v1/sandboxes/${other.id}`, token);
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.json().code, 'forbidden');
    const list = await bare('/v1/sandboxes', token);
    assert.equal(list.statusCode, 403);
    assert.equal((await bare('/v1/snapshots', token)).statusCode, 403);

    const forged = await bare(`/v1/sandboxes/${mine.id}`, { 'x-access-token': `hst_${mine.id}_${'0'.repeat(48)}` });
    assert.equal(forged.statusCode, 401);
    const swapped = await bare(`/v1/sandboxes/${other.id}`, { 'x-access-token': mine.accessToken.replace(mine.id, other.id) });
    assert.equal(swapped.statusCode, 401, 'a token only verifies for the sandbox it was issued to');
  });

  it('never logs credentials', async () => {
    const s = await createSandbox(server);
    await bare(`/v1/sandboxes/${s.id}`, { 'x-access-token': s.accessToken, 'x-api-key': 'hutch_wrong_key_value' });
    const all = server.logs.join('\n');
    assert.ok(all.length > 0);
    assert.ok(!all.includes(API_KEY));
    assert.ok(!all.includes(s.accessToken));
    assert.ok(!all.includes('hutch_wrong_key_value'));
  });
});

describe('error mapping', () => {
  it('hides unexpected errors behind 500 internal and logs them with their stack', async () => {
    const server = await openTestServer();
    try {
      const s = await createSandbox(server);
      server.fake.failNext('stats', new Error('disk /srv/secret/path exploded'));
      const res = await server.request({ method: 'GET', url: `/v1/sandboxes/${s.id}/stats` });
      assert.equal(res.statusCode, 500);
      assert.equal(res.json().code, 'internal');
      assert.ok(!res.body.includes('/srv/secret'), 'the message is never echoed');
      const line = server.logs.map((l) => JSON.parse(l) as { level: number; code?: string; err?: { stack?: string } }).find((l) => l.code === 'internal');
      assert.ok(line, 'logged');
      assert.equal(line.level, 50, 'at error level');
      assert.match(line.err?.stack ?? '', /exploded/);
    } finally {
      await server.close();
    }
  });

  it('maps a typed backend error to its status (502 backend_failure) and logs 4xx at info', async () => {
    const server = await openTestServer();
    try {
      const s = await createSandbox(server);
      server.fake.failNext('stats', new BackendFailureError('The runtime failed.'));
      const res = await server.request({ method: 'GET', url: `/v1/sandboxes/${s.id}/stats` });
      assert.equal(res.statusCode, 502);
      assert.equal(res.json().code, 'backend_failure');
      await server.request({ method: 'GET', url: '/v1/sandboxes/sbxmissing' });
      const notFound = server.logs.map((l) => JSON.parse(l) as { level: number; code?: string }).find((l) => l.code === 'sandbox_not_found');
      assert.equal(notFound?.level, 30);
    } finally {
      await server.close();
    }
  });
});

describe('API key setup', () => {
  it('creates a key once, stores only its hash, and lets an explicit key override it', () => {
    const store = new Map<string, string>();
    const settings = { get: (k: string) => store.get(k), set: (k: string, v: string) => void store.set(k, v) };
    const first = loadOrCreateApiKey(settings);
    assert.match(first.created ?? '', /^hutch_[0-9a-f]{64}$/);
    assert.ok(![...store.values()].some((v) => v.includes(first.created!)), 'plaintext never stored');
    const second = loadOrCreateApiKey(settings);
    assert.equal(second.created, undefined);
    assert.deepEqual(second.hashes, first.hashes);
    const env = loadOrCreateApiKey(settings, { envKey: 'mine' });
    assert.notDeepEqual(env.hashes, first.hashes);
    assert.equal(env.created, undefined);
  });
});
