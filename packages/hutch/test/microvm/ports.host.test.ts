/**
 * Port forwarding on the microVM tier (TCG opt-in), beyond the shared conformance cases: a few MiB
 * of random bytes through a guest echo service and back (binary safety, and the agent's flow
 * control, since that is more than it buffers per connection), and a destroyed stream closing the
 * guest's end of the connection. Waits on the service's output, never on timers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ProcessHandle, IsolationBackend } from '../../src/port/isolation-backend.js';
import { microvmTestSetup } from './helpers.js';

const setup = await microvmTestSetup('hutch-microvm-ports-');
after(() => setup.cleanup());

/** Echoes one connection back until the client ends its side, then prints `closed`. */
const ECHO_SERVICE = [
  'import socket, sys',
  's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  "s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(4); print('ready', flush=True)",
  'c, _ = s.accept()',
  'while True:',
  '    try:',
  '        d = c.recv(65536)',
  '    except OSError:',
  "        d = b''",
  '    if not d:',
  '        break',
  '    c.sendall(d)',
  "c.close(); print('closed', flush=True)",
].join('\n');

/** Resolves once the process has printed `line`. */
async function printed(handle: ProcessHandle, line: string): Promise<void> {
  let out = '';
  for await (const chunk of handle.output()) {
    out += Buffer.from(chunk.data).toString();
    if (out.includes(`${line}\n`)) return;
  }
  throw new Error(`the service exited before printing ${line}: ${out}`);
}

describe('microvm port forwarding (tcg)', { skip: setup.skipReason ?? false }, () => {
  let b: IsolationBackend;
  const id = `sbx_ports_${Date.now().toString(36)}`;

  before(async () => {
    b = setup.create();
    await b.create({ id, template: 'base', rootfsPath: setup.rootfsPath, resources: {}, env: {}, network: { mode: 'none' } });
    await b.start(id);
  });
  after(async () => {
    await b.destroy(id).catch(() => undefined);
    await b.close();
  });

  it('carries a few MiB of random bytes to a guest echo service and back, unchanged', async () => {
    const service = await b.exec(id, { cmd: 'python3', args: ['-c', ECHO_SERVICE, '18501'] });
    await printed(service, 'ready');
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const stream = await b.connectPort!(id, 18_501);
    try {
      stream.end(payload);
      const parts: Buffer[] = [];
      for await (const chunk of stream) parts.push(chunk as Buffer);
      const echoed = Buffer.concat(parts);
      assert.equal(echoed.length, payload.length);
      assert.ok(echoed.equals(payload), 'the echoed bytes differ');
    } finally {
      stream.destroy();
    }
    assert.equal((await service.wait()).exitCode, 0);
  });

  it('closes the guest end of the connection when the stream is destroyed', async () => {
    const service = await b.exec(id, { cmd: 'python3', args: ['-c', ECHO_SERVICE, '18502'] });
    await printed(service, 'ready');
    const stream = await b.connectPort!(id, 18_502);
    await new Promise<void>((resolve, reject) => stream.write('ping', (err) => (err ? reject(err) : resolve())));
    stream.destroy();
    await printed(service, 'closed');
    assert.equal((await service.wait()).exitCode, 0);
  });
});
