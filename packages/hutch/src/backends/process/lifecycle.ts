/**
 * Sandbox lifecycle for the process tier: create (dirs, generated /etc, seccomp filter, cgroups;
 * nothing launched), start (the detached bwrap init, then the network), stop (kill every process,
 * keep files), pause/resume (cgroup freezer), destroy (kill, remove cgroups and dirs).
 */
import { spawn } from 'node:child_process';
import { chown, chmod, lstat, mkdir, open, readdir, readlink, readFile, rm, writeFile } from 'node:fs/promises';
import { AlreadyExistsError, BackendFailureError, BadRequestError, CapabilityMissingError, InvalidTransitionError } from '../../domain/errors.js';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { CleanupResult } from '../../port/isolation-backend.js';
import { canFreeze, cgroupPids, createCgroups, killAll, removeCgroups, setFrozen } from '../../host/cgroups.js';
import { getSandbox, type BackendContext, type ProcessSandbox } from './context.js';
import { commandFailed, errnoOf } from './errors.js';
import { prepareSandboxCa, wantsSandboxCa } from '../../host/egress/sandbox-ca.js';
import { startNetwork } from './network.js';
import { startExecAgent } from './agent.js';
import { allowSetuid, mountOverlay, unmountOverlay } from './overlay.js';
import { join } from 'node:path';
import {
  HOST_ID_BASE, HOST_SYSTEM_DIRS, INIT_COMMAND, checkSpec, cgroupProcsFiles, planEtcFiles, planInitArgv, planMounts, sandboxHostname, sandboxPaths,
  type MountEntry, type RootEntry, type SandboxPaths,
} from './plan.js';
import { planLaunchInitArgv } from '../../host/launcher.js';
import { preludeArgv } from '../../host/prelude.js';
import { childPids, findProcessesByArg, isSameProcess, namespaceInits, parentPid, processStartTime, waitReaped } from '../../host/proc.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSeccompFilter } from './seccomp.js';

/** lstat of the candidate top-level entries of the sandbox's root (host system dirs or template). */
export async function readRootEntries(rootfsPath: string | undefined): Promise<RootEntry[]> {
  const names = rootfsPath ? await readdir(rootfsPath) : HOST_SYSTEM_DIRS;
  const base = rootfsPath ?? '/';
  const entries: RootEntry[] = [];
  for (const name of names) {
    try {
      const st = await lstat(`${base}/${name}`);
      if (st.isSymbolicLink()) entries.push({ name, type: 'symlink', target: await readlink(`${base}/${name}`) });
      else entries.push({ name, type: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other' });
    } catch (err) {
      if (errnoOf(err) !== 'ENOENT') throw err;
    }
  }
  return entries;
}

/** The mount table of a sandbox (reads the root's top-level entries). */
export async function mountsFor(spec: SandboxSpec, paths: SandboxPaths): Promise<MountEntry[]> {
  return planMounts({ paths, rootfsPath: spec.rootfsPath, rootEntries: await readRootEntries(spec.rootfsPath), caBundle: wantsSandboxCa(spec), ...(spec.workspace ? { workspace: spec.workspace } : {}) });
}

/** Prepares a sandbox; launches nothing. Throws `AlreadyExistsError` for a known id. */
export async function createSandbox(ctx: BackendContext, spec: SandboxSpec): Promise<ProcessSandbox> {
  const problem = checkSpec(spec);
  if (problem) throw new BadRequestError(problem);
  const paths = sandboxPaths(ctx.dataDir, spec.id);
  if (ctx.sandboxes.has(spec.id) || (await lstat(paths.dir).catch(() => undefined))) throw new AlreadyExistsError(`Sandbox ${spec.id}`, { sandboxId: spec.id });
  if (spec.rootfsPath && !(await lstat(spec.rootfsPath).catch(() => undefined))?.isDirectory()) throw new BadRequestError('The template root filesystem does not exist.');
  await mkdir(ctx.dataDir, { recursive: true, mode: 0o711 });
  await mkdir(`${ctx.dataDir}/sandboxes`, { recursive: true, mode: 0o711 });
  await mkdir(paths.dir, { mode: 0o711 });
  const sandbox: ProcessSandbox = { id: spec.id, spec, paths, mounts: [], state: 'created', processes: new Map() };
  ctx.sandboxes.set(spec.id, sandbox);
  try {
    for (const dir of [paths.workspace, paths.tmp]) {
      await mkdir(dir);
      await chown(dir, HOST_ID_BASE, HOST_ID_BASE);
    }
    await chmod(paths.workspace, 0o777);
    await chmod(paths.tmp, 0o1777);
    if (spec.rootfsPath) {
      for (const dir of [join(paths.dir, 'root'), paths.upper, paths.work, paths.merged]) await mkdir(dir, { mode: 0o755 });
      await chown(paths.upper, HOST_ID_BASE, HOST_ID_BASE);
    }
    await mkdir(paths.etc, { mode: 0o755 });
    for (const [name, content] of Object.entries(planEtcFiles(spec.id, spec.network))) await writeFile(`${paths.etc}/${name}`, content, { mode: 0o644 });
    await prepareSandboxCa(sandbox);
    await writeFile(paths.seccomp, buildSeccompFilter(ctx.arch), { mode: 0o644 });
    // The spec holds env values that may be secrets: readable by root only.
    await writeFile(paths.specFile, JSON.stringify(spec), { mode: 0o600 });
    sandbox.mounts = await mountsFor(spec, paths);
    await createCgroups(ctx.layout, spec.id, spec.resources);
  } catch (err) {
    await removeSandboxResources(ctx, sandbox).catch(() => undefined);
    throw err;
  }
  return sandbox;
}

/** Starts a created or stopped sandbox: launches the init (detached, so it outlives the server). */
export async function startSandbox(ctx: BackendContext, id: string): Promise<ProcessSandbox> {
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'created' && sandbox.state !== 'stopped') throw new InvalidTransitionError(describe(sandbox), 'running', 'start');
  // `create` made the cgroups; a stopped sandbox may have lost them (host reboot before adoption).
  if (sandbox.state === 'stopped') await createCgroups(ctx.layout, id, sandbox.spec.resources);
  if (sandbox.spec.rootfsPath) await mountOverlay(sandbox.spec.rootfsPath, sandbox.paths);
  const initPid = await launchInit(ctx, sandbox);
  sandbox.initPid = initPid;
  sandbox.initStartTime = await processStartTime(initPid);
  try {
    // Independent steps, together: setuid on a template root (checked at exec time, so it only
    // has to be done before start returns), the network, the exec agent. Start returns once all
    // are done, so a warm pool's sandbox is complete when handed off (a background agent start
    // competed with hand-offs), and a failure is handled only once nothing is still starting.
    const steps = await Promise.allSettled([
      sandbox.spec.rootfsPath ? allowSetuid(initPid, ctx.tools.nsenter) : undefined,
      startNetwork(ctx, sandbox, initPid),
      startExecAgent(ctx, sandbox, initPid),
    ]);
    const failed = steps.find((step): step is PromiseRejectedResult => step.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await killAll(ctx.layout, id);
    await ctx.egress.detach(id);
    sandbox.state = 'stopped';
    throw err;
  }
  sandbox.state = 'running';
  return sandbox;
}

async function launchInit(ctx: BackendContext, sandbox: ProcessSandbox): Promise<number> {
  const bwrap = planInitArgv({ mounts: sandbox.mounts, hostname: sandboxHostname(sandbox.id), seccompFd: 3, infoFd: 4, bwrapPath: ctx.tools.bwrap });
  const launch = { usernsHostBase: HOST_ID_BASE, cgroupProcs: cgroupProcsFiles(ctx.layout, sandbox.id), argv: bwrap };
  const argv = ctx.launcher ? planLaunchInitArgv({ launcher: ctx.launcher, keepFds: 5, ...launch }) : preludeArgv(launch, ctx.tools.perl);
  const log = await open(sandbox.paths.initLog, 'w', 0o600);
  const filter = await open(sandbox.paths.seccomp, 'r');
  try {
    const child = spawn(argv[0]!, argv.slice(1), {
      detached: true,
      stdio: ['ignore', log.fd, log.fd, filter.fd, 'pipe'],
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      cwd: '/',
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.once('error', () => undefined);
    let info = '';
    const infoPipe = child.stdio[4] as NodeJS.ReadableStream;
    infoPipe.setEncoding('utf8');
    infoPipe.on('data', (d: string) => (info += d));
    await new Promise<void>((resolve) => {
      infoPipe.once('close', resolve);
      infoPipe.once('end', resolve);
      void exited.then(() => setTimeout(resolve, 50));
    });
    child.unref();
    const pid = /"child-pid":\s*(\d+)/.exec(info)?.[1];
    if (!pid) {
      const status = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000))]);
      const stderr = await readFile(sandbox.paths.initLog, 'utf8').catch(() => '');
      throw commandFailed('Starting the sandbox init (bwrap)', { exitCode: status?.code, signal: status?.signal, stderr: redact(stderr, ctx.dataDir) });
    }
    // bwrap reports the pid right after clone, before the mounts exist. Entering then would see a
    // half-built root, so wait until pid 1 has exec'd the init command: setup is finished.
    if (!(await waitForInitCommand(Number(pid)))) {
      await killSandboxProcesses(ctx, { ...sandbox, initPid: Number(pid), initStartTime: await processStartTime(Number(pid)) });
      throw new BackendFailureError('The sandbox init did not become ready.', { sandboxId: sandbox.id });
    }
    return Number(pid);
  } finally {
    await log.close();
    await filter.close();
  }
}

async function waitForInitCommand(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const child of await childPids(pid)) {
      const cmdline = await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.startsWith(`${INIT_COMMAND[0]}\0`)) return true;
    }
    if ((await processStartTime(pid)) === undefined) return false;
    await sleep(2);
  }
  return false;
}

function redact(text: string, dataDir: string): string {
  return text.split(dataDir).join('<data>');
}

function describe(sandbox: ProcessSandbox): string {
  return sandbox.state === 'created' ? 'creating' : sandbox.state;
}

/** Marks every tracked process as ended by the sandbox going away (before the kill lands). */
function endProcesses(sandbox: ProcessSandbox): void {
  for (const p of sandbox.processes.values()) p.markSandboxGone();
}

/**
 * Kills every process of the sandbox. The pid namespace's init goes first, alone: its death takes
 * every process inside with it, and its host parent (bwrap) reaps it. Killing the parent first
 * would orphan it to the host's pid 1, which on some hosts never reaps. Then the rest (bwrap's
 * host side, launchers, slirp4netns) through the cgroup, until it is empty.
 *
 * The sandbox's cgroup lists all of them: every launch joins it before its first instruction
 * (hutch-launch or the prelude), and nothing inside can leave it (no cgroupfs in the sandbox, its
 * own cgroup namespace, mount denied by seccomp). So this costs a few reads of `cgroup.procs`,
 * whatever else runs on the host; only a host without cgroups scans /proc for the sandbox's
 * data-dir arguments.
 */
export async function killSandboxProcesses(ctx: BackendContext, sandbox: Pick<ProcessSandbox, 'id' | 'paths' | 'initPid' | 'initStartTime'>): Promise<boolean> {
  const found = async () => (ctx.layout.mode === 'none' ? findProcessesByArg(`${sandbox.paths.dir}/`) : cgroupPids(ctx.layout, sandbox.id));
  const candidates = await found();
  const ours: number[] = [];
  for (const pid of candidates) if ((await parentPid(pid)) === process.pid) ours.push(pid);
  const inits = await namespaceInits(candidates);
  if (sandbox.initPid !== undefined && (await isSameProcess(sandbox.initPid, sandbox.initStartTime))) inits.push(sandbox.initPid);
  for (const pid of new Set(inits)) signalQuietly(pid);
  await waitReaped([...new Set(inits)], 2000);
  let clean = await killAll(ctx.layout, sandbox.id);
  if (ctx.layout.mode === 'none') for (const pid of await found()) signalQuietly(pid);
  else clean = clean && (await cgroupPids(ctx.layout, sandbox.id)).length === 0;
  await waitReaped(ours);
  return clean;
}

function signalQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if (errnoOf(err) !== 'ESRCH') throw err;
  }
}

/** Stops every process; files are kept. Running or paused only. */
export async function stopSandbox(ctx: BackendContext, id: string): Promise<ProcessSandbox> {
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running' && sandbox.state !== 'paused') throw new InvalidTransitionError(describe(sandbox), 'stopped', 'stop');
  endProcesses(sandbox);
  await killSandboxProcesses(ctx, sandbox);
  await ctx.egress.detach(id);
  sandbox.state = 'stopped';
  sandbox.initPid = undefined;
  sandbox.initStartTime = undefined;
  return sandbox;
}

/** Freezes every process (running → paused) through the cgroup freezer. */
export async function pauseSandbox(ctx: BackendContext, id: string, pause: boolean): Promise<void> {
  const sandbox = getSandbox(ctx, id);
  if (!canFreeze(ctx.layout)) throw new CapabilityMissingError('lifecycle.pause', 'process', pause ? 'pause a sandbox' : 'resume a sandbox');
  const from = pause ? 'running' : 'paused';
  if (sandbox.state !== from) throw new InvalidTransitionError(describe(sandbox), pause ? 'paused' : 'running', pause ? 'pause' : 'resume');
  await setFrozen(ctx.layout, id, pause);
  sandbox.state = pause ? 'paused' : 'running';
  // A policy change while paused may have given the sandbox network (slirp4netns would freeze).
  if (!pause && !ctx.egress.has(id) && sandbox.initPid !== undefined) await startNetwork(ctx, sandbox, sandbox.initPid);
}

/** Kills everything and removes every host resource; reports leftovers instead of throwing. */
export async function destroySandbox(ctx: BackendContext, id: string): Promise<CleanupResult> {
  const sandbox = getSandbox(ctx, id);
  endProcesses(sandbox);
  const result = await removeSandboxResources(ctx, sandbox);
  ctx.sandboxes.delete(id);
  return result;
}

/** Kills processes, removes cgroups and the sandbox dir. Used by destroy and reclaim. */
export async function removeSandboxResources(ctx: BackendContext, sandbox: Pick<ProcessSandbox, 'id' | 'paths' | 'initPid' | 'initStartTime'>): Promise<CleanupResult> {
  const problems: string[] = [];
  if (!(await killSandboxProcesses(ctx, sandbox))) problems.push('processes still running');
  await ctx.egress.forget(sandbox.id);
  const left = await removeCgroups(ctx.layout, sandbox.id).catch(() => ['?']);
  // The overlay must be gone before the directory is removed (rm would walk into the template's view).
  if (!(await unmountOverlay(sandbox.paths))) {
    problems.push('root overlay still mounted');
    return { status: 'repair_needed', summary: `sandbox ${sandbox.id}: ${problems.join(', ')}` };
  }
  if (left.length > 0) problems.push(`${left.length} cgroup dir(s) left`);
  try {
    await rm(sandbox.paths.dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    problems.push('sandbox directory left');
  }
  return problems.length === 0
    ? { status: 'completed', summary: `sandbox ${sandbox.id} removed` }
    : { status: 'repair_needed', summary: `sandbox ${sandbox.id}: ${problems.join(', ')}` };
}
