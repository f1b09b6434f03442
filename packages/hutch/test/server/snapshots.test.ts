import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSandbox, openTestServer, type TestServer } from './helpers.js';

describe('snapshot routes', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer();
  });
  after(async () => server.close());

  it('snapshots, lists, gets, restores, forks and deletes', async () => {
    const source = await createSandbox(server, { metadata: { origin: 'yes' } });
    await server.request({ method: 'PUT', url: `/v1/sandboxes/${source.id}/files?path=/workspace/kept.txt`, payload: 'kept', headers: { 'content-type': 'text/plain' } });

    const snap = await server.request({ method: 'POST', url: `/v1/sandboxes/${source.id}/snapshots`, payload: {} });
    assert.equal(snap.statusCode, 201);
    const info = snap.json();
    assert.equal(info.sandboxId, source.id);
    assert.equal(info.kind, 'continuation');
    assert.match(info.sha256, /^[0-9a-f]{64}$/);
    assert.equal(info.location, undefined, 'the artifact location stays private');

    const list = await server.request({ method: 'GET', url: `/v1/snapshots?sandboxId=${source.id}` });
    assert.deepEqual(list.json().map((s: { id: string }) => s.id), [info.id]);
    assert.equal((await server.request({ method: 'GET', url: `/v1/snapshots/${info.id}` })).json().id, info.id);

    const restored = await server.request({ method: 'POST', url: `/v1/snapshots/${info.id}/restore`, payload: { metadata: { restored: 'yes' } } });
    assert.equal(restored.statusCode, 201);
    const copy = restored.json();
    assert.notEqual(copy.id, source.id);
    assert.match(copy.accessToken, /^hst_/);
    const file = await server.app.inject({ method: 'GET', url: `/v1/sandboxes/${copy.id}/files?path=/workspace/kept.txt`, headers: { 'x-access-token': copy.accessToken } });
    assert.equal(file.body, 'kept');

    const fork = await server.request({ method: 'POST', url: `/v1/snapshots/${info.id}/fork`, payload: { count: 2 } });
    assert.equal(fork.statusCode, 201);
    assert.equal(fork.json().length, 2);
    assert.equal(new Set(fork.json().map((s: { accessToken: string }) => s.accessToken)).size, 2);

    assert.equal((await server.request({ method: 'DELETE', url: `/v1/snapshots/${info.id}` })).statusCode, 204);
    const gone = await server.request({ method: 'GET', url: `/v1/snapshots/${info.id}` });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'snapshot_not_found');
  });

  it('refuses a bad fork count and an unknown snapshot kind (400)', async () => {
    const s = await createSandbox(server);
    const snap = (await server.request({ method: 'POST', url: `/v1/sandboxes/${s.id}/snapshots`, payload: { kind: 'template' } })).json();
    const fork = await server.request({ method: 'POST', url: `/v1/snapshots/${snap.id}/fork`, payload: { count: 0 } });
    assert.equal(fork.statusCode, 400);
    assert.equal(fork.json().details.field, 'count');
    const kind = await server.request({ method: 'POST', url: `/v1/sandboxes/${s.id}/snapshots`, payload: { kind: 'everything' } });
    assert.equal(kind.statusCode, 400);
    assert.equal(kind.json().details.field, 'kind');
  });

  it('answers 422 capability_missing when the backend cannot snapshot', async () => {
    const limited = await openTestServer({ fake: { without: ['snapshot.filesystem'] } });
    try {
      const s = await createSandbox(limited);
      const res = await limited.request({ method: 'POST', url: `/v1/sandboxes/${s.id}/snapshots`, payload: {} });
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().code, 'capability_missing');
    } finally {
      await limited.close();
    }
  });
});
