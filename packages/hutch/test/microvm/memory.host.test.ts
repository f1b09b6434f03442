/**
 * Memory snapshots on the microVM tier (TCG opt-in): a counter loop inside the VM keeps counting
 * after pause → snapshot → restore, and three forks of one snapshot carry on independently.
 * Timings are printed, never asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { microvmTestSetup } from './helpers.js';

const setup = await microvmTestSetup('hutch-microvm-mem-');
after(() => setup.cleanup());

async function sh(b: IsolationBackend, id: string, shell: string): Promise<string> {
  const h = await b.exec(id, { shell });
  let out = '';
  for await (const c of h.output()) out += Buffer.from(c.data).toString();
  await h.wait();
  return out;
}

async function counter(b: IsolationBackend, id: string): Promise<number> {
  return Number((await sh(b, id, 'cat /tmp/count')).trim());
}

/** Waits until the counter file reaches at least `min` (the loop ticks every 0.2 s). */
async function counterReaches(b: IsolationBackend, id: string, min: number): Promise<number> {
  for (;;) {
    const n = await counter(b, id);
    if (n >= min) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('microvm memory snapshots (tcg)', { skip: setup.skipReason ?? false }, () => {
  let b: IsolationBackend;
  const created: string[] = [];
  const spec = (id: string) => ({ id, template: 'base', rootfsPath: setup.rootfsPath, resources: {}, env: {}, network: { mode: 'none' as const } });

  before(async () => {
    b = setup.create();
  });
  after(async () => {
    for (const id of created) await b.destroy(id).catch(() => undefined);
    await b.close();
  });

  it('keeps a counter loop running across pause → snapshot → restore, and forks 3 independent copies', async () => {
    const id = `sbx_mem_${Date.now().toString(36)}`;
    await b.create(spec(id));
    created.push(id);
    await b.start(id);
    // The loop's state (i) lives only in the shell's memory; the file is just a window on it.
    const loop = await b.exec(id, { shell: 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count.new; mv /tmp/count.new /tmp/count; sleep 0.2; done' });
    const before = await counterReaches(b, id, 3);
    await b.pause(id);
    let t = Date.now();
    const artifact = await b.snapshot(id, { snapshotId: `snap_${id}`, kind: 'pause' });
    console.log(`# snapshot of a paused 256 MiB VM: ${Date.now() - t} ms, ${(artifact.sizeBytes / 1024 ** 2).toFixed(1)} MiB`);
    assert.equal(artifact.memory, true);
    assert.match(artifact.sha256, /^[0-9a-f]{64}$/);
    await b.destroy(id);
    created.splice(created.indexOf(id), 1);
    assert.equal((await loop.wait()).reason, 'sandbox_destroyed');

    const forks = [1, 2, 3].map((n) => `${id}_f${n}`);
    for (const fork of forks) {
      t = Date.now();
      await b.restore(artifact, spec(fork));
      created.push(fork);
      await b.start(fork);
      const restoredAt = Date.now() - t;
      const first = await counter(b, fork);
      console.log(`# fork ${fork}: restore ${restoredAt} ms, restore → first exec ${Date.now() - t} ms, counter ${first}`);
      // Memory came back: the loop resumes from where it was, not from zero.
      assert.ok(first >= before, `counter ${first} continues from ${before}`);
    }
    for (const fork of forks) await counterReaches(b, fork, before + 3);
    // Independent state: each fork writes its own marker; the others do not see it.
    for (const [n, fork] of forks.entries()) await sh(b, fork, `echo fork${n} > /tmp/who`);
    for (const [n, fork] of forks.entries()) assert.equal((await sh(b, fork, 'cat /tmp/who')).trim(), `fork${n}`);
    await b.deleteSnapshot(artifact);
  });
});
