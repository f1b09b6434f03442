/**
 * Raw baselines, measured in the same run as the product figures they are compared with: a plain
 * `child_process.spawn`, the bare bubblewrap line of research/isolation-measurements.md, and bare
 * crun (through `crun-worker.ts` in a private mount namespace). Every figure runs from the
 * `spawn()` call to the `close` event with stdout drained, as the research measured them.
 */
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CrunSamples } from './crun-worker.js';
import { nowMs } from './stats.js';

/** Spawns argv, drains stdout and stderr, resolves with the wall time in ms (rejects on a non-zero exit). */
export function timeSpawn(argv: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', () => undefined);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(nowMs() - t0) : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.trim().slice(0, 300)}`))));
  });
}

export async function sampleSpawn(argv: readonly string[], n: number): Promise<number[]> {
  const out: number[] = [];
  await timeSpawn(argv); // warm the page cache
  for (let i = 0; i < n; i++) out.push(await timeSpawn(argv));
  return out;
}

/** The bwrap line that was timed in research/isolation-measurements.md (user, pid, net, ipc, uts, cgroup ns). */
export const BARE_BWRAP = [
  '/usr/bin/bwrap', '--unshare-all', '--die-with-parent', '--ro-bind', '/usr', '/usr',
  '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin', '--symlink', 'usr/sbin', '/sbin',
  '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true',
];

export const ONE_MIB = 1024 * 1024;
export const HOST_1MB = ['/usr/bin/head', '-c', String(ONE_MIB), '/dev/zero'];

export async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Why bare crun cannot be measured here, or undefined. */
export async function crunSkipReason(): Promise<string | undefined> {
  for (const tool of ['/usr/bin/crun', '/usr/bin/unshare']) if (!(await executable(tool))) return `${tool} is missing`;
  if (process.getuid?.() !== 0) return 'bare crun needs root (cgroupfs manager)';
  return undefined;
}

/**
 * Runs the crun worker under workaround A: `unshare -m` + `umount /sys/fs/cgroup/unified` in a
 * private mount namespace (only when the unified hierarchy is mounted; nothing changes outside).
 */
export async function measureCrun(workRoot: string, iterations: number, execIterations: number, timeoutMs = 180_000): Promise<CrunSamples> {
  const dir = await mkdtemp(join(workRoot, 'crun-'));
  const worker = fileURLToPath(new URL('./crun-worker.js', import.meta.url));
  const script = 'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified || exit 97; fi; exec "$@"';
  const argv = ['/usr/bin/unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', script, 'nsrun', process.execPath, worker, dir, String(iterations), String(execIterations)];
  let workerPid: number | undefined;
  try {
    return await new Promise<CrunSamples>((resolve, reject) => {
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      workerPid = child.pid;
      // unshare and sh exec in place, so the worker keeps this pid (it names its containers by it).
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) return reject(new Error(`crun worker ${signal ? `killed by ${signal} after ${timeoutMs} ms` : `exited ${code}`}: ${err.trim().slice(-500)}`));
        try {
          resolve(JSON.parse(out) as CrunSamples);
        } catch (parseError) {
          reject(new Error(`crun worker printed no JSON: ${out.slice(0, 200)}`, { cause: parseError }));
        }
      });
    });
  } finally {
    if (workerPid !== undefined) await deleteLeftoverContainers(`hutch-bench-${workerPid}-`);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deletes containers whose id starts with `prefix` (a worker that died mid-run) and their cgroup parent. */
async function deleteLeftoverContainers(prefix: string): Promise<void> {
  const script = `umount /sys/fs/cgroup/unified 2>/dev/null; for id in $(crun list -q | grep '^${prefix}'); do crun --cgroup-manager=cgroupfs delete -f "$id"; done; for d in /sys/fs/cgroup/*/hutch-bench; do rmdir "$d" 2>/dev/null; done; true`;
  await timeSpawn(['/usr/bin/unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', script]).catch(() => undefined);
}
