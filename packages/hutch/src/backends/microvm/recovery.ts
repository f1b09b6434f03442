/**
 * Recovery after a server restart. QEMU runs detached, so a VM outlives the server: `adopt` finds
 * it by pidfile (checked against `-name hutch-<id>`), asks QMP for its state, and takes the agent
 * channel over by switching QEMU's chardev to a fresh socket (`chardev-change`): QEMU serves one
 * client per socket, and an old holder (a server that is not quite dead, or another handle in a
 * test) is disconnected rather than left to block the new one. A VM with a NIC gets its egress
 * proxy back on the resolver port its QEMU was started with. `reclaim` needs only the id.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import type { SandboxSpec } from '../../domain/sandbox.js';
import type { AdoptOutcome, CleanupResult } from '../../port/isolation-backend.js';
import type { MicrovmContext, Vm } from './context.js';
import { runtimeRecord } from './context.js';
import { detach } from './lifecycle.js';
import { attachEgress } from './network.js';
import { agentSocketPath, vmPaths, type VmShape } from './plan.js';
import { withQmp } from './qmp.js';
import { attachAgent, findQemu, helloAgent, killQemu } from './vm.js';

export async function adoptVm(ctx: MicrovmContext, id: string, record: Record<string, unknown>): Promise<AdoptOutcome> {
  const paths = vmPaths(ctx.dataDir, id);
  let config: { spec: SandboxSpec; shape: VmShape; image: string };
  try {
    config = JSON.parse(await readFile(paths.config, 'utf8')) as typeof config;
  } catch {
    return { status: 'gone', reason: 'no VM files for this sandbox' };
  }
  const existing = ctx.vms.get(id);
  if (existing) detach(existing, 'lost');
  const generations = (await readdir(paths.dir)).map((n) => /^a(\d+)\.sock$/.exec(n)?.[1]).filter(Boolean).map(Number);
  const vm: Vm = {
    id, spec: config.spec, shape: config.shape, paths, state: 'stopped', image: config.image, booted: true,
    agentGeneration: Math.max(-1, ...generations) + 1, processes: new Map(), watchers: new Map(), earlyEvents: new Map(), nextWatchId: 1,
    connections: new Map(), nextConnectionId: 1,
  };
  const pid = await findQemu(paths.pidFile, id);
  if (pid === undefined) {
    if (record.state !== 'stopped') return { status: 'gone', reason: 'the VM process is not running' };
    ctx.vms.set(id, vm);
    return { status: 'adopted', state: 'stopped', record: runtimeRecord(ctx, vm) };
  }
  vm.pid = pid;
  const socket = agentSocketPath(paths, vm.agentGeneration);
  const status = await withQmp(paths.qmpSocket, async (qmp) => {
    await qmp.execute('chardev-change', {
      id: 'agent',
      backend: { type: 'socket', data: { addr: { type: 'unix', data: { path: socket } }, server: true, wait: false } },
    });
    return (await qmp.execute<{ status: string }>('query-status')).status;
  });
  await attachEgress(ctx, vm, 'adopt');
  const agent = await attachAgent(vm, socket);
  vm.state = status === 'running' ? 'running' : 'paused';
  if (vm.state === 'running') await helloAgent(vm, agent, 30_000, false);
  ctx.vms.set(id, vm);
  for (const n of generations) await rm(agentSocketPath(paths, n), { force: true });
  return { status: 'adopted', state: vm.state, record: runtimeRecord(ctx, vm) };
}

/** Kills whatever QEMU the sandbox left and removes its files; works from the id alone. */
export async function reclaimVm(ctx: MicrovmContext, id: string): Promise<CleanupResult> {
  const paths = vmPaths(ctx.dataDir, id);
  const known = ctx.vms.get(id);
  if (known) detach(known, 'lost');
  ctx.vms.delete(id);
  const pid = known?.pid ?? (await findQemu(paths.pidFile, id));
  const killed = pid === undefined || (await killQemu(pid, id));
  await ctx.egress.forget(id);
  const removed = await rm(paths.dir, { recursive: true, force: true }).then(() => true, () => false);
  if (killed && removed) return { status: 'completed', summary: `VM ${id} reclaimed` };
  return { status: 'repair_needed', summary: `VM ${id}: ${killed ? '' : 'QEMU did not exit; '}${removed ? '' : 'files not removed'}`.trim() };
}
