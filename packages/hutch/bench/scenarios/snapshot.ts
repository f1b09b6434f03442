/**
 * Scenario 6: snapshot and restore/fork of a sandbox holding 100 MB of files (100 × 1 MiB of
 * random data in /workspace). Snapshot: engine.snapshots.create; restore: a new running sandbox
 * from it (engine.snapshots.restore); fork: 3 sandboxes from it. Baselines: bare `tar -cf` of an
 * equal host directory (100 × 1 MiB random files in the scratch root, same disk) and `tar -xf` of
 * the result, measured alongside.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { timeSpawn } from '../baselines.js';
import { median, type BenchContext } from '../context.js';
import { nowMs } from '../stats.js';
import type { Tier } from '../tiers.js';

export const SCENARIO_6 = '6 snapshot 100 MB';
const FORK_COUNT = 3;
const FILL = 'for i in $(seq 1 100); do head -c 1048576 /dev/urandom > /workspace/f$i || exit 1; done; sync';

export async function runSnapshot(ctx: BenchContext, tier: Tier): Promise<void> {
  const { options, log, results } = ctx;
  const { engine } = tier;
  const rounds = options.snapshotRounds;
  log.step(`${SCENARIO_6} on ${tier.name}: filling /workspace with 100 × 1 MiB`);
  const { id } = await engine.lifecycle.create({ ...tier.request });
  const live = new Set<string>();
  const snapshots: string[] = [];
  const scratch = await mkdtemp(join(ctx.root, 'tar-'));
  try {
    const fill = await engine.processes.run(id, { shell: FILL, timeoutMs: 120_000 });
    if (fill.exitCode !== 0) throw new Error(`filling the workspace failed: ${fill.stderr}`);
    const snap: number[] = [];
    const restore: number[] = [];
    const fork: number[] = [];
    const tarC: number[] = [];
    const tarX: number[] = [];
    const hostCopy = join(scratch, 'src');
    await mkdir(join(hostCopy, 'workspace'), { recursive: true });
    for (let f = 1; f <= 100; f++) await writeFile(join(hostCopy, 'workspace', `f${f}`), randomBytes(1 << 20));
    log.step(`${SCENARIO_6} on ${tier.name}: ${rounds} rounds of snapshot, restore, fork ×${FORK_COUNT}`);
    for (let i = 0; i < rounds; i++) {
      let t0 = nowMs();
      const info = await engine.snapshots.create(id);
      snap.push(nowMs() - t0);
      snapshots.push(info.id);
      t0 = nowMs();
      const restored = await engine.snapshots.restore(info.id);
      restore.push(nowMs() - t0);
      live.add(restored.id);
      if (i === 0) {
        const check = await engine.processes.run(restored.id, { shell: 'ls /workspace | wc -l; du -sm /workspace | cut -f1' });
        const [files, mib] = check.stdout.trim().split('\n').map(Number);
        if (files !== 100 || (mib ?? 0) < 100) throw new Error(`restored workspace has ${files} files, ${mib} MiB`);
      }
      await engine.lifecycle.destroy(restored.id);
      live.delete(restored.id);
      t0 = nowMs();
      const forks = await engine.snapshots.fork(info.id, FORK_COUNT);
      fork.push(nowMs() - t0);
      for (const f of forks) live.add(f.id);
      for (const f of forks) {
        await engine.lifecycle.destroy(f.id);
        live.delete(f.id);
      }
      // Host baseline on the same data: archive and unpack the workspace with bare tar.
      const tarFile = join(scratch, `ws-${i}.tar`);
      tarC.push(await timeSpawn(['/usr/bin/tar', '--numeric-owner', '-C', hostCopy, '-cf', tarFile, './workspace']));
      const into = join(scratch, `x-${i}`);
      await timeSpawn(['/usr/bin/mkdir', into]);
      tarX.push(await timeSpawn(['/usr/bin/tar', '--numeric-owner', '--same-permissions', '-C', into, '-xf', tarFile]));
      await rm(into, { recursive: true, force: true });
      await rm(tarFile, { force: true });
    }
    const base = { scenario: SCENARIO_6, tier: tier.name, via: 'engine' };
    results.latency({ ...base, via: 'baseline', metric: 'bare tar -cf (100 MB)' }, tarC);
    results.latency({ ...base, via: 'baseline', metric: 'bare tar -xf (100 MB)' }, tarX);
    results.latency({ ...base, metric: 'snapshot', baseline: { name: 'bare tar -cf', p50: median(tarC) } }, snap);
    results.latency({ ...base, metric: 'restore → running', baseline: { name: 'bare tar -xf', p50: median(tarX) } }, restore);
    results.latency({ ...base, metric: `fork ×${FORK_COUNT} → running` }, fork);
    results.value({ ...base, metric: 'fork, per child', unit: 'ms', value: median(fork) / FORK_COUNT });
  } finally {
    for (const sid of live) await engine.lifecycle.destroy(sid).catch(() => undefined);
    await engine.lifecycle.destroy(id).catch(() => undefined);
    for (const s of snapshots) await engine.snapshots.delete(s).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
