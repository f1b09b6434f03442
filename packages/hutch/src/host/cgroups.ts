/**
 * Per-sandbox cgroups (`hutch/<sandboxId>`) on cgroup v1 (one dir per controller hierarchy) or a
 * pure cgroup v2 host, chosen by `detectCgroupLayout`. Limits, stats, OOM counting, the freezer
 * (pause/resume) and kill-everything all go through here. Processes join by writing their own pid
 * (the prelude does that before exec), so nothing of the sandbox ever runs outside its cgroup.
 */
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cgroupDir, cgroupDirs, planCgroupWrites, CGROUP_CONTROLLERS, type CgroupController, type CgroupLayout } from './cgroup-plan.js';
import type { Resources } from '../domain/sandbox.js';
import { errnoOf } from './host-errors.js';

/** Pure: the layout from `/proc/self/mountinfo` text plus the v2 root's `cgroup.controllers`. */
export function parseCgroupLayout(mountinfo: string, v2Controllers: (mountPoint: string) => string | undefined): CgroupLayout {
  const v1: Partial<Record<CgroupController, string>> = {};
  let v2Root: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    const [fsType, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (!mountPoint) continue;
    if (fsType === 'cgroup') {
      for (const opt of superOptions.split(',')) {
        if ((CGROUP_CONTROLLERS as readonly string[]).includes(opt)) v1[opt as CgroupController] ??= mountPoint;
      }
    } else if (fsType === 'cgroup2' && v2Root === undefined) {
      v2Root = mountPoint;
    }
  }
  if (v1.memory && v1.pids) return { mode: 'v1', mounts: v1 };
  if (v2Root !== undefined) {
    const controllers = (v2Controllers(v2Root) ?? '').trim().split(/\s+/).filter(Boolean);
    if (controllers.includes('memory') && controllers.includes('pids')) return { mode: 'v2', root: v2Root, controllers };
  }
  return { mode: 'none' };
}

/** Reads the host's cgroup layout. */
export async function detectCgroupLayout(): Promise<CgroupLayout> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const controllers = new Map<string, string>();
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep >= 0 && line.slice(sep + 3).startsWith('cgroup2 ')) {
      const mp = line.slice(0, sep).split(' ')[4]!;
      controllers.set(mp, await readFile(join(mp, 'cgroup.controllers'), 'utf8').catch(() => ''));
    }
  }
  return parseCgroupLayout(mountinfo, (mp) => controllers.get(mp));
}

/** Creates the sandbox's cgroups and writes its limits. v2: enables controllers on `hutch/`. */
export async function createCgroups(layout: CgroupLayout, sandboxId: string, resources: Resources): Promise<void> {
  if (layout.mode === 'v2') {
    const parent = join(layout.root, 'hutch');
    await mkdir(parent, { recursive: true });
    const wanted = ['memory', 'pids', 'cpu'].filter((c) => layout.controllers.includes(c));
    await writeFile(join(layout.root, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' ')).catch(() => undefined);
    await writeFile(join(parent, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
  }
  for (const dir of cgroupDirs(layout, sandboxId)) await mkdir(dir, { recursive: true });
  for (const w of planCgroupWrites(layout, sandboxId, resources)) {
    try {
      await writeFile(join(w.dir, w.file), w.value);
    } catch (err) {
      // memsw files are absent when swap accounting is off; without swap the memory limit is enough.
      if (w.file.includes('memsw') || w.file.includes('swap')) continue;
      throw err;
    }
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

function field(text: string | undefined, key: string): number | undefined {
  const m = text?.match(new RegExp(`^${key} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

/** Host pids in the sandbox's cgroup (all hierarchies, deduplicated). */
export async function cgroupPids(layout: CgroupLayout, sandboxId: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(layout, sandboxId)) {
    for (const line of ((await readText(join(dir, 'cgroup.procs'))) ?? '').split('\n')) if (line) pids.add(Number(line));
  }
  return [...pids];
}

/** The number of OOM kills in the sandbox's memory cgroup so far. */
export async function oomKills(layout: CgroupLayout, sandboxId: string): Promise<number> {
  const dir = cgroupDir(layout, sandboxId, 'memory');
  if (!dir) return 0;
  const text = await readText(join(dir, layout.mode === 'v2' ? 'memory.events' : 'memory.oom_control'));
  return field(text, 'oom_kill') ?? 0;
}

export interface CgroupStats {
  cpuUsageMs: number;
  memoryBytes: number;
  memoryLimitBytes: number | null;
  pids: number;
}

/** Usage figures from the cgroup files. */
export async function cgroupStats(layout: CgroupLayout, sandboxId: string): Promise<CgroupStats> {
  const dir = (c: CgroupController) => cgroupDir(layout, sandboxId, c);
  const num = async (c: CgroupController, file: string) => {
    const d = dir(c);
    const text = d === undefined ? undefined : await readText(join(d, file));
    return text === undefined || text.trim() === 'max' ? undefined : Number(text.trim());
  };
  const pids = await num('pids', 'pids.current');
  if (layout.mode === 'v2') {
    const cpu = field(await readText(join(dir('cpu')!, 'cpu.stat')), 'usage_usec');
    const limit = await num('memory', 'memory.max');
    return { cpuUsageMs: (cpu ?? 0) / 1000, memoryBytes: (await num('memory', 'memory.current')) ?? 0, memoryLimitBytes: limit ?? null, pids: pids ?? 0 };
  }
  const cpuNs = await num('cpuacct', 'cpuacct.usage');
  const limit = await num('memory', 'memory.limit_in_bytes');
  return {
    cpuUsageMs: (cpuNs ?? 0) / 1e6,
    memoryBytes: (await num('memory', 'memory.usage_in_bytes')) ?? 0,
    // v1 reports "no limit" as a huge page-rounded number.
    memoryLimitBytes: limit === undefined || limit >= 2 ** 62 ? null : limit,
    pids: pids ?? 0,
  };
}

/** True when the freezer is available. */
export function canFreeze(layout: CgroupLayout): boolean {
  return layout.mode === 'v2' || (layout.mode === 'v1' && layout.mounts.freezer !== undefined);
}

/** Freezes or thaws every process of the sandbox and waits until the kernel says it is done. */
export async function setFrozen(layout: CgroupLayout, sandboxId: string, frozen: boolean): Promise<void> {
  const dir = cgroupDir(layout, sandboxId, 'freezer');
  if (!dir) return;
  if (layout.mode === 'v2') {
    await writeFile(join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
    for (let i = 0; i < 200; i++) {
      if (field(await readText(join(dir, 'cgroup.events')), 'frozen') === (frozen ? 1 : 0)) return;
      await sleep(5);
    }
    return;
  }
  await writeFile(join(dir, 'freezer.state'), frozen ? 'FROZEN' : 'THAWED');
  for (let i = 0; i < 200; i++) {
    const state = (await readText(join(dir, 'freezer.state')))?.trim();
    if (state === (frozen ? 'FROZEN' : 'THAWED') || state === undefined) return;
    await sleep(5);
  }
}

/** True when the sandbox's cgroup is frozen. */
export async function isFrozen(layout: CgroupLayout, sandboxId: string): Promise<boolean> {
  const dir = cgroupDir(layout, sandboxId, 'freezer');
  if (!dir) return false;
  if (layout.mode === 'v2') return field(await readText(join(dir, 'cgroup.events')), 'frozen') === 1;
  return (await readText(join(dir, 'freezer.state')))?.trim() === 'FROZEN';
}

/**
 * SIGKILLs every process in the sandbox's cgroups until none is left (thawing first, since frozen
 * tasks cannot die). Returns false if some survived `timeoutMs`.
 */
export async function killAll(layout: CgroupLayout, sandboxId: string, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const v2dir = layout.mode === 'v2' ? cgroupDir(layout, sandboxId, 'memory') : undefined;
  for (let round = 0; ; round++) {
    const pids = await cgroupPids(layout, sandboxId);
    if (pids.length === 0) return true;
    if (Date.now() > deadline) return false;
    if (v2dir) await writeFile(join(v2dir, 'cgroup.kill'), '1').catch(() => undefined);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if (errnoOf(err) !== 'ESRCH') throw err;
      }
    }
    if (await isFrozen(layout, sandboxId)) await setFrozen(layout, sandboxId, false);
    await sleep(Math.min(2 + round * 2, 20));
  }
}

/** Removes the sandbox's cgroup dirs; returns the ones that could not be removed. */
export async function removeCgroups(layout: CgroupLayout, sandboxId: string): Promise<string[]> {
  return removeCgroupDirs(cgroupDirs(layout, sandboxId));
}

/** Removes cgroup dirs (waiting out a dying pid namespace's EBUSY); returns the ones left. */
export async function removeCgroupDirs(dirs: string[]): Promise<string[]> {
  const left: string[] = [];
  for (const dir of dirs) {
    let removed = false;
    // A dying pid namespace can keep its cgroup busy for a moment after cgroup.procs is empty.
    const deadline = Date.now() + 3000;
    while (!removed && Date.now() < deadline) {
      try {
        await rmdir(dir);
        removed = true;
      } catch (err) {
        const code = errnoOf(err);
        if (code === 'ENOENT') removed = true;
        else if (code === 'EBUSY') await sleep(10);
        else throw err;
      }
    }
    if (!removed) left.push(dir);
  }
  return left;
}
