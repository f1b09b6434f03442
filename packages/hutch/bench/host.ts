/**
 * Host facts for the report (cores, memory, kernel, tool versions, load) and the probes the
 * density and leak checks use: MemAvailable, per-process RSS/PSS, cgroup membership, mounts,
 * cgroup dirs, named netns and sandbox directories left behind.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  bwrap: string | null;
  crun: string | null;
  loadAverage1m: number;
  loadAverageAtEnd1m?: number;
}

async function versionOf(argv: string[]): Promise<string | null> {
  try {
    const { stdout } = await run(argv[0]!, argv.slice(1));
    return stdout.split('\n')[0]!.trim();
  } catch {
    return null;
  }
}

export async function machineInfo(): Promise<MachineInfo> {
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    node: process.version,
    bwrap: await versionOf(['/usr/bin/bwrap', '--version']),
    crun: await versionOf(['/usr/bin/crun', '--version']),
    loadAverage1m: loadavg()[0]!,
  };
}

/** MemAvailable from /proc/meminfo, in bytes. */
export async function memAvailableBytes(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const kb = /^MemAvailable:\s+(\d+) kB/m.exec(text)?.[1];
  return Number(kb) * 1024;
}

/** Kernel-side memory from /proc/meminfo, in bytes: unreclaimable slab + kernel stacks + page tables. */
export async function kernelMemoryBytes(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return (kb('SUnreclaim') + kb('KernelStack') + kb('PageTables')) * 1024;
}

/** The median of `count` readings of `read`, `gapMs` apart (MemAvailable moves with other work). */
export async function steadyReading(read: () => Promise<number>, count = 5, gapMs = 200): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < count; i++) {
    values.push(await read());
    if (i < count - 1) await new Promise((r) => setTimeout(r, gapMs));
  }
  return values.sort((a, b) => a - b)[Math.floor(count / 2)]!;
}

/** RSS and PSS of one process in bytes (smaps_rollup), or undefined if it is gone. */
export async function processMemory(pid: number): Promise<{ rss: number; pss: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
    return { rss: field('Rss'), pss: field('Pss') };
  } catch {
    return undefined;
  }
}

/** Host pids in a v1 (or v2) cgroup `hutch/<id>`, union of the hierarchies that have it. */
export async function cgroupPidsOf(sandboxId: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const hierarchy of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    for (const dir of [join('/sys/fs/cgroup', hierarchy, 'hutch', sandboxId), join('/sys/fs/cgroup', 'hutch', sandboxId)]) {
      const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const line of text.split('\n')) if (line) pids.add(Number(line));
    }
  }
  return [...pids];
}

/** memory.usage_in_bytes (v1) or memory.current (v2) of `hutch/<id>`, or undefined. */
export async function cgroupMemoryBytes(sandboxId: string): Promise<number | undefined> {
  for (const file of [`/sys/fs/cgroup/memory/hutch/${sandboxId}/memory.usage_in_bytes`, `/sys/fs/cgroup/hutch/${sandboxId}/memory.current`]) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return Number(text.trim());
  }
  return undefined;
}

/** Pids whose command line mentions `needle`, plus bwrap zombies (which have no command line). */
export async function processesMentioning(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8');
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      const state = stat.split(') ')[1]?.[0];
      const zombieOfOurs = state === 'Z' && stat.includes('(bwrap)') && Number(stat.split(') ')[1]?.split(' ')[1]) === process.pid;
      if (cmdline.includes(needle) || zombieOfOurs) found.push(`${name} ${state} ${cmdline.replace(/\0/g, ' ').slice(0, 100)}`);
    } catch {
      // The process ended while being read.
    }
  }
  return found;
}

export interface Leaks {
  processes: string[];
  mounts: string[];
  cgroupDirs: string[];
  netns: string[];
  sandboxDirs: string[];
}

export function leakCount(leaks: Leaks): number {
  return leaks.processes.length + leaks.mounts.length + leaks.cgroupDirs.length + leaks.netns.length + leaks.sandboxDirs.length;
}

/**
 * Everything of `ids` (or under `backendDir`) still on the host. `instanceDirs` are the
 * subdirectories of `backendDir` that hold one entry per sandbox or snapshot (`sandboxes` on the
 * process and container tiers; `vms`, `snapshots` and the bench's own `bare` on the microVM tier).
 * Processes are found by `backendDir` in their command line (every QEMU names its sockets there).
 */
export async function findLeaks(backendDir: string, ids: ReadonlySet<string>, instanceDirs: readonly string[] = ['sandboxes']): Promise<Leaks> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts = mountinfo.split('\n').filter((l) => l.includes(`${backendDir}/`) || [...ids].some((id) => l.includes(id)));
  const cgroupDirs: string[] = [];
  for (const hierarchy of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const dir = join('/sys/fs/cgroup', hierarchy, 'hutch');
    if (!existsSync(dir)) continue;
    for (const name of await readdir(dir).catch(() => [] as string[])) if (ids.has(name)) cgroupDirs.push(join(dir, name));
  }
  const netns = existsSync('/run/netns') ? (await readdir('/run/netns')).filter((n) => [...ids].some((id) => n.includes(id))) : [];
  const sandboxDirs: string[] = [];
  for (const sub of instanceDirs) {
    const dir = join(backendDir, sub);
    if (existsSync(dir)) sandboxDirs.push(...(await readdir(dir)).map((n) => join(dir, n)));
  }
  return { processes: await processesMentioning(`${backendDir}/`), mounts, cgroupDirs, netns, sandboxDirs };
}
