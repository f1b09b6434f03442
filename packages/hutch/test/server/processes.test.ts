import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AUTH, createSandbox, openTestServer, outputOf, parseNdjson, parseSse, readFramesUntil, type TestServer } from './helpers.js';

describe('process routes', () => {
  let server: TestServer;
  let id: string;
  before(async () => {
    server = await openTestServer();
    id = (await createSandbox(server, { env: { GREETING: 'hello' } })).id;
  });
  after(async () => server.close());

  it('exec streams NDJSON frames: start, output, exit', async () => {
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/exec`, payload: { shell: 'echo out; echo err >&2; printenv GREETING; exit 3' } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /application\/x-ndjson/);
    const frames = parseNdjson(res.body);
    assert.equal(frames[0]?.type, 'start');
    assert.equal(outputOf(frames, 'stdout'), 'out\nhello\n');
    assert.equal(outputOf(frames, 'stderr'), 'err\n');
    assert.deepEqual(frames.at(-1), { type: 'exit', exitCode: 3, signal: null, reason: 'exited' });
  });

  it('exec streams SSE when asked with Accept: text/event-stream', async () => {
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/exec`, payload: { cmd: 'echo', args: ['sse'] }, headers: { accept: 'text/event-stream' } });
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    const events = parseSse(res.body);
    assert.deepEqual(events.map((e) => e.event), ['start', 'output', 'exit']);
    assert.equal(events[1]?.id, '1');
    assert.equal(Buffer.from(String(events[1]?.data.data), 'base64').toString(), 'sse\n');
  });

  it('refuses an exec body with neither or both of cmd and shell (400 naming the field)', async () => {
    for (const payload of [{}, { cmd: 'echo', shell: 'echo' }]) {
      const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/exec`, payload });
      assert.equal(res.statusCode, 400);
      assert.ok(['cmd', 'shell'].includes(res.json().details.field));
    }
    const bad = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/exec`, payload: { shell: 'true', pty: { cols: 0, rows: 10 } } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().details.field, 'pty.cols');
  });

  it('starts a background process (201), lists it and gets it by pid and by tag', async () => {
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes`, payload: { shell: 'cat', keepStdinOpen: true, tag: 'web-server' } });
    assert.equal(res.statusCode, 201);
    const info = res.json();
    assert.equal(info.running, true);
    assert.equal(info.tag, 'web-server');
    const list = await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/processes` });
    assert.ok(list.json().some((p: { pid: number }) => p.pid === info.pid));
    assert.equal((await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/processes/${info.pid}` })).json().pid, info.pid);
    assert.equal((await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/processes/web-server` })).json().pid, info.pid);

    // stdin, then EOF; reattach replays everything from seq 1 through the exit.
    const stdin = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${info.pid}/stdin`, payload: { data: Buffer.from('typed\n').toString('base64') } });
    assert.equal(stdin.statusCode, 204);
    assert.equal((await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${info.pid}/stdin/close` })).statusCode, 204);
    const output = await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/processes/${info.pid}/output?from=1` });
    const frames = parseNdjson(output.body);
    assert.equal(outputOf(frames, 'stdout'), 'typed\n');
    assert.equal(frames.at(-1)?.type, 'exit');
  });

  it('runs to completion with ?wait=true and returns a CommandResult', async () => {
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes?wait=true`, payload: { shell: 'echo done', stdin: 'ignored' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().stdout, 'done\n');
    assert.equal(res.json().exitCode, 0);
    assert.equal(res.json().reason, 'exited');
  });

  it('answers 408 process_timeout when a waited command runs past timeoutMs', async () => {
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes?wait=true`, payload: { shell: 'sleep 30', timeoutMs: 20 } });
    assert.equal(res.statusCode, 408);
    assert.equal(res.json().code, 'process_timeout');
  });

  it('signals a process: it ends with reason signaled', async () => {
    const started = (await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes`, payload: { shell: 'sleep 30' } })).json();
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${started.pid}/signal`, payload: { signal: 'SIGTERM' } });
    assert.equal(res.statusCode, 204);
    const frames = parseNdjson((await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/processes/${started.pid}/output` })).body);
    assert.deepEqual(frames.at(-1), { type: 'exit', exitCode: null, signal: 'SIGTERM', reason: 'signaled' });
    const bad = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${started.pid}/signal`, payload: { signal: 'SIGNOPE' } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().details.field, 'signal');
  });

  it('resizes a PTY process (204) and refuses to resize a pipe process (409)', async () => {
    const pty = (await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes`, payload: { shell: 'sleep 30', pty: { cols: 80, rows: 24 } } })).json();
    assert.equal(pty.pty, true);
    assert.equal((await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${pty.pid}/resize`, payload: { cols: 120, rows: 40 } })).statusCode, 204);
    const pipe = (await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes`, payload: { shell: 'sleep 30' } })).json();
    const res = await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${pipe.pid}/resize`, payload: { cols: 120, rows: 40 } });
    assert.equal(res.statusCode, 409);
    for (const p of [pty, pipe]) await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${p.pid}/signal`, payload: { signal: 'SIGKILL' } });
  });

  it('answers 404 process_not_found for an unknown pid and 409 for exec in a paused sandbox', async () => {
    const res = await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/processes/99999` });
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'process_not_found');
    const paused = await createSandbox(server);
    await server.request({ method: 'POST', url: `/v1/sandboxes/${paused.id}/pause` });
    const exec = await server.request({ method: 'POST', url: `/v1/sandboxes/${paused.id}/exec`, payload: { shell: 'true' } });
    assert.equal(exec.statusCode, 409);
    assert.equal(exec.json().code, 'invalid_transition');
  });
});

describe('process streams over a socket', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer({ listen: true, keepaliveMs: 20 });
  });
  after(async () => server.close());

  it('sends keepalive frames while a process is quiet, then its output and exit', async () => {
    const { id } = await createSandbox(server);
    const started = (await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes`, payload: { shell: 'cat', keepStdinOpen: true } })).json();
    const res = await fetch(`${server.url}/v1/sandboxes/${id}/processes/${started.pid}/output`, { headers: AUTH });
    let sawKeepalive = false;
    const frames = await readFramesUntil(res, async (frame) => {
      if (frame.type === 'keepalive' && !sawKeepalive) {
        sawKeepalive = true;
        await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${started.pid}/stdin`, payload: { data: Buffer.from('late\n').toString('base64') } });
        await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${started.pid}/stdin/close` });
      }
      return frame.type === 'exit';
    });
    assert.ok(sawKeepalive);
    assert.equal(outputOf(frames, 'stdout'), 'late\n');
  });

  it('stops following when the client disconnects', async () => {
    const { id } = await createSandbox(server);
    const started = (await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes`, payload: { shell: 'sleep 30' } })).json();
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/sandboxes/${id}/processes/${started.pid}/output`, { headers: AUTH, signal: controller.signal });
    await readFramesUntil(res, (frame) => frame.type === 'start');
    controller.abort();
    // The process is untouched: a client going away never kills it.
    const info = (await server.request({ method: 'GET', url: `/v1/sandboxes/${id}/processes/${started.pid}` })).json();
    assert.equal(info.running, true);
    await server.request({ method: 'POST', url: `/v1/sandboxes/${id}/processes/${started.pid}/signal`, payload: { signal: 'SIGKILL' } });
  });
});
