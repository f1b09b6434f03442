/**
 * Leak checks for the container tier: 100 sandboxes go through create → start → exec → destroy (a
 * few at a time), and 200 sandboxes run idle at the same time and are torn down; then nothing of
 * theirs may remain on the host: no runtime container, process, mount, cgroup dir, named netns,
 * nft rule or directory.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { IsolationBackend } from '../../src/port/isolation-backend.js';
import { baseRootfs, containerSkipReason, run, tempBackend } from './helpers.js';

const skip = await containerSkipReason();
const COUNT = 100;
const CONCURRENCY = 4;

/** The host's nft ruleset as text ('' when nft is absent). */
function nftRules(): string {
  try {
    return execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  } catch {
    return '';
  }
}

function processesMentioning(needle: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmdline.includes(needle)) found.push(`${name} ${cmdline.replace(/\0/g, ' ').slice(0, 80)}`);
    } catch {
      // The process ended while being read.
    }
  }
  return found;
}

describe('container tier: no leaks', { skip }, () => {
  let backend: IsolationBackend;
  let dataDir: string;
  let cleanup: () => void;
  let rootfsPath: string;
  const prefix = `sbx_cleak_${process.pid}_`;

  before(async () => {
    ({ backend, dataDir, cleanup } = tempBackend('hutch-cleaks-'));
    rootfsPath = await baseRootfs(dataDir);
  });
  after(async () => {
    await backend.close();
    cleanup();
  });

  /** Fails if anything of a sandbox whose id starts with `idPrefix` is left on the host. */
  function assertNothingLeft(idPrefix: string): void {
    assert.deepEqual(processesMentioning(idPrefix), [], 'no sandbox processes');
    const state = join(dataDir, 'runtime', 'crun');
    assert.deepEqual(existsSync(state) ? readdirSync(state).filter((n) => n.startsWith(idPrefix)) : [], [], 'no runtime containers');
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(idPrefix) || l.includes(`${dataDir}/sandboxes`));
    assert.deepEqual(mounts, [], 'no mounts');
    for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
      const dir = `/sys/fs/cgroup/${hierarchy}/hutch`;
      if (!existsSync(dir)) continue;
      assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(idPrefix)), [], `no cgroup dirs in ${hierarchy}`);
    }
    if (existsSync('/run/netns')) assert.deepEqual(readdirSync('/run/netns').filter((n) => n.includes(idPrefix)), [], 'no named netns');
    assert.deepEqual(existsSync(`${dataDir}/sandboxes`) ? readdirSync(`${dataDir}/sandboxes`) : [], [], 'no sandbox dirs');
    assert.ok(!nftRules().includes(idPrefix), 'no nft rules');
  }

  it('runs 200 idle sandboxes at once and tears them all down leaving nothing behind', async () => {
    const idlePrefix = `sbx_cidle_${process.pid}_`;
    const ids = Array.from({ length: 200 }, (_, i) => `${idlePrefix}${i}`);
    let next = 0;
    const start = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        await backend.create({ id, rootfsPath, resources: { memoryMib: 64, pids: 64 }, env: {}, network: { mode: 'none' } });
        await backend.start(id);
      }
    };
    try {
      await Promise.all(Array.from({ length: 8 }, start));
      const running = await Promise.all(ids.map(async (id) => (await backend.stats(id)).pids));
      assert.ok(running.every((pids) => pids >= 1), 'all 200 run at the same time');
    } finally {
      const results: Array<{ status: string; summary: string }> = [];
      let k = 0;
      const teardown = async () => {
        while (k < ids.length) results.push(await backend.destroy(ids[k++]!).catch((err: Error) => ({ status: 'error', summary: err.message })));
      };
      await Promise.all(Array.from({ length: 8 }, teardown));
      assert.deepEqual(results.filter((r) => r.status !== 'completed'), []);
    }
    assertNothingLeft(idlePrefix);
  });

  it(`creates, starts, execs in and destroys ${COUNT} sandboxes leaving nothing behind`, async () => {
    let next = 0;
    const failures: string[] = [];
    const worker = async () => {
      while (next < COUNT) {
        const id = `${prefix}${next++}`;
        await backend.create({ id, rootfsPath, resources: { memoryMib: 64, pids: 64 }, env: {}, network: { mode: 'none' } });
        await backend.start(id);
        const r = await run(backend, id, { shell: 'echo $$ > /workspace/pid; sleep 30 & echo ok', timeoutMs: 10_000 });
        if (r.stdout !== 'ok\n') failures.push(`${id}: ${JSON.stringify(r)}`);
        const result = await backend.destroy(id);
        if (result.status !== 'completed') failures.push(`${id}: ${result.summary}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(failures, []);

    assertNothingLeft(prefix);
  });
});
