/**
 * VM lifecycle: create (config + boot artifacts; launches nothing), start (restore from a memory
 * snapshot — the template snapshot on first start, a sandbox snapshot after `restore` — or a cold
 * boot after `stop`), stop, pause/resume (QMP stop/cont: memory and processes kept), destroy.
 * A VM with a NIC gets its egress proxy before QEMU starts and loses it when QEMU ends (network.ts).
 *
 *   created → running ⇄ paused · running → stopped → running · any → destroyed
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { AlreadyExistsError, BadRequestError, InvalidTransitionError } from '../../domain/errors.js';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { CleanupResult } from '../../port/isolation-backend.js';
import { exists, prepareRootImage } from './artifacts.js';
import { coldBoot, restoreMemory, type MemorySnapshot } from './boot.js';
import { getVm, once, writeVmConfig, type MicrovmContext, type Vm } from './context.js';
import { runTool } from './errors.js';
import { endAll } from './exec.js';
import { assertNicFor, attachEgress, installGuestCa, prepareVmCa } from './network.js';
import { vmPaths, vmShape, type VmShape } from './plan.js';
import { withQmp } from './qmp.js';
import { templateSnapshot } from './snapshots.js';
import { killQemu, waitExit } from './vm.js';

/** Prepares a VM (root image, config). With `restoreFrom`, its first start restores that snapshot. */
export async function createVm(ctx: MicrovmContext, spec: SandboxSpec, restoreFrom?: { snapshot: MemorySnapshot; shape: VmShape; image: string }): Promise<Vm> {
  if (ctx.vms.has(spec.id)) throw new AlreadyExistsError(`Sandbox ${spec.id}`, { sandboxId: spec.id });
  const paths = vmPaths(ctx.dataDir, spec.id);
  if (await exists(paths.dir)) throw new AlreadyExistsError(`Sandbox ${spec.id}`, { sandboxId: spec.id });
  let shape: VmShape;
  let image: string;
  if (restoreFrom) {
    shape = restoreFrom.shape;
    image = restoreFrom.image;
    // The snapshot's devices are fixed: a VM saved without a NIC cannot come back with network.
    assertNicFor(shape, spec.network);
  } else {
    shape = vmShape(spec);
    if (!spec.rootfsPath) throw new BadRequestError('The microvm backend needs a template root filesystem (spec.rootfsPath); create the sandbox from a template.', { field: 'template' });
    const rootfsPath = spec.rootfsPath;
    image = (await once(ctx, `image:${rootfsPath}`, () => prepareRootImage(ctx.cacheDir, ctx.tools, rootfsPath))).path;
  }
  await ctx.artifacts();
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const vm: Vm = {
    id: spec.id, spec, shape, paths, state: 'created', image, booted: false, agentGeneration: 0,
    processes: new Map(), watchers: new Map(), earlyEvents: new Map(), nextWatchId: 1,
    connections: new Map(), nextConnectionId: 1,
  };
  if (restoreFrom) vm.restoreFrom = restoreFrom.snapshot.dir;
  // The config holds env values (possibly secrets): private to root, never logged or journaled.
  await writeVmConfig(vm);
  await prepareVmCa(vm);
  ctx.vms.set(spec.id, vm);
  return vm;
}

/** created → running (restore) or stopped → running (cold boot on the kept disk). */
export async function startVm(ctx: MicrovmContext, id: string): Promise<Vm> {
  const vm = getVm(ctx, id);
  if (vm.state !== 'created' && vm.state !== 'stopped') throw new InvalidTransitionError(vm.state, 'running', 'start');
  try {
    // The template snapshot is built first: its VM runs without a proxy (the shim fails closed).
    const snapshot = vm.state === 'stopped' || vm.booted || vm.restoreFrom ? undefined : await templateSnapshot(ctx, vm.image, vm.shape);
    await attachEgress(ctx, vm, 'launch');
    if (vm.state === 'stopped' || vm.booted) {
      await coldBoot(ctx, vm);
    } else if (vm.restoreFrom) {
      await copyFile(`${vm.restoreFrom}/disk.qcow2`, vm.paths.disk);
      await restoreMemory(ctx, vm, { dir: vm.restoreFrom, format: 'stream' });
    } else {
      await runTool([ctx.tools.qemuImg, 'create', '-q', '-f', 'qcow2', '-b', `${snapshot!.dir}/disk.qcow2`, '-F', 'qcow2', vm.paths.disk]);
      await restoreMemory(ctx, vm, snapshot!);
    }
    await installGuestCa(vm);
  } catch (err) {
    if (vm.pid !== undefined) await killQemu(vm.pid, id);
    delete vm.pid;
    await ctx.egress.detach(id);
    throw err;
  }
  vm.booted = true;
  vm.state = 'running';
  return vm;
}

/** running → stopped: every process ends, the disk is kept; the next start cold-boots. */
export async function stopVm(ctx: MicrovmContext, id: string): Promise<Vm> {
  const vm = getVm(ctx, id);
  if (vm.state !== 'running') throw new InvalidTransitionError(vm.state, 'stopped', 'stop');
  await vm.agent?.request('sync', {}, { timeoutMs: 30_000 }).catch(() => undefined);
  const pid = vm.pid;
  detach(vm, 'sandbox_destroyed');
  await withQmp(vm.paths.qmpSocket, (qmp) => qmp.execute('quit')).catch(() => undefined);
  if (pid !== undefined && !(await waitExit(pid, id))) await killQemu(pid, id);
  await ctx.egress.detach(id);
  vm.state = 'stopped';
  return vm;
}

/** running → paused (`pause`) or paused → running (`resume`): QMP stop/cont, memory kept. */
export async function setPaused(ctx: MicrovmContext, id: string, paused: boolean): Promise<void> {
  const vm = getVm(ctx, id);
  if (paused && vm.state !== 'running') throw new InvalidTransitionError(vm.state, 'paused', 'pause');
  if (!paused && vm.state !== 'paused') throw new InvalidTransitionError(vm.state, 'running', 'resume');
  await withQmp(vm.paths.qmpSocket, (qmp) => qmp.execute(paused ? 'stop' : 'cont'));
  vm.state = paused ? 'paused' : 'running';
}

/** Kills QEMU, ends every process with `sandbox_destroyed`, removes the VM's files. */
export async function destroyVm(ctx: MicrovmContext, id: string): Promise<CleanupResult> {
  const vm = getVm(ctx, id);
  const pid = vm.pid;
  detach(vm, 'sandbox_destroyed');
  const killed = pid === undefined || (await killQemu(pid, id));
  await ctx.egress.forget(id);
  ctx.vms.delete(id);
  const removed = await rm(vm.paths.dir, { recursive: true, force: true }).then(() => true, () => false);
  if (killed && removed) return { status: 'completed', summary: `VM ${id} destroyed` };
  return { status: 'repair_needed', summary: `VM ${id}: ${killed ? '' : 'QEMU did not exit; '}${removed ? '' : 'files not removed'}`.trim() };
}

/** Forgets the QEMU process and agent of `vm`, ending its processes with `reason`. */
export function detach(vm: Vm, reason: 'sandbox_destroyed' | 'lost'): void {
  const agent = vm.agent;
  vm.agent = undefined;
  endAll(vm, reason);
  agent?.close();
  delete vm.pid;
  for (const watcher of vm.watchers.values()) watcher.end();
  vm.watchers.clear();
}
