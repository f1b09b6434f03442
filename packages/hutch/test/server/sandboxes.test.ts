import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSandbox, openTestServer, type TestServer } from './helpers.js';

describe('sandbox routes', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer();
  });
  after(async () => server.close());

  it('creates a running sandbox and returns it with an access token (201)', async () => {
    const res = await server.request({ method: 'POST', url: '/v1/sandboxes', payload: { metadata: { team: 'a' }, env: { SECRET: 's3cr3t' }, resources: { memoryMib: 256 } } });
    assert.equal(res.statusCode, 201);
    const body = res.json();
    assert.equal(body.state, 'running');
    assert.equal(body.backend, 'fake');
    assert.deepEqual(body.metadata, { team: 'a' });
    assert.deepEqual(body.envKeys, ['SECRET']);
    assert.match(body.accessToken, /^hst_/);
    assert.ok(!res.body.includes('s3cr3t'), 'env values never leave the server');
  });

  it('returns the same sandbox for a retried Idempotency-Key, with a new token that also works', async () => {
    const first = await createSandbox(server, { metadata: { retry: 'yes' } }, { 'idempotency-key': 'key-1' });
    const second = await createSandbox(server, { metadata: { retry: 'yes' } }, { 'idempotency-key': 'key-1' });
    assert.equal(second.id, first.id);
    assert.notEqual(second.accessToken, first.accessToken);
    for (const token of [first.accessToken, second.accessToken]) {
      const res = await server.app.inject({ method: 'GET', url: `/v1/sandboxes/${first.id}`, headers: { 'x-access-token': token } });
      assert.equal(res.statusCode, 200);
    }
  });

  it('refuses an Idempotency-Key reused with another body (409 conflict)', async () => {
    await createSandbox(server, {}, { 'idempotency-key': 'key-2' });
    const res = await server.request({ method: 'POST', url: '/v1/sandboxes', payload: { metadata: { other: 'x' } }, headers: { 'idempotency-key': 'key-2' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().code, 'conflict');
  });

  it('gets, lists with filters and pages', async () => {
    const a = await createSandbox(server, { metadata: { pick: 'me' } });
    const res = await server.request({ method: 'GET', url: `/v1/sandboxes/${a.id}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().id, a.id);
    assert.equal(res.json().accessToken, undefined, 'the token is shown by create only');

    const filtered = await server.request({ method: 'GET', url: '/v1/sandboxes?metadata.pick=me&state=running,paused' });
    assert.equal(filtered.statusCode, 200);
    assert.deepEqual(filtered.json().items.map((s: { id: string }) => s.id), [a.id]);

    const page = await server.request({ method: 'GET', url: '/v1/sandboxes?limit=1' });
    assert.equal(page.json().items.length, 1);
    assert.equal(typeof page.json().nextCursor, 'string');
    const next = await server.request({ method: 'GET', url: `/v1/sandboxes?limit=1&cursor=${encodeURIComponent(page.json().nextCursor)}` });
    assert.equal(next.statusCode, 200);
    assert.notEqual(next.json().items[0].id, page.json().items[0].id);
  });

  it('refuses an unknown state filter and a foreign cursor (400 naming the field)', async () => {
    const state = await server.request({ method: 'GET', url: '/v1/sandboxes?state=sleeping' });
    assert.equal(state.statusCode, 400);
    assert.equal(state.json().details.field, 'state');
    const cursor = await server.request({ method: 'GET', url: '/v1/sandboxes?cursor=nonsense' });
    assert.equal(cursor.statusCode, 400);
    assert.equal(cursor.json().details.field, 'cursor');
  });

  it('pauses, resumes, stops and starts; refuses an invalid transition with 409', async () => {
    const s = await createSandbox(server);
    const post = (verb: string) => server.request({ method: 'POST', url: `/v1/sandboxes/${s.id}/${verb}` });
    assert.equal((await post('pause')).json().state, 'paused');
    const again = await post('pause');
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().code, 'invalid_transition');
    assert.equal(again.json().details.from, 'paused');
    assert.equal((await post('resume')).json().state, 'running');
    assert.equal((await post('stop')).json().state, 'stopped');
    assert.equal((await post('start')).json().state, 'running');
  });

  it('sets the timeout and reads stats', async () => {
    const s = await createSandbox(server);
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${s.id}/timeout`, payload: { timeoutMs: 0 } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().deadlineAt, null);
    const stats = await server.request({ method: 'GET', url: `/v1/sandboxes/${s.id}/stats` });
    assert.equal(stats.statusCode, 200);
    assert.equal(typeof stats.json().memoryBytes, 'number');
    assert.equal(typeof stats.json().at, 'string');
  });

  it('destroys a sandbox (state destroyed) and refuses stats on it with 409', async () => {
    const s = await createSandbox(server);
    const res = await server.request({ method: 'DELETE', url: `/v1/sandboxes/${s.id}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().state, 'destroyed');
    assert.equal((await server.request({ method: 'DELETE', url: `/v1/sandboxes/${s.id}` })).json().state, 'destroyed', 'idempotent');
    const stats = await server.request({ method: 'GET', url: `/v1/sandboxes/${s.id}/stats` });
    assert.equal(stats.statusCode, 409);
    assert.equal(stats.json().code, 'invalid_transition');
  });

  it('answers 404 sandbox_not_found for an unknown id on every verb', async () => {
    for (const [method, url] of [
      ['GET', '/v1/sandboxes/sbxunknown'],
      ['DELETE', '/v1/sandboxes/sbxunknown'],
      ['POST', '/v1/sandboxes/sbxunknown/pause'],
      ['GET', '/v1/sandboxes/sbxunknown/stats'],
      ['GET', '/v1/sandboxes/sbxunknown/processes'],
      ['GET', '/v1/sandboxes/sbxunknown/events'],
    ] as const) {
      const res = await server.request({ method, url });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.equal(res.json().code, 'sandbox_not_found');
    }
  });

  it('answers 400 bad_request naming the field for bad payloads', async () => {
    const cases: Array<[unknown, string]> = [
      [{ timeoutMs: -1 }, 'timeoutMs'],
      [{ resources: { memoryMib: 'lots' } }, 'resources.memoryMib'],
      [{ network: { mode: 'everything' } }, 'network.mode'],
      [{ unknownField: true }, 'unknownField'],
      [{ env: { '1BAD': 'x' } }, 'env'],
      [{ workdir: 'relative' }, 'workdir'],
      [{ backend: 'nope' }, 'backend'],
    ];
    for (const [payload, field] of cases) {
      const res = await server.request({ method: 'POST', url: '/v1/sandboxes', payload: payload as Record<string, unknown> });
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.json().code, 'bad_request');
      const body = res.json();
      assert.ok(body.details?.field === field || body.details?.backend === 'nope', `${JSON.stringify(payload)} → ${res.body}`);
    }
    const json = await server.request({ method: 'POST', url: '/v1/sandboxes', payload: '{not json', headers: { 'content-type': 'application/json' } });
    assert.equal(json.statusCode, 400);
    assert.equal(json.json().code, 'bad_request');
  });

  it('treats a missing body as {} where every field is optional, and requires it elsewhere', async () => {
    const created = await server.request({ method: 'POST', url: '/v1/sandboxes' });
    assert.equal(created.statusCode, 201);
    const { id } = created.json();
    const snapshot = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/snapshots`, headers: { 'content-type': 'application/json' } });
    assert.equal(snapshot.statusCode, 201);
    assert.equal((await server.request({ method: 'POST', url: `/v1/snapshots/${snapshot.json().id}/restore` })).statusCode, 201);
    assert.equal((await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/pause`, headers: { 'content-type': 'application/json' } })).statusCode, 200);
    const timeout = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/timeout` });
    assert.equal(timeout.statusCode, 400);
    assert.equal(timeout.json().details.location, 'body');
  });

  it('answers 404 not_found for an unknown route', async () => {
    const res = await server.request({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'not_found');
  });

  it('reports capabilities of the default backend', async () => {
    const res = await server.request({ method: 'GET', url: '/v1/capabilities' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().kind, 'fake');
    assert.ok(res.json().capabilities.includes('files'));
    const unknown = await server.request({ method: 'GET', url: '/v1/capabilities?backend=nope' });
    assert.equal(unknown.statusCode, 400);
  });
});

describe('admission over HTTP', () => {
  it('answers 429 capacity_rejected past maxSandboxes', async () => {
    const server = await openTestServer({ engine: { limits: { maxSandboxes: 1 } } });
    try {
      await createSandbox(server);
      const res = await server.request({ method: 'POST', url: '/v1/sandboxes', payload: {} });
      assert.equal(res.statusCode, 429);
      assert.equal(res.json().code, 'capacity_rejected');
    } finally {
      await server.close();
    }
  });
});
