/** The fake backend passes the conformance suite: it is the reference implementation of the port. */
import type { Duplex } from 'node:stream';
import { runConformance } from '../../../test/conformance/index.js';
import { createFakeBackend, type FakeBackend } from './index.js';

let first: FakeBackend | undefined;

/** The suite's line service as a fake listener: answers the first line with `pong <line>`, then closes. */
function lineService(socket: Duplex): void {
  let text = '';
  socket.on('data', (d: Buffer) => {
    text += d.toString();
    const nl = text.indexOf('\n');
    if (nl >= 0 && !socket.writableEnded) socket.end(`pong ${text.slice(0, nl + 1)}`);
  });
}

runConformance({
  name: 'fake',
  create: async () => (first = createFakeBackend()),
  reopen: async () => first!.clone(),
  startLineService: async (_backend, sandboxId, port) => {
    first!.world.listeners.set(`${sandboxId}:${port}`, lineService);
  },
});
