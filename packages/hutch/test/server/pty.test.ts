import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { API_KEY, createSandbox, openTestServer, type TestServer } from './helpers.js';

describe('PTY over WebSocket', () => {
  let server: TestServer;
  before(async () => {
    server = await openTestServer({ listen: true });
  });
  after(async () => server.close());

  const wsUrl = (path: string) => `${server.url.replace('http', 'ws')}${path}`;

  it('relays stdin and output as binary frames, resizes, and ends with an exit frame', async () => {
    const sandbox = await createSandbox(server);
    const started = (await server.request({ method: 'POST', url: `/v1/sandboxes/${sandbox.id}/processes`, payload: { shell: 'cat', keepStdinOpen: true, pty: { cols: 80, rows: 24 } } })).json();
    // The access token works too, passed as ?token= as a browser would.
    const socket = new WebSocket(wsUrl(`/v1/sandboxes/${sandbox.id}/processes/${started.pid}/pty?token=${sandbox.accessToken}`));
    const binary: Buffer[] = [];
    const texts: string[] = [];
    let gotEcho!: () => void;
    const echoed = new Promise<void>((resolve) => (gotEcho = resolve));
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        binary.push(Buffer.from(data as Buffer));
        if (Buffer.concat(binary).toString().includes('hello pty')) gotEcho();
      } else texts.push(String(data));
    });
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'resize', cols: 100, rows: 30 }));
    socket.send(Buffer.from('hello pty\n'), { binary: true });
    await echoed;
    await server.request({ method: 'POST', url: `/v1/sandboxes/${sandbox.id}/processes/${started.pid}/stdin/close` });
    const [code] = (await once(socket, 'close')) as [number];
    assert.equal(code, 1000);
    assert.equal(Buffer.concat(binary).toString(), 'hello pty\n');
    assert.deepEqual(JSON.parse(texts.at(-1)!), { type: 'exit', exitCode: 0, signal: null, reason: 'exited' });
    const logs = server.logs.join('\n');
    assert.ok(logs.includes('/pty?token=[Redacted]'), 'the socket request is logged without its token');
    assert.ok(!logs.includes(sandbox.accessToken));
  });

  it('refuses a socket without credentials (401) and reports an unknown process as an error frame', async () => {
    const sandbox = await createSandbox(server);
    const refused = new WebSocket(wsUrl(`/v1/sandboxes/${sandbox.id}/processes/1/pty`));
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    assert.equal(response.statusCode, 401);
    refused.on('error', () => undefined); // terminating a refused handshake reports an error; expected here
    refused.terminate();

    const socket = new WebSocket(wsUrl(`/v1/sandboxes/${sandbox.id}/processes/424242/pty?token=${API_KEY}`));
    const [data] = (await once(socket, 'message')) as [Buffer];
    assert.equal(JSON.parse(String(data)).code, 'process_not_found');
    const [code] = (await once(socket, 'close')) as [number];
    assert.equal(code, 1011);
  });
});
