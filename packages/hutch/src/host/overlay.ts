/**
 * The writable root of a template sandbox: an overlay mount with the template's root filesystem as
 * the read-only lower layer and the sandbox's own `upper` directory taking every write (copy-on-
 * write; the template is shared by every sandbox and never changes). Mounted on the host, where
 * the files API and snapshots can read it, before the sandbox starts; unmounted before the sandbox
 * directory is removed. A restart finds it still mounted, so mounting is idempotent.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { commandFailed } from './host-errors.js';

/** Host paths of an overlay: the sandbox's writable layer, overlayfs's work dir, the mount point. */
export interface OverlayPaths {
  upper: string;
  work: string;
  merged: string;
}

/** Runs a host tool; failures become a redacted `BackendFailureError` (no host paths). */
export function runTool(argv: string[], what: string, cwd = '/'): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 30_000, cwd }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const code = typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null;
      reject(commandFailed(what, { exitCode: code, stderr: stderr.split('/').length > 2 ? '' : stderr }, err));
    });
  });
}

/** Mounts of this mount namespace, from /proc/self/mountinfo: mount point (field 5, octal escapes decoded) and type. */
export async function mountInfo(): Promise<Array<{ path: string; fstype: string }>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ');
    return { path: fields[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))), fstype: fields[fields.indexOf('-') + 1] ?? '' };
  });
}

/** Mount points in this mount namespace. */
export async function mountPoints(): Promise<Set<string>> {
  return new Set((await mountInfo()).map((m) => m.path));
}

/**
 * Pure: the mount(8) arguments of the overlay, and the directory to run it from. The layer paths
 * are given relative to their common ancestor because the kernel shows the options as given in
 * the sandbox's /proc/self/mountinfo, and host paths are not the sandbox's business.
 */
export function overlayMount(rootfsPath: string, paths: OverlayPaths): { cwd: string; argv: string[] } {
  const dirs = [rootfsPath, paths.upper, paths.work];
  let cwd = dirname(rootfsPath);
  while (!dirs.every((d) => d.startsWith(`${cwd}/`)) && cwd !== '/') cwd = dirname(cwd);
  const [lower, upper, work] = dirs.map((d) => relative(cwd, d));
  return { cwd, argv: ['mount', '-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, paths.merged] };
}

export async function mountOverlay(rootfsPath: string, paths: OverlayPaths): Promise<void> {
  if ((await mountPoints()).has(paths.merged)) return;
  const { cwd, argv } = overlayMount(rootfsPath, paths);
  await runTool(argv, 'Mounting the sandbox root overlay', cwd);
}

/** Unmounts the overlay if mounted; true when nothing is left mounted there. */
export async function unmountOverlay(paths: Pick<OverlayPaths, 'merged'>): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!(await mountPoints()).has(paths.merged)) return true;
    await runTool(['umount', attempt === 2 ? '-l' : '', paths.merged].filter(Boolean), 'Unmounting the sandbox root overlay').catch(() => undefined);
  }
  return !(await mountPoints()).has(paths.merged);
}
