/**
 * Bringing a VM up: a cold boot (kernel → initramfs → agent, ~2–3 s under TCG) or a restore of a
 * memory snapshot into a new QEMU (~0.1–0.2 s). Memory snapshots come in two formats:
 * - `ramfile` (template snapshots): guest RAM is a file; the stream holds only device state
 *   (`x-ignore-shared`); clones map the file privately (copy-on-write), so they share its pages.
 * - `stream` (sandbox snapshots): RAM is in the migration stream.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BackendFailureError } from '../../domain/errors.js';
import type { MicrovmContext, Vm } from './context.js';
import { qemuEnv } from './network.js';
import { agentSocketPath, migrateFromFileUri, type GuestMemory, type QemuPlan } from './plan.js';
import { withQmp, waitStatus } from './qmp.js';
import { attachAgent, helloAgent, killQemu, qemuStderr, spawnQemu } from './vm.js';

export interface MemorySnapshot {
  dir: string;
  format: 'ramfile' | 'stream';
}

function plan(ctx: MicrovmContext, vm: Vm, memory: GuestMemory, incoming: boolean, artifacts: { kernel: string; initrd: string }): QemuPlan {
  const p: QemuPlan = {
    qemuBinary: ctx.tools.qemu,
    accel: ctx.accel,
    name: `hutch-${vm.id}`,
    shape: vm.shape,
    kernel: artifacts.kernel,
    initrd: artifacts.initrd,
    disk: vm.paths.disk,
    memory,
    qmpSocket: vm.paths.qmpSocket,
    agentSocket: agentSocketPath(vm.paths, vm.agentGeneration),
    pidFile: vm.paths.pidFile,
    consoleLog: vm.paths.consoleLog,
    incoming,
  };
  if (ctx.tscKhz !== undefined) p.tscKhz = ctx.tscKhz;
  return p;
}

/** Cold-boots `vm` on its existing disk and waits for the agent's hello. */
export async function coldBoot(ctx: MicrovmContext, vm: Vm, memory: GuestMemory = { kind: 'ram' }, withEnv = true): Promise<void> {
  const artifacts = await ctx.artifacts();
  await clearSockets(vm);
  const started = Date.now();
  vm.pid = await spawnQemu(ctx, plan(ctx, vm, memory, false, artifacts), vm.paths.stderrLog, await qemuEnv(ctx, vm));
  try {
    const agent = await attachAgent(vm, agentSocketPath(vm.paths, vm.agentGeneration));
    await helloAgent(vm, agent, 180_000, withEnv);
  } catch (err) {
    await killQemu(vm.pid, vm.id);
    throw new BackendFailureError(`The VM did not boot (accel ${ctx.accel}).`, { accel: ctx.accel }, { cause: new Error(await qemuStderr(vm.paths.stderrLog), { cause: err }) });
  }
  ctx.timings.coldBootMs.push(Date.now() - started);
}

/** Restores a memory snapshot into a new QEMU for `vm` (its disk must already match the snapshot). */
export async function restoreMemory(ctx: MicrovmContext, vm: Vm, snapshot: MemorySnapshot): Promise<void> {
  const artifacts = await ctx.artifacts();
  await clearSockets(vm);
  const started = Date.now();
  const memory: GuestMemory = snapshot.format === 'ramfile' ? { kind: 'file', path: join(snapshot.dir, 'ram.bin'), shared: false } : { kind: 'ram' };
  vm.pid = await spawnQemu(ctx, plan(ctx, vm, memory, true, artifacts), vm.paths.stderrLog, await qemuEnv(ctx, vm));
  try {
    await withQmp(vm.paths.qmpSocket, async (qmp) => {
      if (snapshot.format === 'ramfile') {
        await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'x-ignore-shared', state: true }] });
      }
      await qmp.execute('migrate-incoming', { uri: migrateFromFileUri(join(snapshot.dir, 'state.bin')) });
      await waitStatus(qmp, ['paused', 'running'], 60_000);
      // Connect before the guest runs: the port then never sees the host as absent.
      const agent = await attachAgent(vm, agentSocketPath(vm.paths, vm.agentGeneration));
      await qmp.execute('cont');
      await helloAgent(vm, agent, 60_000);
    });
  } catch (err) {
    await killQemu(vm.pid, vm.id);
    throw new BackendFailureError('The VM could not be restored from its memory snapshot.', undefined, { cause: new Error(await qemuStderr(vm.paths.stderrLog), { cause: err }) });
  }
  ctx.timings.restoreMs.push(Date.now() - started);
}

async function clearSockets(vm: Vm): Promise<void> {
  await rm(vm.paths.qmpSocket, { force: true });
  await rm(agentSocketPath(vm.paths, vm.agentGeneration), { force: true });
}
