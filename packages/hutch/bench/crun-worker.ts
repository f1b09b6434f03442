/**
 * The bare-crun baseline, run as its own Node process inside a private mount namespace where
 * /sys/fs/cgroup/unified is unmounted (workaround A of research/isolation-measurements.md: crun
 * 1.8.1 refuses the host's hybrid cgroup layout otherwise). `crun-baseline.ts` starts it; it
 * prints one JSON object (`CrunSamples`) on stdout and progress on stderr.
 *
 * The bundle mirrors the timed bwrap line: a read-only root whose /usr is the host's (bind, ro),
 * with the usual bin/lib symlinks, its own pid, net, ipc, uts and mount namespaces, a cgroup
 * under `hutch-bench/<id>` and the `crun spec` defaults otherwise (no user namespace).
 *
 * Usage: node crun-worker.js <workDir> <iterations> <execIterations>
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nowMs } from './stats.js';

export interface CrunSamples {
  crunVersion: string;
  /** Per lifecycle iteration. */
  create: number[];
  start: number[];
  firstExec: number[];
  delete: number[];
  /** create + start + first exec (the "create → first exec" baseline). */
  createToExec: number[];
  /** create + start + first exec + delete. */
  total: number[];
  /** `crun exec ID true` in one running container. */
  execTrue: number[];
  /** `crun exec ID head -c 1048576 /dev/zero`, stdout drained. */
  exec1Mb: number[];
}

const CRUN = '/usr/bin/crun';

/**
 * Spawns argv and resolves with the wall time in ms; rejects on a non-zero exit. `detaches`: the
 * command leaves a process behind (`crun create`) that would hold inherited pipes open, so its
 * stdio goes to /dev/null and the `exit` event ends the timing; otherwise stdout is drained and
 * timing ends at `close`.
 */
function run(argv: string[], detaches = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const child = spawn(argv[0]!, argv.slice(1), { stdio: detaches ? 'ignore' : ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout?.on('data', () => undefined);
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once(detaches ? 'exit' : 'close', (code: number | null) => (code === 0 ? resolve(nowMs() - t0) : reject(new Error(`${argv.join(' ')}: exit ${code}: ${stderr.trim()}`))));
  });
}

async function makeBundle(dir: string): Promise<string> {
  const bundle = join(dir, 'bundle');
  const rootfs = join(bundle, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  for (const d of ['usr', 'proc', 'dev', 'sys', 'tmp', 'etc']) await mkdir(join(rootfs, d), { recursive: true });
  for (const [name, target] of [['bin', 'usr/bin'], ['sbin', 'usr/sbin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64']] as const) await symlink(target, join(rootfs, name));
  await new Promise<void>((resolve, reject) => {
    const child = spawn(CRUN, ['spec'], { cwd: bundle, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`crun spec: exit ${code}`))));
  });
  const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string; readonly: boolean };
    mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
    linux: { cgroupsPath?: string; resources?: Record<string, unknown> };
  };
  config.process.terminal = false;
  config.process.args = ['sleep', '2147483647'];
  config.root = { path: rootfs, readonly: true };
  config.mounts.push({ destination: '/usr', type: 'bind', source: '/usr', options: ['rbind', 'ro'] });
  config.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] });
  config.linux.resources = { ...config.linux.resources, memory: { limit: 256 * 1024 * 1024 }, pids: { limit: 256 } };
  await writeFile(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

async function withCgroupsPath(bundle: string, id: string): Promise<void> {
  const file = join(bundle, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as { linux: { cgroupsPath?: string } };
  config.linux.cgroupsPath = `/hutch-bench/${id}`;
  await writeFile(file, JSON.stringify(config));
}

async function removeCgroupParents(): Promise<void> {
  for (const h of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) await rmdir(`/sys/fs/cgroup/${h}/hutch-bench`).catch(() => undefined);
}

async function main(): Promise<void> {
  const [workDir, iterationsText, execText] = process.argv.slice(2);
  const iterations = Number(iterationsText);
  const execIterations = Number(execText);
  const version = await new Promise<string>((resolve) => {
    let out = '';
    const child = spawn(CRUN, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('close', () => resolve(out.split('\n')[0] ?? ''));
  });
  const bundle = await makeBundle(workDir!);
  const crun = [CRUN, '--cgroup-manager=cgroupfs'];
  const samples: CrunSamples = { crunVersion: version, create: [], start: [], firstExec: [], delete: [], createToExec: [], total: [], execTrue: [], exec1Mb: [] };
  const live = new Set<string>();
  try {
    for (let i = 0; i < iterations; i++) {
      const id = `hutch-bench-${process.pid}-${i}`;
      await withCgroupsPath(bundle, id);
      live.add(id);
      const create = await run([...crun, 'create', '-b', bundle, id], true);
      const start = await run([...crun, 'start', id]);
      const exec = await run([...crun, 'exec', id, 'true']);
      const del = await run([...crun, 'delete', '-f', id]);
      live.delete(id);
      samples.create.push(create);
      samples.start.push(start);
      samples.firstExec.push(exec);
      samples.delete.push(del);
      samples.createToExec.push(create + start + exec);
      samples.total.push(create + start + exec + del);
    }
    const id = `hutch-bench-${process.pid}-exec`;
    await withCgroupsPath(bundle, id);
    live.add(id);
    await run([...crun, 'create', '-b', bundle, id], true);
    await run([...crun, 'start', id]);
    for (let i = 0; i < execIterations; i++) samples.execTrue.push(await run([...crun, 'exec', id, 'true']));
    for (let i = 0; i < execIterations; i++) samples.exec1Mb.push(await run([...crun, 'exec', id, 'head', '-c', '1048576', '/dev/zero']));
  } finally {
    for (const id of live) await run([...crun, 'delete', '-f', id]).catch((err: Error) => process.stderr.write(`crun cleanup: ${err.message}\n`));
    await removeCgroupParents();
  }
  process.stdout.write(JSON.stringify(samples));
}

main().catch((err: unknown) => {
  process.stderr.write(`crun worker failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
