/**
 * Port forwarding on the container tier, beyond the conformance cases: the relay reaches the
 * container's own loopback and never the host's, and once the container's init is gone a
 * connection is refused as `backend_failure` (the recorded pid is not trusted) and destroy still
 * cleans up.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { processStartTime } from '../../src/host/proc.js';
import { baseRootfs, containerSkipReason, tempBackend } from './helpers.js';

const skip = await containerSkipReason();

describe('container tier: port forwarding (host)', { skip }, () => {
  let backend: IsolationBackend;
  let cleanup: () => void;
  let rootfsPath: string;
  let hostService: Server;
  let hostPort: number;
  const ids: string[] = [];

  before(async () => {
    let dataDir: string;
    ({ backend, cleanup, dataDir } = tempBackend('hutch-cports-'));
    rootfsPath = await baseRootfs(dataDir);
    hostService = createServer((s) => s.end('host-only\n'));
    await new Promise<void>((resolve) => hostService.listen(0, '127.0.0.1', resolve));
    hostPort = (hostService.address() as { port: number }).port;
  });
  after(async () => {
    for (const id of ids) await backend.destroy(id).catch(() => undefined);
    await backend.close();
    hostService?.close();
    cleanup();
  });

  async function started(): Promise<{ id: string; initPid: number }> {
    const id = `sbx_cports_${ids.length}_${process.pid}`;
    await backend.create({ id, rootfsPath, resources: {}, env: {}, network: { mode: 'none' } });
    ids.push(id);
    const record = await backend.start(id);
    assert.equal(typeof record.initPid, 'number');
    return { id, initPid: record.initPid as number };
  }

  it("connects to the container's loopback, never the host's", async () => {
    const { id } = await started();
    await assert.rejects(backend.connectPort!(id, hostPort), { code: 'not_found' });
  });

  it('refuses with backend_failure once the init is gone, and destroy still cleans up', async () => {
    const { id, initPid } = await started();
    process.kill(initPid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while ((await processStartTime(initPid)) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(backend.connectPort!(id, hostPort), { code: 'backend_failure' });
    assert.equal((await backend.destroy(id)).status, 'completed');
    ids.splice(ids.indexOf(id), 1);
  });
});
