/**
 * The container tier's long-lived runtime mount namespace (crun on a hybrid cgroup host): the
 * holder keeps no sandbox overlay in its namespace, a dead holder is replaced on the next call,
 * a sandbox started under an old holder is still destroyed cleanly, and `close()` kills it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { DEFAULT_TOOLS, probeHost } from '../../src/backends/container/capabilities.js';
import { baseRootfs, containerSkipReason, run, tempBackend } from './helpers.js';

const probe = await probeHost(DEFAULT_TOOLS);
const skip = (await containerSkipReason()) ?? (probe.runtime === 'crun' && probe.hybridCgroup2 ? undefined : 'not crun on a hybrid cgroup host: no runtime namespace');

/** Pids of this process's children running `hutch-mntns hold`. */
function holders(): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === process.pid && cmdline[0]!.endsWith('/hutch-mntns') && cmdline[1] === 'hold') found.push(Number(name));
    } catch {
      // Ended while being read.
    }
  }
  return found;
}

describe('container tier: runtime mount namespace (host)', { skip }, () => {
  let backend: IsolationBackend;
  let dataDir: string;
  let cleanup: () => void;
  let rootfsPath: string;
  const id = `sbx_cns_${process.pid}`;

  before(async () => {
    ({ backend, dataDir, cleanup } = tempBackend('hutch-cns-'));
    rootfsPath = await baseRootfs(dataDir);
  });
  after(async () => {
    await backend.destroy(id).catch(() => undefined);
    await backend.close();
    cleanup();
  });

  it('keeps no overlay in the namespace, survives the holder dying, and close() kills it', async () => {
    await backend.create({ id, rootfsPath, resources: { memoryMib: 64, pids: 64 }, env: {}, network: { mode: 'none' } });
    await backend.start(id);
    const [holder, ...more] = holders();
    assert.ok(holder, 'a holder runs');
    assert.deepEqual(more, [], 'one holder per backend');
    const inside = readFileSync(`/proc/${holder}/mountinfo`, 'utf8');
    assert.ok(!inside.includes(`${dataDir}/sandboxes`), 'no sandbox overlay in the runtime namespace');
    assert.ok(!inside.includes(' /sys/fs/cgroup/unified '), 'no hybrid cgroup2 in the runtime namespace');

    process.kill(holder, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Exec goes through the container's exec agent (no runtime call): stop and start call the runtime.
    await backend.stop(id);
    await backend.start(id);
    const r = await run(backend, id, { cmd: 'echo', args: ['again'] });
    assert.equal(r.stdout, 'again\n');
    const [next] = holders();
    assert.ok(next !== undefined && next !== holder, 'a new holder replaced the dead one');

    const result = await backend.destroy(id);
    assert.equal(result.status, 'completed', result.summary);
    await backend.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(holders(), [], 'close() killed the holder');
  });
});
