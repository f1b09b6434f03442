/**
 * "Where the time goes" for the process tier: the launch chain of an exec and of a sandbox init,
 * rebuilt step by step from the backend's own pure planners (the same argv the backend spawns),
 * each timed from spawn() to exit, against a running sandbox of this run. Also the cost of the
 * engine's bookkeeping (one journaled effect on a scratch SQLite database) and of a cgroup set.
 *
 * Each row adds one layer, so consecutive differences are the cost of that layer:
 *   spawn true → perl → prelude script → + cgroup join → + seccomp → nsenter (+ sh wrapper) → full
 *   Perl exec argv (the fallback path) → hutch-launch exec (without the agent) → backend.exec through the exec agent (the default path) → engine
 */
import { spawn } from 'node:child_process';
import { mkdtemp, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { preludeArgv } from '../src/host/prelude.js';
import { ensureLauncher, planLaunchExecArgv, planLaunchInitArgv } from '../src/host/launcher.js';
import { ensureMntnsHelper, RuntimeNamespace } from '../src/backends/container/runtime-ns.js';
import { findProcessesByArg } from '../src/host/proc.js';
import { createCgroups, detectCgroupLayout, removeCgroups } from '../src/host/cgroups.js';
import { cgroupProcsFiles } from '../src/host/cgroup-plan.js';
import { mountsFor } from '../src/backends/process/lifecycle.js';
import { HOST_ID_BASE, planExecArgv, planInitArgv, sandboxPaths } from '../src/backends/process/plan.js';
import type { SandboxSpec } from '../src/domain/sandbox.js';
import { Journal } from '../src/engine/journal.js';
import { openDatabase, Store } from '../src/engine/store.js';
import { median, type BenchContext } from './context.js';
import { cgroupPidsOf } from './host.js';
import { nowMs } from './stats.js';
import type { Tier } from './tiers.js';

export const PROFILE = 'profile (process tier)';

/** Spawns argv with `extraFds` (paths opened read-only, or 'pipe') from fd 3 on; ms to exit. */
async function timeWithFds(argv: readonly string[], extraFds: Array<string | 'pipe'> = []): Promise<number> {
  const handles = await Promise.all(extraFds.map((f) => (f === 'pipe' ? undefined : open(f, 'r'))));
  try {
    return await new Promise<number>((resolve, reject) => {
      const t0 = nowMs();
      const stdio = ['ignore', 'pipe', 'pipe', ...extraFds.map((f, i) => (f === 'pipe' ? 'pipe' : handles[i]!.fd))] as const;
      const child = spawn(argv[0]!, argv.slice(1), { stdio: stdio as unknown as ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, cwd: '/' });
      let stderr = '';
      child.stdout.on('data', () => undefined);
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      for (let i = 3; i < child.stdio.length; i++) (child.stdio[i] as NodeJS.ReadableStream | null)?.on?.('data', () => undefined);
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(nowMs() - t0) : reject(new Error(`${argv.slice(0, 3).join(' ')}… exited ${code}: ${stderr.trim().slice(0, 300)}`))));
    });
  } finally {
    for (const h of handles) await h?.close();
  }
}

async function sample(n: number, fn: () => Promise<number>): Promise<number[]> {
  await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

/**
 * Runs every step once per round, `n` rounds, and returns each step's median: interleaving makes
 * load from other work on the host fall on all steps alike, so their differences stay meaningful.
 */
async function interleaved(n: number, steps: Array<[string, () => Promise<number>]>): Promise<ProfileStep[]> {
  const samples = steps.map(() => [] as number[]);
  for (const [, fn] of steps) await fn();
  for (let i = 0; i < n; i++) for (const [k, [, fn]] of steps.entries()) samples[k]!.push(await fn());
  return steps.map(([step], k) => ({ step, p50Ms: median(samples[k]!) }));
}

/** The host pid of the sandbox's pid 1 (bwrap's reaper): the parent of the `sleep` init command. */
async function initPidOf(sandboxId: string): Promise<number> {
  for (const pid of await cgroupPidsOf(sandboxId)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.startsWith('sleep\0')) return Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[1]);
  }
  throw new Error(`no init found for ${sandboxId}`);
}

export interface ProfileStep {
  step: string;
  p50Ms: number;
  /** p50 minus the previous step's p50 in the same chain. */
  addedMs?: number;
}

export async function runProfile(ctx: BenchContext, tier: Tier): Promise<{ exec: ProfileStep[]; init: ProfileStep[]; bookkeeping: ProfileStep[] }> {
  const { log, results, options } = ctx;
  const n = options.quick ? 20 : 60;
  const layout = await detectCgroupLayout();
  const { engine } = tier;
  const { id } = await engine.lifecycle.create({ ...tier.request });
  try {
    log.step(`${PROFILE}: exec launch chain ×${n} per step`);
    const paths = sandboxPaths(tier.backendDir, id);
    const initPid = await initPidOf(id);
    const cgroups = cgroupProcsFiles(layout, id);
    const trueArgv = ['/bin/true'];
    const nsenter = planExecArgv({ initPid, user: { uid: 0, gid: 0, home: '/workspace' }, cwd: '/workspace', cmd: 'true', pidFd: 3 });
    const nsenterBare = [...nsenter.slice(0, nsenter.indexOf('--') + 1), '/bin/true'];
    const launcher = await ensureLauncher();
    if (!launcher) throw new Error('hutch-launch cannot be built here (gcc with a static libc is needed)');
    const launchExec = planLaunchExecArgv({ launcher, initPid, cgroupProcs: cgroups, seccompFile: paths.seccomp, uid: 0, gid: 0, cwd: '/workspace', cmd: 'true', pidFd: 3 });
    const chain: Array<[string, () => Promise<number>]> = [
      ['spawn /bin/true', () => timeWithFds(trueArgv)],
      ['perl -e exec true', () => timeWithFds(['/usr/bin/perl', '-e', 'exec {"/bin/true"} "/bin/true"'])],
      // What the prelude cost while it loaded POSIX and warnings (before commit 036d568), kept as a reference.
      ['perl with `use warnings; use POSIX ()` → exec true (the former prelude modules)', () => timeWithFds(['/usr/bin/perl', '-e', 'use strict; use warnings; use POSIX (); exec {"/bin/true"} "/bin/true"'])],
      ['prelude script (nothing to do) → true', () => timeWithFds(preludeArgv({ cgroupProcs: [], argv: trueArgv }))],
      [`+ join ${cgroups.length} cgroups`, () => timeWithFds(preludeArgv({ cgroupProcs: cgroups, argv: trueArgv }))],
      ['+ seccomp filter', () => timeWithFds(preludeArgv({ seccompFile: paths.seccomp, cgroupProcs: cgroups, argv: trueArgv }))],
    ];
    chain.push(
      ['nsenter (7 namespaces + chroot) → true, no prelude', () => timeWithFds(nsenterBare)],
      ['nsenter → sh wrapper → true, no prelude', () => timeWithFds(nsenter, ['pipe'])],
      ['full exec argv: prelude + nsenter + sh → true', () => timeWithFds(preludeArgv({ seccompFile: paths.seccomp, cgroupProcs: cgroups, argv: nsenter }), ['pipe'])],
      ['hutch-launch exec → true (cgroups, 7 namespaces, chroot, seccomp, fork, ids; the fallback without the agent)', () => timeWithFds(launchExec, ['pipe'])],
      ['backend.exec through the in-sandbox exec agent (the default path) + output drained + exit', async () => {
        const t0 = nowMs();
        const handle = await tier.timed.backend.exec(id, { cmd: 'true' });
        for await (const chunk of handle.output()) void chunk;
        await handle.wait();
        return nowMs() - t0;
      }],
      ['engine.processes.run (journal, events, process row)', async () => {
        const t0 = nowMs();
        await engine.processes.run(id, { cmd: 'true' });
        return nowMs() - t0;
      }],
    );
    const execSteps = await interleaved(n, chain);
    for (let i = 1; i < execSteps.length; i++) execSteps[i]!.addedMs = execSteps[i]!.p50Ms - execSteps[i - 1]!.p50Ms;

    log.step(`${PROFILE}: init launch chain ×${n} per step`);
    const mounts = await mountsFor({ id, rootfsPath: undefined } as unknown as SandboxSpec, paths);
    const initArgv = planInitArgv({ mounts, hostname: 'bench', seccompFd: 3, infoFd: 4 });
    const initTrue = [...initArgv.slice(0, initArgv.indexOf('--') + 1), '/bin/true'];
    const initChain: Array<[string, () => Promise<number>]> = [
      ['bare bwrap --unshare-all true (research line)', () => timeWithFds(['/usr/bin/bwrap', '--unshare-all', '--ro-bind', '/usr', '/usr', '--symlink', 'usr/lib', '/lib', '--symlink', 'usr/lib64', '/lib64', '--symlink', 'usr/bin', '/bin', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '/bin/true'])],
      [`bwrap with the sandbox's ${mounts.length} mounts + seccomp → true (no userns)`, () => timeWithFds(initTrue, [paths.seccomp, 'pipe'])],
      ['+ prelude: cgroup join + user namespace (fork, uid/gid map)', () => timeWithFds(preludeArgv({ usernsHostBase: HOST_ID_BASE, cgroupProcs: cgroups, argv: initTrue }), [paths.seccomp, 'pipe'])],
      ['hutch-launch init instead of the prelude (the default path)', () => timeWithFds(planLaunchInitArgv({ launcher, usernsHostBase: HOST_ID_BASE, cgroupProcs: cgroups, keepFds: 5, argv: initTrue }), [paths.seccomp, 'pipe'])],
    ];
    const initSteps = await interleaved(n, initChain);
    for (let i = 1; i < initSteps.length; i++) initSteps[i]!.addedMs = initSteps[i]!.p50Ms - initSteps[i - 1]!.p50Ms;

    log.step(`${PROFILE}: bookkeeping (journal effect on SQLite, cgroup set)`);
    const scratch = await mkdtemp(join(ctx.root, 'journal-'));
    const store = new Store(openDatabase(scratch));
    const journal = new Journal(store, () => new Date().toISOString());
    const journalMs = await sample(n * 5, async () => {
      const t0 = nowMs();
      await journal.effect({ sandboxId: 'sbxbench', effect: 'exec', summary: { program: 'true' } }, async () => ({}));
      return nowMs() - t0;
    });
    store.close();
    let k = 0;
    const cgroupMs = await sample(n, async () => {
      const cid = `bench-profile-${process.pid}-${k++}`;
      const t0 = nowMs();
      await createCgroups(layout, cid, { memoryMib: 256, pids: 256, vcpus: 1 });
      const made = nowMs() - t0;
      await removeCgroups(layout, cid);
      return made;
    });
    const procCount = (await readdir('/proc')).filter((n) => /^\d+$/.test(n)).length;
    const scanMs = await sample(n, async () => {
      const t0 = nowMs();
      await findProcessesByArg(`${paths.dir}/`);
      return nowMs() - t0;
    });
    // The container tier wraps every runtime call in a private mount namespace with the hybrid
    // cgroup2 mount removed (crun 1.8.1 refuses the hybrid layout): what that wrapper alone costs.
    const wrapperMs = await sample(n, () =>
      timeWithFds(['/usr/bin/unshare', '-m', '--propagation', 'private', '/bin/sh', '-c', 'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi; exec /bin/true']),
    );
    // What replaced it: one long-lived namespace per backend, joined per call by hutch-mntns run.
    const joinMs = await timeRuntimeNamespaceJoin(n);
    const bookkeeping: ProfileStep[] = [
      { step: 'container tier: per-call hybrid-cgroup wrapper (unshare -m + sh + umount) → true (the fallback without hutch-mntns)', p50Ms: median(wrapperMs) },
      ...(joinMs.length > 0 ? [{ step: 'container tier: join the long-lived runtime namespace (hutch-mntns run) → true', p50Ms: median(joinMs) }] : []),
      { step: `scan every /proc/*/cmdline once (${procCount} processes; destroy now reads the cgroup instead, the scan is left for hosts without cgroups)`, p50Ms: median(scanMs) },
      { step: 'one journaled effect (intent + result rows, WAL, synchronous=NORMAL)', p50Ms: median(journalMs) },
      { step: `create a cgroup set with limits (${layout.mode})`, p50Ms: median(cgroupMs) },
    ];
    const add = (chainName: string, steps: ProfileStep[]) => {
      for (const s of steps) results.value({ scenario: PROFILE, tier: tier.name, via: chainName, metric: s.step, unit: 'ms', value: s.p50Ms, ...(s.addedMs !== undefined ? { note: `${s.addedMs >= 0 ? '+' : ''}${s.addedMs.toFixed(2)}` } : {}) });
    };
    add('exec chain', execSteps);
    add('init chain', initSteps);
    add('bookkeeping', bookkeeping);
    return { exec: execSteps, init: initSteps, bookkeeping };
  } finally {
    await engine.lifecycle.destroy(id);
    // Profile cgroups that a failed run may have left.
    for (const h of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
      for (const name of await readdir(`/sys/fs/cgroup/${h}/hutch`).catch(() => [] as string[])) {
        if (name.startsWith(`bench-profile-${process.pid}-`)) await removeCgroups(layout, name).catch(() => undefined);
      }
    }
  }
}

/** `hutch-mntns run … -- true` against a holder of its own (none when the helper cannot be built). */
async function timeRuntimeNamespaceJoin(n: number): Promise<number[]> {
  const helper = await ensureMntnsHelper();
  if (!helper) return [];
  const ns = new RuntimeNamespace(helper, '/sys/fs/cgroup/unified');
  try {
    const ref = await ns.ref();
    return await sample(n, () => timeWithFds([ref.helper, 'run', '-t', String(ref.pid), '-i', ref.inode, '--', '/bin/true']));
  } catch {
    return [];
  } finally {
    ns.close();
  }
}
