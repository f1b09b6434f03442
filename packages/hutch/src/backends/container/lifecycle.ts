/**
 * Sandbox lifecycle for the container tier: create (dirs, generated /etc, the egress CA and trust
 * bundle when the sandbox has secrets, the overlay root mounted, `config.json`; nothing launched),
 * start (`config.json` rewritten, `run --detach` with the exec agent as pid 1, then the network), stop (`delete -f`, files kept), pause/resume (cgroup
 * freezer), destroy (`delete -f`, cgroups, overlay, dirs).
 */
import { chmod, chown, lstat, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlreadyExistsError, BackendFailureError, BadRequestError, CapabilityMissingError, InvalidTransitionError } from '../../domain/errors.js';
import type { SandboxSpec } from '../../domain/sandbox.js';
import { USERNS_HOST_BASE } from '../../domain/user-namespace.js';
import type { CleanupResult } from '../../port/isolation-backend.js';
import { canFreeze, cgroupPids, isFrozen, killAll, removeCgroupDirs, setFrozen } from '../../host/cgroups.js';
import { cgroupProcsFiles } from '../../host/cgroup-plan.js';
import { mountOverlay, unmountOverlay } from '../../host/overlay.js';
import { processStartTime } from '../../host/proc.js';
import { prepareSandboxCa, wantsSandboxCa } from '../../host/egress/sandbox-ca.js';
import { startNetwork } from './network.js';
import { agentRunPrefix, agentUsable, forgetExecAgent } from './agent.js';
import { getSandbox, portState, type ContainerContext, type ContainerSandbox } from './context.js';
import { runtimeFailed } from './errors.js';
import { checkSpec, containerPaths, planEtcFiles, planMountTable, planOciConfig, type ContainerPaths } from './plan.js';
import { runtimeCall, runtimeRunDetached, runtimeState } from './runtime.js';

/**
 * Prepares a sandbox; launches nothing. `fill` (restore) may populate the upper layer before the
 * overlay is mounted. Throws `AlreadyExistsError` for a known id, `BadRequestError` without a
 * template root.
 */
export async function createSandbox(ctx: ContainerContext, spec: SandboxSpec, fill?: (paths: ContainerPaths) => Promise<void>): Promise<ContainerSandbox> {
  const problem = checkSpec(spec);
  if (problem) throw new BadRequestError(problem);
  const rootfsPath = spec.rootfsPath ?? (await ctx.defaultRootfsPath?.());
  if (!rootfsPath) throw new BadRequestError('The container backend needs a template root filesystem: create the sandbox from a template (for example "base").');
  if (!(await lstat(rootfsPath).catch(() => undefined))?.isDirectory()) throw new BadRequestError('The template root filesystem does not exist.');
  const paths = containerPaths(ctx.dataDir, spec.id);
  if (ctx.sandboxes.has(spec.id) || (await lstat(paths.dir).catch(() => undefined))) throw new AlreadyExistsError(`Sandbox ${spec.id}`, { sandboxId: spec.id });
  const fullSpec: SandboxSpec = { ...spec, rootfsPath };
  await mkdir(join(ctx.dataDir, 'sandboxes'), { recursive: true, mode: 0o711 });
  await mkdir(paths.dir, { mode: 0o711 });
  const caBundle = wantsSandboxCa(spec);
  const sandbox: ContainerSandbox = { id: spec.id, spec: fullSpec, paths, mounts: planMountTable(paths, spec.workspace, caBundle), state: 'created', processes: new Map() };
  ctx.sandboxes.set(spec.id, sandbox);
  try {
    for (const dir of [join(paths.dir, 'root'), paths.upper, paths.work, paths.merged, paths.etc]) await mkdir(dir, { mode: 0o755 });
    await mkdir(paths.execDir, { mode: 0o700 });
    await chown(paths.upper, USERNS_HOST_BASE, USERNS_HOST_BASE);
    for (const [name, content] of Object.entries(planEtcFiles(spec.id, spec.network))) await writeFile(join(paths.etc, name), content, { mode: 0o644 });
    await prepareSandboxCa(sandbox);
    // The spec holds env values that may be secrets: readable by root only.
    await writeFile(paths.specFile, JSON.stringify(fullSpec), { mode: 0o600 });
    await writeOciConfig(ctx, sandbox);
    await fill?.(paths);
    await mountOverlay(rootfsPath, paths);
    await prepareRoot(paths.merged);
  } catch (err) {
    await removeSandboxResources(ctx, spec.id).catch(() => undefined);
    ctx.sandboxes.delete(spec.id);
    throw err;
  }
  return sandbox;
}

/**
 * Writes `config.json` as this backend plans it now: pid 1 is the exec agent whenever it can be.
 * Start writes it again, so a sandbox created by an older version (the shell init) or while the
 * agent was unavailable gets the current init, and one whose agent became unavailable the shell.
 */
async function writeOciConfig(ctx: ContainerContext, sandbox: ContainerSandbox): Promise<void> {
  const { spec, paths } = sandbox;
  const config = planOciConfig({
    id: spec.id, paths, resources: spec.resources, noNewPrivileges: ctx.noNewPrivileges, caBundle: wantsSandboxCa(spec), agentInit: agentUsable(ctx, sandbox),
    ...(spec.workspace ? { workspace: spec.workspace } : {}),
  });
  await writeFile(paths.config, JSON.stringify(config), { mode: 0o600 });
}

/** /workspace (world-writable, owned by sandbox root) and a sticky /tmp in the writable layer. */
async function prepareRoot(merged: string): Promise<void> {
  for (const [name, mode] of [['workspace', 0o777], ['tmp', 0o1777]] as const) {
    const path = join(merged, name);
    const st = await lstat(path).catch(() => undefined);
    if (st?.isSymbolicLink()) continue;
    if (!st) {
      await mkdir(path);
      await chown(path, USERNS_HOST_BASE, USERNS_HOST_BASE);
    }
    if (!st || (st.mode & 0o7777) !== mode) await chmod(path, mode);
  }
}

/**
 * Starts a created or stopped sandbox: `run --detach` (the init outlives the server). With the
 * exec agent, the call runs through `hutch-launch listen`, which binds the agent's socket and
 * passes it and the agent binary to pid 1 (agent.ts); exec works as soon as the call returns.
 */
export async function startSandbox(ctx: ContainerContext, id: string): Promise<ContainerSandbox> {
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'created' && sandbox.state !== 'stopped') throw new InvalidTransitionError(portState(sandbox), 'running', 'start');
  await Promise.all([mountOverlay(sandbox.spec.rootfsPath!, sandbox.paths), rm(sandbox.paths.pidFile, { force: true }), writeOciConfig(ctx, sandbox)]);
  const binds = (sandbox.spec.workspace?.mounts ?? []).map((m) => m.hostPath);
  const prefix = agentRunPrefix(ctx, sandbox);
  const args = ['run', '--detach', ...(prefix.length > 0 ? ['--preserve-fds', '2'] : []), '--bundle', sandbox.paths.dir, '--pid-file', sandbox.paths.pidFile, id];
  const result = await runtimeRunDetached(ctx, args, sandbox.paths.log, sandbox.paths.merged, binds, prefix);
  if (result.code !== 0) {
    const stderr = await readFile(sandbox.paths.log, 'utf8').catch(() => '');
    await runtimeCall(ctx, ['delete', '--force', id]);
    await forgetExecAgent(sandbox);
    throw runtimeFailed('Starting the container', { code: result.code, stderr }, ctx.dataDir);
  }
  const initPid = Number((await readFile(sandbox.paths.pidFile, 'utf8').catch(() => '')).trim());
  if (!(initPid > 0)) {
    await runtimeCall(ctx, ['delete', '--force', id]);
    await forgetExecAgent(sandbox);
    throw new BackendFailureError('The container runtime did not report the init pid.', { sandboxId: id });
  }
  sandbox.initPid = initPid;
  sandbox.initStartTime = await processStartTime(initPid);
  try {
    await startNetwork(ctx, sandbox, initPid);
  } catch (err) {
    await runtimeCall(ctx, ['delete', '--force', id]);
    await Promise.all([ctx.egress.detach(id), forgetExecAgent(sandbox)]);
    sandbox.state = 'stopped';
    throw err;
  }
  sandbox.state = 'running';
  return sandbox;
}

/** Marks every tracked process as ended by the sandbox going away (before the kill lands). */
function endProcesses(sandbox: ContainerSandbox): void {
  for (const p of sandbox.processes.values()) p.markSandboxGone();
}

/**
 * Kills the container and removes it from the runtime: SIGKILL to everything in its cgroups (init,
 * exec'd commands, slirp4netns), then `delete --force` (which then finds it stopped: faster than
 * letting crun kill and wait itself), then a last look at the cgroups for anything that joined
 * meanwhile. Returns false when processes survived. `unmount` (destroy): the root overlay's host
 * mount point, unmounted by the delete call when it can be.
 */
async function killContainer(ctx: ContainerContext, id: string, unmount?: string): Promise<boolean> {
  if (canFreeze(ctx.layout) && (await isFrozen(ctx.layout, id))) await setFrozen(ctx.layout, id, false);
  await killAll(ctx.layout, id);
  // A delete can fail under load (a busy runtime, a timeout): retry while the runtime still knows it.
  // A delete that succeeded needs no second look: the runtime has forgotten the container.
  let deleted = false;
  for (let attempt = 0; attempt < 3 && !deleted; attempt++) {
    deleted = (await runtimeCall(ctx, ['delete', '--force', id], undefined, unmount ? [unmount] : undefined)).code === 0 || !(await runtimeState(ctx, id));
  }
  const killed = await killAll(ctx.layout, id);
  return killed && (deleted || !(await runtimeState(ctx, id)));
}

/** Stops every process; files are kept. Running or paused only. */
export async function stopSandbox(ctx: ContainerContext, id: string): Promise<ContainerSandbox> {
  const sandbox = getSandbox(ctx, id);
  if (sandbox.state !== 'running' && sandbox.state !== 'paused') throw new InvalidTransitionError(portState(sandbox), 'stopped', 'stop');
  endProcesses(sandbox);
  await killContainer(ctx, id);
  await Promise.all([ctx.egress.detach(id), forgetExecAgent(sandbox)]);
  sandbox.state = 'stopped';
  sandbox.initPid = undefined;
  sandbox.initStartTime = undefined;
  return sandbox;
}

/** Freezes (running → paused) or thaws every process through the cgroup freezer. */
export async function pauseSandbox(ctx: ContainerContext, id: string, pause: boolean): Promise<void> {
  const sandbox = getSandbox(ctx, id);
  if (!canFreeze(ctx.layout)) throw new CapabilityMissingError('lifecycle.pause', 'container', pause ? 'pause a sandbox' : 'resume a sandbox');
  if (sandbox.state !== (pause ? 'running' : 'paused')) throw new InvalidTransitionError(portState(sandbox), pause ? 'paused' : 'running', pause ? 'pause' : 'resume');
  await setFrozen(ctx.layout, id, pause);
  sandbox.state = pause ? 'paused' : 'running';
  // A policy change while paused may have given the sandbox network (slirp4netns would freeze).
  if (!pause && !ctx.egress.has(id) && sandbox.initPid !== undefined) await startNetwork(ctx, sandbox, sandbox.initPid);
}

/** Kills everything and removes every host resource; reports leftovers instead of throwing. */
export async function destroySandbox(ctx: ContainerContext, id: string): Promise<CleanupResult> {
  const sandbox = getSandbox(ctx, id);
  endProcesses(sandbox);
  const result = await removeSandboxResources(ctx, id);
  ctx.sandboxes.delete(id);
  return result;
}

/** Every hierarchy's `hutch/<id>` dir (the runtime creates one in each v1 controller it knows). */
async function allCgroupDirs(id: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const name of await readdir('/sys/fs/cgroup').catch(() => [] as string[])) {
    const candidate = join('/sys/fs/cgroup', name, 'hutch', id);
    if (await stat(candidate).catch(() => undefined)) dirs.push(candidate);
  }
  if (await stat(join('/sys/fs/cgroup', 'hutch', id)).catch(() => undefined)) dirs.push(join('/sys/fs/cgroup', 'hutch', id));
  return dirs;
}

/** Kills the container, removes cgroups, the overlay and the sandbox dir. Used by destroy and reclaim. */
export async function removeSandboxResources(ctx: ContainerContext, id: string): Promise<CleanupResult> {
  const paths = containerPaths(ctx.dataDir, id);
  const problems: string[] = [];
  // The host's overlay mount goes with the delete call (the running container keeps its own copy
  // until it ends); unmountOverlay below checks and retries.
  if (!(await killContainer(ctx, id, paths.merged))) problems.push('processes still running');
  await ctx.egress.forget(id);
  if ((await cgroupPids(ctx.layout, id)).length > 0) problems.push('processes left in its cgroups');
  const left = await removeCgroupDirs(await allCgroupDirs(id)).catch(() => ['?']);
  if (left.length > 0) problems.push(`${left.length} cgroup dir(s) left`);
  // The overlay must be gone before the directory is removed (rm would walk into the template's view).
  if (!(await unmountOverlay(paths))) {
    problems.push('root overlay still mounted');
    return { status: 'repair_needed', summary: `sandbox ${id}: ${problems.join(', ')}` };
  }
  try {
    await rm(paths.dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    problems.push('sandbox directory left');
  }
  return problems.length === 0
    ? { status: 'completed', summary: `sandbox ${id} removed` }
    : { status: 'repair_needed', summary: `sandbox ${id}: ${problems.join(', ')}` };
}
