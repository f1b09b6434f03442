import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createSandbox, openTestServer, parseNdjson, parseSse, type TestServer } from './helpers.js';
import { SessionFakeBackend } from './session-shell.js';

describe('session routes', () => {
  let server: TestServer;
  let id: string;
  before(async () => {
    server = await openTestServer({ backend: new SessionFakeBackend() });
    id = (await createSandbox(server)).id;
  });
  after(async () => server.close());

  it('creates (201), lists, gets, runs commands and destroys (204) a session', async () => {
    const created = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/sessions`, payload: {} });
    assert.equal(created.statusCode, 201);
    const session = created.json();
    assert.equal(session.alive, true);
    assert.equal(session.sandboxId, id);

    const list = await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/sessions` });
    assert.deepEqual(list.json().map((s: { id: string }) => s.id), [session.id]);
    assert.equal((await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/sessions/${session.id}` })).json().id, session.id);

    const run = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/sessions/${session.id}/exec`, payload: { command: 'echo one; echo two >&2; exit 4' } });
    assert.equal(run.statusCode, 200);
    assert.equal(run.json().stdout, 'one\n');
    assert.equal(run.json().stderr, 'two\n');
    assert.equal(run.json().exitCode, 4);

    const stream = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/sessions/${session.id}/exec?stream=true`, payload: { command: 'echo streamed' } });
    const frames = parseNdjson(stream.body);
    assert.equal(Buffer.from(String(frames[0]?.data), 'base64').toString(), 'streamed\n');
    assert.deepEqual(frames.at(-1), { type: 'exit', exitCode: 0 });

    const sse = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/sessions/${session.id}/exec?stream=true`, payload: { command: 'true' }, headers: { accept: 'text/event-stream' } });
    assert.deepEqual(parseSse(sse.body).map((e) => e.event), ['exit']);

    assert.equal((await server.request({ method: 'DELETE', url: `/v1/sandboxes/${id}/sessions/${session.id}` })).statusCode, 204);
    const gone = await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/sessions/${session.id}` });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, 'session_not_found');
  });

  it('answers 404 session_not_found before streaming, and 400 for an empty command', async () => {
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/sessions/sesnope/exec?stream=true`, payload: { command: 'true' } });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'session_not_found');
    const empty = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/sessions/sesnope/exec`, payload: { command: '' } });
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().details.field, 'command');
  });
});
