import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../engine/helpers.js';
import { AUTH, createSandbox, openTestServer, readFramesUntil, type TestServer } from './helpers.js';

describe('file routes', () => {
  let server: TestServer;
  let id: string;
  const files = (query: string) => `/v1/sandboxes/${id}/files${query}`;
  before(async () => {
    server = await openTestServer({ listen: true });
    id = (await createSandbox(server)).id;
  });
  after(async () => server.close());

  it('uploads and downloads bytes exactly', async () => {
    const bytes = randomBytes(300 * 1024);
    const put = await server.request({ method: 'PUT', url: files('?path=/workspace/data/blob.bin'), payload: bytes, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(put.statusCode, 200);
    assert.equal(put.json().size, bytes.length);
    assert.equal(put.json().type, 'file');
    const get = await server.request({ method: 'GET', url: files('?path=/workspace/data/blob.bin') });
    assert.equal(get.statusCode, 200);
    assert.equal(get.headers['content-type'], 'application/octet-stream');
    assert.ok(Buffer.compare(get.rawPayload, bytes) === 0);
  });

  it('streams an upload over a real socket without a content type, with a mode', async () => {
    const bytes = randomBytes(64 * 1024);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.subarray(i, i + 8192));
        controller.close();
      },
    });
    const res = await fetch(`${server.url}${files('?path=/workspace/run.sh&mode=755')}`, { method: 'PUT', body, headers: AUTH, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 200);
    const entry = (await res.json()) as { mode: number; size: number };
    assert.equal(entry.mode, 0o755);
    assert.equal(entry.size, bytes.length);
    const down = await fetch(`${server.url}${files('?path=/workspace/run.sh')}`, { headers: AUTH });
    assert.ok(Buffer.compare(Buffer.from(await down.arrayBuffer()), bytes) === 0);
  });

  it('lists, stats, makes directories and moves', async () => {
    const mkdir = await server.request({ method: 'POST', url: files('/mkdir'), payload: { path: '/workspace/a/b', parents: true } });
    assert.equal(mkdir.statusCode, 200);
    assert.equal(mkdir.json().type, 'dir');
    await server.request({ method: 'PUT', url: files('?path=/workspace/a/one.txt'), payload: 'one', headers: { 'content-type': 'text/plain' } });
    const list = await server.request({ method: 'GET', url: files('/list?path=/workspace/a') });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json().map((e: { name: string }) => e.name).sort(), ['b', 'one.txt']);
    const stat = await server.request({ method: 'GET', url: files('/stat?path=/workspace/a/one.txt') });
    assert.equal(stat.json().size, 3);
    const move = await server.request({ method: 'POST', url: files('/move'), payload: { from: '/workspace/a/one.txt', to: '/workspace/a/b/two.txt' } });
    assert.equal(move.statusCode, 200);
    assert.equal(move.json().path, '/workspace/a/b/two.txt');
    assert.equal((await server.request({ method: 'GET', url: files('/stat?path=/workspace/a/one.txt') })).statusCode, 404);
  });

  it('removes files, and directories only with recursive', async () => {
    await server.request({ method: 'PUT', url: files('?path=/workspace/gone/x.txt'), payload: 'x', headers: { 'content-type': 'text/plain' } });
    const refused = await server.request({ method: 'DELETE', url: files('?path=/workspace/gone') });
    assert.equal(refused.statusCode, 400);
    const removed = await server.request({ method: 'DELETE', url: files('?path=/workspace/gone&recursive=true') });
    assert.equal(removed.statusCode, 204);
    assert.equal((await server.request({ method: 'GET', url: files('/stat?path=/workspace/gone') })).statusCode, 404);
  });

  it('answers file_not_found, path_escape and bad_request with their statuses', async () => {
    const missing = await server.request({ method: 'GET', url: files('?path=/workspace/nope.txt') });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'file_not_found');
    const escape = await server.request({ method: 'GET', url: files('/stat?path=/workspace/../../etc/passwd') });
    assert.equal(escape.statusCode, 400);
    assert.equal(escape.json().code, 'path_escape');
    const noPath = await server.request({ method: 'GET', url: files('/list') });
    assert.equal(noPath.statusCode, 400);
    assert.equal(noPath.json().details.field, 'path');
    assert.equal(noPath.json().details.location, 'query');
    const badMode = await server.request({ method: 'PUT', url: files('?path=/workspace/m&mode=999'), payload: 'x', headers: { 'content-type': 'text/plain' } });
    assert.equal(badMode.statusCode, 400);
    assert.equal(badMode.json().details.field, 'mode');
  });

  it('watches a directory until the client disconnects, then stops watching', async () => {
    await server.request({ method: 'POST', url: files('/mkdir'), payload: { path: '/workspace/watched', parents: true } });
    const controller = new AbortController();
    const res = await fetch(`${server.url}${files('/watch?path=/workspace/watched')}`, { headers: AUTH, signal: controller.signal });
    assert.equal(res.status, 200);
    await waitFor(() => server.fake.world.fileEvents.listenerCount(id) > 0);
    await server.request({ method: 'PUT', url: files('?path=/workspace/watched/new.txt'), payload: 'hi', headers: { 'content-type': 'text/plain' } });
    const frames = await readFramesUntil(res, (frame) => frame.type !== 'keepalive');
    assert.deepEqual(frames.at(-1), { type: frames.at(-1)?.type, path: '/workspace/watched/new.txt' });
    assert.ok(['create', 'write'].includes(String(frames.at(-1)?.type)));
    controller.abort();
    await waitFor(() => server.fake.world.fileEvents.listenerCount(id) === 0);
  });

  it('answers 404 before streaming when the watched path does not exist', async () => {
    const res = await server.request({ method: 'GET', url: files('/watch?path=/workspace/absent') });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'file_not_found');
  });
});
