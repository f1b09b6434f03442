/**
 * The writable root of a template sandbox: an overlay mount with the template's root filesystem as
 * the read-only lower layer and the sandbox's own `upper` directory taking every write (copy-on-
 * write; the template is shared by every sandbox and never changes). Mounted on the host, where
 * the files API and snapshots can read it, before the init starts; unmounted before the sandbox
 * directory is removed. A restart finds it still mounted, so mounting is idempotent.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { commandFailed } from './errors.js';
import type { SandboxPaths } from './plan.js';

/** Runs a host tool; failures become a redacted `BackendFailureError` (no host paths). */
function runTool(argv: string[], what: string, cwd = '/'): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 30_000, cwd }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const code = typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      reject(commandFailed(what, { exitCode: code, stderr: stderr.split('/').length > 2 ? '' : stderr }, err));
    });
  });
}

/** Mount points in this mount namespace, from /proc/self/mountinfo (field 5, octal escapes decoded). */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return new Set(text.split('\n').filter(Boolean).map((line) => line.split(' ')[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))));
}

/**
 * Pure: the mount(8) arguments of the overlay, and the directory to run it from. The layer paths
 * are given relative to their common ancestor because the kernel shows the options as given in
 * the sandbox's /proc/self/mountinfo, and host paths are not the sandbox's business.
 */
export function overlayMount(rootfsPath: string, paths: Pick<SandboxPaths, 'upper' | 'work' | 'merged'>): { cwd: string; argv: string[] } {
  const dirs = [rootfsPath, paths.upper, paths.work];
  let cwd = dirname(rootfsPath);
  while (!dirs.every((d) => d.startsWith(`${cwd}/`)) && cwd !== '/') cwd = dirname(cwd);
  const [lower, upper, work] = dirs.map((d) => relative(cwd, d));
  return { cwd, argv: ['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, paths.merged] };
}

export async function mountOverlay(rootfsPath: string, paths: SandboxPaths): Promise<void> {
  if ((await mountPoints()).has(paths.merged)) return;
  const { cwd, argv } = overlayMount(rootfsPath, paths);
  await runTool(argv, 'Mounting the sandbox root overlay', cwd);
}

/**
 * Lets setuid programs of the template (sudo) work inside the sandbox: bwrap binds the root
 * `nosuid`; this remounts it `suid` from inside the sandbox's own user and mount namespaces, where
 * setuid can only ever reach the sandbox's root (host uid 100000), never host root. The mount was
 * made in the sandbox's namespace, so its flags are not locked. Template roots only: the host-root
 * view keeps `nosuid` (its setuid files belong to host root).
 */
export async function allowSetuid(initPid: number, nsenterPath = '/usr/bin/nsenter'): Promise<void> {
  await runTool([nsenterPath, '-t', String(initPid), '-U', '-m', '--', 'mount', '-o', 'remount,bind,suid', '/'], 'Enabling setuid in the sandbox root');
}

/** Unmounts the overlay if mounted; true when nothing is left mounted there. */
export async function unmountOverlay(paths: Pick<SandboxPaths, 'merged'>): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!(await mountPoints()).has(paths.merged)) return true;
    await runTool(['umount', attempt === 2 ? '-l' : '', paths.merged].filter(Boolean), 'Unmounting the sandbox root overlay').catch(() => undefined);
  }
  return !(await mountPoints()).has(paths.merged);
}
