/**
 * Teardown that runs whatever happened: destroy every sandbox each tier still has (pooled ones
 * included), close servers and engines, reclaim anything the backend still holds for the ids the
 * run created, unmount what is left under the scratch root, and remove it.
 */
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { findLeaks, leakCount, type Leaks } from './host.js';
import type { BenchLog } from './log.js';
import type { Tier } from './tiers.js';

const run = promisify(execFile);

async function destroyAll(tier: Tier, log: BenchLog): Promise<void> {
  const { engine } = tier;
  await engine.pools.drain().catch((err: Error) => log.step(`cleanup: draining pools of ${tier.name}: ${err.message}`));
  let cursor: string | undefined;
  const ids: string[] = [];
  do {
    const page = engine.list({ state: ['creating', 'running', 'paused', 'stopped'], limit: 1000, ...(cursor ? { cursor } : {}) });
    ids.push(...page.items.map((s) => s.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  for (const id of ids) await engine.lifecycle.destroy(id, 'benchmark cleanup').catch((err: Error) => log.step(`cleanup: destroy ${id}: ${err.message}`));
}

/** Closes `tiers` and returns what each left on the host after its own cleanup. */
export async function closeTiers(tiers: readonly Tier[], log: BenchLog): Promise<Record<string, Leaks>> {
  const leaks: Record<string, Leaks> = {};
  for (const tier of tiers) {
    await destroyAll(tier, log).catch((err: Error) => log.step(`cleanup: ${tier.name}: ${err.message}`));
    await tier.close().catch((err: Error) => log.step(`cleanup: closing ${tier.name}: ${err.message}`));
    let found = await findLeaks(tier.backendDir, tier.timed.ids, tier.instanceDirs);
    if (leakCount(found) > 0) {
      log.step(`cleanup: ${tier.name} left ${leakCount(found)} item(s); reclaiming`);
      for (const id of tier.timed.ids) await tier.timed.backend.reclaim(id, {}).catch(() => undefined);
      found = await findLeaks(tier.backendDir, tier.timed.ids, tier.instanceDirs);
    }
    leaks[tier.name] = found;
  }
  return leaks;
}

/** Lazily unmounts anything still mounted under `root`, deepest first, then removes `root`. */
export async function removeRoot(root: string, log: BenchLog): Promise<void> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    log.step(`cleanup: unmounting leftover ${m}`);
    await run('/usr/bin/umount', ['-l', m]).catch((err: Error) => log.step(`cleanup: umount ${m}: ${err.message}`));
  }
  await rm(root, { recursive: true, force: true, maxRetries: 3 });
}
