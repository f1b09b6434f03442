/**
 * Leak check for the process tier: 200 sandboxes go through create → start → exec → destroy (a few
 * at a time), then nothing of theirs may remain on the host: no process (zombies included), no
 * mount, no cgroup dir, no named netns, no directory.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { hostSkipReason, run, tempBackend } from './helpers.js';

const skip = await hostSkipReason();
const COUNT = 200;
const CONCURRENCY = 4;

function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmdline.includes(needle) || (state === 'Z' && readFileSync(`/proc/${name}/stat`, 'utf8').includes('(bwrap)'))) found.push(`${name} ${state} ${cmdline.replace(/\0/g, ' ').slice(0, 80)}`);
    } catch {
      // The process ended while being read.
    }
  }
  return found;
}

describe('process tier: no leaks', { skip }, () => {
  let backend: IsolationBackend;
  let dataDir: string;
  let cleanup: () => void;
  const prefix = `sbx_leak_${process.pid}_`;

  before(() => {
    ({ backend, dataDir, cleanup } = tempBackend('hutch-leaks-'));
  });
  after(async () => {
    await backend.close();
    cleanup();
  });

  it(`creates, starts, execs in and destroys ${COUNT} sandboxes leaving nothing behind`, async () => {
    let next = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (next < COUNT) {
        const id = `${prefix}${next++}`;
        await backend.create({ id, resources: { memoryMib: 64, pids: 64 }, env: {}, network: { mode: 'none' } });
        await backend.start(id);
        const r = await run(backend, id, { shell: 'echo $$ > /workspace/pid; sleep 30 & echo ok' , timeoutMs: 10_000 });
        if (r.stdout !== 'ok\n') failures.push(`${id}: ${JSON.stringify(r)}`);
        const result = await backend.destroy(id);
        if (result.status !== 'completed') failures.push(`${id}: ${result.summary}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(failures, []);

    assert.deepEqual(processesMentioning(`${dataDir}/`), [], 'no sandbox processes (and no bwrap zombies)');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(prefix) || l.includes(dataDir));
    assert.deepEqual(mounts, [], 'no mounts');
    for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
      const dir = `/sys/fs/cgroup/${hierarchy}/hutch`;
      if (!existsSync(dir)) continue;
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(prefix)), [], `no cgroup dirs in ${hierarchy}`);
    }
    if (existsSync('/run/netns')) assert.deepEqual(readdirSync('/run/netns').filter((n) => n.includes(prefix)), [], 'no named netns');
    assert.deepEqual(existsSync(`${dataDir}/sandboxes`) ? readdirSync(`${dataDir}/sandboxes`) : [], [], 'no sandbox dirs');
  });
});
